#!/usr/bin/env python3
"""The page in a real browser: Debian's chromium, headless, driven through
chromium-driver with python3-selenium.

Real servers, started here as child processes:
- `thermomaven run` (collector and exporter in one process) against
  `thermomaven-sim` (3 devices, a report a second, cooks at 30x speed): the
  live view shows every device and a new report changes a food temperature
  without a reload; the history lists the cooks and opens one; a cook page
  draws its series.
- `thermomaven serve` over the sample capture imported with one cook's note
  replaced by `<img src=x onerror=alert(1)>`: the note shows as those
  characters on every page, no element comes of it, no alert opens; when
  it stops and comes back, the live view reconnects by itself.
- the same `serve` with a web configuration file (TLS, basic
  authentication): the page works over HTTPS with the password, and not
  without it.

Every page is also checked for console errors (a CSP refusal is one), and
photographed at phone size (412x915) and desktop size into --artifacts.
Exit status 0 when every check passed; each failure is one line on stderr.
"""

import argparse
import base64
import json
import os
import re
import shutil
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import UnexpectedAlertPresentException
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from page_harness import (HOSTILE_NOTE, browser, console_errors, get_json,  # noqa: E402
                          start_hostile, start_live, start_serve, start_tls_serve,
                          wait_for)

PHONE = {"width": 412, "height": 915}
DESKTOP = {"width": 1366, "height": 900}

failures = []


def check(condition, what):
    """Records a failed check (and goes on, to report every failure)."""
    if not condition:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)
    else:
        print("ok: " + what)
    return condition


def screenshots(driver, artifacts, name):
    """The page as a phone and as a desktop shows it."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           dict(PHONE, deviceScaleFactor=2, mobile=True))
    time.sleep(0.8)
    driver.save_screenshot(os.path.join(artifacts, name + "-phone.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    time.sleep(0.8)
    driver.save_screenshot(os.path.join(artifacts, name + "-desktop.png"))


def chart_drawn(driver):
    """How many pixels the chart's canvases have painted."""
    return driver.execute_script("""
        let painted = 0;
        for (const c of document.querySelectorAll('#chart canvas')) {
          if (!c.width || !c.height) continue;
          const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
        }
        return painted;""")


def brightness(css_rgb):
    """The mean of an "rgb(r, g, b)" colour's channels."""
    channels = [int(c) for c in re.findall(r"\d+", css_rgb)[:3]]
    return sum(channels) / 3


def texts(driver, selector):
    """The text of every element `selector` matches, read in one step: the
    live view rebuilds its cards on every event, so an element found in one
    call may be gone by the next."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", selector)


def foods(driver):
    return texts(driver, ".food-value")


def test_live_view(driver, url, artifacts):
    state = wait_for(lambda: (lambda s: s if len(s["devices"]) == 3 and all(
        d["probes"] for d in s["devices"]) else None)(get_json(url + "/api/devices")), 60)
    if not check(state is not None, "the collector stored reports of 3 devices"):
        return
    driver.get(url + "/")
    shown = wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".device")) == 3, 10)
    check(shown, "the live view shows a card per simulated device")
    names = set(texts(driver, ".device-name"))
    check(names == {d["name"] for d in state["devices"]},
          "the live view shows every device's name: %s" % sorted(names))
    # (Reports come in meanwhile and may add a probe: compare fresh counts.)
    check(wait_for(lambda: len(texts(driver, ".probe")) == sum(
        len(d["probes"]) for d in get_json(url + "/api/devices")["devices"]), 10),
          "a panel per probe")
    driver.execute_script("window.__sameDocument = 'not reloaded';")
    before = foods(driver)
    changed = wait_for(lambda: foods(driver) != before, 10)
    check(changed, "a new report changed a displayed food temperature within 10 s")
    check(driver.execute_script("return window.__sameDocument") == "not reloaded",
          "... without a reload")
    status = driver.find_element(By.ID, "status").text
    check("live" in status and "last heard" in status and "broker connected" in status,
          "the status line shows the stream, last heard and the broker: %r" % status)
    # The unit switch, remembered across a reload.
    driver.find_element(By.CSS_SELECTOR, "[data-unit='F']").click()
    check(wait_for(lambda: all(t == "°F" for t in texts(driver, ".food-unit")), 5),
          "°F shows every food temperature in °F")
    driver.refresh()
    check(wait_for(lambda: (lambda units: units and all(t == "°F" for t in units))(
        texts(driver, ".food-unit")), 10),
          "the °F choice is remembered after a reload")
    driver.find_element(By.CSS_SELECTOR, "[data-unit='C']").click()
    screenshots(driver, artifacts, "live")
    # The dark theme, when the system asks for one.
    light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    check(light != dark and brightness(dark) < 60 < brightness(light),
          "a dark theme when the system asks for one: %s -> %s" % (light, dark))
    driver.save_screenshot(os.path.join(artifacts, "live-dark-desktop.png"))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    errors = console_errors(driver)
    check(not errors, "no console error on the live view: %s" % errors)


def estimating(url, context=None, token=None):
    """A running cook whose forecast has an estimate (not the hostile one)."""
    request = urllib.request.Request(url + "/api/devices")
    if token:
        request.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        state = json.load(response)
    for d in state["devices"]:
        for p in d.get("probes", []):
            f = p.get("forecast") or {}
            if f.get("state") == "estimating" and f.get("predicted_done_ms") and \
                    p["cook"]["notes"] != HOSTILE_NOTE:
                return p["cook"]["cook_uuid"]
    return None


def test_forecast_band(driver, url):
    """A running cook with an estimate: the page says when, and draws the
    band and the line to the target past the last reading."""
    cook = estimating(url)
    if not check(cook, "a cook of the capture has an estimate"):
        return
    driver.get(url + "/cooks/" + cook)
    text = wait_for(lambda: driver.find_element(By.ID, "forecast").text, 10) or ""
    check(text.startswith("Forecast: done"), "the cook page gives the forecast: %r" % text)
    check(wait_for(lambda: chart_drawn(driver) > 500, 10), "... and draws its chart")


def test_cook_page(driver, url, artifacts, name):
    state = get_json(url + "/api/devices")
    running = {p["cook"]["cook_uuid"] for d in state["devices"] for p in d.get("probes", [])
               if p.get("cook")}
    if not check(running, "a running cook to open (%s)" % name):
        return
    # One with a forecast band if there is one, else the longest: for the picture.
    cooks = [estimating(url)] + [c["cook_uuid"] for c in sorted(
        get_json(url + "/api/cooks"), key=lambda c: -c["readings"]) if c["cook_uuid"] in running]
    cooks = [c for c in cooks if c]
    driver.get(url + "/cooks/" + cooks[0])
    painted = wait_for(lambda: chart_drawn(driver) > 500, 10)
    check(painted, "the cook page draws its series (%s)" % name)
    check("Food" in driver.find_element(By.ID, "readout").text,
          "the readout shows the latest values (%s)" % name)
    csv = driver.find_element(By.ID, "csv").get_attribute("href")
    check(re.search(r"/cooks/%s\.csv\?unit=[CF]$" % cooks[0], csv), "the CSV link: %s" % csv)
    # Hovering the chart shows the values at that point.
    chart = driver.find_element(By.ID, "chart")
    webdriver.ActionChains(driver).move_to_element(chart).perform()
    check(wait_for(lambda: "Food" in driver.find_element(By.ID, "readout").text, 3),
          "hovering shows the values at a point (%s)" % name)
    if name == "live":
        # A running cook's page follows its new readings without a reload.
        count = texts(driver, ".meta-readings")
        driver.execute_script("window.__sameDocument = 'not reloaded';")
        check(wait_for(lambda: texts(driver, ".meta-readings") != count, 15),
              "a running cook's page follows new readings")
        check(driver.execute_script("return window.__sameDocument") == "not reloaded",
              "... without a reload")
    screenshots(driver, artifacts, "cook-" + name)
    errors = console_errors(driver)
    check(not errors, "no console error on the cook page (%s): %s" % (name, errors))


def test_history(driver, url, artifacts, name):
    before = get_json(url + "/api/cooks?limit=25")
    driver.get(url + "/history")
    rows = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#cooks tbody tr"), 10) or []
    shown = [r.get_attribute("data-cook-uuid") for r in rows]
    after = [c["cook_uuid"] for c in get_json(url + "/api/cooks?limit=25")]
    # The simulator may start cooks meanwhile: what is listed is a page of
    # the cooks as the API listed them between the two reads, in its order.
    check(len(shown) >= len(before) and set(shown) <= set(after),
          "the history lists the cooks (%s): %d rows" % (name, len(shown)))
    check(shown == [u for u in after if u in shown], "newest first (%s)" % name)
    if not rows:
        return
    first = shown[0]
    screenshots(driver, artifacts, "history-" + name)
    errors = console_errors(driver)
    check(not errors, "no console error on the history (%s): %s" % (name, errors))
    # The device filter: only that device's cooks.
    device = get_json(url + "/api/devices")["devices"][0]
    select = driver.find_element(By.ID, "device")
    select.find_element(By.CSS_SELECTOR, "option[value='%s']" % device["device_id"]).click()
    driver.find_element(By.CSS_SELECTOR, "#filters button").click()
    def rows_of_device():
        cells = texts(driver, "#cooks tbody tr td:nth-child(2)")
        return cells if cells and all(t.startswith(device["name"] + " · probe")
                                      for t in cells) else None
    filtered = wait_for(rows_of_device, 10)
    check(filtered,
          "the device filter lists only %s's cooks: %s" % (device["name"], filtered))
    driver.back()
    wait_for(lambda: "device=" not in driver.current_url and driver.find_elements(
        By.CSS_SELECTOR, "#cooks tbody tr .cook-link"), 10)
    driver.find_element(By.CSS_SELECTOR, "#cooks tbody tr .cook-link").click()
    opened = wait_for(lambda: driver.current_url.endswith("/cooks/" + first), 10)
    check(opened, "a row opens its cook (%s)" % name)
    check(wait_for(lambda: chart_drawn(driver) > 500, 10),
          "the opened cook draws its chart (%s)" % name)


def test_hostile_note(driver, url, artifacts):
    try:
        driver.get(url + "/history")
        notes = wait_for(lambda: [t for t in texts(driver, "#cooks td.notes") if t], 10) or []
        check(HOSTILE_NOTE in notes, "the history shows the note as its characters: %s" % notes)
        check(not driver.find_elements(By.CSS_SELECTOR, "main img"),
              "no element comes of the note on the history")
        cook = [c for c in get_json(url + "/api/cooks") if c["notes"] == HOSTILE_NOTE][0]
        driver.get(url + "/cooks/" + cook["cook_uuid"])
        note = wait_for(lambda: "".join(texts(driver, ".meta-notes")), 10)
        check(note == HOSTILE_NOTE, "the cook page shows the note as its characters: %r" % note)
        check(not driver.find_elements(By.CSS_SELECTOR, "main img"),
              "no element comes of the note on the cook page")
        driver.get(url + "/")
        live_notes = wait_for(lambda: texts(driver, ".note"), 10) or []
        check(HOSTILE_NOTE in live_notes, "the live view shows the note as its characters")
        check(not driver.find_elements(By.CSS_SELECTOR, "main img"),
              "no element comes of the note on the live view")
        time.sleep(1)
        driver.title  # raises if an alert opened
        check(True, "no alert opened")
    except UnexpectedAlertPresentException:
        check(False, "the hostile note ran as script: an alert opened")
    errors = console_errors(driver)
    check(not errors, "no console error with the hostile note: %s" % errors)


def connection(driver):
    return driver.execute_script("return document.getElementById('status').dataset.connection")


def test_reconnect(driver, url, serve, binary, db, work, children):
    """The logger goes away and comes back on the same address: the page
    says so, and picks the stream up again by itself, without a reload."""
    driver.get(url + "/")
    check(wait_for(lambda: connection(driver) == "live", 10), "the live view is live")
    driver.execute_script("window.__sameDocument = 'not reloaded';")
    serve.stop()
    check(wait_for(lambda: connection(driver) == "retrying", 10),
          "the page shows that it lost the logger")
    check("reconnecting in" in driver.find_element(By.ID, "status").text,
          "... and when it tries again")
    time.sleep(3)  # a few retries fail: the backoff grows
    listen = url.split("://", 1)[1]
    again, _ = start_serve(binary, db, listen, os.path.join(work, "serve-again.log"))
    children += again  # stopped with the others
    check(wait_for(lambda: connection(driver) == "live", 40),
          "the page reconnects by itself once the logger is back")
    check(driver.execute_script("return window.__sameDocument") == "not reloaded",
          "... without a reload")
    check(wait_for(lambda: texts(driver, ".device-name"), 10), "... and shows the devices again")
    errors = [e for e in console_errors(driver) if "/events" not in e]
    check(not errors, "no console error but the refused /events connections: %s" % errors)


def test_tls(driver, binary, db, work, children):
    """The page over HTTPS with basic authentication (the same web
    configuration file as /metrics): the browser sends the password with
    every request, the stream included, and the live view and a cook page
    work as over HTTP."""
    user, password = "pitmaster", "smoke-ring"
    started, url, cert = start_tls_serve(binary, db, work, user, password)
    children += started
    context = ssl.create_default_context(cafile=cert)
    try:
        urllib.request.urlopen(url + "/", timeout=10, context=context)
        check(False, "the page over TLS needs the password")
    except urllib.error.HTTPError as e:
        check(e.code == 401, "the page over TLS needs the password: %d" % e.code)
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                           {"headers": {"Authorization": "Basic " + token}})
    try:
        driver.get(url + "/")
        check(wait_for(lambda: connection(driver) == "live" and texts(driver, ".device-name"), 10),
              "the live view over TLS with basic authentication is live and shows the devices")
        cook = estimating(url, context, token)
        if check(cook, "a cook to open over TLS"):
            driver.get(url + "/cooks/" + cook)
            check(wait_for(lambda: chart_drawn(driver) > 500, 10), "the cook page draws over TLS")
            check(wait_for(lambda: connection(driver) == "live", 10), "... and follows /events")
        errors = console_errors(driver)
        check(not errors, "no console error over TLS: %s" % errors)
    finally:
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})


def test_headers(url):
    for path in ("/", "/history", "/static/page.js", "/static/dygraph.min.js"):
        with urllib.request.urlopen(url + path, timeout=10) as response:
            check(response.headers.get("Content-Security-Policy") == "default-src 'self'",
                  path + ": Content-Security-Policy default-src 'self'")
            check(response.headers.get("X-Content-Type-Options") == "nosniff",
                  path + ": X-Content-Type-Options nosniff")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thermomaven", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--capture", required=True)
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="tm-page-")
    children = []
    driver = None
    try:
        started, live_url = start_live(args.thermomaven, args.sim, work)
        children += started
        hostile_children, hostile_url = start_hostile(args.thermomaven, args.capture, work)
        children += hostile_children
        driver = browser(DESKTOP)
        test_headers(live_url)
        test_live_view(driver, live_url, args.artifacts)
        test_cook_page(driver, live_url, args.artifacts, "live")
        test_history(driver, live_url, args.artifacts, "live")
        test_hostile_note(driver, hostile_url, args.artifacts)
        test_forecast_band(driver, hostile_url)
        test_cook_page(driver, hostile_url, args.artifacts, "capture")
        test_history(driver, hostile_url, args.artifacts, "capture")
        test_tls(driver, args.thermomaven, os.path.join(work, "hostile.db"), work, children)
        test_reconnect(driver, hostile_url, hostile_children[0], args.thermomaven,
                       os.path.join(work, "hostile.db"), work, children)
    except Exception as e:  # a harness failure is a failure too, in one line
        check(False, "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else ""))
    finally:
        if driver:
            driver.quit()
        for child in reversed(children):
            child.stop()
        if failures:
            for child in children:
                print("---- %s (end)\n%s" % (child.log_path, child.log()[-2000:]), file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    print("screenshots in " + args.artifacts)
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
