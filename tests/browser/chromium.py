"""What the browser tests share: Debian's Chromium, its flags for this closed network, and where
screenshots go (../shared/testing/BROWSER_TESTS.md; never ``playwright install``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def missing(*modules: str) -> str | None:
    """Why these browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[browser]')"
    return None
