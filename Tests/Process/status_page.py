#!/usr/bin/env python3
"""The status page in a real browser: 6 `subnet-dht run` processes on 127.0.0.1, headless Chromium.

Starts 6 peers with a 1 s heartbeat interval, 6 s TTL and 1 s prune interval (the live view is
read every second), the first serving its HTTP port
(`--metrics-port`), opens http://127.0.0.1:PORT/ in headless Chromium (driven over the DevTools
protocol), and checks:
  * the peers table lists all 6 peers online;
  * a click on a column header sorts the table, and the order holds across the page's updates;
  * a key's copy button puts the whole key on the clipboard;
  * on a phone-sized screen (390 px) the page does not scroll sideways (the tables scroll inside);
  * a peer stopped with SIGTERM exits 0 and, within a few seconds and without a reload, leaves the
    live table and shows as `left` (greyed) among the departed;
  * the page fetched nothing but its own node's URLs (it works with no internet);
then saves a screenshot (PNG) in its log directory, or where --screenshot says: the README's
picture is made with `--screenshot docs/status-page.png`.
Loopback only; every wait is bounded. Prints `ok NAME (figures)` / `FAIL NAME: reason` and a final
`N passed, M failed` line; exits 1 if anything failed. Without a `chromium` binary it prints
`skip: ...` and exits 0, or, with `CI` set, fails.

    python3 Tests/Process/status_page.py --subnet-dht .build/debug/subnet-dht
"""
import argparse
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import Checks, cannot_run, wait_until  # noqa: E402
from pysupport.localnet import free_tcp_port  # noqa: E402
from pysupport.processes import start_run, stop_all  # noqa: E402

# A TTL of 6 s, not 4: with 4 s (3 s past the interval) the views themselves lose live peers for
# a second or two after a graceful leave, while a view read waits on the departed replica
# (measured with /health's live_peers: 6 -> 2 -> 4 -> 5); that is the view's margin, not the page.
INTERVAL, TTL, PRUNE = 1, 6, 1
# OFFLINE goes out at once on SIGTERM; the page's node reads its view every prune interval,
# its status recorder reads the view every 1 s, and the page polls every 2 s.
OFFLINE_LIMIT = 10


class DevTools:
    """Just enough of the Chrome DevTools protocol: one page, calls answered in order, and the
    URLs the page requested (from Network events)."""

    def __init__(self, url, websocket):
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.requested = []

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.time() + 30
        while time.time() < deadline:
            message = json.loads(self.socket.recv())
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})
        raise TimeoutError("%s: no answer within 30 s" % method)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError("%s: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def close(self):
        self.socket.close()


def start_chromium(binary, profile, log):
    """Chromium headless with remote debugging on a free port; returns (process, page websocket URL)."""
    port = free_tcp_port()
    process = subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--hide-scrollbars", "--mute-audio", "--window-size=1200,900", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=%d" % port, "--remote-allow-origins=*", "--user-data-dir=%s" % profile, "about:blank"],
        stdout=log, stderr=log)

    def page_target():
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2) as response:
                targets = json.loads(response.read().decode())
        except OSError:
            return None
        return next((t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), None)

    url, _ = wait_until(60, page_target, pause=0.5)
    return process, url


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    parser.add_argument("--nodes", type=int, default=6)
    parser.add_argument("--screenshot", help="where to save the PNG (default: status-page.png in the log directory)")
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return cannot_run("no chromium binary (Debian package `chromium`, installed by Bootstrap/install-deps.sh)")
    try:
        import websocket  # Debian python3-websocket (websocket-client)
    except ImportError:
        print("FAIL setup: python3-websocket is missing (run Bootstrap/install-deps.sh)", flush=True)
        return 1

    binary = os.path.abspath(args.subnet_dht)
    logs = tempfile.mkdtemp(prefix="status-page.")
    print("logs in %s" % logs, flush=True)
    screenshot = os.path.abspath(args.screenshot or os.path.join(logs, "status-page.png"))
    checks = Checks()
    check = checks.check
    processes = []
    browser = None
    devtools = None

    def start(index, bootstrap, extra=()):
        role = "bootstrap" if index == 0 else ("validator" if index % 3 == 0 else "worker")
        return start_run(binary, logs, index, "peer-%d" % index, (INTERVAL, TTL, PRUNE), bootstrap,
                         ("--role", role, *extra), processes)

    try:
        http_port = free_tcp_port()
        first, seed, first_key = start(0, None, ("--metrics-port", str(http_port)))
        peers = [(first, seed, first_key)]
        for index in range(1, args.nodes):
            peers.append(start(index, seed))
        keys = {key for _, _, key in peers}
        page_url = "http://127.0.0.1:%d/" % http_port

        browser, target = start_chromium(chromium, os.path.join(logs, "chromium-profile"),
                                         open(os.path.join(logs, "chromium.log"), "a"))
        check("chromium-starts", target is not None, "no DevTools page target within 60 s (see chromium.log)")
        if target is None:
            return checks.summary()
        devtools = DevTools(target, websocket)
        devtools.call("Network.enable")
        devtools.call("Page.navigate", url=page_url)
        loaded, _ = wait_until(30, lambda: devtools.evaluate("document.readyState") == "complete")
        # A reload would reset this mark; it must survive every update of the page.
        mark = devtools.evaluate("window.statusPageMark = String(Math.random())")
        check("page-loads", loaded and devtools.evaluate("document.title").startswith("Subnet node"),
              "title %r" % devtools.evaluate("document.title"))

        listed_js = "Array.from(document.querySelectorAll('#peers tbody tr')).map(r => [r.dataset.owner, r.dataset.state])"

        def all_listed():
            rows = devtools.evaluate(listed_js) or []
            online = {owner for owner, state in rows if state == "online"}
            return rows if online == keys and len(rows) == len(keys) else None

        listed, took = wait_until(60, all_listed)
        check("table-lists-all-peers", listed is not None,
              "after 60 s the table lists %s" % devtools.evaluate(listed_js),
              "%d peers online in the table %.1f s after the page opened" % (len(keys), took or 0))

        # Sorting: a click on Name sorts ascending, a second click descending; updates keep it.
        names_js = "Array.from(document.querySelectorAll('#peers tbody tr td:nth-child(2)')).map(c => c.textContent)"
        click_name_js = "document.querySelector('#peers thead th:nth-child(2) button').click()"
        devtools.evaluate(click_name_js)
        ascending = devtools.evaluate(names_js)
        devtools.evaluate(click_name_js)
        descending = devtools.evaluate(names_js)
        # Wait for one update of the page (every 2 s): it swaps in a new table, which lacks the
        # mark set on the old one.
        devtools.evaluate("document.querySelector('#peers').dataset.beforeUpdate = '1'")
        updated, _ = wait_until(10, lambda: devtools.evaluate(
            "(function () { var t = document.querySelector('#peers'); return t !== null && t.dataset.beforeUpdate === undefined; })()"),
            pause=0.1)
        kept = devtools.evaluate(names_js)
        check("columns-sort", updated and ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)
              and kept == descending and len(kept) == len(keys),
              "ascending %s, descending %s, after an update %s%s"
              % (ascending, descending, kept, "" if updated else " (no update within 10 s)"))

        # Copying a key: the button puts the whole key on the clipboard. A headless page has no
        # focus unless emulated, and the clipboard needs both focus and permission.
        devtools.call("Emulation.setFocusEmulationEnabled", enabled=True)
        devtools.call("Browser.grantPermissions", origin=page_url.rstrip("/"),
                      permissions=["clipboardReadWrite", "clipboardSanitizedWrite"])
        button_js = "document.querySelector('#peers tbody tr[data-owner=\"%s\"] button.copy')" % first_key
        clipboard_js = "navigator.clipboard.readText().catch(error => 'unreadable: ' + error.message)"
        devtools.evaluate(button_js + ".click()")
        copied, _ = wait_until(5, lambda: devtools.evaluate(clipboard_js) == first_key)
        check("keys-copy", copied, "clipboard holds %r" % devtools.evaluate(clipboard_js), "the whole key, 64 hex digits")

        # A phone-sized screen: nothing wider than the screen but the tables' own scroll boxes.
        devtools.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        time.sleep(0.5)
        widths = devtools.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        devtools.call("Emulation.clearDeviceMetricsOverride")
        check("fits-a-phone", widths and widths[0] <= widths[1], "page %s px wide on a %s px screen" % tuple(widths or (None, None)),
              "%s px page on a %s px screen" % tuple(widths or (None, None)))

        # SIGTERM: the peer publishes OFFLINE and exits; the open page shows it left.
        leaver, leaver_address, leaver_key = peers[3]
        stopped_at = time.time()
        leaver.send_signal(signal.SIGTERM)
        row_js = ("(() => { const live = document.querySelector('#peers tr[data-owner=\"%s\"]');"
                  " const gone = document.querySelector('#departed tr[data-owner=\"%s\"]');"
                  " return [!!live, gone ? gone.dataset.reason : null, gone ? getComputedStyle(gone.cells[0]).color : null]; })()"
                  % (leaver_key, leaver_key))

        def shown_left():
            live, reason, _ = devtools.evaluate(row_js)
            return not live and reason == "left"

        left, _ = wait_until(OFFLINE_LIMIT + 10, shown_left)
        left_after = time.time() - stopped_at
        code = leaver.wait(timeout=15)
        check("sigterm-exits-0", code == 0, "exit status %s" % code)
        check("page-shows-peer-left", left and left_after <= OFFLINE_LIMIT,
              "not shown as left within %d s: %s" % (OFFLINE_LIMIT + 10, devtools.evaluate(row_js)) if not left
              else "took %.1f s" % left_after,
              "shown as left %.1f s after SIGTERM, limit %d s" % (left_after, OFFLINE_LIMIT))
        _, _, color = devtools.evaluate(row_js)
        live_color = devtools.evaluate("getComputedStyle(document.querySelector('#peers tbody tr').cells[0]).color")
        check("departed-row-greyed", color is not None and color != live_color, "departed %s, live %s" % (color, live_color))
        check("no-reload", devtools.evaluate("window.statusPageMark") == mark, "the page was reloaded")
        remaining = devtools.evaluate(listed_js)
        check("others-still-listed", {o for o, _ in remaining} == keys - {leaver_key}, "table: %s" % remaining)

        outside = [url for url in devtools.requested if not url.startswith(page_url) and not url.startswith("data:")]
        check("nothing-from-elsewhere", devtools.requested and not outside, "requests outside the node: %s" % outside,
              "%d requests, all to %s" % (len(devtools.requested), page_url))

        size = devtools.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = devtools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        os.makedirs(os.path.dirname(screenshot), exist_ok=True)
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        check("screenshot-saved", os.path.getsize(screenshot) > 10000, "%d bytes" % os.path.getsize(screenshot),
              "%s, %dx%d" % (screenshot, size["width"], size["height"]))
    finally:
        if devtools:
            devtools.close()
        if browser:
            browser.terminate()
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
        stop_all(processes, timeout=15)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
