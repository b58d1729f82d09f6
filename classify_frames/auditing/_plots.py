"""Figures of the audit, drawn on standalone matplotlib Figures (no pyplot, so the user's
global matplotlib state and backend are never touched)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

try:
    from matplotlib.figure import Figure
except ModuleNotFoundError as exc:  # an extra: the audit's numbers need no plotting stack
    msg = "the audit's figures need the [plots] extra: pip install 'classify-frames[plots]'"
    raise ModuleNotFoundError(msg, name=exc.name) from exc

__all__ = ["confidence_histograms", "drift_lines", "reliability", "risk_coverage_curve", "to_png"]


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    return fig


def confidence_histograms(jobs: pd.DataFrame, max_types: int = 12) -> Figure:
    """Counts of each stated confidence, one small panel per predicted type (largest first)."""
    completed = jobs.loc[jobs["completed"] & jobs["confidence"].notna(), ["type", "confidence"]]
    types = completed["type"].astype(object)
    order = list(types.value_counts().index[:max_types])
    if not order:
        return _empty(Figure(figsize=(6, 2)), "no completed job states a confidence")
    cols = min(4, len(order))
    rows = -(-len(order) // cols)
    # fixed margins: the constrained layout engine took most of the report's rendering time
    # for a grid of small panels whose labels all have the same size
    height = 2.2 * rows
    fig = Figure(figsize=(3.2 * cols, height))
    fig.subplots_adjust(
        left=0.6 / (3.2 * cols),
        right=0.99,
        top=1 - 0.3 / height,
        bottom=0.55 / height,
        wspace=0.3,
        hspace=0.35,
    )
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    values = np.unique(completed["confidence"])
    width = max(float(np.min(np.diff(values))) * 0.8, 0.01) if len(values) > 1 else 0.02
    for ax, name in zip(axes.flat, order, strict=False):
        counts = completed.loc[types == name, "confidence"].value_counts().sort_index()
        ax.bar(counts.index, counts.to_numpy(), width=width)
        ax.set_title(f"{name} ({int(counts.sum())})", fontsize=9)
    for ax in axes.flat[len(order) :]:
        ax.set_axis_off()
    fig.supxlabel("stated confidence")
    return fig


def reliability(table: pd.DataFrame) -> Figure:
    """Reliability diagram: accuracy (with the calibration table's design-based 95% intervals)
    against stated confidence."""
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    if table.empty:
        return _empty(fig, "no labelled job states a confidence")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    err = np.vstack(
        [table["accuracy"] - table["accuracy_lo"], table["accuracy_hi"] - table["accuracy"]]
    )
    ax.errorbar(
        table["confidence"],
        table["accuracy"],
        yerr=err,
        fmt="o-",
        capsize=3,
        label="observed accuracy (95% interval)",
    )
    for _, row in table.iterrows():
        ax.annotate(
            f"{int(row['count'])}",
            (row["confidence"], row["accuracy"]),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
        )
    ax.set_xlabel("stated confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def risk_coverage_curve(table: pd.DataFrame, threshold: float) -> Figure:
    """Risk (1 - accuracy) against coverage, one point per distinct threshold."""
    fig = Figure(figsize=(5, 4), layout="constrained")
    if table.empty:
        return _empty(fig, "no labelled job states a confidence")
    ax = fig.add_subplot()
    ax.step(table["coverage"], table["risk"], where="post", marker="o", ms=3)
    at = table[table.index >= threshold]
    if len(at):
        row = at.iloc[0]
        ax.axvline(row["coverage"], color="grey", ls=":", lw=1)
        ax.annotate(
            f"threshold {at.index[0]:g}",
            (row["coverage"], row["risk"]),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    ax.set_xlabel("coverage (share auto-accepted)")
    ax.set_ylabel("risk (error rate among accepted)")
    ax.set_xlim(0, 1.02)
    return fig


def drift_lines(table: pd.DataFrame) -> Figure:
    """Mean confidence, no-match rate (and accuracy) per period above; PSI below, with the
    0.1 / 0.25 cut-offs and flagged periods marked."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    if table.empty:
        return _empty(fig, "no period to compare")
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
    bottom.set_xticks(x, [str(p) for p in table.index], rotation=45, fontsize=8)
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
