"""What the browser tests share: Debian's Chromium (:func:`launch`, behind the ``chromium``
fixture of tests/conftest.py), its flags for this closed network, where screenshots go, and a
notebook served by Voila on loopback (../shared/testing/BROWSER_TESTS.md; never
``playwright install``)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

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


@contextlib.contextmanager
def launch() -> Iterator[Browser]:
    """Debian's Chromium, headless, with the flags above; closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    # probe TCP only: an HTTP request would make Voila start a kernel before the browser asks
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"voila exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.2)
    pytest.fail(f"voila did not open port {port} in {timeout:.0f} s")


@contextlib.contextmanager
def serve(notebook: Path, work: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``notebook`` with Voila on a free loopback port; its URL while it runs."""
    port = _free_port()
    environ = {**os.environ, **(env or {})}
    environ.setdefault("JUPYTER_DATA_DIR", str(work / "jupyter-data"))
    log = (work / f"voila-{notebook.stem}.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            notebook.name,
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
        ],
        cwd=notebook.parent,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"  # one notebook given: Voila renders it at the root
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # also ends the kernel it started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextlib.contextmanager
def browse(browser: Browser, url: str, width: int, height: int) -> Iterator[Page]:
    """A ``width`` x ``height`` page on ``url``, every request off loopback aborted."""

    def local_only(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:  # Voila's template links a CDN stylesheet; there is no internet here
            route.abort()

    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.route("**/*", local_only)
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        yield page
    finally:
        page.close()
