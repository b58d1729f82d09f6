"""The explorer in a real browser: Voila renders a notebook, Playwright drives Chromium.

Follows ../shared/testing/BROWSER_TESTS.md: Debian's /usr/bin/chromium (never ``playwright
install``), Voila on 127.0.0.1, every request off loopback aborted, a 1280 px wide window.
Each kind of filter is changed through the page, the counts the page shows are checked against
pandas, headers and rows are clicked, an export is clicked and the file read back; then five
jobs of a review queue are labelled through the page and the labels file is read by
``cf.audit``. Screenshots are kept in test-artifacts/. About 30 s and 1.7 GB.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pandas as pd
import pytest
from chromium import ARTIFACTS, browse, missing, serve

from classify_frames import audit, jobs_to_frame
from classify_frames.emulator import Dataset
from classify_frames.explorer._render import configuration_labels

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HERE = Path(__file__).parent
NOTEBOOK = HERE / "explorer_app.ipynb"
LABELLING = HERE / "labelling_app.ipynb"
WIDTH = 1280  # the narrowest laptop screen the explorer must fit without sideways scrolling


if reason := missing("playwright", "voila"):
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def page(chromium: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    work = tmp_path_factory.mktemp("explorer")
    with serve(NOTEBOOK, work) as url, browse(chromium, url, WIDTH, 2400) as page:
        yield page


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    """The frame the notebooks explore, built again here to compute what the page must show."""
    return jobs_to_frame(list(Dataset.generate(2_000, seed=0).jobs()))


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    widget = page.locator(".cf-explorer-widget")
    if widget.count():
        widget.screenshot(path=str(ARTIFACTS / name))
    else:  # the widget never rendered: keep what the page shows instead
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def matched(page: Page, n: int, total: int = 2_000) -> None:
    expect(page.locator("div.widget-label.cf-matched")).to_have_text(f"{n:,} of {total:,} jobs")


def test_filter_page_and_export_in_chromium(page: Page, df: pd.DataFrame, tmp_path: Path) -> None:
    try:
        _drive(page, df, tmp_path)
    finally:
        _screenshot(page, "explorer.png")


def _drive(page: Page, df: pd.DataFrame, tmp_path: Path) -> None:
    expect(page.locator("div.widget-label.cf-matched")).to_be_visible(timeout=60_000)
    matched(page, len(df))
    _check_fits(page)
    _sort_by_clicks(page, df)
    _choose_columns(page)

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
    name = configuration_labels(df)[config]  # a short id: the emulator's have no names
    assert name == f"{config[:8]}…"
    page.locator(".cf-config select").select_option(f"{name} ({len(chosen):,})")
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
        | spring["file_input"].str.contains("invoice", case=False, regex=False)
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

    # paging, and a click on a row opens its detail
    pages = -(-len(failed) // 10)
    expect(page.locator("div.widget-label.cf-page")).to_have_text(f"page 1 of {pages}")
    page.locator("button.cf-next").click()
    expect(page.locator("div.widget-label.cf-page")).to_have_text(f"page 2 of {pages}")
    second = failed.sort_values("id").iloc[11]  # sorted by id since the header was clicked
    page.locator(f'.cf-table tr[data-row="{second.name}"]').click()
    expect(page.locator(".cf-detail h4")).to_contain_text(second["id"])
    if pd.notna(second["error_message"]):
        expect(page.locator(".cf-detail")).to_contain_text(second["error_message"])
    expect(page.locator(".cf-table tbody tr")).to_have_count(10)
    expect(page.locator(".cf-table tr.cf-selected")).to_have_attribute("data-row", str(second.name))

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


def _check_fits(page: Page) -> None:
    """At 1280 px: nothing wider than the page, no label cut short, no blank dropdown."""
    expect(page.locator(".cf-table tbody tr")).to_have_count(10)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    box = page.locator(".cf-explorer-widget").bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH
    for css in ("button.cf-reset", ".cf-audit", ".cf-export", ".cf-no-match", ".cf-failed"):
        cut = page.locator(css).evaluate("e => e.scrollWidth > e.clientWidth + 1")
        assert not cut, f"{css} is cut short"
    summary = page.locator(".cf-summary").bounding_box()
    assert summary is not None and summary["x"] + summary["width"] <= WIDTH
    chosen = page.locator(".cf-config select").evaluate("s => s.options[s.selectedIndex].text")
    assert chosen.replace("\xa0", " ") == "all configurations"
    expect(page.locator(".cf-histogram")).to_contain_text("threshold 0.8")


def _sort_by_clicks(page: Page, df: pd.DataFrame) -> None:
    """A click on a header sorts by it, a second click reverses; a click on a row opens it."""
    header = page.locator('.cf-table th[data-col="result.confidence"]')
    header.click()
    expect(header).to_contain_text("▲")
    ascending = df.sort_values("result.confidence", kind="stable", na_position="last")
    expect(page.locator(".cf-table tbody tr").first).to_have_attribute(
        "data-row", str(ascending.index[0])
    )
    header.click()
    expect(header).to_contain_text("▼")
    top = df.sort_values("result.confidence", ascending=False, kind="stable").iloc[0]
    expect(page.locator(".cf-table tbody tr").first).to_have_attribute("data-row", str(top.name))
    third = page.locator(".cf-table tbody tr").nth(2)
    third_id = third.locator("td").nth(1).inner_text()
    third.click()
    expect(page.locator(".cf-detail h4")).to_contain_text(third_id)
    page.locator('.cf-table th[data-col="id"]').click()
    first_id = sorted(df["id"])[0]
    expect(page.locator(".cf-table tbody tr").first.locator("td").nth(1)).to_have_text(first_id)


def _choose_columns(page: Page) -> None:
    """The column chooser decides which headers the table has."""
    page.locator(".cf-columns select").select_option(["id", "status", "usage.credits"])
    expect(page.locator(".cf-table th[data-col]")).to_have_count(3)
    expect(page.locator('.cf-table th[data-col="usage.credits"]')).to_be_visible()
    page.locator(".cf-columns select").select_option(
        ["id", "status", "result.type", "result.confidence", "configuration_id", "created_at"]
    )
    expect(page.locator(".cf-table th[data-col]")).to_have_count(6)


def test_label_a_review_queue_in_chromium(
    chromium: Browser, df: pd.DataFrame, tmp_path: Path
) -> None:
    """Five jobs of a review queue labelled through the page, by keys, buttons and text."""
    labels = tmp_path / "labels.csv"
    queue = audit(df).review_queue(n=2, strategy="stratified")  # as the notebook makes it
    env = {"CF_LABELS": str(labels)}
    with serve(LABELLING, tmp_path, env) as url, browse(chromium, url, WIDTH, 2400) as page:
        try:
            _label_five(page, df, queue, labels)
        finally:
            _screenshot(page, "explorer-labelling.png")
    written = pd.read_csv(labels, dtype=str, keep_default_na=False)
    assert written.columns.tolist() == queue.columns.tolist()
    assert written["id"].tolist() == queue["id"].tolist()
    # every column of the queue travels unchanged: as the queue itself writes it to CSV
    as_csv = pd.read_csv(io.StringIO(queue.to_csv(index=False)), dtype=str, keep_default_na=False)
    kept = queue.columns.drop("label")
    pd.testing.assert_frame_equal(written[kept], as_csv[kept])
    report = audit(df, labels=labels)
    assert report.truth is not None and int(report.truth.notna().sum()) == 5


def _label_five(page: Page, df: pd.DataFrame, queue: pd.DataFrame, labels: Path) -> None:
    rows = page.locator(".cf-table tbody tr")
    expect(rows).to_have_count(min(10, len(queue)), timeout=60_000)
    count = page.locator(".cf-label-count")
    expect(count).to_have_text(f"0 of {len(queue)} labelled")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    panel = page.locator(".cf-label-panel").bounding_box()
    detail = page.locator(".cf-detail").bounding_box()
    table = page.locator(".cf-table").bounding_box()
    assert panel is not None and detail is not None and table is not None
    assert panel["x"] + panel["width"] <= WIDTH
    # beside the table, the panel first and the job's detail under it
    assert table["x"] + table["width"] <= min(panel["x"], detail["x"])
    assert panel["y"] + panel["height"] <= detail["y"]
    spill = page.locator(".cf-detail").evaluate("e => e.scrollWidth - e.clientWidth")
    assert spill <= 1, f"the detail's text runs {spill} px past its column"
    by_id = df.set_index("id")

    def rule_types(job_id: str) -> list[str]:
        rules = cast(list[dict[str, str]], by_id.loc[job_id, "configuration.rules"])
        return [r["type"] for r in rules]

    ids = queue["id"].tolist()
    expected: dict[str, str] = {}
    # 1. the first job is open: focus the table by a click on its row, press "2"
    rows.first.click()
    expect(page.locator(".cf-label-title")).to_contain_text(ids[0])
    page.keyboard.press("2")
    expected[ids[0]] = rule_types(ids[0])[1]
    expect(count).to_have_text(f"1 of {len(queue)} labelled")
    # 2. labelling moved on to the second job: a click on a type's button
    expect(page.locator(".cf-label-title")).to_contain_text(ids[1])
    kind = rule_types(ids[1])[0]
    page.locator(".cf-label-choice button", has_text=f"1 {kind}").click()
    expected[ids[1]] = kind
    expect(count).to_have_text(f"2 of {len(queue)} labelled")
    # 3. "0" is "none"
    expect(page.locator(".cf-label-title")).to_contain_text(ids[2])
    rows.nth(2).click()
    page.keyboard.press("0")
    expected[ids[2]] = "none"
    expect(count).to_have_text(f"3 of {len(queue)} labelled")
    # 4. a type no rule names, typed in
    expect(page.locator(".cf-label-title")).to_contain_text(ids[3])
    other = page.locator(".cf-label-other input")
    other.fill("handwritten_note")
    other.press("Enter")
    expected[ids[3]] = "handwritten_note"
    expect(count).to_have_text(f"4 of {len(queue)} labelled")
    # 5. walk with the keys: j twice (to the sixth), k once (back to the fifth), then a label
    rows.nth(4).click()
    page.keyboard.press("j")
    expect(page.locator(".cf-label-title")).to_contain_text(ids[5])
    page.keyboard.press("k")
    expect(page.locator(".cf-label-title")).to_contain_text(ids[4])
    page.locator("button.cf-label-next").click()
    expect(page.locator(".cf-label-title")).to_contain_text(ids[5])
    page.locator("button.cf-label-prev").click()
    expect(page.locator(".cf-label-title")).to_contain_text(ids[4])
    kind = rule_types(ids[4])[-1]
    page.locator(".cf-label-choice button", has_text=kind).first.click()
    expected[ids[4]] = kind
    expect(count).to_have_text(f"5 of {len(queue)} labelled")
    written = pd.read_csv(labels, dtype=str, keep_default_na=False)
    got = {i: v for i, v in zip(written["id"], written["label"], strict=True) if v}
    assert got == expected
    # the table marks the five labelled rows, each with its label
    marked = page.locator(".cf-table tr.cf-labelled")
    expect(marked).to_have_count(5)
    expect(marked.first.locator("td.cf-label-mark")).to_have_text(f"✓ {expected[ids[0]]}")
