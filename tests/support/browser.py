"""Real headless Chromium for the tests: Debian's `chromium`, driven through Playwright's Python package.

Playwright's own browser download is never used (it is not reachable here, and CI has Debian's build): we
launch the system binary with `executable_path`. Chromium missing is a test failure with a clear message,
not a skip — `make test` (`.ci/browser`) installs it when run as root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # gitignored: screenshots to look at

# No network but loopback here: without these, Chromium keeps trying to reach Google's services.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "Chromium is needed for the browser tests and was not found (looked at $KG_CHROMIUM, `chromium` on PATH, "
    "/usr/bin/chromium). Install Debian's package: `sudo apt-get install chromium` — `make test` does it "
    "when run as root (.ci/browser)."
)


def chromium_path() -> str:
    for candidate in (os.environ.get("KG_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(MISSING)


@contextmanager
def chromium() -> Iterator[Browser]:
    """One headless Chromium (with a fresh, throw-away profile) for as long as the block runs."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page in its own browser context, with every console error and uncaught exception recorded."""

    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


def open_tab(browser: Browser, *, javascript: bool, width: int = 1280, height: int = 900) -> Tab:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    tab = Tab(context, page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):  # a CSP violation is reported here as an error
            tab.problems.append(f"console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: tab.problems.append(f"uncaught: {exc}"))
    page.on("dialog", lambda dialog: (tab.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return tab
