"""The HTML audit report in a real browser: Debian's Chromium opens the file (no Voila needed for
a static page) through Playwright, as ../shared/testing/BROWSER_TESTS.md describes.

At 800 x 1000 and 1280 x 800: no element is wider than the viewport unless it sits in its own
scroll box (with every folded table opened), every chart fits the width, no request leaves the
page, the findings come before the first table; and printing shows the folded rows. The report
holds a rule-set experiment, so its tables are measured too. Screenshots of the top and of each
section are kept in test-artifacts/ (report-<width>-*.png). About 10 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, missing

import classify_frames as cf
from classify_frames.auditing import AuditReport
from classify_frames.emulator import Dataset

pytestmark = [pytest.mark.browser]

VIEWPORTS = ((800, 1000), (1280, 800))
SECTIONS = ("auto-accept", "wrong", "calibrated", "drift", "rules", "experiment-1")


if reason := missing("playwright"):
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, Page, Request, sync_playwright  # noqa: E402

# Every element whose box pokes out of the viewport, unless a scroll box holds it (the box
# itself must fit). Folded tables are opened first, so their rows are measured too.
OVERFLOW_JS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.parentElement && el.parentElement.closest('.scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
      out.push(`${el.tagName}.${el.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  const scrolling = [...document.querySelectorAll('.scroll')]
    .filter(b => b.scrollWidth > b.clientWidth + 1).length;
  const plots = [...document.querySelectorAll('img.plot')].map(i => ({
    alt: i.alt, right: i.getBoundingClientRect().right, shown: i.getBoundingClientRect().width,
    natural: i.naturalWidth}));
  return {out, scrolling, plots, page: document.documentElement.scrollWidth, width};
}"""


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds = Dataset.generate(3_000, seed=0)
    df = cf.jobs_to_frame(ds.jobs())
    df.attrs["classify_frames"] = {
        "base_url": "https://api.cloud.llamaindex.ai",
        "fetched_at": "2026-12-01T15:10:00+00:00",
    }
    # the loop a user runs: a stratified queue, labelled (here from the truth) through a CSV
    root = tmp_path_factory.mktemp("report")
    queue = cf.audit(df, threshold=0.9).review_queue(strategy="stratified", budget=300)
    truth = ds.labels().set_index("id")["label"]
    queue["label"] = truth.reindex(queue["id"].astype(str)).to_numpy()
    queue.to_csv(root / "labels.csv", index=False)
    report: AuditReport = cf.audit(df, root / "labels.csv", threshold=0.9)
    # a rule-set experiment on the labelled documents: a new rule set that fixes a third of
    # the mistakes
    labelled = queue.dropna(subset=["label"])
    before = df[df["id"].isin(labelled["id"])][["id", "status", "result.type", "result.confidence"]]
    fixed = before["id"].map(labelled.set_index("id")["label"])
    retyped = before["result.type"].where(before.index % 3 != 0, fixed)
    after = before.assign(id="n-" + before["id"], source_id=before["id"])
    after["result.type"] = retyped
    comparison = cf.compare(before, after, labels=labelled[["id", "label"]])
    return report.to_html(root / "audit.html", comparisons=[comparison])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(params=VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def opened(
    browser: Browser, report_file: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Page, list[str]]]:
    requests: list[str] = []
    width, height = request.param
    page = browser.new_page(viewport={"width": width, "height": height})

    def seen(request: Request) -> None:
        requests.append(request.url)

    page.on("request", seen)
    page.route("http*://**/*", lambda route: route.abort())  # and none would succeed
    try:
        page.goto(report_file.as_uri(), wait_until="load")
        yield page, requests
    finally:
        page.close()


def test_report_reads_well_in_chromium(opened: tuple[Page, list[str]], report_file: Path) -> None:
    page, requests = opened
    width = page.viewport_size["width"] if page.viewport_size else 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{width}-top.png"))
    for anchor in SECTIONS:
        page.locator(f"section#{anchor}").screenshot(
            path=str(ARTIFACTS / f"report-{width}-{anchor}.png")
        )

    # the findings come before the first table, on the page and in the document
    order: dict[str, Any] = page.evaluate(
        """() => {
          const found = document.querySelector('.findings');
          const table = document.querySelector('table');
          return {
            before: !!(found.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING),
            foundBottom: found.getBoundingClientRect().bottom,
            tableTop: table.getBoundingClientRect().top,
            items: found.querySelectorAll('li').length,
          };
        }"""
    )
    assert order["before"] and order["foundBottom"] <= order["tableTop"], order
    assert order["items"] >= 5
    assert page.title().startswith("Confidence audit of 3,000 Classify jobs")

    # nothing leaves the page: the file itself and inlined images only
    assert requests and all(u == report_file.as_uri() or u.startswith("data:") for u in requests)

    # wide tables scroll in their own box; nothing else is wider than the viewport
    layout: dict[str, Any] = page.evaluate(OVERFLOW_JS)
    assert layout["out"] == [], layout["out"][:10]
    assert layout["page"] <= width and layout["scrolling"] >= 1, layout
    # every chart within the width, shown at its own size or scaled down to fit, never cut
    assert len(layout["plots"]) == 7
    for plot in layout["plots"]:
        assert plot["right"] <= width and 0 < plot["shown"] <= plot["natural"], plot

    # the certified thresholds, "how" column included, show whole without scrolling
    clipped = page.evaluate(
        """() => [...document.querySelectorAll(
                 'figure[data-source^="report.recommend_threshold"] > .scroll')]
             .map(b => b.scrollWidth - b.clientWidth)"""
    )
    assert clipped and max(clipped) <= 1, clipped

    # every section is in the table of contents and its link lands on it
    page.locator('nav.toc a[href="#drift"]').click()
    top = page.evaluate("document.querySelector('section#drift').getBoundingClientRect().top")
    assert abs(top) < 5


def test_printing_shows_the_folded_rows(opened: tuple[Page, list[str]]) -> None:
    page, _ = opened
    if page.viewport_size and page.viewport_size["width"] != 1280:
        return  # paper has one width: printed once
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = false; })")
    page.emulate_media(media="print")
    try:
        heights = page.evaluate(
            """() => [...document.querySelectorAll('details .scroll:not(.folded-head)')]
                 .map(b => b.getBoundingClientRect().height)"""
        )
        hidden = page.evaluate(
            """() => [...document.querySelectorAll('.folded-head')]
                 .every(b => b.getBoundingClientRect().height === 0)"""
        )
        pdf = page.pdf(format="A4")
    finally:
        page.emulate_media(media="screen")
    assert heights and min(heights) > 0  # closed <details> print their table all the same
    assert hidden  # and the head rows shown on screen are not printed twice
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
