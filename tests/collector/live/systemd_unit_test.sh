#!/bin/sh
# Checks scripts/systemd/thermomaven.service with systemd's own tools:
# `systemd-analyze verify` must accept it without a single warning (it exits
# 0 on unknown keys, so its output must be empty too), and the offline
# security analysis must rate it well hardened. Usage: UNIT BINARY
set -eu
unit="$1"
binary="$2"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIPPED: systemd-analyze not installed (Debian package systemd); the unit is not checked"
  exit 77
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT INT TERM
# verify also checks that ExecStart= is executable: point it at the build.
sed "s#^ExecStart=/usr/local/bin/thermomaven #ExecStart=$binary #" "$unit" >"$dir/thermomaven.service"
grep -q "^ExecStart=$binary run" "$dir/thermomaven.service" || {
  echo "FAIL: ExecStart=/usr/local/bin/thermomaven run not found in $unit"
  exit 1
}
output="$(systemd-analyze verify "$dir/thermomaven.service" 2>&1)" || {
  echo "FAIL: systemd-analyze verify:"
  echo "$output"
  exit 1
}
if [ -n "$output" ]; then
  echo "FAIL: systemd-analyze verify warns:"
  echo "$output"
  exit 1
fi
echo "systemd-analyze verify: OK"
# The exposure score, 0 (locked down) to 10 (unprotected); the threshold is
# in tenths. A plain unit scores 9.6; this one must stay under 2.0.
if ! systemd-analyze security --offline=true --threshold=20 "$dir/thermomaven.service" >"$dir/security.txt" 2>&1; then
  echo "FAIL: exposure above 2.0 (or analysis failed):"
  cat "$dir/security.txt"
  exit 1
fi
grep "Overall exposure level" "$dir/security.txt"
# The hardening the service relies on, spelled out so that no edit drops it.
for setting in DynamicUser=yes StateDirectory=thermomaven StateDirectoryMode=0700 \
  ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' MemoryMax= CapabilityBoundingSet= \
  SystemCallFilter=@system-service LoadCredential=password: \
  THERMOMAVEN_PASSWORD_FILE=%d/password THERMOMAVEN_STATE_DIR=/var/lib/thermomaven/ \
  THERMOMAVEN_DB=/var/lib/thermomaven/; do
  grep -q -- "$setting" "$unit" || {
    echo "FAIL: $unit lacks $setting"
    exit 1
  }
done
echo "hardening settings present: OK"
