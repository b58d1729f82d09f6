"""The browser tests' one Chromium: Debian's, headless, launched once per test module and shared
by its tests (../shared/testing/BROWSER_TESTS.md; never ``playwright install``). Voila is
started by :func:`chromium.serve`, pages opened by :func:`chromium.browse`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """A headless Chromium for this module's tests (one Playwright at a time: module scope)."""
    from chromium import CHROMIUM, CHROMIUM_ARGS, missing  # beside this file, as the tests do

    if reason := missing("playwright"):
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
