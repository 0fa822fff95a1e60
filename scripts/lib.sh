# Shared by scripts/*: installs what is missing and builds. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian 12 packages the build, the tests and the tools need.
TM_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libsimdjson-dev libsqlitecpp-dev libsqlite3-dev sqlite3
  prometheus-cpp-dev libcivetweb-dev libpaho-mqtt-dev
  libcurl4-openssl-dev libssl-dev openssl catch2
  mosquitto mosquitto-clients prometheus
  clang libclang-rt-14-dev
  systemd  # systemd-analyze checks scripts/systemd/thermomaven.service; nothing is started
  faketime  # faults_test: the collector's wall clock jumping backwards
  libjs-dygraphs  # the cook page's chart, served from /usr/share/javascript/dygraphs
  chromium chromium-driver python3-selenium  # page_browser_test: a real headless browser
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "${TM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
  # The Debian package starts a system-wide broker on port 1883; the logger
  # and its tests start their own, so that one only gets in the way.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
    as_root systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
}

# build DIR [extra cmake args...] [--target TARGET...]
# (a later -DCMAKE_BUILD_TYPE= wins over the default)
build() {
  local dir="$1"; shift
  local configure=() targets=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--target" ]; then shift; targets=("$@"); break; fi
    configure+=("$1"); shift
  done
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure[@]}" >/dev/null
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
  else
    cmake --build "$dir" -j"$(nproc)"
  fi
}
