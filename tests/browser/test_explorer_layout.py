"""How the explorer reads at a laptop's 1280x800 and a narrow 800x1000 window (issue 25).

Voila renders 20,000 emulator jobs with the default 25-row page; Playwright in Debian's
Chromium checks, at each size, that nothing runs past the window's right edge unless it is
inside a box that scrolls sideways, that a small selection's histogram fills its chart, that
a click on a row shows that job's detail with no more scrolling, that "Open file" on a job whose
input is a file shows a link that opens it (and a parse job says it has none), that search
hits are marked, and that "Audit this selection" shows its findings and tables. Screenshots of
the window (what is above the fold) go to test-artifacts/. About 15 s a size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import ARTIFACTS, browse, missing, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = Path(__file__).parent / "explorer_layout.ipynb"
LABELLING = Path(__file__).parent / "labelling_app.ipynb"
KEY = "llx-emu-browser-test-key-0123456789"  # the notebook's emulator's: never in the page
SIZES = [(1280, 800), (800, 1000)]

if reason := missing("playwright", "voila"):
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402

# Elements of the explorer whose right edge is past the window, unless a box between them and
# the explorer scrolls sideways (and itself fits): what a reader would have to scroll the whole
# page sideways to see, or never sees because something clips it.
_SPILLS = """() => {
  const width = document.documentElement.clientWidth;
  const root = document.querySelector(".cf-explorer-widget");
  const scrolls = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const out = [];
  for (const e of root.querySelectorAll("*")) {
    const box = e.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
    let inside = false;
    for (let p = e.parentElement; p && p !== root.parentElement; p = p.parentElement) {
      if (scrolls(p) && p.getBoundingClientRect().right <= width + 1) { inside = true; break; }
    }
    if (!inside) out.push(`${e.tagName}.${e.className} right=${Math.round(box.right)}`);
  }
  return out.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"CF_EMULATOR_KEY": KEY}
    with serve(NOTEBOOK, tmp_path_factory.mktemp("layout"), env) as address:
        yield address


def in_window(page: Page, selector: str) -> bool:
    """Whether ``selector`` shows in the window as it is now: its first 40 px (or all of it,
    if smaller) inside the window's height."""
    top, bottom, height = page.locator(selector).first.evaluate(
        "e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom, innerHeight]"
    )
    return bool(top >= -1 and min(bottom, top + 40) <= height)


def no_spill(page: Page, when: str) -> None:
    spills = page.evaluate(_SPILLS)
    assert not spills, f"{when}: past the right edge outside a scroll box: {spills}"
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, when


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_explorer_reads_at_this_size(
    chromium: Browser, url: str, width: int, height: int
) -> None:
    name = f"explorer-{width}x{height}"
    ARTIFACTS.mkdir(exist_ok=True)
    with browse(chromium, url, width, height) as page:
        try:
            _look(page, name)
        finally:
            page.screenshot(path=str(ARTIFACTS / f"{name}-last.png"))


def _look(page: Page, name: str) -> None:
    expect(page.locator("div.widget-label.cf-matched")).to_have_text(
        "20,000 of 20,000 jobs", timeout=90_000
    )
    rows = page.locator(".cf-table tbody tr")
    expect(rows).to_have_count(25)
    no_spill(page, "on opening")
    page.screenshot(path=str(ARTIFACTS / f"{name}-open.png"))

    # a small selection fills its histogram; all jobs stay as the outline behind it
    kinds = page.locator(".cf-type select")
    invoice = kinds.evaluate(
        "s => [...s.options].map(o => o.text).find(t => /^invoice\\s\\(/.test(t))"
    )
    kinds.select_option(label=invoice)
    matched = page.locator("div.widget-label.cf-matched")
    expect(matched).not_to_have_text(re.compile(r"^20,000 of"))
    invoices = matched.inner_text()
    readout = page.locator(".cf-confidence .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.9-1")
    page.keyboard.press("Enter")
    expect(matched).not_to_have_text(invoices)
    shown = int(matched.inner_text().split(" of ")[0].replace(",", ""))
    assert 0 < shown < 2_000
    svg = page.locator(".cf-histogram svg")
    chart = svg.bounding_box()
    window = page.viewport_size
    assert chart is not None and window is not None
    assert chart["x"] + chart["width"] <= window["width"]
    tallest = max(
        box["height"]
        for box in (bar.bounding_box() for bar in page.locator(".cf-histogram rect.cf-sel").all())
        if box is not None
    )
    assert tallest >= 0.45 * chart["height"], f"the selection's tallest bar is {tallest:.0f} px"
    expect(page.locator(".cf-histogram polyline.cf-all")).to_have_count(1)
    label = page.locator(".cf-histogram text", has_text="threshold").bounding_box()
    assert label is not None and label["x"] >= chart["x"] and label["y"] >= chart["y"]
    assert label["x"] + label["width"] <= chart["x"] + chart["width"] + 1
    no_spill(page, "after filtering")

    # a click on a row far down the page shows its detail with no more scrolling
    page.locator("button.cf-reset").click()
    expect(matched).to_have_text("20,000 of 20,000 jobs")
    last = rows.last
    expect(last).to_have_attribute("data-row", "24")  # the table has caught up with the reset
    job_id = last.locator("td").nth(1).inner_text()
    last.click()
    expect(page.locator(".cf-detail h4")).to_contain_text(job_id)
    assert in_window(page, ".cf-detail h4"), "the detail is out of sight after the click"
    no_spill(page, "after a row click")
    page.screenshot(path=str(ARTIFACTS / f"{name}-detail.png"))

    # a job whose input is a file: "Open file" asks for a link only then, and it opens the file
    on_file = rows.filter(has=page.locator("td", has_text=re.compile(r"^dfl-")))
    file_id = on_file.first.locator("td", has_text=re.compile(r"^dfl-")).inner_text()
    on_file.first.click()
    expect(page.locator(".cf-file-id")).to_contain_text(file_id)
    expect(page.locator("a.cf-file-open")).to_have_count(0)
    page.locator("button.cf-open-file").click()
    link = page.locator("a.cf-file-open")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("target", "_blank")
    href = link.get_attribute("href") or ""
    assert href.startswith("http://127.0.0.1:") and KEY not in href
    assert in_window(page, "a.cf-file-open"), "the file's link is out of sight"
    opened = page.request.get(href)  # what a click opens in its new tab
    assert opened.status == 200 and file_id in opened.text()
    assert KEY not in page.content()
    no_spill(page, "with a file's link")
    page.screenshot(path=str(ARTIFACTS / f"{name}-file.png"))
    on_parse_job = rows.filter(has=page.locator("td", has_text=re.compile(r"^pjb-")))
    on_parse_job.first.click()
    expect(page.locator(".cf-file-id")).to_contain_text("No file link")
    expect(page.locator("button.cf-open-file")).to_be_hidden()
    expect(page.locator("a.cf-file-open")).to_have_count(0)

    # search hits are marked in the table, with the field they were found in
    search = page.locator(".cf-search input")
    search.fill("total")
    search.press("Enter")
    expect(page.locator(".cf-table th", has_text="match")).to_be_visible()
    expect(page.locator(".cf-table td.cf-hit mark").first).to_be_visible()
    expect(page.locator(".cf-table td.cf-hit").first).to_contain_text(":")
    no_spill(page, "with a search")

    # "Audit this selection": the findings and the key tables
    page.locator("button.cf-audit").click()
    audit = page.locator(".cf-audit-output")
    expect(audit).to_contain_text("by predicted type", timeout=60_000)
    expect(audit.locator("ul.cf-findings li").first).to_be_visible()
    expect(audit.locator("table")).to_have_count(2)
    no_spill(page, "with the audit shown")
    audit.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}-audit.png"))


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_label_panel_is_in_sight_when_a_job_opens(
    chromium: Browser, tmp_path: Path, width: int, height: int
) -> None:
    """Labelling a queue: after a click on a row, the panel to label it and the job's detail
    are in the window, with nothing past its right edge."""
    name = f"explorer-labelling-{width}x{height}"
    env = {"CF_LABELS": str(tmp_path / "labels.csv")}
    with (
        serve(LABELLING, tmp_path, env) as address,
        browse(chromium, address, width, height) as page,
    ):
        try:
            rows = page.locator(".cf-table tbody tr")
            expect(rows).to_have_count(10, timeout=90_000)
            no_spill(page, "on opening")
            job_id = rows.nth(7).locator("td").nth(2).inner_text()  # after # and label
            rows.nth(7).click()
            expect(page.locator(".cf-label-title")).to_contain_text(job_id)
            assert in_window(page, ".cf-label-panel"), "the label panel is out of sight"
            assert in_window(page, ".cf-detail h4"), "the detail is out of sight"
            page.keyboard.press("0")  # labelled "none", and the next job opens
            expect(page.locator(".cf-table tr.cf-labelled")).to_have_count(1)
            assert in_window(page, ".cf-label-panel")
            no_spill(page, "after a label")
        finally:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
