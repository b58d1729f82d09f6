"""The audit's headline tables as a terminal shows them (``classify-frames audit``): shares as
percentages, counts with separators, each estimate from labels with its 95% interval."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from . import _format

if TYPE_CHECKING:
    from ._report import AuditReport

__all__ = ["terminal_tables"]

#: Rows of the summary that are shares, printed as percentages.
_SHARES = (
    "completed_share",
    "failure_rate",
    "not_fetched_share",
    "no_match_rate",
    "below_threshold",
    "accuracy",
    "accuracy_lo",
    "accuracy_hi",
    "labelled_accuracy",
)


def terminal_tables(
    report: AuditReport, target_accuracy: float = 0.95, delta: float = 0.05
) -> list[tuple[str, pd.DataFrame]]:
    """Each headline table with its title: the summary, per type and, with labels, the
    thresholds certified at ``target_accuracy`` with probability ``1 - delta``."""
    tables = [("Summary", _summary(report.summary)), ("By type", _by_type(report.by_type))]
    if report.truth is not None:
        certified = report.recommend_threshold(target_accuracy, delta=delta)
        title = f"Recommended thresholds (certified at ≥ {_format.goal(target_accuracy)} "
        title += f"accuracy with {_format.goal(1 - delta)} confidence)"
        tables.append((title, _thresholds(certified)))
    return tables


def _summary(summary: pd.DataFrame) -> pd.DataFrame:
    values = summary["value"]
    shown = [
        _format.percent(v)
        if name in _SHARES
        else _format.count(v)
        if isinstance(v, int)
        else _format.number(v, 4)
        if isinstance(v, float)
        else str(v)
        for name, v in values.items()
    ]
    return pd.DataFrame({"value": shown}, index=values.index)


def _estimates(table: pd.DataFrame, name: str) -> list[str]:
    """Column ``name`` with its interval (``name_lo``, ``name_hi``), one text a row."""
    columns = [name, f"{name}_lo", f"{name}_hi"]
    return [_format.estimate(*row) for row in table[columns].to_numpy()]


def _by_type(by_type: pd.DataFrame) -> pd.DataFrame:
    """In the findings' terms: jobs, shares as percentages and, with labels, each type's
    accuracy with its 95% interval and the labels it rests on (``accuracy_labels``: the count
    the findings give), recall with its interval and whether the type's documents are stated
    more confident than they are classified right. Precision is the accuracy column (the same
    figure), so it is not shown twice; figures without an interval (F1, per-type ECE) are in
    the JSON and HTML reports."""
    view = pd.DataFrame(index=by_type.index)
    view["jobs"] = by_type["count"].map(_format.count)
    view["share"] = by_type["share"].map(_format.percent)
    view["mean confidence"] = by_type["confidence_mean"].map(_format.confidence)
    view["below threshold"] = by_type["below_threshold"].map(_format.percent)
    if "accuracy" in by_type.columns:
        view["accuracy (95% CI)"] = _estimates(by_type, "accuracy")
        # absent when the labels are no random sample: no label is behind the accuracy then
        labels = by_type.get("accuracy_labels", pd.Series(0, index=by_type.index))
        view["labels"] = labels.map(_format.count)
        view["recall (95% CI)"] = _estimates(by_type, "recall")
        view["overconfident"] = by_type["overconfident"].map({True: "yes", False: ""})
    return view


def _thresholds(table: pd.DataFrame) -> pd.DataFrame:
    """Coverage and accuracy as percentages, the accuracy with its interval and the labels
    among the accepted jobs."""
    view = pd.DataFrame(index=table.index)
    view["threshold"] = table["threshold"].map(_format.confidence)
    view["coverage"] = table["coverage"].map(_format.percent)
    view["accepted"] = table["accepted"].map(_format.count)
    view["labels"] = table["labelled"].map(_format.count)
    view["accuracy (95% CI)"] = _estimates(table, "accuracy")
    view["p_value"] = table["p_value"].map(_format.number)
    view["method"] = table["method"]
    return view
