"""The explorer widget, driven by setting its controls as a user would, without a browser."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import classify_frames as cf
from classify_frames.auditing import NO_MATCH
from classify_frames.emulator._data import Dataset
from classify_frames.explorer import FilterState, JobExplorer, JobIndex, explore
from classify_frames.explorer._render import TABLE_COLUMNS, column_values, configuration_labels
from classify_frames.frame import build_frame

RULES = [
    {"type": "invoice", "description": "has an invoice number and a total"},
    {"type": "receipt", "description": "proof of a payment already made"},
]


def job(
    i: int, status: str, kind: str | None = None, conf: float | None = None, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"job-{i:02d}",
        "status": status,
        "configuration_id": "cfg-a" if i % 3 else "cfg-b",
        "configuration": {"rules": RULES, "mode": "FAST"},
        "document_input_value": f"https://docs.example/{i}.pdf",
        "created_at": f"2026-01-{i + 1:02d}T12:00:00Z",
        "updated_at": f"2026-01-{i + 1:02d}T12:00:05Z",
    }
    if status == "COMPLETED":
        record["result"] = {"type": kind, "confidence": conf, "reasoning": f"reason {i}"}
    record.update(extra)
    return record


@pytest.fixture
def jobs() -> pd.DataFrame:
    records = [
        job(0, "COMPLETED", "invoice", 0.95),
        job(
            1,
            "COMPLETED",
            "invoice",
            0.40,
            result={
                "type": "invoice",
                "confidence": 0.4,
                "reasoning": "Mentions a TOTAL <script>alert(1)</script>",
            },
        ),
        job(2, "COMPLETED", "receipt", 0.70),
        job(3, "COMPLETED", None, 0.20),  # no rule matched
        job(4, "COMPLETED", "receipt", None),  # a result without confidence
        job(5, "FAILED", error_message="parse failed: <b>bad pdf</b>"),
        job(6, "PENDING"),
        job(7, "ARCHIVED"),  # a status this toolkit does not know
        job(8, "COMPLETED", "invoice", 0.85, created_at=None),
        job(9, "COMPLETED", "invoice", 0.55, shard="eu-1"),  # an extra field
        {"id": "job-10"},  # could not be fetched
    ]
    errors = [None] * 10 + ["HTTP 404: not found"]
    return build_frame(records, fetch_errors=errors)


def ids(frame: pd.DataFrame) -> list[str]:
    return frame["id"].tolist()


def plain(markup: str) -> str:
    """The text of some HTML, tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_starts_with_every_job_and_labelled_counts(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    assert e.matched.value == "11 of 11 jobs"
    pd.testing.assert_frame_equal(e.filtered, jobs)
    labels = [label for label, _ in e.status.options]
    assert labels == ["PENDING (1)", "COMPLETED (7)", "FAILED (1)", "ARCHIVED (1)", "(missing) (1)"]
    # the one vocabulary: a completed job no rule matched is "no match", as in the audit;
    # failed, pending and unfetched jobs have no result and are not counted as one
    assert [label for label, _ in e.result_type.options] == [
        "invoice (4)",
        "receipt (2)",
        "no match (1)",
        "(no result) (4)",
    ]
    assert [label for label, _ in e.configuration.options] == [
        "all configurations",
        "cfg-a (6)",
        "cfg-b (4)",
    ]
    assert e.page_label.value == "page 1 of 1"
    assert e.filters == FilterState().as_dict()


def test_status_select_filters_and_recounts_the_other_facets(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.status.value = ("FAILED", "ARCHIVED")
    assert ids(e.filtered) == ["job-05", "job-07"]
    assert e.matched.value == "2 of 11 jobs"
    # its own counts stay (they say what choosing adds); the other facets count the matches
    assert [label for label, _ in e.status.options][1] == "COMPLETED (7)"
    assert [label for label, _ in e.result_type.options] == [
        "invoice (0)",
        "receipt (0)",
        "no match (0)",
        "(no result) (2)",
    ]
    assert e.status.value == ("FAILED", "ARCHIVED")  # relabelling keeps the selection
    assert e.filters["status"] == ["FAILED", "ARCHIVED"]
    e.status.value = (None,)  # the job whose status is missing
    assert ids(e.filtered) == ["job-10"]


def test_result_type_select_includes_no_type(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.result_type.value = ("receipt",)
    assert ids(e.filtered) == ["job-02", "job-04"]
    e.result_type.value = ("receipt", None)
    assert len(e.filtered) == 6
    assert "COMPLETED: 2 · PENDING: 1" in plain(e.summary.value)
    e.result_type.value = ("receipt", "no match")
    assert ids(e.filtered) == ["job-02", "job-03", "job-04"]


def test_no_match_is_one_name_for_set_filters_the_toggle_and_the_audit(jobs: pd.DataFrame) -> None:
    """``result_type=["no match"]`` keeps exactly what "no match only" keeps, and what the
    audit counts as no match; a failed or pending job is neither."""
    e = explore(jobs)
    e.set_filters(result_type=["no match"])
    assert ids(e.filtered) == ["job-03"]
    e.reset_filters()
    e.no_match_only.value = True
    assert ids(e.filtered) == ["job-03"]
    assert cf.audit(jobs).summary.loc["no_match", "value"] == 1
    assert NO_MATCH == "no match"
    summary = plain(e.summary.value)
    assert "no match: 1" in summary and "(no result)" not in summary
    e.reset_filters()
    assert "no match: 1" in plain(e.summary.value) and "(no result): 4" in plain(e.summary.value)


def test_a_type_really_named_no_match_is_joined_not_duplicated() -> None:
    records = [
        job(0, "COMPLETED", "no match", 0.9),
        job(1, "COMPLETED", None, 0.5),
        job(2, "FAILED"),
    ]
    e = explore(build_frame(records))
    assert [label for label, _ in e.result_type.options] == ["no match (2)", "(no result) (1)"]


def test_configuration_dropdown(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.configuration.value = "cfg-b"
    assert ids(e.filtered) == ["job-00", "job-03", "job-06", "job-09"]
    assert e.filters["configuration"] == "cfg-b"
    e.configuration.value = ""
    assert len(e.filtered) == 11 and e.filters["configuration"] is None


def test_confidence_slider_keeps_missing_confidence_only_at_full_span(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    assert (e.confidence.min, e.confidence.max) == (0.0, 1.0)
    e.confidence.value = (0.0, 0.5)
    assert ids(e.filtered) == ["job-01", "job-03"]
    assert e.filters["confidence"] == (0.0, 0.5)
    e.confidence.value = (0.5, 1.0)
    assert ids(e.filtered) == ["job-00", "job-02", "job-08", "job-09"]
    e.confidence.value = (0.0, 1.0)  # full span: no constraint, NaN confidence included
    assert len(e.filtered) == 11 and e.filters["confidence"] is None


def test_created_date_pickers_are_inclusive_utc_days(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.created_from.value = dt.date(2026, 1, 3)
    e.created_to.value = dt.date(2026, 1, 5)
    assert ids(e.filtered) == ["job-02", "job-03", "job-04"]
    e.created_from.value = None
    assert ids(e.filtered) == ["job-00", "job-01", "job-02", "job-03", "job-04"]
    assert e.filters["created"] == (None, dt.date(2026, 1, 5))


def test_search_is_literal_case_insensitive_and_per_field(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.search.value = "total <SCRIPT>"  # reasoning, any case, HTML taken literally
    assert ids(e.filtered) == ["job-01"]
    e.search.value = "alert(1"  # regex syntax is taken literally too
    assert ids(e.filtered) == ["job-01"]
    e.search.value = "JOB-0"  # the id
    assert len(e.filtered) == 10
    e.search.value = "docs.example/7.pdf"  # the input value; "." is not a regex wildcard
    assert ids(e.filtered) == ["job-07"]
    e.search.value = "docs.example/7"
    assert ids(e.filtered) == ["job-07"]
    e.search.value = "pdfreason"  # never matches across two fields
    assert e.filtered.empty
    assert "no jobs match" in e.table.value
    e.search.value = "  "
    assert len(e.filtered) == 11


def test_no_match_and_failed_toggles(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.no_match_only.value = True
    assert ids(e.filtered) == ["job-03"]
    e.no_match_only.value = False
    e.failed_only.value = True  # status FAILED, and jobs that could not be fetched
    assert ids(e.filtered) == ["job-05", "job-10"]


def test_reset_button_clears_every_filter_but_keeps_sorting(jobs: pd.DataFrame) -> None:
    e = explore(jobs, sort_by="id", descending=True)
    e.set_filters(
        status=["COMPLETED"],
        result_type=["invoice"],
        configuration="cfg-b",
        confidence=(0.5, 1),
        created=("2026-01-01", "2026-01-31"),
        search="reason",
        no_match_only=False,
        failed_only=False,
    )
    assert ids(e.filtered) == ["job-00", "job-09"]
    e.reset.click()
    assert e.filters == FilterState().as_dict()
    assert len(e.filtered) == 11
    assert e.table.sort_by == "id" and e.table.descending


def test_set_filters_replays_an_analysis(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.status.value = ("COMPLETED",)
    e.confidence.value = (0.3, 0.9)
    e.search.value = "reason"
    replay = explore(jobs, **e.filters)
    pd.testing.assert_frame_equal(replay.filtered, e.filtered)
    assert replay.status.value == ("COMPLETED",) and replay.confidence.value == (0.3, 0.9)
    assert replay.matched.value == e.matched.value == "3 of 11 jobs"


def test_set_filters_rejects_what_it_cannot_apply(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    with pytest.raises(TypeError, match="unknown filter"):
        e.set_filters(state=["FAILED"])
    with pytest.raises(ValueError, match="not in this frame"):
        e.set_filters(status=["DONE"])
    with pytest.raises(ValueError, match="not in this frame"):
        e.set_filters(configuration="cfg-z")
    with pytest.raises(ValueError, match="low > high"):
        e.set_filters(confidence=(0.9, 0.1))
    with pytest.raises(ValueError, match="date"):
        e.set_filters(created=("yesterday", None))
    with pytest.raises(ValueError, match="sort_by"):
        explore(jobs, sort_by="usage.credit")
    with pytest.raises(ValueError, match="cannot sort by 'x'"):
        explore(jobs).sort("x")
    assert e.filters == FilterState().as_dict()  # nothing half-applied


def test_summary_and_histogram_follow_the_filter(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    summary = re.sub(r"<[^>]+>", " ", e.summary.value)
    assert "COMPLETED: 7" in summary and "invoice: 4" in summary and "no match: 1" in summary
    assert "5 without confidence" in e.histogram.value
    e.status.value = ("COMPLETED",)
    assert "1 without confidence" in e.histogram.value
    heights = [float(h) for h in re.findall(r'cf-sel"[^>]*height="([\d.]+)"', e.histogram.value)]
    # bins are [k/20, (k+1)/20): 0.7 falls in 0.70-0.75 (np.histogram's float edges put it lower)
    confidences = e.filtered["result.confidence"].dropna().to_numpy()
    expected = np.bincount(np.minimum(confidences * 20, 19).astype(int), minlength=20)
    assert len(heights) == 20
    assert [h > 0 for h in heights] == [c > 0 for c in expected]
    counts = re.findall(
        r"<title>[\d.]+–[\d.]+: (\d+) jobs(?: of (\d+) \(\d+%\))?</title>", e.histogram.value
    )
    assert [int(c) for c, _ in counts] == expected.tolist()
    everyone = jobs["result.confidence"].dropna().to_numpy()
    overall = np.bincount(np.minimum(everyone * 20, 19).astype(int), minlength=20)
    assert [int(c or 0) for _, c in counts] == overall.tolist()
    assert 'class="cf-threshold"' in e.histogram.value and "threshold 0.8" in e.histogram.value
    # the count axis is the selection's: round ticks from 0 to its busiest bin, at most 2x it
    ticks = [int(t) for t in re.findall(r'text-anchor="end">([\d,]+)</text>', e.histogram.value)]
    assert ticks[0] == 0 and ticks == sorted(ticks)
    assert expected.max() <= ticks[-1] <= 2 * expected.max()
    assert 'class="cf-all"' in e.histogram.value  # all jobs' shape drawn as context


def test_a_small_selection_fills_the_histogram() -> None:
    """The selection's bars are scaled to the selection, not to all jobs (was a sliver)."""
    df = cf.jobs_to_frame(list(Dataset.generate(2_000, seed=0).jobs()))
    e = explore(df)
    e.set_filters(result_type=["invoice"], confidence=(0.9, 1))
    assert 0 < len(e.filtered) < len(df) / 10
    heights = [float(h) for h in re.findall(r'cf-sel"[^>]*height="([\d.]+)"', e.histogram.value)]
    plot = 170 - 22 - 30  # the chart's height less its margins
    assert max(heights) >= 0.5 * plot
    assert "all 2,000 jobs" in e.histogram.value


def test_table_renders_one_escaped_page_and_pages_through(jobs: pd.DataFrame) -> None:
    e = explore(jobs, page_size=10)
    assert e.page_label.value == "page 1 of 2"
    assert e.table.value.count("<tr") == 11  # header + 10 rows
    assert e.previous.disabled and not e.next.disabled
    assert "<script>" not in e.table.value and "<script>" not in e.detail.value
    e.next.click()
    assert e.page_label.value == "page 2 of 2" and e.next.disabled
    assert e.table.value.count("<tr") == 2 and "job-10" in e.table.value
    assert e.page_ids == ["job-10"] and e.selected == "job-10"
    e.previous.click()
    assert e.page_label.value == "page 1 of 2"
    e.page_size.value = 25
    assert e.page_label.value == "page 1 of 1" and e.table.value.count("<tr") == 12


def test_sorting_puts_missing_values_last(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.table.sort_by = "result.confidence"  # what a click on its header sets
    first = e.page_ids
    assert first[:3] == ["job-03", "job-01", "job-09"]
    e.table.descending = True  # a second click
    first = e.page_ids
    assert first[:3] == ["job-00", "job-08", "job-02"]
    assert set(first[-5:]) == {"job-04", "job-05", "job-06", "job-07", "job-10"}
    assert "result.confidence ▼" in e.table.value
    e.sort("created_at")
    assert e.page_ids[-2:] == ["job-08", "job-10"] and not e.table.descending
    assert 'data-col="created_at"' in e.table.value


def test_detail_panel_shows_rules_reasoning_errors_and_times(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    e.table.selected = 1  # what a click on its row sets
    text = html.unescape(re.sub(r"<[^>]+>", " ", e.detail.value))
    assert "Mentions a TOTAL <script>alert(1)</script>" in text
    assert "has an invoice number and a total" in text and "receipt" in text
    assert "2026-01-02 12:00:00Z" in text and "2026-01-02 12:00:05Z" in text
    assert "<script>" not in e.detail.value
    e.table.selected = 5
    assert "parse failed: &lt;b&gt;bad pdf&lt;/b&gt;" in e.detail.value
    e.show_job("job-09")
    assert "shard" in e.detail.value and "eu-1" in e.detail.value
    e.table.selected = 10
    assert "HTTP 404: not found" in e.detail.value


def test_export_button_writes_exactly_the_filtered_rows(jobs: pd.DataFrame, tmp_path: Path) -> None:
    e = explore(jobs)
    e.set_filters(status=["COMPLETED"], confidence=(0, 0.8))
    e.export_name.value = str(tmp_path / "low.parquet")
    e.export_button.click()
    written = cf.read_parquet(tmp_path / "low.parquet")
    pd.testing.assert_frame_equal(written, e.filtered)
    assert cf.parquet.read_metadata(tmp_path / "low.parquet")["rows"] == 4
    assert "Wrote <b" in e.export_status.value and ">4</b> rows" in e.export_status.value
    assert str(tmp_path / "low.parquet") in e.export_status.value

    e.export_format.value = "csv"
    assert e.export_name.value == str(tmp_path / "low.csv")
    e.export_button.click()
    assert ids(pd.read_csv(tmp_path / "low.csv")) == ids(e.filtered)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["low.csv", "low.parquet"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no/such/dir/jobs.parquet", "does not exist"),
        ("jobs.txt", "does not end in .parquet"),
        ("", "give a file name"),
    ],
)
def test_export_errors_are_shown_in_the_widget(
    jobs: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    e = explore(jobs)
    e.export_name.value = name
    e.export_button.click()  # no exception escapes
    assert "Export failed" in e.export_status.value and message in e.export_status.value
    assert list(tmp_path.iterdir()) == []


def test_csv_export_to_a_missing_directory_is_an_error(jobs: pd.DataFrame, tmp_path: Path) -> None:
    e = explore(jobs)
    e.export_format.value = "csv"
    e.export_name.value = str(tmp_path / "gone" / "jobs.csv")
    e.export_button.click()
    assert "Export failed" in e.export_status.value and "does not exist" in e.export_status.value
    with pytest.raises(cf.ExportError):
        e.export(tmp_path / "gone" / "jobs.csv")


def test_frames_without_optional_columns(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"id": ["a", "b", "c"], "status": ["DONE", "FAILED", None], "note": ["x", "<i>", "z"]}
    )
    e = explore(df)
    assert e.matched.value == "3 of 3 jobs"
    assert e.confidence.disabled and e.created_from.disabled and e.result_type.disabled
    assert not e.status.disabled
    e.failed_only.value = True
    assert ids(e.filtered) == ["b"]
    e.failed_only.value = False
    e.search.value = "B"
    assert ids(e.filtered) == ["b"]
    assert "&lt;i&gt;" in e.detail.value
    e.confidence.value = (0.2, 0.4)  # nobody has a confidence
    assert e.filtered.empty
    e.reset.click()
    e.export_name.value = str(tmp_path / "all.parquet")
    e.export_button.click()
    assert len(pd.read_parquet(tmp_path / "all.parquet")) == 3


def test_a_nested_frame_filters_on_its_struct_fields() -> None:
    df = cf.jobs_to_frame(
        [job(0, "COMPLETED", "invoice", 0.9), job(1, "COMPLETED", None, 0.3)], nested=True
    )
    assert "result.type" not in df.columns
    e = explore(df)
    assert not e.result_type.disabled and not e.confidence.disabled
    e.set_filters(confidence=(0, 0.5), search="REASON 1")
    assert ids(e.filtered) == ["job-01"]
    e.reset_filters()
    e.no_match_only.value = True
    assert ids(e.filtered) == ["job-01"]


def test_an_empty_frame() -> None:
    e = explore(cf.empty_frame())
    assert e.matched.value == "0 of 0 jobs" and e.page_label.value == "page 1 of 1"
    assert e.page_ids == [] and e.selected is None and "choose a job" in e.detail.value
    e.search.value = "x"
    assert e.filtered.empty


def test_accessor_top_level_and_display(jobs: pd.DataFrame) -> None:
    e = jobs.classify.explore(status=["FAILED"])
    assert isinstance(e, cf.JobExplorer) and cf.explore is explore
    assert ids(e.filtered) == ["job-05"]
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "job-05" in bundle["text/html"] and "1</b> of 11 jobs" in bundle["text/html"]
    for control in (e.status, e.result_type, e.confidence, e.search, e.export_button, e.table):
        assert any(c.startswith("cf-") for c in control._dom_classes)


def test_many_chunk_columns_read_the_right_rows(jobs: pd.DataFrame) -> None:
    df = pd.concat([jobs, jobs, jobs], ignore_index=True)  # Arrow columns of three chunks
    assert df["id"].array.__arrow_array__().num_chunks == 3
    rows = np.array([0, 12, 25, 32])
    assert column_values(df["id"], rows) == df["id"].iloc[rows].tolist()
    assert column_values(df["configuration.rules"], rows)[0] == RULES
    e = explore(df, page_size=10)
    e.next.click()
    e.next.click()
    assert e.page_ids[:2] == ["job-09", "job-10"]


def random_state(rng: np.random.Generator, df: pd.DataFrame) -> dict[str, Any]:
    def some(column: str) -> list[Any]:
        values = df[column].dropna().unique().tolist()
        return list(rng.choice(values, size=rng.integers(0, 3), replace=False))

    low = float(rng.choice([0.0, 0.5, 0.8]))
    start = dt.date(2026, int(rng.integers(1, 9)), 1)
    return {
        "status": some("status"),
        "result_type": some("result.type"),
        "configuration": rng.choice([None, *df["configuration_id"].dropna().unique()[:3]]),
        "confidence": None if rng.random() < 0.4 else (low, low + 0.2),
        "created": (start, None) if rng.random() < 0.5 else (None, None),
        "search": str(rng.choice(["", "invoice", "PDF", "a1"])),
        "no_match_only": bool(rng.random() < 0.2),
        "failed_only": bool(rng.random() < 0.2),
    }


def pandas_filter(df: pd.DataFrame, f: dict[str, Any]) -> pd.DataFrame:
    """The filter written the slow, obvious pandas way, as the reference."""
    keep = pd.Series(True, index=df.index)
    if f["status"]:
        keep &= df["status"].isin(f["status"])
    if f["result_type"]:
        keep &= df["result.type"].isin(f["result_type"]).fillna(False)
    if f["configuration"]:
        keep &= (df["configuration_id"] == f["configuration"]).fillna(False)
    if f["confidence"]:
        keep &= df["result.confidence"].between(*f["confidence"])
    if f["created"][0]:
        keep &= df["created_at"] >= pd.Timestamp(f["created"][0], tz="UTC")
    if f["search"]:
        text = f["search"].lower()
        found = pd.Series(False, index=df.index)
        for column in ("id", "file_input", "result.reasoning"):
            found |= df[column].str.lower().str.contains(text, regex=False).fillna(False)
        keep &= found
    if f["no_match_only"]:
        keep &= (df["status"] == "COMPLETED") & df["result.type"].isna()
    if f["failed_only"]:
        keep &= (df["status"] == "FAILED") | df["fetch_error"].notna()
    return df[keep.astype(bool)]


@pytest.mark.parametrize("block", [65_536, 256], ids=["one-block", "blocks"])
def test_masks_agree_with_plain_pandas_on_emulator_data(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small blocks make the search skip blocks and reuse earlier scans, as on big frames
    monkeypatch.setattr("classify_frames.explorer._search._BLOCK", block)
    df = cf.jobs_to_frame(list(Dataset.generate(3000, seed=3).jobs()))
    e = explore(df)
    rng = np.random.default_rng(0)
    for _ in range(40):
        state = random_state(rng, df)
        e.set_filters(**state)
        expected = pandas_filter(df, state)
        pd.testing.assert_frame_equal(e.filtered, expected)
        assert e.matched.value.startswith(f"{len(expected):,} of ")
        counts = expected["status"].value_counts()
        for value, n in counts[counts > 0].items():
            assert f"{value}: {n:,}" in plain(e.summary.value)


def test_index_orders_are_stable_with_missing_last() -> None:
    df = pd.DataFrame({"id": ["a", "b", "c", "d"], "result.confidence": [0.5, np.nan, 0.5, 0.1]})
    index = JobIndex(df)
    assert index.order("result.confidence").tolist() == [3, 0, 2, 1]
    assert index.order("result.confidence", descending=True).tolist() == [0, 2, 3, 1]
    view = index.view(FilterState(confidence=(0.0, 0.6)), sort_by="result.confidence")
    assert view.rows.tolist() == [3, 0, 2] and view.no_confidence == 0
    text = JobIndex(pd.DataFrame({"id": pd.array(["b", None, "a", "b", "c"], "string[pyarrow]")}))
    assert text.order("id").tolist() == [2, 0, 3, 4, 1]  # Arrow's sort: stable, missing last
    assert text.order("id", descending=True).tolist() == [4, 0, 3, 2, 1]


def test_explorer_is_a_widget_box(jobs: pd.DataFrame) -> None:
    e = JobExplorer(jobs)
    assert "cf-explorer-widget" in e._dom_classes
    assert e.frame is jobs


@pytest.mark.slow
def test_filter_changes_on_300k_rows_stay_fast() -> None:
    """A guard on the vectorised path; benchmarks/bench_explorer.py measures 1M rows."""
    base = cf.jobs_to_frame(list(Dataset.generate(3_000, seed=1).jobs()))
    df = pd.concat([base] * 100, ignore_index=True)  # 100 Arrow chunks, as a concat makes
    e = explore(df, sort_by="result.confidence")
    steps: list[dict[str, Any]] = [
        {"status": ["COMPLETED"]},
        {"result_type": ["invoice", "receipt"]},
        {"confidence": (0.6, 0.9)},
        {"created": ("2026-02-01", None)},
        {"search": "invoice"},
        {"no_match_only": True, "result_type": []},
        {"failed_only": True, "no_match_only": False, "status": []},
    ]
    for step in steps:
        best = float("inf")
        for _ in range(3):
            e.set_filters(search="")  # so every try pays for its search again
            start = time.perf_counter()
            e.set_filters(**step)
            best = min(best, time.perf_counter() - start)
        assert best < 0.2, (step, best)


def test_a_header_click_sorts_and_a_second_reverses(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    assert 'data-col="result.confidence"' in e.table.value  # headers the page can click
    e.table.sort_by = "result.confidence"  # what the front end sets on a click
    assert e.page_ids[0] == "job-03" and "result.confidence ▲" in e.table.value
    e.table.descending = True  # the second click on the same header
    assert e.page_ids[0] == "job-00" and "result.confidence ▼" in e.table.value
    e.sort(None)
    assert e.page_ids == ids(jobs)


def test_a_row_click_opens_its_detail_and_keys_walk_the_rows(jobs: pd.DataFrame) -> None:
    e = explore(jobs, page_size=5)
    assert e.selected == "job-00" and 'data-row="3"' in e.table.value
    e.table.selected = 3  # a click on the row whose data-row is 3
    assert e.selected == "job-03" and "job-03" in e.detail.value
    e._on_key({"event": "move", "step": 1})
    e._on_key({"event": "move", "step": 1})  # past the page: the next page opens
    assert e.selected == "job-05" and e.page_label.value == "page 2 of 3"
    e._on_key({"event": "move", "step": -1})
    assert e.selected == "job-04" and e.page_label.value == "page 1 of 3"
    e._on_key({"event": "pick", "number": 1})  # no labelling: ignored
    with pytest.raises(KeyError, match="not among the 11 filtered jobs"):
        e.show_job("job-99")


def test_columns_to_show_are_chosen(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    assert list(e.columns.value) == [c for c in TABLE_COLUMNS if c in jobs.columns]
    assert "shard" in e.columns.options and "usage.credits" in e.columns.options
    e.columns.value = ("id", "shard")
    assert re.findall(r'data-col="([^"]+)"', e.table.value) == ["id", "shard"]
    assert "eu-1" in e.table.value


def test_configuration_names_where_known_else_short_ids(jobs: pd.DataFrame) -> None:
    e = explore(jobs)
    assert e.configuration.value == "" and e.configuration.label == "all configurations"
    uuid = "18b122a6-fdef-28b6-374a-45051ed5d8cb"
    ids_only = jobs.assign(configuration_id=[uuid] * 6 + ["18b122a6-aaaa"] * 5)
    labels = configuration_labels(ids_only)
    assert labels == {"18b122a6-aaaa": "18b122a6-aaa…", uuid: "18b122a6-fde…"}
    named = jobs.assign(**{"configuration.name": ["invoices EU"] * 11})
    named.loc[named["configuration_id"] == "cfg-b", "configuration.name"] = None
    e = explore(named)
    assert [label for label, _ in e.configuration.options] == [
        "all configurations",
        "invoices EU (6)",
        "cfg-b (4)",
    ]
    assert "configuration.name" in e.columns.value
    assert e.columns.value.index("configuration.name") < e.columns.value.index("configuration_id")
    assert 'title="cfg-a">invoices EU</td>' in e.table.value


def test_audit_this_selection_shows_the_findings(
    jobs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = explore(jobs, threshold=0.9, status=["COMPLETED"])
    e.audit_button.click()
    assert f"Audit of this selection ({len(e.filtered):,} jobs)" in e.audit_output.value
    report = e.audit_selection()
    assert report.threshold == 0.9 and len(report.jobs) == len(e.filtered)
    monkeypatch.setattr(
        type(report), "findings", ["96% of jobs are auto-accepted <b>"], raising=False
    )
    e.audit_button.click()
    assert "<li>96% of jobs are auto-accepted &lt;b&gt;</li>" in e.audit_output.value

    def broken() -> None:
        raise ValueError("no completed job to audit")

    monkeypatch.setattr(e, "audit_selection", broken)
    e.audit_button.click()
    assert "Cannot audit these" in e.audit_output.value
    assert "no completed job to audit" in e.audit_output.value
    e.search.value = "no such text anywhere"
    e.audit_button.click()
    assert "No jobs to audit" in e.audit_output.value
