"""The report's charts draw the report's own numbers (each held against the table it draws), say
what they leave out, and the document escapes whatever a type is called."""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import classify_frames as cf
from classify_frames.auditing import AuditReport, _document, _plots, _tables
from classify_frames.emulator import Dataset


@pytest.fixture(scope="module")
def report() -> AuditReport:
    """3,000 emulator jobs, 300 labels from a stratified queue (the loop a user runs)."""
    ds = Dataset.generate(3_000, seed=0)
    df = cf.jobs_to_frame(ds.jobs())
    queue = cf.audit(df, threshold=0.9).review_queue(strategy="stratified", budget=300)
    truth = ds.labels().set_index("id")["label"]
    queue["label"] = truth.reindex(queue["id"].astype(str)).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cf.audit(df, queue, threshold=0.9)


def drawn(fig: Figure) -> Figure:
    FigureCanvasAgg(fig).draw()  # type: ignore[no-untyped-call]
    return fig


def data_texts(ax: Any) -> list[Any]:
    """Texts placed in data coordinates (not the names beside the rows)."""
    return [t for t in ax.texts if t.get_transform() == ax.transData]


@pytest.mark.parametrize("close", [False, True])
def test_reliability_shows_the_labels_of_each_interval_without_overlap(
    report: AuditReport, close: bool
) -> None:
    table = report.calibration()
    if close:  # many close bins with large counts: the case where labels ran together
        x = np.linspace(0.8, 0.99, 12)
        table = pd.DataFrame(
            {"confidence": x, "accuracy": x - 0.05, "accuracy_lo": x - 0.15,
             "accuracy_hi": np.minimum(x + 0.03, 1), "labels": np.arange(12) * 1_111 + 5,
             "count": np.arange(12) * 5_000 + 40}
        )  # fmt: skip
    fig = drawn(_plots.reliability(table))
    _, strip, jobs = fig.axes
    labels = [t for t in strip.texts if t.get_text() != "labels"]
    assert [t.get_text() for t in labels] == [f"{int(n):,}" for n in table["labels"]]
    assert [t.get_position()[0] for t in labels] == pytest.approx(table["confidence"].tolist())
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    # the histogram under it: the jobs of each bin, not the labels
    heights = [p.get_height() for p in jobs.patches]  # type: ignore[attr-defined]
    assert heights == pytest.approx(table["count"].astype(float).tolist())


def test_label_lanes_keep_neighbours_apart() -> None:
    x = sorted(np.random.default_rng(0).random(40).tolist())
    lanes = _plots.label_lanes(x, gap=0.05)
    for lane in set(lanes):
        placed = [v for v, k in zip(x, lanes, strict=True) if k == lane]
        assert all(b - a >= 0.05 for a, b in itertools.pairwise(placed))


def test_risk_coverage_has_its_band_and_an_axis_from_zero(report: AuditReport) -> None:
    table = report.risk_coverage
    fig = drawn(_plots.risk_coverage_curve(table, report.threshold))
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0
    assert ax.get_ylim()[1] >= (1 - table["accuracy_lo"]).max()  # the whole band shows
    band: Any = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx((1 - table["accuracy_hi"]).min())
    assert band[:, 1].max() == pytest.approx((1 - table["accuracy_lo"]).max())


def test_confusion_heatmap_writes_the_confusion_counts(report: AuditReport) -> None:
    matrix = report.confusion
    fig = drawn(_plots.confusion_heatmap(matrix))
    ax = fig.axes[0]
    written = {
        (round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text().replace(",", ""))
        for t in data_texts(ax)
    }
    counts = matrix.to_numpy()
    assert written == {(i, j): int(n) for (i, j), n in np.ndenumerate(counts) if n}
    shares = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
    assert np.asarray(ax.images[0].get_array()) == pytest.approx(shares)
    names = [t.get_text() for t in ax.texts if t not in data_texts(ax)]
    assert names == [*map(str, matrix.index), *map(str, matrix.columns)]


def test_right_and_wrong_counts_the_labelled_jobs(report: AuditReport) -> None:
    assert report.data.truth is not None
    y_true, y_pred, stated = _tables.labelled(report.data.jobs, report.data.truth)
    assert not np.isnan(stated).any()  # every labelled job here states a confidence
    fig = drawn(_plots.right_and_wrong(stated, y_true == y_pred))
    heights = np.array([p.get_height() for p in fig.axes[0].patches])  # type: ignore[attr-defined]
    matrix = report.confusion.to_numpy()
    right, total = int(np.trace(matrix)), int(matrix.sum())
    assert heights[heights > 0].sum() == right  # the diagonal of the confusion matrix
    assert -heights[heights < 0].sum() == total - right
    assert total == report.summary.loc["labelled", "value"]


def test_type_accuracy_has_every_type_with_its_interval_and_labels(report: AuditReport) -> None:
    by_type = report.by_type
    fig = drawn(_plots.type_accuracy(by_type, 0.95))
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert [t for t in texts if t in set(map(str, by_type.index))] == list(map(str, by_type.index))
    counts = [t for t in texts if re.fullmatch(r"[\d,]+", t)]
    assert counts == [f"{int(n):,}" for n in by_type["accuracy_labels"].fillna(0)]
    bars = ax.collections[0].get_segments()  # type: ignore[attr-defined]  # one horizontal error bar per estimated type
    known = by_type["accuracy"].notna().to_numpy()
    ends = np.array([[s[0][0], s[1][0]] for s in bars])
    assert ends[:, 0] == pytest.approx(by_type.loc[known, "accuracy_lo"].to_numpy())
    assert ends[:, 1] == pytest.approx(by_type.loc[known, "accuracy_hi"].to_numpy())


def test_charts_say_which_types_they_leave_out(
    report: AuditReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = _plots.histogram_types(report.data.jobs)
    fig = _plots.confidence_histograms(report.data.jobs, every[:5])
    assert fig.axes[0].get_title().endswith(f"(5 of {len(every)} types shown)")
    whole = _plots.confidence_histograms(report.data.jobs)
    assert "shown" not in whole.axes[0].get_title()  # every type has a row

    monkeypatch.setattr(_document, "HISTOGRAM_TYPES", 5)
    monkeypatch.setattr(_document, "ACCURACY_TYPES", 4)
    page = _document.document(report)
    rest = ", ".join(every[5:])
    assert f"5 of {len(every)} types shown; the rest: {rest}." in page
    types = list(map(str, report.by_type.index))
    assert f"4 of {len(types)} types shown; the rest: {', '.join(types[4:])}." in page


def test_a_hostile_type_name_is_escaped_everywhere(tmp_path: Path) -> None:
    evil, quote = "<script>alert(1)</script>", 'x" onmouseover="alert(1)'
    jobs = [
        {"id": f"{quote}-{i}" if i == 0 else f"j{i}", "status": "COMPLETED",
         "result": {"type": evil if i % 2 else "invoice", "confidence": 0.5 + i / 100},
         "created_at": f"2026-0{1 + i % 3}-01T00:00:00Z"}
        for i in range(40)
    ]  # fmt: skip
    frame = cf.jobs_to_frame(jobs)
    labels = pd.DataFrame({"id": frame["id"], "label": [evil, "invoice"] * 20})
    report = cf.audit(frame, labels)
    before = frame[["id", "status", "result.type", "result.confidence"]].assign(fetch_error=None)
    after = before.assign(id="n" + before["id"], source_id=before["id"])
    comparison = cf.compare(before, after, labels=labels)
    page = report.to_html(tmp_path / "a.html", comparisons=[comparison]).read_text()
    for shown in (page, report._repr_html_(), comparison._repr_html_()):
        assert "<script" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
        assert 'onmouseover="' not in shown
    assert "x&#34; onmouseover=&#34;alert(1)" in page  # an id in a tooltip attribute too


def test_a_type_name_is_never_read_as_mathtext(tmp_path: Path) -> None:
    odd = r"cost $\frac{$ 5"  # matplotlib's mathtext refuses it: the old report raised here
    frame = cf.jobs_to_frame(
        [
            {"id": f"j{i}", "status": "COMPLETED",
             "result": {"type": odd if i % 2 else "invoice", "confidence": 0.5 + i / 100}}
            for i in range(30)
        ]
    )  # fmt: skip
    labels = pd.DataFrame({"id": frame["id"], "label": [odd, "invoice"] * 15})
    page = cf.audit(frame, labels).to_html(tmp_path / "a.html").read_text()
    assert r"cost $\frac{$ 5" in page
    names = [t.get_text() for t in _plots.confusion_heatmap(cf.audit(frame, labels).confusion)
             .axes[0].texts]  # fmt: skip
    assert odd in names
