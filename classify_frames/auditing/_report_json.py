"""The whole audit as one JSON document, for dashboards (``classify-frames audit --json``).

Its shape is ``report.schema.json`` beside this module (JSON Schema 2020-12): the findings as
sentences, the summary, each estimate from labels with its 95% interval and the labels behind
it, the per-type table, calibration, certified thresholds and the checks. JSON has no NaN: a
figure the data cannot give is ``null``. Everything is read from
:class:`~classify_frames.auditing.AuditReport`'s public API.

>>> document = report_json(report, target_accuracy=0.9, checks=results)   # doctest: +SKIP
>>> write_json(document, "audit.json")                                     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._exceptions import Namer, said

if TYPE_CHECKING:
    from ._checks import CheckResult
    from ._report import AuditReport

__all__ = ["SCHEMA_VERSION", "report_json", "schema", "write_json"]

#: Bumped when a field is renamed or removed (new fields do not bump it).
SCHEMA_VERSION = 1

#: Estimates from labels: the report's property and its interval's (None: it has none).
_ESTIMATES: dict[str, str | None] = {
    "accuracy": "accuracy_ci",
    "ece": "ece_ci",
    "ece_debiased": "ece_ci",
    "brier": "brier_ci",
    "auroc": "auroc_ci",
    "mce": None,
    "aurc": None,
}


def schema() -> dict[str, Any]:
    """The JSON Schema of :func:`report_json`'s document (``report.schema.json``)."""
    text = resources.files(__package__).joinpath("report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def report_json(
    report: AuditReport,
    *,
    target_accuracy: float = 0.95,
    delta: float = 0.05,
    checks: Sequence[CheckResult] = (),
    names: Namer = str,
) -> dict[str, Any]:
    """``report`` as a JSON-ready dict: thresholds certified at ``target_accuracy`` with
    probability ``1 - delta``, the findings at that target (the options and calls their
    advice names as ``names`` renders them: the command line's flags, say), and ``checks``
    as judged."""
    labelled = report.truth is not None
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "report": {
            "jobs": len(report.jobs),
            "threshold": report.threshold,
            "labelled": labelled,
            "target_accuracy": target_accuracy,
            "delta": delta,
            "provenance": {str(k): _plain(v) for k, v in report.provenance.items()},
        },
        "findings": [said(s, names) for s in report.findings(target_accuracy, delta=delta)],
        "summary": {str(k): _plain(v) for k, v in report.summary["value"].items()},
        "estimates": _estimates(report) if labelled else None,
        "by_type": _records(_by_type(report), "type"),
        "calibration": _records(report.calibration(), "bin") if labelled else None,
        "thresholds": (
            _records(report.recommend_threshold(target_accuracy, delta=delta), "type")
            if labelled
            else None
        ),
        "checks": [_check(result) for result in checks],
        "passed": all(result.passed for result in checks),
    }
    return document


def write_json(document: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``document`` as UTF-8 JSON, whole or not at all (a NaN is refused, not written)."""
    target = Path(path)
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    with atomic_path(target) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return target


def _estimates(report: AuditReport) -> dict[str, dict[str, Any]]:
    labels = _plain(report.summary["value"]["sample_labels"])
    completed = _plain(report.summary["value"]["completed"])
    out: dict[str, dict[str, Any]] = {}
    for name, interval in _ESTIMATES.items():
        low, high = getattr(report, interval) if interval else (None, None)
        out[name] = {
            "estimate": _plain(getattr(report, name)),
            "low": _plain(low),
            "high": _plain(high),
            "labels": labels,
            "jobs": completed,
        }
    accuracy = report.accuracy_estimate  # its own count: the labels of the random sample
    out["accuracy"]["labels"], out["accuracy"]["jobs"] = accuracy.labels, accuracy.jobs
    return out


def _by_type(report: AuditReport) -> pd.DataFrame:
    """``report.by_type``, with ``accuracy_labels`` 0 where labels that are no random sample
    leave it out (its accuracy is NaN then: no label of a random sample is behind it)."""
    table = report.by_type
    if "accuracy" in table.columns and "accuracy_labels" not in table.columns:
        table = table.assign(accuracy_labels=0)
    return table


def _check(result: CheckResult) -> dict[str, Any]:
    check = result.check
    return {
        "check": check.text,
        "metric": check.metric,
        "type": check.type,
        "operator": check.op,
        "target": check.target,
        "kind": result.kind,
        "bound": result.bound,
        "compared": _plain(result.compared),
        "estimate": _plain(result.estimate),
        "low": _plain(result.low),
        "high": _plain(result.high),
        "labels": result.labels,
        "jobs": result.jobs,
        "passed": result.passed,
        "result": str(result),
    }


def _records(table: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    """One dict per row, the index under ``key``."""
    rows = []
    for name, row in zip(table.index, table.to_dict("records"), strict=True):
        rows.append({key: _plain(name), **{str(k): _plain(v) for k, v in row.items()}})
    return rows


def _plain(value: object) -> Any:
    """A JSON value: numpy and pandas scalars as Python ones, NaN, infinity and NA as None.

    >>> [_plain(v) for v in (np.float64("nan"), float("inf"), pd.NA, np.int64(3), np.True_)]
    [None, None, None, 3, True]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
