"""Drives Debian's chromium to a gate that asks for a value, as an approver would.

Called by tests/serve_browser.rs with: BASE_URL TOKEN SCREENSHOT_DIR FIELD VALUE.
Types a value that is not of the asked type first (the server must refuse it and record
nothing), then the good one. Exits non-zero with the reason when something is missing.
"""

import sys

from playwright.sync_api import sync_playwright

from approve import ARGS, CHROMIUM, WATCH_MS, fail


def main():
    base, token, shots, field, value = sys.argv[1:6]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.click("table.runs tbody tr:first-child td:nth-child(2) a")
        page.wait_for_selector("section.gate")
        box = page.locator(f"section.gate input[name='value.{field}']")
        if box.count() != 1:
            fail(f"the gate shows no input for `{field}`", page)
        page.screenshot(path=f"{shots}/run-asks.png", full_page=True)

        # Not a size: refused by the decision path, the run still waits.
        box.fill("lots")
        page.click("section.gate button.approve")
        page.wait_for_load_state()
        text = page.inner_text("body")
        if "lots" not in text or "size" not in text:
            fail("a value of the wrong type was not refused with its reason", page)
        page.screenshot(path=f"{shots}/run-asks-refused.png", full_page=True)

        page.wait_for_selector("section.gate")
        page.locator(f"section.gate input[name='value.{field}']").fill(value)
        page.click("section.gate button.approve")
        page.wait_for_selector("h1 .state.ok", timeout=WATCH_MS)
        if value not in page.inner_text("body"):
            fail(f"the run page does not show the value {value}", page)
        page.screenshot(path=f"{shots}/run-asks-succeeded.png", full_page=True)
        browser.close()
    print("ok")


if __name__ == "__main__":
    main()
