"""Figures of the audit, drawn on standalone matplotlib Figures (no pyplot, so the user's
global matplotlib state and backend are never touched).

Each figure draws one of the report's tables (or, for the right-and-wrong histogram, the
labelled jobs behind the confusion matrix): it computes nothing the tables do not hold.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

try:
    from matplotlib.axes import Axes
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
except ModuleNotFoundError as exc:  # an extra: the audit's numbers need no plotting stack
    msg = "the audit's figures need the [plots] extra: pip install 'classify-frames[plots]'"
    raise ModuleNotFoundError(msg, name=exc.name) from exc

from ._tables import type_order
from ._weighted import weights_of

__all__ = [
    "confidence_histograms",
    "confusion_heatmap",
    "drift_lines",
    "histogram_counts",
    "histogram_types",
    "label_lanes",
    "reliability",
    "right_and_wrong",
    "risk_coverage_curve",
    "to_png",
    "type_accuracy",
]

RIGHT, WRONG, BAND = "#1a7f37", "#cf222e", "#0969da"


def _row_names(ax: Axes, names: Sequence[object], fontsize: float = 8) -> None:
    """``names`` beside rows 0, 1, … on the left, as plain text: a matplotlib tick costs
    several artists, and a chart of every type has dozens of them. A name is never read as
    mathtext (a type called ``a $\\frac{$ b`` would stop the drawing)."""
    ax.set_yticks([])
    place = ax.get_yaxis_transform()
    for i, name in enumerate(names):
        ax.text(-0.015, i, str(name), ha="right", va="center", fontsize=fontsize, transform=place,
                parse_math=False)  # fmt: skip


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    return fig


def _bar_width(values: np.ndarray) -> float:
    """Bars on distinct confidence values: 80% of the closest gap, between 0.01 and 0.05."""
    distinct = np.unique(values[np.isfinite(values)])
    if len(distinct) < 2:
        return 0.03
    return float(np.clip(np.min(np.diff(distinct)) * 0.8, 0.01, 0.05))


def histogram_types(jobs: pd.DataFrame) -> list[str]:
    """Every predicted type some completed job states a confidence for, most jobs first and
    "no match" last, then by name, as ``report.by_type`` orders them (the rows of
    :func:`confidence_histograms`); a row of counted cells stands for its ``weight`` jobs."""
    stated = (jobs["completed"] & jobs["confidence"].notna()).to_numpy(bool)
    weights = weights_of(jobs)
    return type_order(
        jobs.loc[stated, "type"], weights=None if weights is None else weights[stated]
    )


def histogram_counts(jobs: pd.DataFrame) -> dict[str, pd.Series]:
    """The jobs per stated confidence (sorted) of each predicted type: what
    :func:`confidence_histograms` draws (a row of counted cells counts its ``weight``)."""
    stated = (jobs["completed"] & jobs["confidence"].notna()).to_numpy(bool)
    weights = weights_of(jobs)
    each = np.ones(int(stated.sum()), np.int64) if weights is None else weights[stated]
    kinds = jobs.loc[stated, "type"].astype(object).to_numpy()
    conf = jobs.loc[stated, "confidence"].to_numpy(float)
    per = pd.Series(each).groupby([kinds, conf], sort=True).sum()
    return {
        str(name): these.droplevel(0).rename_axis("confidence").astype("int64")
        for name, these in per.groupby(level=0, sort=False)
    }


def confidence_histograms(
    jobs: pd.DataFrame, types: Sequence[str] | None = None, max_types: int = 30
) -> Figure:
    """Jobs per stated confidence, one row per predicted type (``types`` in that order, or
    the ``max_types`` with most jobs), each row scaled to its own tallest bar and labelled with
    its jobs. When not every type has a row, the title says how many do.

    One axes for every row: a grid of small axes cost most of the report's drawing time and
    was unreadable on a narrow screen."""
    every = histogram_types(jobs)
    order = list(types) if types is not None else every[:max_types]
    if not order:
        return _empty(Figure(figsize=(6, 2)), "no completed job states a confidence")
    height = 0.9 + 0.3 * len(order)
    fig = Figure(figsize=(6.0, height))
    longest = max(len(str(n)) for n in order)
    left = 0.3 + 0.062 * min(longest, 34)
    fig.subplots_adjust(left=left / 6.0, right=1 - 0.85 / 6.0, top=1 - 0.4 / height,
                        bottom=0.5 / height)  # fmt: skip
    ax = fig.add_subplot()
    counts = histogram_counts(jobs)
    bar = _bar_width(jobs.loc[jobs["completed"], "confidence"].to_numpy(float))
    boxes, totals = [], []
    for i, name in enumerate(order):
        these = counts.get(str(name), pd.Series(dtype="int64"))
        values = these.to_numpy(float)
        totals.append(int(values.sum()))
        # bars grow upwards from the row's baseline (the y axis runs top to bottom); one
        # collection for every bar, not one patch each
        base = i + 0.4
        for x, v in zip(
            these.index.astype(float), values / max(values.max(), 1) * 0.8, strict=True
        ):
            left, right = x - bar / 2, x + bar / 2
            boxes.append([(left, base), (right, base), (right, base - v), (left, base - v)])
    ax.add_collection(PolyCollection(boxes, facecolors=BAND, edgecolors="none"))
    for i, total in enumerate(totals):
        ax.text(1.02, i, f"{total:,}", va="center", fontsize=8, transform=ax.get_yaxis_transform())
    ax.text(1.02, -0.95, "jobs", va="center", fontsize=8, transform=ax.get_yaxis_transform())
    _row_names(ax, order)
    ax.set_ylim(len(order) - 0.5, -0.7)
    ax.set_xlim(0, 1.02)
    ax.grid(axis="x", color="#eaeef2")
    ax.set_axisbelow(True)
    ax.set_xlabel("stated confidence (each row scaled to its tallest bar)", fontsize=9)
    shown = sum(1 for name in order if name in set(every))
    title = "Jobs per stated confidence, by predicted type"
    if shown < len(every):
        title += f" ({shown} of {len(every)} types shown)"
    ax.set_title(title, fontsize=9)
    return fig


def label_lanes(x: Sequence[float], gap: float) -> list[int]:
    """A lane (row) for each label at ``x`` (in order), so that two labels in one lane are at
    least ``gap`` apart: the lowest lane that is free, greedily.

    >>> label_lanes([0.5, 0.85, 0.9, 0.95, 0.99], gap=0.06)
    [0, 0, 1, 0, 1]
    """
    last: list[float] = []
    lanes = []
    for value in x:
        lane = next((i for i, end in enumerate(last) if value - end >= gap), len(last))
        if lane == len(last):
            last.append(value)
        else:
            last[lane] = value
        lanes.append(lane)
    return lanes


def reliability(table: pd.DataFrame) -> Figure:
    """Reliability diagram: accuracy (with the calibration table's design-based 95% intervals)
    against stated confidence; under it the labels each interval rests on, then a histogram of
    the jobs in each bin."""
    if table.empty:
        return _empty(Figure(figsize=(5, 4.5)), "no labelled job states a confidence")
    fig = Figure(figsize=(5, 6.2))
    fig.subplots_adjust(left=0.15, right=0.97, top=0.97, bottom=0.08, hspace=0.08)
    x = table["confidence"].to_numpy(float)
    # two labels in a lane stay a text's width (8 pt digits, about 0.6 em each) apart
    longest = max(len(f"{int(n):,}") for n in table["labels"].to_numpy())
    axes_inches = 5 * (0.97 - 0.15)
    gap = (longest * 0.6 * 8 / 72 + 0.08) * 1.02 / axes_inches
    lanes = label_lanes(x.tolist(), gap=gap)
    strip = 0.22 * (max(lanes) + 1) + 0.2
    top, mid, bottom = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [3.2, strip, 1.1]}
    )
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    accuracy = table["accuracy"].to_numpy(float)
    err = np.vstack(
        [accuracy - table["accuracy_lo"].to_numpy(float), table["accuracy_hi"] - accuracy]
    )
    top.errorbar(
        x, accuracy, yerr=err, fmt="o-", capsize=3, color=BAND, label="accuracy (95% interval)"
    )
    top.set_ylabel("accuracy")
    top.set_ylim(-0.03, 1.03)  # a bin right never or always keeps its whole marker
    top.legend(loc="upper left", fontsize=8)
    # the labels behind each interval, in lanes so that neighbours never overlap
    mid.set_axis_off()
    mid.set_ylim(max(lanes) + 0.7, -0.7)
    mid.text(-0.01, 0, "labels", transform=mid.get_yaxis_transform(), ha="right", va="center",
             fontsize=8)  # fmt: skip
    for value, labels, lane in zip(x, table["labels"].to_numpy(), lanes, strict=True):
        mid.text(value, lane, f"{int(labels):,}", ha="center", va="center", fontsize=8)
    bottom.bar(x, table["count"].to_numpy(float), width=_bar_width(x), color="#8c959f")
    bottom.set_ylabel("jobs", fontsize=9)
    bottom.yaxis.set_major_formatter("{x:,.0f}")
    bottom.tick_params(labelsize=8)
    bottom.set_xlabel("stated confidence")
    bottom.set_xlim(0, 1.02)
    return fig


def risk_coverage_curve(table: pd.DataFrame, threshold: float) -> Figure:
    """Risk (1 - accuracy) against coverage, one step per distinct threshold, with the band of
    the accuracy's 95% interval; the risk axis starts at 0."""
    fig = Figure(figsize=(5, 4))
    fig.subplots_adjust(left=0.14, right=0.97, top=0.95, bottom=0.13)
    if table.empty:
        return _empty(fig, "no labelled job states a confidence")
    ax = fig.add_subplot()
    coverage = table["coverage"].to_numpy(float)
    low = 1 - table["accuracy_hi"].to_numpy(float)
    high = 1 - table["accuracy_lo"].to_numpy(float)
    order = np.argsort(coverage)
    ax.fill_between(
        coverage[order],
        low[order],
        high[order],
        step="post",
        alpha=0.2,
        color=BAND,
        lw=0,
        label="95% interval",
    )
    ax.step(
        coverage[order],
        table["risk"].to_numpy(float)[order],
        where="post",
        marker="o",
        ms=3,
        color=BAND,
        label="risk",
    )
    at = table[table.index >= threshold]
    if len(at):
        row = at.iloc[0]
        ax.axvline(row["coverage"], color="grey", ls=":", lw=1)
        ax.annotate(
            f"threshold {at.index[0]:g}",
            (row["coverage"], row["risk"]),
            textcoords="offset points",
            xytext=(5, 8),
            fontsize=8,
        )
    finite = high[np.isfinite(high)]
    ceiling = float(finite.max()) if len(finite) else 1.0
    ax.set_ylim(0, min(1.0, max(0.1, ceiling * 1.15)))
    ax.set_xlabel("coverage (share auto-accepted)")
    ax.set_ylabel("risk (error rate among accepted)")
    ax.set_xlim(0, 1.02)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def confusion_heatmap(matrix: pd.DataFrame) -> Figure:
    """The confusion matrix of the labelled jobs: each cell's colour its share of the row (of
    the jobs with that label), its count written in it."""
    k = len(matrix)
    if k == 0 or int(matrix.to_numpy().sum()) == 0:
        return _empty(Figure(figsize=(5, 2)), "no labelled job")
    counts = matrix.to_numpy()
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    longest = max(len(str(n)) for n in [*matrix.index, *matrix.columns])
    margin = 0.4 + 0.065 * min(longest, 30)
    side = max(3.0, 0.3 * k)
    fig = Figure(figsize=(side + margin + 0.9, side + margin + 0.4))
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=(margin + 0.25) / width,
        right=1 - 0.85 / width,
        bottom=(margin + 0.25) / height,
        top=1 - 0.15 / height,
    )
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="equal")
    size = 7 if k <= 15 else 6
    for (i, j), n in np.ndenumerate(counts):
        if n:
            light = shares[i, j] > 0.55
            ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=size,
                    color="white" if light else "#1f2328")  # fmt: skip
    _row_names(ax, list(matrix.index), size + 1)
    ax.set_xticks([])
    below = ax.get_xaxis_transform()
    for j, name in enumerate(matrix.columns):
        ax.text(j, -0.015, str(name), rotation=90, ha="center", va="top", fontsize=size + 1,
                transform=below, parse_math=False)  # fmt: skip
    ax.xaxis.labelpad = 6 + 5.5 * min(longest, 30)
    ax.yaxis.labelpad = 6 + 5.5 * min(longest, 30)
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("share of the label's jobs", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return fig


def right_and_wrong(confidence: np.ndarray, right: np.ndarray) -> Figure:
    """Stated confidence of the labelled jobs, the right ones above the axis and the wrong
    ones below, on the same bins: where the wrong ones sit is where a threshold helps."""
    fig = Figure(figsize=(6, 3.6))
    fig.subplots_adjust(left=0.11, right=0.97, top=0.9, bottom=0.14)
    stated = np.isfinite(confidence)
    if not stated.any():
        return _empty(fig, "no labelled job states a confidence")
    conf, ok = confidence[stated], right[stated].astype(bool)
    distinct = np.unique(conf)
    if len(distinct) <= 25:  # the API states a few values: one bar each
        centres, width = distinct, _bar_width(distinct)
        up = np.array([np.sum(ok & (conf == v)) for v in distinct])
        down = np.array([np.sum(~ok & (conf == v)) for v in distinct])
    else:
        edges = np.linspace(0, 1, 21)
        up = np.histogram(conf[ok], edges)[0]
        down = np.histogram(conf[~ok], edges)[0]
        centres, width = (edges[:-1] + edges[1:]) / 2, 0.045
    ax = fig.add_subplot()
    ax.bar(centres, up, width=width, color=RIGHT, label=f"right ({int(ok.sum()):,})")
    ax.bar(centres, -down, width=width, color=WRONG, label=f"wrong ({int((~ok).sum()):,})")
    ax.axhline(0, color="#57606a", lw=0.8)
    peak = max(int(up.max()), int(down.max()), 1)
    ax.set_ylim(-peak * 1.15, peak * 1.15)
    ticks = ax.get_yticks()
    ax.set_yticks(ticks, [f"{abs(int(t)):,}" for t in ticks])
    ax.set_ylim(-peak * 1.15, peak * 1.15)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("stated confidence")
    ax.set_ylabel("labelled jobs")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{int(stated.sum()):,} labelled jobs that state a confidence", fontsize=9)
    return fig


def type_accuracy(table: pd.DataFrame, target: float | None = None) -> Figure:
    """Accuracy of each type (rows in the table's order) with its 95% interval and the labels
    behind it; ``target`` as a dashed line. A type without an estimate says so."""
    k = len(table)
    height = 0.8 + 0.27 * max(k, 1)
    fig = Figure(figsize=(6.0, height))
    longest = max((len(str(n)) for n in table.index), default=8)
    left = 0.35 + 0.062 * min(longest, 34)
    fig.subplots_adjust(left=left / 6.0, right=1 - 0.75 / 6.0, top=1 - 0.3 / height,
                        bottom=0.55 / height)  # fmt: skip
    if k == 0:
        return _empty(fig, "no type")
    ax = fig.add_subplot()
    y = np.arange(k)
    accuracy = table["accuracy"].to_numpy(float)
    low, high = table["accuracy_lo"].to_numpy(float), table["accuracy_hi"].to_numpy(float)
    known = np.isfinite(accuracy)
    ax.errorbar(
        accuracy[known],
        y[known],
        xerr=np.vstack([accuracy[known] - low[known], high[known] - accuracy[known]]),
        fmt="o",
        ms=4,
        capsize=2,
        color=BAND,
    )
    if target is not None:
        ax.axvline(target, color=WRONG, ls="--", lw=1, label=f"target {target:.0%}")
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    labels = table["accuracy_labels"].to_numpy(float)
    for i in range(k):
        n = 0 if not np.isfinite(labels[i]) else int(labels[i])
        ax.text(1.02, i, f"{n:,}", va="center", fontsize=8, transform=ax.get_yaxis_transform())
        if not known[i]:
            ax.text(0.01, i, "no estimate", va="center", fontsize=7, color="#57606a")
    ax.text(1.02, -0.9, "labels", fontsize=8, transform=ax.get_yaxis_transform(), va="center")
    _row_names(ax, list(table.index))
    ax.set_ylim(k - 0.5, -1.2)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("accuracy (95% interval)")
    ax.grid(axis="x", color="#eaeef2")
    return fig


def drift_lines(table: pd.DataFrame) -> Figure:
    """Mean confidence, no-match rate (and accuracy) per period above; PSI below, with the
    0.1 / 0.25 cut-offs and flagged periods marked."""
    fig = Figure(figsize=(8, 5))
    if table.empty:
        return _empty(fig, "no period to compare")
    # fixed margins (the month labels below, rotated): the constrained layout engine cost
    # more than drawing the lines
    names = [str(p) for p in table.index]
    below = 0.35 + 0.05 * max(len(n) for n in names)  # inches under the axes, labels at 45°
    fig.subplots_adjust(left=0.08, right=0.98, top=0.97, bottom=below / 5, hspace=0.08)
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(table))
    for column in ("confidence_mean", "no_match_rate", "accuracy"):
        if column in table:
            top.plot(x, table[column], marker="o", label=column.replace("_", " "))
    top.legend(fontsize=8)
    bottom.plot(x, table["psi_confidence"], marker="o", label="PSI confidence")
    bottom.plot(x, table["psi_type"], marker="s", label="PSI type mix")
    bottom.axhline(0.1, color="orange", ls=":", lw=1)
    bottom.axhline(0.25, color="red", ls=":", lw=1)
    for i, flag in enumerate(table["drift"]):
        if flag:
            bottom.axvspan(
                i - 0.4, i + 0.4, color="red" if flag == "major" else "orange", alpha=0.15
            )
    bottom.set_xticks(x, names, rotation=45, ha="right", rotation_mode="anchor", fontsize=8)
    bottom.legend(fontsize=8)
    bottom.set_ylabel("PSI vs baseline")
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (rendered with the Agg canvas, whatever the user's backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
