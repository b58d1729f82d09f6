"""A rule-set experiment (``cf.compare``) as a section of the audit's HTML report: drawn by the
report's own table component, so written like the rest of it (percentages, separators,
intervals, every number cell holding its raw value), and placed before the appendix."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_document import WRITERS, parse, same

import classify_frames as cf
from classify_frames.auditing import Comparison
from classify_frames.auditing import _format as fmt
from classify_frames.emulator import Emulator


def _frame(ids: list[str], types: list[str | None], **extra: object) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {"id": ids, "status": ["COMPLETED"] * n, "result.type": types,
         "result.confidence": [0.9] * n, "fetch_error": [None] * n, **extra}
    )  # fmt: skip


@pytest.fixture(scope="module")
def report() -> cf.AuditReport:
    with Emulator(jobs=300, seed=1) as emu:
        jobs = cf.list_jobs(base_url=emu.base_url, api_key=emu.api_key, progress=False)
    return cf.audit(jobs)


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    """384 labelled documents, some retyped by the new rules (the case the issue saw)."""
    rng = np.random.default_rng(3)
    kinds = np.array(["invoice", "receipt", "purchase_order", "nda"], dtype=object)
    truth = rng.choice(kinds, 384)
    before = np.where(rng.random(384) < 0.75, truth, rng.choice(kinds, 384))
    after = np.where(rng.random(384) < 0.85, truth, rng.choice(kinds, 384))
    ids = [f"d{i}" for i in range(384)]
    confidence = rng.choice([0.7, 0.8, 0.9, 0.95], 384)
    old = _frame(ids, list(before)).assign(**{"result.confidence": confidence})
    new = _frame([f"n{i}" for i in range(384)], list(after), source_id=ids)
    labels = pd.DataFrame({"id": ids, "label": truth})
    return cf.compare(old, new, labels=labels)


def test_comparisons_are_sections_of_the_report(report: cf.AuditReport, tmp_path: Path) -> None:
    before = _frame(["a", "b", "c"], ["invoice", "invoice", None])
    after = _frame(["n1", "n2", "n3"], ["invoice", "receipt", "receipt"], source_id=["a", "b", "c"])
    labels = pd.DataFrame({"id": ["a", "b", "c"], "label": ["invoice", "receipt", "receipt"]})
    comparison = cf.compare(before, after, labels=labels)

    page = report.to_html(tmp_path / "with.html", comparisons=[comparison]).read_text()
    plain = report.to_html(tmp_path / "without.html").read_text()

    assert 'href="#experiment-1"' in page and "Rule-set experiment 1" in page
    start = page.index('<section id="experiment-1"')
    section = page[start : page.index("</section>", start)]
    for finding in comparison.findings:
        assert html.escape(finding) in section
    tables = re.findall(r'<div class="scroll">\s*<table', section)
    assert len(tables) == section.count("<table") > 0  # every table scrolls in its own box
    assert "experiment-1" not in plain and start > page.index("Findings")


def test_comparisons_come_before_the_appendix(
    report: cf.AuditReport, comparison: Comparison, tmp_path: Path
) -> None:
    page = report.to_html(tmp_path / "a.html", comparisons=[comparison, comparison]).read_text()
    anchors = re.findall(r'<a href="#([a-z0-9-]+)">', page)
    expected = ["auto-accept", "wrong", "calibrated", "drift", "rules"]
    assert anchors == [*expected, "experiment-1", "experiment-2", "numbers"]
    positions = [page.index(f'<section id="{a}"') for a in anchors]
    assert positions == sorted(positions)  # the sections in the order of the contents


def _accuracy_frame(comparison: Comparison) -> pd.DataFrame:
    acc = comparison.accuracy
    assert acc is not None
    return pd.DataFrame(
        {
            "accuracy": [acc.before, acc.after, acc.difference],
            "accuracy_lo": [acc.before_ci[0], acc.after_ci[0], acc.difference_ci[0]],
            "accuracy_hi": [acc.before_ci[1], acc.after_ci[1], acc.difference_ci[1]],
            "labelled": [acc.n, acc.n, np.nan],
            "mcnemar_p": [np.nan, np.nan, acc.mcnemar_p],
        }
    )


def test_comparison_numbers_are_the_apis_written_like_the_report(
    comparison: Comparison,
) -> None:
    section = comparison.to_html_section("x")
    cells = parse(section).cells
    calibration = comparison.calibration
    assert calibration is not None
    tables = {
        "comparison.accuracy": _accuracy_frame(comparison),
        "comparison.calibration": calibration,
        "comparison.by_type": comparison.by_type,
        "comparison.no_match": comparison.no_match,
        "comparison.flips": comparison.flips,
    }
    assert {c["source"] for c in cells} == set(tables)
    for cell in cells:
        frame = tables[cell["source"]]
        row, column = int(cell["row"]), cell["data-col"]
        expected = frame[column].iloc[row] if column in frame.columns else None
        where = f"{cell['source']} row {row} {column}"
        assert expected is not None, where
        assert same(cell["data-value"], expected), where
        assert cell["text"] in {w(expected) for w in WRITERS} | {"—"}, (where, cell["text"])
        if "data-low" in cell:
            assert same(cell["data-low"], frame[f"{column}_lo"].iloc[row]), where
    shown = {(c["source"], c["row"], c["data-col"]): c["text"] for c in cells}
    acc = comparison.accuracy
    assert acc is not None and acc.n == 384
    # the labels as a count, never "384.000"; accuracy as a percentage, never 0.742
    assert shown["comparison.accuracy", "0", "labelled"] == "384"
    assert shown["comparison.calibration", "0", "labelled"] == "384"
    assert shown["comparison.accuracy", "0", "accuracy"] == fmt.percent(acc.before)
    assert shown["comparison.calibration", "1", "accuracy"].endswith("%")
    assert shown["comparison.accuracy", "2", "accuracy"] == fmt.points(acc.difference)
    assert f'{fmt.percent(acc.before)} <span class="ci">{fmt.interval(*acc.before_ci)}' in section
    low, high = acc.difference_ci
    assert f"{fmt.points(low)} to {fmt.points(high)}</span>" in section


def test_comparison_in_jupyter_is_styled(comparison: Comparison) -> None:
    shown = comparison._repr_html_()
    assert shown.startswith('<div class="cf-report"><style>') and ".cf-audit-table" in shown
    assert '<section id="experiment" class="cf-comparison">' in shown
