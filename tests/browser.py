"""The web pages' browser tests share this: Debian's Chromium driven by Playwright (skipped with what to install
when it is missing), a tab that fails its test if the page's script threw (or, when asked, the
Content-Security-Policy blocked something), and numbered screenshots kept as test artifacts under
var/test-artifacts/<area>/<test>/ (or $CRM_TEST_ARTIFACTS/<area>)."""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers import missing

ARTIFACTS = Path(os.environ.get("CRM_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / "var" / "test-artifacts")
Shot = Callable[[str], None]


@contextmanager
def chromium_tab(viewport: dict[str, int], wait_ms: int, *, csp_errors: bool = False) -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing("Chromium", "apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=wait_ms)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            tab = browser.new_context(viewport=viewport).new_page()
            tab.set_default_timeout(wait_ms)
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            if csp_errors:
                tab.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            yield tab
            assert not errors, f"the page's script failed: {errors}"
        finally:
            browser.close()


def screenshots(tab: Any, area: str, test_name: str) -> Shot:
    """shot("step") keeps the tab as it is now, numbered in order; the test's earlier screenshots go first."""
    folder = ARTIFACTS / area / re.sub(r"[^\w.-]+", "_", test_name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    count = iter(range(1, 100))

    def take(step: str) -> None:
        tab.screenshot(path=str(folder / f"{next(count):02d}-{step}.png"), full_page=True)

    return take
