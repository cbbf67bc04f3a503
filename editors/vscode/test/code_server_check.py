"""Drives code-server (VS Code in the browser) in Chromium, as a user would, and checks that
the rbk extension works there: the language server's E0301 diagnostic appears for the
workspace's `ungated.rbk`, hovering an action shows its effect, and the quick fix asked for at
the start of the step's line inserts the approval clause, after which the diagnostic is gone.
Saves a screenshot of each stage. Run by code-server.sh, which sets everything up."""

import argparse
import re
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

# The language server starts with the first .rbk file; give it time on a busy machine.
WAIT_MS = 90_000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--shots", required=True, type=Path)
    parser.add_argument("--chromium", required=True)
    args = parser.parse_args()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        try:
            drive(page, args)
        except Exception:
            # What the page looked like when it went wrong.
            page.screenshot(path=str(args.shots / "vscode-failure.png"))
            raise
        finally:
            browser.close()
    print("code-server: diagnostic, hover and quick fix: ok")
    return 0


def drive(page, args) -> None:
    page.goto(args.url)
    workbench = page.locator(".monaco-workbench")
    expect(workbench).to_be_visible(timeout=WAIT_MS)

    def shot(name: str) -> None:
        path = args.shots / f"vscode-{name}.png"
        page.screenshot(path=str(path))
        print(f"screenshot: {path}")

    # Open the file from the Explorer.
    page.get_by_role("treeitem", name="ungated.rbk").click()
    editor = page.locator(".monaco-editor .view-lines").first
    expect(editor).to_contain_text("runbook db_pool_exhaustion", timeout=WAIT_MS)

    # Highlighting: the TextMate grammar gives keywords a token (a span) of their own.
    keyword = page.locator(".view-line span span", has_text=re.compile(r"^runbook$"))
    expect(keyword.first).to_be_visible(timeout=WAIT_MS)

    # The diagnostic: E0301 in the Problems panel; choosing it shows the squiggle.
    page.keyboard.press("Control+Shift+M")
    problems = page.locator(".markers-panel")
    expect(problems).to_contain_text("E0301", timeout=WAIT_MS)
    expect(problems).to_contain_text("destructive", timeout=WAIT_MS)
    problems.get_by_text("has no approval clause").first.click()
    squiggle = page.locator(".squiggly-error").first
    expect(squiggle).to_be_visible(timeout=WAIT_MS)
    shot("diagnostic")

    # Hover on the destructive action: its signature and effect from the language server.
    action = page.locator(".view-line span span", has_text=re.compile(r"^terminate$")).first
    expect(action).to_be_visible(timeout=WAIT_MS)
    action.hover()
    hover = page.locator(".monaco-hover").filter(has_text="destructive")
    expect(hover.first).to_be_visible(timeout=WAIT_MS)
    shot("hover")
    page.mouse.move(5, 5)
    page.keyboard.press("Escape")

    # The quick fix, asked for with the cursor at the start of the step's line (not on the
    # step's name, where the diagnostic is).
    step_line = page.locator(".view-line", has_text="step kill").first
    step_line.click(position={"x": 2, "y": 5})
    page.keyboard.press("Home")
    page.keyboard.press("Control+.")
    menu = page.locator(".action-widget")
    expect(menu).to_contain_text("Require approval", timeout=WAIT_MS)
    shot("quick-fix")
    # The preferred fix is the first entry, and selected: take it.
    page.keyboard.press("Enter")
    expect(editor).to_contain_text("approval required from", timeout=WAIT_MS)
    expect(page.locator(".squiggly-error")).to_have_count(0, timeout=WAIT_MS)
    expect(problems).not_to_contain_text("E0301", timeout=WAIT_MS)
    shot("fixed")


if __name__ == "__main__":
    sys.exit(main())
