#!/usr/bin/env python3
"""The live page's benchmark: its first load on loopback, and how long a
report takes from the simulated cloud to the page (target: under 2 s from
commit to page; measured here from publish, which includes the commit).

    cmake --build build --target thermomaven thermomaven-sim
    /usr/bin/python3 tests/bench/page_bench.py --thermomaven build/app/thermomaven \\
        --sim build/sim/thermomaven-sim [--loads 30] [--seconds 60]

Real parts: `thermomaven-sim` (10 devices, a report a second each),
`thermomaven run` against it over real TLS, and headless chromium through
chromium-driver. First load: each of --loads fresh navigations to / is timed
with the browser's Navigation Timing (from navigation start to the load
event) and until the first device card is on screen (a MutationObserver
installed before the page's own scripts); then the same for a running
cook's page (load event). Update latency: for --seconds, an
observer notes when each device's card first shows a report
(data-last-report-ms, the report's serverTime, stamped by the simulator just
before it publishes); latency = that moment minus the report's time, on one
machine's clock. Prints medians and percentiles.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from page_harness import browser, get_json, start_live, wait_for  # noqa: E402

OBSERVER = """
window.__tm = {firstDeviceMs: null, shown: {}};
new MutationObserver(() => {
  const cards = document.querySelectorAll('.device[data-last-report-ms]');
  if (cards.length && window.__tm.firstDeviceMs === null)
    window.__tm.firstDeviceMs = performance.now();
  const now = Date.now();
  for (const c of cards) {
    const key = c.dataset.deviceId + '@' + c.dataset.lastReportMs;
    if (!(key in window.__tm.shown)) window.__tm.shown[key] = now;
  }
}).observe(document, {childList: true, subtree: true});
"""


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thermomaven", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tm-page-bench-")
    children, url = start_live(args.thermomaven, args.sim, work, devices=10, interval_ms=1000,
                               speed=1)
    driver = None
    try:
        if not wait_for(lambda: len(get_json(url + "/api/devices")["devices"]) == 10, 60):
            raise RuntimeError("the collector did not store 10 devices")
        driver = browser({"width": 1366, "height": 900})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
        loads, firsts = [], []
        for _ in range(args.loads + 1):  # the first one warms up
            driver.get(url + "/")
            wait_for(lambda: driver.execute_script("return window.__tm.firstDeviceMs"), 10, 0.02)
            timing = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [n.loadEventEnd, window.__tm.firstDeviceMs];")
            loads.append(timing[0])
            firsts.append(timing[1])
        loads, firsts = loads[1:], firsts[1:]
        print("first load of / (%d loads): load event median %.0f ms (p90 %.0f, max %.0f); "
              "devices on screen median %.0f ms (p90 %.0f, max %.0f)" % (
                  len(loads), statistics.median(loads), percentile(loads, 90), max(loads),
                  statistics.median(firsts), percentile(firsts, 90), max(firsts)))
        cook = next(p["cook"]["cook_uuid"] for d in get_json(url + "/api/devices")["devices"]
                    for p in d.get("probes", []) if p.get("cook"))
        cook_loads = []
        for _ in range(args.loads + 1):
            driver.get(url + "/cooks/" + cook)
            cook_loads.append(driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].loadEventEnd"))
        cook_loads = cook_loads[1:]
        print("first load of a cook page (with the 131 KB chart library, %d loads): load event "
              "median %.0f ms (p90 %.0f, max %.0f)" % (
                  len(cook_loads), statistics.median(cook_loads), percentile(cook_loads, 90),
                  max(cook_loads)))
        driver.get(url + "/")
        start_ms = time.time() * 1000
        time.sleep(args.seconds)
        shown = driver.execute_script("return window.__tm.shown")
        latencies = []
        for key, seen_ms in shown.items():
            report_ms = int(key.rsplit("@", 1)[1])
            if report_ms > start_ms:  # reports published while we watched
                latencies.append(seen_ms - report_ms)
        if not latencies:
            raise RuntimeError("no report reached the page")
        print("report (publish) to page, %d reports over %d s: median %.0f ms, p90 %.0f ms, "
              "p99 %.0f ms, max %.0f ms" % (
                  len(latencies), args.seconds, statistics.median(latencies),
                  percentile(latencies, 90), percentile(latencies, 99), max(latencies)))
    finally:
        if driver:
            driver.quit()
        for child in reversed(children):
            child.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
