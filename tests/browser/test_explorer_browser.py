"""The explorer in a real browser: Voila renders explorer_app.ipynb, Playwright drives Chromium.

Follows ../shared/testing/BROWSER_TESTS.md: Debian's /usr/bin/chromium (never ``playwright
install``), Voila on 127.0.0.1, every request off loopback aborted. Each kind of filter is changed
through the page, the counts the page shows are checked against pandas, an export is clicked and
the file read back. A screenshot is kept in test-artifacts/. About 15 s and 1.7 GB.
"""

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

import pandas as pd
import pytest

from classify_frames import jobs_to_frame
from classify_frames.emulator import Dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = Path(__file__).parent
NOTEBOOK = HERE / "explorer_app.ipynb"
ARTIFACTS = HERE.parents[1] / "test-artifacts"
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


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    for module in ("playwright", "voila"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[browser]')"
    return None


if reason := _missing():
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, Route, expect, sync_playwright  # noqa: E402


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


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ)
    env.setdefault("JUPYTER_DATA_DIR", str(tmp_path_factory.mktemp("jupyter-data")))
    log = (tmp_path_factory.mktemp("voila") / "voila.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            NOTEBOOK.name,
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
        ],
        cwd=HERE,
        env=env,
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


@pytest.fixture(scope="module")
def page(voila_url: str) -> Iterator[Page]:
    def local_only(route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:  # Voila's template links a CDN stylesheet; there is no internet here
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.route("**/*", local_only)
            page.goto(voila_url, wait_until="domcontentloaded", timeout=60_000)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    """The frame the notebook explores, built again here to compute what the page must show."""
    return jobs_to_frame(list(Dataset.generate(2_000, seed=0).jobs()))


def matched(page: Page, n: int, total: int = 2_000) -> None:
    expect(page.locator("div.widget-label.cf-matched")).to_have_text(f"{n:,} of {total:,} jobs")


def test_filter_page_and_export_in_chromium(page: Page, df: pd.DataFrame, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _drive(page, df, tmp_path)
    finally:
        widget = page.locator(".cf-explorer-widget")
        if widget.count():
            widget.screenshot(path=str(ARTIFACTS / "explorer.png"))
        else:  # the widget never rendered: keep what the page shows instead
            page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)


def _drive(page: Page, df: pd.DataFrame, tmp_path: Path) -> None:
    expect(page.locator("div.widget-label.cf-matched")).to_be_visible(timeout=60_000)
    matched(page, len(df))

    # status multi-select, labelled with counts
    completed = df[df["status"] == "COMPLETED"]
    page.locator(".cf-status select").select_option([f"COMPLETED ({len(completed):,})"])
    matched(page, len(completed))
    expect(page.locator(".cf-summary")).to_contain_text(f"COMPLETED: {len(completed):,}")

    # result type multi-select: its counts follow the status filter
    invoices = completed[completed["result.type"] == "invoice"]
    page.locator(".cf-type select").select_option([f"invoice ({len(invoices):,})"])
    matched(page, len(invoices))

    # reset button
    page.locator("button.cf-reset").click()
    matched(page, len(df))

    # configuration dropdown
    config = df["configuration_id"].value_counts().index[0]
    chosen = df[df["configuration_id"] == config]
    page.locator(".cf-config select").select_option(f"{config} ({len(chosen):,})")
    matched(page, len(chosen))

    # confidence range slider, typed into its readout
    readout = page.locator(".cf-confidence .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.52-0.83")
    page.keyboard.press("Enter")
    in_range = chosen[chosen["result.confidence"].between(0.52, 0.83)]
    matched(page, len(in_range))

    # created-at date range
    page.locator("button.cf-reset").click()
    page.locator(".cf-created-from input[type=date]").fill("2026-03-01")
    page.locator(".cf-created-to input[type=date]").fill("2026-04-30")
    created = df["created_at"]
    spring = df[
        (created >= pd.Timestamp("2026-03-01", tz="UTC"))
        & (created < pd.Timestamp("2026-05-01", tz="UTC"))
    ]
    matched(page, len(spring))

    # text search (applied on Enter)
    search = page.locator(".cf-search input")
    search.fill("INVOICE")
    search.press("Enter")
    found = spring[
        spring["id"].str.contains("invoice", case=False, regex=False)
        | spring["document_input_value"].str.contains("invoice", case=False, regex=False)
        | spring["result.reasoning"].str.contains("invoice", case=False, regex=False).fillna(False)
    ]
    assert 0 < len(found) < len(spring)
    matched(page, len(found))

    # the two toggles
    page.locator("button.cf-reset").click()
    page.locator(".cf-no-match input[type=checkbox]").check()
    no_match = df[(df["status"] == "COMPLETED") & df["result.type"].isna()]
    matched(page, len(no_match))
    page.locator(".cf-no-match input[type=checkbox]").uncheck()
    page.locator(".cf-failed input[type=checkbox]").check()
    failed = df[(df["status"] == "FAILED") | df["fetch_error"].notna()]
    matched(page, len(failed))
    expect(page.locator(".cf-histogram")).to_contain_text(f"{len(failed):,} without confidence")

    # paging and the detail panel
    pages = -(-len(failed) // 10)
    expect(page.locator("div.widget-label.cf-page")).to_have_text(f"page 1 of {pages}")
    page.locator("button.cf-next").click()
    expect(page.locator("div.widget-label.cf-page")).to_have_text(f"page 2 of {pages}")
    second = failed.iloc[11]
    page.locator(".cf-job select").select_option(second["id"])
    expect(page.locator(".cf-detail h4")).to_contain_text(second["id"])
    if pd.notna(second["error_message"]):
        expect(page.locator(".cf-detail")).to_contain_text(second["error_message"])
    expect(page.locator(".cf-table tbody tr")).to_have_count(10)

    # export the filtered rows, then a bad directory
    target = tmp_path / "failed.parquet"
    page.locator(".cf-export-name input").fill(str(target))
    page.locator("button.cf-export").click()
    expect(page.locator(".cf-export-status")).to_contain_text(
        f"Wrote {len(failed):,} rows to {target}"
    )
    written = pd.read_parquet(target)
    assert len(written) == len(failed)
    assert written["id"].tolist() == failed["id"].tolist()
    page.locator(".cf-export-name input").fill(str(tmp_path / "missing" / "x.parquet"))
    page.locator("button.cf-export").click()
    expect(page.locator(".cf-export-status")).to_contain_text("Export failed")
    expect(page.locator(".cf-export-status")).to_contain_text("does not exist")
