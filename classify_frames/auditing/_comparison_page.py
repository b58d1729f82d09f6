"""A rule-set experiment (:func:`classify_frames.compare`) drawn like the audit's report: its
findings, then its tables through the report's table component. It reads a comparison through
:class:`ComparedRuns`, the attributes it shows, so the page and the statistics import each
other in one direction only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd

from ._htmltable import TYPE, Column, Kind, view
from ._page import Section, Templates
from ._paired import PairedResult

__all__ = ["ComparedRuns", "comparison_html", "comparison_section"]


class ComparedRuns(Protocol):
    """What the page reads of a :class:`~classify_frames.auditing.Comparison`."""

    @property
    def accuracy(self) -> PairedResult | None: ...
    @property
    def calibration(self) -> pd.DataFrame | None: ...
    @property
    def flips(self) -> pd.DataFrame: ...
    @property
    def by_type(self) -> pd.DataFrame: ...
    @property
    def no_match(self) -> pd.DataFrame: ...
    @property
    def findings(self) -> list[str]: ...
    @property
    def designed(self) -> PairedResult | None: ...


def _change(row_name: str) -> Callable[[pd.Series], Kind]:
    """Percent on the before / after rows, points on the row of a change."""

    def kind(row: pd.Series) -> Kind:
        return "points" if row.name == row_name else "percent"

    return kind


COMPARED_ACCURACY = [
    Column(
        "accuracy",
        "accuracy",
        _change("difference"),
        low="accuracy_lo",
        high="accuracy_hi",
        help="share of the labelled documents whose type is their label (95% interval); the "
        "difference is after minus before, with Tango's paired interval",
    ),
    Column("labelled", "labels", "count"),
    Column("mcnemar_p", "McNemar p", "number", help="exact test of the paired difference"),
]
COMPARED_CALIBRATION = [
    Column("labelled", "labels", "count"),
    Column("accuracy", "accuracy", _change("change")),
    Column("mean_confidence", "mean confidence", _change("change")),
    Column("overconfidence", "confidence − accuracy", "points"),
    Column("ece", "ECE", "number"),
    Column("brier", "Brier", "number"),
]
COMPARED_TYPES = [
    Column("before", "jobs before", "count"),
    Column("after", "jobs after", "count"),
    Column("gained", "gained", "count"),
    Column("lost", "lost", "count"),
    Column("net", "net", "count"),
    Column("labelled", "labels of type", "count"),
    Column("recall_before", "recall before", "percent"),
    Column("recall_after", "recall after", "percent"),
]


def _paired_accuracy(comparison: ComparedRuns) -> pd.DataFrame | None:
    """``comparison.accuracy`` (a PairedResult) as the rows the section shows."""
    acc = comparison.accuracy
    if acc is None:
        return None
    return pd.DataFrame(
        {
            "accuracy": [acc.before, acc.after, acc.difference],
            "accuracy_lo": [acc.before_ci[0], acc.after_ci[0], acc.difference_ci[0]],
            "accuracy_hi": [acc.before_ci[1], acc.after_ci[1], acc.difference_ci[1]],
            "labelled": [acc.n, acc.n, float("nan")],
            "mcnemar_p": [float("nan"), float("nan"), acc.mcnemar_p],
        },
        index=pd.Index(["before", "after", "difference"], name="rule set"),
    )


def comparison_section(
    comparison: ComparedRuns, anchor: str, templates: Templates, title: str = "Rule-set experiment"
) -> Section:
    """A rule-set experiment (:func:`classify_frames.compare`) as a section: its findings, then
    its tables written like the report's (percentages, separators, intervals)."""
    accuracy = _paired_accuracy(comparison)
    calibration = comparison.calibration
    flips = comparison.flips
    parts: dict[str, Any] = {
        "accuracy": None,
        "calibration": None,
        "by_type": view(
            comparison.by_type,
            COMPARED_TYPES,
            source="comparison.by_type",
            index=[TYPE],
            empty="no pair",
        ),
        "no_match": view(
            comparison.no_match,
            [Column("pairs", "pairs", "count")],
            source="comparison.no_match",
            index=[Column("change", "change", "text")],
        ),
        "flips": view(
            flips,
            [
                Column(
                    str(c),
                    str(c),
                    "count",
                    mark=lambda row, c=c: "diag" if row.name == c else "",  # type: ignore[misc]
                )
                for c in flips.columns
            ],
            source="comparison.flips",
            index=[Column("before", "before", "text")] if len(flips) else [],
            note="rows: type before; columns: type after",
            empty="no pair",
        ),
    }
    if accuracy is not None:
        paired = comparison.accuracy
        weighted = comparison.designed is not None or (paired is not None and paired.weighted)
        parts["accuracy"] = view(
            accuracy,
            COMPARED_ACCURACY,
            source="comparison.accuracy",
            index=[Column("rule set", "", "text")],
        )
        parts["accuracy_note"] = (
            "design-weighted" if weighted else "the same labelled documents on both sides"
        )
    if calibration is not None:
        parts["calibration"] = view(
            calibration,
            COMPARED_CALIBRATION,
            source="comparison.calibration",
            index=[Column("side", "", "text")],
        )
    body = templates.render("comparison.html", **parts)
    return Section(anchor, title, list(comparison.findings), body, css="cf-comparison")


def comparison_html(comparison: ComparedRuns, anchor: str = "experiment") -> str:
    """One comparison on its own (Jupyter, ``classify-frames compare --html``), styled."""
    templates = Templates()
    section = comparison_section(comparison, anchor, templates)
    return templates.render("fragment.html", sections=[section])
