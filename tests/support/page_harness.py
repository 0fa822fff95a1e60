"""What the page's browser test and its benchmark share: the real servers
as child processes (`thermomaven-sim` with `thermomaven run`, and
`thermomaven serve` over a capture with a hostile note) and headless
chromium through chromium-driver and python3-selenium."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

HOSTILE_NOTE = "<img src=x onerror=alert(1)>"


def wait_for(predicate, seconds, step=0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # not there yet
            pass
        time.sleep(step)
    return None


class Child:
    """A child process with its output in a file; stopped with SIGTERM."""

    def __init__(self, argv, log_path, env=None):
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        self.process = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        env=env)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def url_in_log(child, pattern, seconds=60):
    found = wait_for(lambda: re.search(pattern, child.log()), seconds)
    if not found:
        raise RuntimeError("no URL in %s:\n%s" % (child.log_path, child.log()[-3000:]))
    return found.group(1)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def start_live(binary, sim_binary, work, devices=3, interval_ms=1000, speed=30, extra=()):
    """thermomaven-sim and `thermomaven run` against it; returns the children
    and the page's URL."""
    sim_dir = os.path.join(work, "sim")
    sim = Child([sim_binary, "--dir", sim_dir, "--devices", str(devices), "--interval-ms",
                 str(interval_ms), "--speed", str(speed)], os.path.join(work, "sim.log"))
    info_path = os.path.join(sim_dir, "sim.json")
    if not wait_for(lambda: os.path.exists(info_path), 30):
        raise RuntimeError("thermomaven-sim did not start:\n" + sim.log())
    info = json.load(open(info_path))
    env = dict(os.environ, THERMOMAVEN_EMAIL=info["email"],
               THERMOMAVEN_PASSWORD_FILE=info["password_file"],
               THERMOMAVEN_API_URL=info["api_url"],
               THERMOMAVEN_MQTT_ENDPOINT=info["mqtt_endpoint"],
               THERMOMAVEN_CA_FILE=info["ca_file"])
    run = Child([binary, "run", "--db", os.path.join(work, "run.db"), "--state-dir",
                 os.path.join(work, "state"), "--backoff-base-ms", "200", "--listen",
                 "127.0.0.1:0", *extra], os.path.join(work, "run.log"), env)
    url = url_in_log(run, r"serving metrics, cooks and CSV on (\S+)")
    return [sim, run], url


def recent_capture(capture, out, lines):
    """The first `lines` of a capture (the middle of its cooks), moved in time
    so that its last report is from now: its cooks are running, as a cook
    being recorded is. One cook's note is made hostile."""
    with open(capture, encoding="utf-8") as src:
        kept = [line for _, line in zip(range(lines), src)]
    last_ms = max(int(m) for m in re.findall(r'"ts":(\d+)', "".join(kept)))
    shift_ms = int(time.time() * 1000) - last_ms
    millis = re.compile(r'"(serverTime|deviceTime|ts)":(\d+)')
    seconds = re.compile(r'"(serverTimeSecond|deviceTimeSecond)":(\d+)')
    with open(out, "w", encoding="utf-8") as dst:
        for line in kept:
            line = millis.sub(lambda m: '"%s":%d' % (m[1], int(m[2]) + shift_ms), line)
            line = seconds.sub(lambda m: '"%s":%d' % (m[1], int(m[2]) + shift_ms // 1000), line)
            dst.write(line.replace('"probeNotes":"Chicken thighs"',
                                   '"probeNotes":' + json.dumps(HOSTILE_NOTE)))


def start_hostile(binary, capture, work, lines=700):
    """`thermomaven serve` over recent_capture()."""
    hostile = os.path.join(work, "hostile.jsonl")
    recent_capture(capture, hostile, lines)
    db = os.path.join(work, "hostile.db")
    subprocess.run([binary, "import", "--db", db, hostile], check=True, capture_output=True)
    return start_serve(binary, db, "127.0.0.1:0", os.path.join(work, "serve.log"))


def start_serve(binary, db, listen, log_path, extra=()):
    """`thermomaven serve` over `db` on `listen`; returns the children and its URL."""
    serve = Child([binary, "serve", "--db", db, "--listen", listen, "--stale-after", "0", *extra],
                  log_path)
    url = url_in_log(serve, r"serve: listening on (\S+)")
    return [serve], url


def start_tls_serve(binary, db, work, user, password):
    """`thermomaven serve` over `db` with a web configuration file: TLS with a
    self-signed certificate for 127.0.0.1 and basic authentication of
    `user`. Returns the children, its https URL and the certificate's path."""
    tls = os.path.join(work, "tls")
    os.makedirs(tls, mode=0o700, exist_ok=True)
    cert, key = os.path.join(tls, "server.crt"), os.path.join(tls, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    hashed = subprocess.run([binary, "hash-password", "--cost", "4"], input=password.encode(),
                            check=True, capture_output=True).stdout.decode().strip()
    config = os.path.join(tls, "web.yml")
    with open(config, "w", encoding="utf-8") as f:
        f.write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                "basic_auth_users:\n  %s: %s\n" % (user, hashed))
    children, url = start_serve(binary, db, "127.0.0.1:0", os.path.join(work, "serve-tls.log"),
                                ["--web.config.file", config])
    return children, url, cert


def browser(size):
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    # The TLS test's certificate is self-signed, for 127.0.0.1 only.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--lang=en-US", "--ignore-certificate-errors"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(size["width"], size["height"])
    return driver


def console_errors(driver):
    """The console's errors since the last call (reading drains the log)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
