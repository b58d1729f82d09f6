"""A rule-set experiment (``cf.compare``) as a section of the audit's HTML report."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

import classify_frames as cf
from classify_frames.emulator import Emulator


def _frame(ids: list[str], types: list[str | None], **extra: object) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {"id": ids, "status": ["COMPLETED"] * n, "result.type": types,
         "result.confidence": [0.9] * n, "fetch_error": [None] * n, **extra}
    )  # fmt: skip


def test_comparisons_are_sections_of_the_report(tmp_path: Path) -> None:
    with Emulator(jobs=300, seed=1) as emu:
        jobs = cf.list_jobs(base_url=emu.base_url, api_key=emu.api_key, progress=False)
    report = cf.audit(jobs)
    before = _frame(["a", "b", "c"], ["invoice", "invoice", None])
    after = _frame(["n1", "n2", "n3"], ["invoice", "receipt", "receipt"], source_id=["a", "b", "c"])
    labels = pd.DataFrame({"id": ["a", "b", "c"], "label": ["invoice", "receipt", "receipt"]})
    comparison = cf.compare(before, after, labels=labels)

    page = report.to_html(tmp_path / "with.html", comparisons=[comparison]).read_text()
    plain = report.to_html(tmp_path / "without.html").read_text()

    assert 'href="#experiment-1"' in page and "Rule-set experiment 1" in page
    section = page[page.index("id='experiment-1'") :]
    for finding in comparison.findings:
        assert html.escape(finding) in section
    tables = re.findall(r"<div class='scroll'>\s*<table", section)
    assert len(tables) == section.count("<table")  # every table scrolls in its own box
    assert "experiment-1" not in plain and page.index("id='experiment-1'") > page.index("Findings")
