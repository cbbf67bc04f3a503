"""Drives Debian's chromium through rbk serve's pages as an approver would at 3 a.m.

Called by tests/serve_browser.rs with: BASE_URL TOKEN SCREENSHOT_DIR EXPECTED_ARGUMENT.
Prints one JSON object (what it saw) as its last line; exits non-zero with the reason when
something a person relies on is not there.
"""

import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: the run goes on in another process after the click; the page follows by itself
# (server-sent events), and this only bounds how long we are willing to watch.
WATCH_MS = 90_000


def fail(reason, page=None):
    text = page.inner_text("body") if page is not None else ""
    print(f"FAILED: {reason}\n--- page text ---\n{text}", file=sys.stderr)
    sys.exit(1)


def main():
    base, token, shots, argument = sys.argv[1:5]
    seen = {"dialogs": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))

        # Without a token: no runs, only the login form.
        page.goto(base + "/")
        if not page.url.endswith("/login"):
            fail(f"opening / without signing in landed on {page.url}, not /login", page)
        seen["without_token"] = page.url

        # A wrong token is refused on the form.
        page.fill("#token", "rbk_not_a_token")
        page.click("button[type=submit]")
        if "no person's" not in page.inner_text("body"):
            fail("a wrong token was not refused", page)

        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.wait_for_selector("table.runs")
        if "waiting" not in page.inner_text("table.runs"):
            fail("the runs list does not show the waiting run", page)
        page.screenshot(path=f"{shots}/runs.png", full_page=True)

        page.click("table.runs tbody tr:first-child td:nth-child(2) a")
        page.wait_for_selector("section.gate")
        gate = page.inner_text("section.gate")
        if "shell.run" not in gate:
            fail("the waiting step's action is not shown", page)
        if argument not in gate:
            fail(f"the action's argument {argument!r} is not shown", page)
        seen["gate"] = gate

        alert = page.inner_text("dl.facts >> nth=1")
        if "<script>alert(1)</script>" not in alert:
            fail("the alert label with <script> is not shown as text", page)
        if page.locator("dd.alert-label script").count() != 0:
            fail("the alert label became a script element", page)
        page.screenshot(path=f"{shots}/run.png", full_page=True)
        # A phone's width: the same page must stay usable.
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{shots}/run-phone.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.click("section.gate button.approve")
        # The decision redirects back to the run page; it then follows the run by itself.
        page.wait_for_selector("h1 .state.ok", timeout=WATCH_MS)
        text = page.inner_text("body")
        if "Approved" not in text and "approved" not in text:
            fail("the page does not say the step was approved", page)
        seen["final"] = page.inner_text("h1")
        seen["chain_intact"] = "hash chain is intact" in text
        page.screenshot(path=f"{shots}/run-succeeded.png", full_page=True)
        browser.close()
    if seen["dialogs"]:
        fail(f"a dialog fired: {seen['dialogs']}")
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
