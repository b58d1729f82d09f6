"""What the explorer shows a reader (issue 25): search hits marked and where they matched,
labelled rows marked, web addresses as links, an audit of the selection with its tables. No
browser: the HTML the widgets hold is checked (tests/browser/ looks at it in Chromium)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import classify_frames as cf
from classify_frames.emulator import Dataset
from classify_frames.explorer import explore
from classify_frames.explorer._render import detail_html, table_html
from classify_frames.frame import build_frame


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return cf.jobs_to_frame(list(Dataset.generate(1_000, seed=4).jobs()))


def plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_search_hits_are_marked_and_the_matching_field_is_shown(df: pd.DataFrame) -> None:
    e = explore(df, page_size=10)
    assert ">match</th>" not in e.table.value  # no search, no match column
    e.search.value = "TOTAL"
    assert len(e.filtered) > 0
    table = e.table.value
    assert ">match</th>" in table
    # every row says in which field the text was found and marks it there, in its own case
    rows = re.findall(r'<td class="cf-hit">(.*?)</td>', table)
    assert len(rows) == min(10, len(e.filtered))
    for cell in rows:
        assert re.search(r"(id|input|reasoning):</span>", cell), cell
        marked = re.findall(r"<mark>(.*?)</mark>", cell)
        assert marked and all(m.lower() == "total" for m in marked), cell
    # the reasoning is not a default column: the match column is how a reader sees it
    assert "result.reasoning" not in e.columns.value
    assert any("reasoning:" in plain(cell) for cell in rows)
    assert "<mark>" in e.detail.value  # the open job's hit too


def test_marking_escapes_the_text_around_and_inside_a_hit() -> None:
    frame = build_frame(
        [
            {
                "id": "job-1",
                "status": "COMPLETED",
                "result": {"type": "x", "confidence": 0.5, "reasoning": "a <b>bold</b> claim"},
            }
        ]
    )
    page = table_html(frame, np.array([0]), search="<b>")
    assert "<mark>&lt;b&gt;</mark>bold" in page and "<b>bold" not in page
    assert "<mark>&lt;b&gt;</mark>" in detail_html(frame, 0, "<B>")


def test_web_addresses_are_links_and_nothing_else_is() -> None:
    frame = build_frame(
        [
            {"id": "a", "status": "COMPLETED", "document_input_value": "https://x.example/a.pdf"},
            {"id": "b", "status": "COMPLETED", "document_input_value": "javascript:alert(1)"},
            {"id": "c", "status": "COMPLETED", "document_input_value": 'http://x/"onmouseover="'},
        ]
    )
    page = table_html(frame, np.array([0, 1, 2]))
    assert (
        '<a class="cf-link" href="https://x.example/a.pdf" target="_blank" '
        'rel="noopener noreferrer">https://x.example/a.pdf</a>' in page
    )
    assert page.count("<a ") == 1  # not the script, not the address that breaks out of href
    detail = detail_html(frame, 0)
    assert 'href="https://x.example/a.pdf"' in detail
    assert "href=" not in detail_html(frame, 1)


def test_labelled_rows_are_marked_as_labels_are_written(df: pd.DataFrame, tmp_path: Path) -> None:
    queue = cf.audit(df).review_queue(n=1, strategy="stratified")
    e = explore(df, queue=queue, labels=tmp_path / "labels.csv", page_size=10)
    assert e.labelling is not None
    assert ">label</th>" in e.table.value and 'class="cf-labelled"' not in e.table.value
    first = e.selected
    e.labelling.pick(0)  # "none"; the panel moves on to the next job
    assert e.selected != first
    marked = re.findall(r'<tr data-row="(\d+)" class="cf-labelled">', e.table.value)
    assert marked == ["0"]
    assert '<td class="cf-label-mark">✓ none</td>' in e.table.value
    e.labelling.other.value = "handwritten_note"
    assert len(re.findall(r'class="cf-labelled"', e.table.value)) == 2
    e.move(-1)
    e.labelling.clear.click()  # clearing a label unmarks its row
    marked = re.findall(r'<tr data-row="(\d+)" class="cf-labelled">', e.table.value)
    assert marked == ["0"]
    # reopened on the same file: the marks come back from what was written
    again = explore(df, queue=queue, labels=tmp_path / "labels.csv", page_size=10)
    assert re.findall(r'<tr data-row="(\d+)" class="cf-labelled">', again.table.value) == ["0"]


def test_the_stated_type_in_the_label_panel_uses_the_one_vocabulary(df: pd.DataFrame) -> None:
    e = explore(df)
    completed = df.index[(df["status"] == "COMPLETED") & df["result.type"].isna()][0]
    failed = df.index[df["status"] == "FAILED"][0]
    assert e._choices(int(completed))[1] == "no match"
    assert e._choices(int(failed))[1] == "(no result)"


def test_audit_this_selection_shows_findings_and_key_tables(df: pd.DataFrame) -> None:
    e = explore(df, threshold=0.9, status=["COMPLETED"])
    e.audit_button.click()
    shown = e.audit_output.value
    report = e.audit_selection()
    for sentence in report.findings:
        assert html.escape(sentence) in shown
    text = plain(shown)
    assert "headline" in text and "by predicted type" in text
    jobs = int(report.summary.loc["jobs", "value"])
    assert f"jobs{jobs:,}" in text.replace(" ", "")
    no_match = float(report.summary.loc["no_match_rate", "value"])
    assert f"{no_match:.1%}" in text  # shares as percentages, not 0.186
    by_type = report.by_type
    top = str(by_type.index[0])
    assert f"{top}{int(by_type['count'].iloc[0]):,}" in text.replace(" ", "")
    if len(by_type) > 12:  # the rest are named, not silently dropped
        assert f"and {len(by_type) - 12} more types" in text


def test_the_table_calls_a_completed_job_without_a_type_no_match() -> None:
    frame = build_frame(
        [
            {"id": "a", "status": "COMPLETED", "result": {"type": None, "confidence": 0.4}},
            {"id": "b", "status": "FAILED"},
        ]
    )
    page = table_html(frame, np.array([0, 1]))
    assert '<td class="cf-muted">no match</td>' in page
    assert page.count("no match") == 1  # the failed job has no result, not "no match"
