"""The audit report as a document: how values are written, and that the document is a view of
the AuditReport (every number in it is one the API returns), findings first, self-contained,
the key never in it. The same checks in a real browser: tests/browser/test_report_browser.py."""

from __future__ import annotations

import html
import math
import re
import warnings
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_audit import make_jobs

import classify_frames as cf
from classify_frames.auditing import AuditReport
from classify_frames.auditing import _format as fmt
from classify_frames.auditing._document import Goal, document, findings, sections
from classify_frames.auditing._htmltable import Column
from classify_frames.auditing._page import host_of, table
from classify_frames.cli import main
from classify_frames.emulator import Emulator

TARGET = 0.95
GOAL = Goal(TARGET)
Served = tuple[pd.DataFrame, pd.DataFrame, Emulator]

# -- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.05835, "5.8%"),
        (0.8959, "89.6%"),
        (0.0, "0%"),
        (1.0, "100%"),
        (0.0004, "<0.1%"),
        (0.9996, ">99.9%"),
        (np.float64(0.25), "25.0%"),
        (float("nan"), "—"),
        (None, "—"),
        (pd.NA, "—"),
    ],
)
def test_percent(value: object, text: str) -> None:
    assert fmt.percent(value) == text


def test_counts_numbers_and_points() -> None:
    assert fmt.count(17918) == "17,918"
    assert fmt.count(np.int64(1_234_567)) == "1,234,567"
    assert fmt.count(3.0) == "3"
    assert fmt.number(0.137254) == "0.137"
    assert fmt.confidence(0.95) == "0.95" and fmt.confidence(0.8) == "0.8"
    assert fmt.points(0.065) == "+6.5 pts" and fmt.points(-0.016) == "−1.6 pts"
    assert fmt.points(0.0001) == "±0.0 pts"
    assert fmt.goal(0.95) == "95%" and fmt.goal(0.975) == "97.5%"


def test_intervals_as_ranges() -> None:
    assert fmt.interval(0.465, 0.511) == "46.5–51.1%"
    assert fmt.interval(0.9, 1.0) == "90.0–100%"
    assert fmt.interval(0.0, 0.0004) == "0–<0.1%"
    assert fmt.estimate(0.78, 0.72, 0.834) == "78.0% (72.0–83.4%)"
    assert fmt.estimate(0.78, float("nan"), 0.9) == "78.0%"
    assert fmt.interval(None, 0.5) == "—"


def test_ids_and_times() -> None:
    uuid = "9b1d6f1e-2f6c-4f43-9c55-5a0b1f3e9d21"
    assert fmt.short_id(uuid) == "9b1d6f1e…"
    assert fmt.short_id("a3f09c21be") == "a3f09c21be"  # a rule-set fingerprint is short already
    assert fmt.short_id("invoices-v2") == "invoices-v2"  # a name stays whole
    assert fmt.timestamp("2026-03-01T16:05:09+02:00") == "2026-03-01 14:05 UTC"
    assert fmt.timestamp(pd.NaT) == "—"


def test_host_keeps_only_host_and_port() -> None:
    url = "https://user:sk-SECRET@api.example.com:8443/v1?api_key=sk-SECRET#x"
    assert host_of(url) == "api.example.com:8443"
    assert host_of("http://127.0.0.1:8123") == "127.0.0.1:8123"
    assert host_of("https://[::1") == "" and host_of(None) == "" and host_of("") == ""


def test_long_tables_fold_and_values_are_escaped() -> None:
    frame = pd.DataFrame(
        {"n": range(40), "share": np.linspace(0, 1, 40)},
        index=pd.Index([f"<b>t{i}</b>" for i in range(40)], name="type"),
    )
    columns = [Column("n", "n", "count"), Column("share", "share", "percent")]
    page = table(frame, columns, source="x", index=[Column("type", "type")])
    head, folded = page.split("<details>")
    assert head.count("<tr data-row=") == 10 and folded.count("<tr data-row=") == 40
    assert "All 40 rows" in folded and "<b>" not in page and "&lt;b&gt;t0&lt;/b&gt;" in page
    short = table(frame.head(15), columns, source="x")
    assert "<details>" not in short and short.count("<tr data-row=") == 15
    assert 'class="empty">none<' in table(frame.iloc[:0], columns, source="x", empty="none")


# -- the document is a view of the report --------------------------------------------------------


class Cells(HTMLParser):
    """Every numeric cell of the page: (source table, row position, column, raw, low, high, text),
    and the order in which the findings, tables and images appear."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.sources: list[str] = []
        self.order: list[str] = []
        self._source = ""
        self._row = ""
        self._cell: dict[str, str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "figure" and "data-source" in a:
            self._source = a["data-source"]
            self.sources.append(self._source)
        if tag == "div" and "findings" in a.get("class", "").split():
            self.order.append("findings")
        if tag in ("table", "img"):
            self.order.append(tag)
        if tag == "tr" and "data-row" in a:
            self._row = a["data-row"]
        if tag in ("td", "th") and "data-value" in a:
            self._cell = {"source": self._source, "row": self._row, "text": "", **a}
            self._depth = 0
        elif self._cell is not None and tag == "span":
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._cell is not None and tag == "span":
            self._depth -= 1
        elif self._cell is not None and tag in ("td", "th"):
            self._cell["text"] = self._cell["text"].strip()
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and self._depth == 0:  # the value, not its interval's span
            self._cell["text"] += data


def parse(page: str) -> Cells:
    parser = Cells()
    parser.feed(page)
    return parser


def api_tables(report: AuditReport) -> dict[str, Callable[[], pd.DataFrame]]:
    """Each table the document may show, by the call it names under it."""
    return {
        "report.summary": lambda: report.summary,
        "report.by_type": lambda: report.by_type,
        f"report.recommend_threshold(target_accuracy={TARGET:g}, delta=0.05)": lambda: (
            report.recommend_threshold(target_accuracy=TARGET, delta=0.05)
        ),
        "report.risk_coverage": lambda: report.risk_coverage,
        "report.confusion": lambda: report.confusion,
        "report.disagreements": lambda: report.disagreements,
        "report.status": lambda: report.status,
        "report.errors": lambda: report.errors,
        "report.calibration()": report.calibration,
        "report.drift()": report.drift,
        "report.by_configuration": lambda: report.by_configuration,
        "report.configuration_mix": lambda: report.configuration_mix,
        "report.rule_changes": lambda: report.rule_changes,
        "report.reclassified": lambda: report.reclassified,
        "report.flips()": report.flips,
        "report.unused_rules": lambda: report.unused_rules,
        "report.unknown_types": lambda: report.unknown_types,
        "report.review_queue(25)": lambda: report.review_queue(25),
    }


def lookup(frame: pd.DataFrame, row: int, column: str) -> object:
    if column in frame.columns:
        return frame[column].iloc[row]
    return frame.index.get_level_values(column)[row]  # an index level shown as a row header


def same(shown: str, expected: object) -> bool:
    if fmt.is_missing(expected):
        return shown == "nan"
    if isinstance(expected, bool | np.bool_):
        return shown == str(bool(expected))
    return float(shown) == float(expected)  # type: ignore[arg-type]


WRITERS = (fmt.percent, fmt.count, fmt.number, fmt.confidence, fmt.points)


@pytest.fixture(scope="module")
def served(_session_emulator: Emulator) -> Served:
    """The session emulator's jobs, fetched over loopback (so attrs hold real provenance)."""
    emu = _session_emulator
    df = cf.list_jobs(base_url=emu.base_url, api_key=emu.api_key, progress=False)
    return df, emu.labels(), emu


@pytest.fixture(scope="module")
def report(served: Served) -> AuditReport:
    return cf.audit(served[0], served[1], threshold=0.9)


@pytest.fixture(scope="module")
def page(report: AuditReport, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = report.to_html(tmp_path_factory.mktemp("report") / "audit.html", target_accuracy=TARGET)
    return path.read_text(encoding="utf-8")


def test_every_number_in_the_document_is_the_apis(report: AuditReport, page: str) -> None:
    parsed = parse(page)
    tables = api_tables(report)
    assert set(parsed.sources) <= set(tables), set(parsed.sources) - set(tables)
    assert {"report.by_type", "report.calibration()", "report.drift()"} <= set(parsed.sources)
    frames = {source: tables[source]() for source in set(parsed.sources)}
    for cell in parsed.cells:
        frame = frames[cell["source"]]
        row = int(cell["row"])
        expected = lookup(frame, row, cell["data-col"])
        where = f"{cell['source']} row {row} {cell['data-col']}"
        assert same(cell["data-value"], expected), where
        for end in ("data-low", "data-high"):
            if end in cell:
                column = {"data-low": "_lo", "data-high": "_hi"}[end]
                name = re.sub(r"_rate$", "", cell["data-col"]) + column
                assert same(cell[end], frame[name].iloc[row]), f"{where} {end}"
        if not isinstance(expected, bool | np.bool_):
            # what a reader sees is that value, written by one of the formatters
            assert cell["text"] in {w(expected) for w in WRITERS}, (where, cell["text"])
    assert len(parsed.cells) > 1_000


def test_findings_state_the_apis_numbers(report: AuditReport) -> None:
    found = findings(report, GOAL)
    assert found[: len(report.findings)] == report.findings  # the audit's own sentences first
    text = " ".join(found)
    drift = report.drift()
    assert f"of {len(drift)} months" in text
    for period in drift.index[drift["drift"] != ""]:
        assert str(period) in text
    for _, row in report.reclassified.iterrows():
        assert f"{fmt.count(row['documents'])} documents were classified" in text
    answers = {s.anchor: " ".join(s.answers) for s in sections(report, GOAL)}
    overall = report.recommend_threshold(target_accuracy=TARGET, delta=0.05).loc["overall"]
    if fmt.is_missing(overall["threshold"]):
        assert (
            "No threshold is certified at ≥ 95% accuracy with 95% confidence"
            in (answers["auto-accept"])
        )
    else:
        assert f"≥ {fmt.confidence(overall['threshold'])} keeps" in answers["auto-accept"]
        assert fmt.percent(overall["coverage"]) in answers["auto-accept"]
    # every job is labelled: the figures are exact, never a zero-width "95% CI 0.15–0.15"
    assert report.data.sample is not None and report.data.sample.exact
    assert f"calibration error (ECE) {report.ece:.3f} (exact" in answers["calibrated"]
    assert f"AUROC {report.auroc:.2f}, exact" in answers["calibrated"]
    assert "95% CI" not in answers["calibrated"]


def test_findings_come_first_then_the_sections(report: AuditReport, page: str) -> None:
    order = parse(page).order
    assert order[0] == "findings" and order[1] == "table"  # nothing tabular before them
    for answer in findings(report, GOAL):
        assert html.escape(answer) in page
    anchors = re.findall(r'<a href="#([a-z-]+)">', page)
    assert anchors == ["auto-accept", "wrong", "calibrated", "drift", "rules", "numbers"]
    assert all(f'<section id="{a}">' in page for a in anchors)
    positions = [page.index(f'<section id="{a}">') for a in anchors]
    assert positions == sorted(positions)


def test_each_plot_sits_in_its_section(page: str) -> None:
    sections = dict(re.findall(r'<section id="([a-z-]+)">(.*?)</section>', page, flags=re.S))
    plots = {
        "auto-accept": ["Risk-coverage curve"],
        "wrong": [
            "Accuracy per predicted type with 95% intervals",
            "Stated confidence per predicted type",
            "Confusion heatmap of the labelled jobs",
        ],
        "calibrated": [
            "Reliability diagram",
            "Stated confidence of the labelled jobs, right and wrong",
        ],
        "drift": ["Confidence, no-match rate and PSI per month"],
    }
    for anchor, alts in plots.items():
        for alt in alts:
            assert f'alt="{alt}"' in sections[anchor], (anchor, alt)
    assert page.count("data:image/png;base64,") == sum(map(len, plots.values()))


def test_title_and_context_line(report: AuditReport, page: str, served: Served) -> None:
    emu = served[2]
    jobs = report.summary.loc["jobs", "value"]
    assert f"<title>Confidence audit of {fmt.count(jobs)} Classify jobs</title>" in page
    assert "&lt;AuditReport" not in page  # no Python repr
    context = re.search(r'<p class="context">(.*?)</p>', page)
    assert context is not None
    line = context.group(1)
    assert host_of(emu.base_url) in line and "fetched 20" in line and " UTC from " in line
    assert f"{fmt.count(report.summary.loc['labelled', 'value'])} labelled" in line
    assert "created " in line and "auto-accept threshold 0.9" in line
    assert emu.api_key not in page and "http://" not in page


def test_cells_missing_the_target_are_marked(report: AuditReport, page: str) -> None:
    by_type = report.by_type
    cells = [
        c
        for c in parse(page).cells
        if c["source"] == "report.by_type" and c["data-col"] == "accuracy"
    ]
    assert cells
    for cell in cells:
        row = by_type.iloc[int(cell["row"])]
        classes = cell.get("class", "").split()
        if row["accuracy_hi"] < TARGET:
            assert "miss" in classes
        elif row["accuracy_lo"] >= TARGET:
            assert "ok" in classes
        elif not math.isnan(row["accuracy_lo"]):
            assert "unsure" in classes


def test_self_contained_and_printable(page: str) -> None:
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith(("data:", "#")) for link in links)
    assert "<script" not in page and "@import" not in page and "@font-face" not in page
    assert "url(" not in page
    assert "@media print" in page and "<nav" in page
    assert page.count('<div class="scroll') == page.count("<table")  # every table scrolls alone


def test_compact_view_in_jupyter(report: AuditReport, page: str) -> None:
    view = report._repr_html_()
    assert "<table" not in view and view.count("<img") == 1  # the headline plot only
    for answer in findings(report, GOAL):
        assert html.escape(answer) in view
    assert len(view) < len(page) / 4


def test_report_without_labels_or_times() -> None:
    frame = cf.jobs_to_frame(
        [
            {"id": f"j{i}", "status": "COMPLETED", "result": {"type": "a", "confidence": 0.9}}
            for i in range(5)
        ]
    )
    report = cf.audit(frame)
    found = findings(report)
    assert found[: len(report.findings)] == report.findings
    assert "drift cannot be judged" in " ".join(found)
    assert "Auto-accepting needs labels" in sections(report)[0].answers[0]
    page = parse(cf.audit(frame)._repr_html_())
    assert page.order[0] == "findings"


def test_report_of_failed_jobs_only(tmp_path: Path) -> None:
    frame = cf.jobs_to_frame(
        [{"id": f"j{i}", "status": "FAILED", "error_message": "boom"} for i in range(3)]
    )
    report = cf.audit(frame)
    assert findings(report)[-1] == (
        "No job of the 3 completed, so there is nothing to show about confidence yet; "
        "see the status and errors below."
    )
    page = report.to_html(tmp_path / "a.html").read_text(encoding="utf-8")
    assert "boom" in page and "nothing to show" in page
    cf.audit(cf.empty_frame()).to_html(tmp_path / "empty.html")


def test_type_names_are_escaped(tmp_path: Path) -> None:
    evil = "<img src=x onerror=alert(1)>"
    frame = cf.jobs_to_frame(
        [
            {"id": f"j{i}", "status": "COMPLETED", "result": {"type": evil, "confidence": 0.5}}
            for i in range(3)
        ]
    )
    labels = pd.DataFrame({"id": ["j0", "j1"], "label": [evil, "none"]})
    page = cf.audit(frame, labels).to_html(tmp_path / "a.html").read_text(encoding="utf-8")
    assert evil not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_cli_html_follows_the_target(tmp_path: Path) -> None:
    df, labels = make_jobs(200)
    jobs, labels_path, out = tmp_path / "jobs.parquet", tmp_path / "l.csv", tmp_path / "r.html"
    cf.to_parquet(df, jobs)
    labels.to_csv(labels_path, index=False)
    args = ["audit", str(jobs), "--labels", str(labels_path), "--target-accuracy", "0.8"]
    result = CliRunner().invoke(main, [*args, "--html", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "report.recommend_threshold(target_accuracy=0.8, delta=0.05)" in page
    assert parse(page).order[0] == "findings"


def test_a_failed_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = cf.jobs_to_frame(
        [{"id": "j0", "status": "COMPLETED", "result": {"type": "a", "confidence": 0.9}}]
    )
    report = cf.audit(frame)
    path = report.to_html(tmp_path / "audit.html")
    before = path.read_bytes()

    def full_disk(self: Path, *args: object, **kwargs: object) -> int:
        self.write_bytes(b"<!DOCTYPE html><half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(OSError, match="No space"):
        report.to_html(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["audit.html"]  # no temp file left


def test_configurations_show_their_names_where_the_frame_knows_them(tmp_path: Path) -> None:
    config = "9b1d6f1e-2f6c-4f43-9c55-5a0b1f3e9d21"
    jobs = [
        {
            "id": f"j{i}",
            "status": "COMPLETED",
            "configuration_id": config if i % 2 else "c-unnamed-0000-0000-0000-000000000000",
            "configuration": {"name": "invoices", "version": 3} if i % 2 else {},
            "result": {"type": "a", "confidence": 0.9},
        }
        for i in range(6)
    ]
    report = cf.audit(cf.jobs_to_frame(jobs))
    assert report.configuration_names == {config: "invoices v3"}
    page = report.to_html(tmp_path / "a.html").read_text(encoding="utf-8")
    assert f'title="{config}">invoices v3</th>' in page
    assert ">c-unnamed…</th>" not in page and "c-unnamed-0000-0000-0000-000000000000" in page


def test_drift_marks_are_the_audits_flags(report: AuditReport, page: str) -> None:
    drift = report.drift()
    rows = set()
    for cell in parse(page).cells:
        if cell["source"] != "report.drift()":
            continue
        classes = set(cell.get("class", "").split()) & {"major", "moderate"}
        flag = drift["drift"].iloc[int(cell["row"])]
        if classes:  # a marked cell is in a period the audit flagged, at its severity
            rows.add(int(cell["row"]))
            assert classes == {flag}, (cell, flag)
    flagged = {i for i, f in enumerate(drift["drift"]) if f}
    assert rows == flagged and flagged  # and each flagged period shows what moved


@pytest.mark.parametrize("labels", ["lowest", "one"])
def test_labels_that_are_no_random_sample_or_only_one(labels: str) -> None:
    df, truth = make_jobs(200)
    if labels == "lowest":
        queue = cf.audit(df).review_queue(n=30, strategy="lowest")
        given = queue.assign(label=truth.set_index("id")["label"][queue["id"]].to_numpy())
    else:
        given = truth.head(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = cf.audit(df, given)
    page = document(report, GOAL)  # no population figure to read must not crash the view
    answers = {s.anchor: s.answers for s in sections(report, GOAL)}
    if labels == "lowest":
        refused = "No threshold is certified: refused: the labels are not a random sample."
        assert answers["auto-accept"][0] == refused
        assert "chosen, not drawn at random" in answers["calibrated"][0]
    else:
        assert findings(report, GOAL)[: len(report.findings)] == report.findings
    assert parse(page).order[0] == "findings"


def test_the_explorers_audit_tables_are_the_same_component(report: AuditReport) -> None:
    """The explorer's "Audit this selection" draws its tables with the report's component:
    every number cell holds the API's value, written by the same formatters."""
    from classify_frames.explorer._render import findings_html

    shown = findings_html(report, 10)
    parsed = parse(shown)
    assert set(parsed.sources) == {"report.summary", "report.by_type"}
    tables = api_tables(report)
    for cell in parsed.cells:
        frame = tables[cell["source"]]()
        expected = lookup(frame, int(cell["row"]), cell["data-col"])
        assert same(cell["data-value"], expected), cell
        assert cell["text"] in {w(expected) for w in WRITERS}, cell
    assert len(parsed.cells) >= 10 + 12 * 4
