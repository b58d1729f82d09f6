"""``audit()``: the one call, on a pandas frame of jobs or on jobs where they lie (a dataset
path, a DuckDB relation, a Polars or PySpark frame), counted by their engine."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ._labels import LabelsInput
from ._report import AuditReport
from ._sources import audit_source, is_engine_source
from ._stats import BinStrategy

__all__ = ["audit"]


def audit(
    df: pd.DataFrame | str | os.PathLike[str] | Any,
    labels: LabelsInput | None = None,
    *,
    threshold: float = 0.8,
    by: str = "result.type",
    label_col: str = "label",
    join_on: str = "id",
    bins: BinStrategy = "auto",
    n_bins: int = 10,
) -> AuditReport:
    """Audit how far the classifier's stated confidence can be trusted.

    ``labels`` (a DataFrame or a CSV / Parquet file with ``join_on`` and ``label_col`` columns;
    ``"none"`` for a document no rule describes) unlocks accuracy, the confusion matrix,
    calibration, risk-coverage and certified thresholds. A filled-in :meth:`review_queue`
    carries its sampling design in ``design.*`` columns, which the audit reads by itself:
    population figures (accuracy, thresholds, calibration) are then design-weighted, with 95%
    intervals. ``by`` is the column whose values are the predicted types (``result.type``).

    ``df`` may also be jobs where they lie, counted by their engine rather than loaded: a
    dataset path or glob (DuckDB), a DuckDB relation, a Polars LazyFrame or a PySpark
    DataFrame (see :mod:`._sources` for the tables this offers and those it refuses).

    >>> report = audit(df, labels="labels.csv", threshold=0.9)   # doctest: +SKIP
    >>> report.by_type                                            # doctest: +SKIP
    >>> report.recommend_threshold(target_accuracy=0.95)          # doctest: +SKIP
    >>> report = audit("jobs/", labels="labels.csv")              # doctest: +SKIP
    """
    if not 0 <= threshold <= 1:
        msg = f"threshold must be between 0 and 1, got {threshold!r}"
        raise ValueError(msg)
    if not isinstance(df, pd.DataFrame):
        if is_engine_source(df):
            if by != "result.type":
                msg = f"by={by!r}: jobs counted in cells are grouped by 'result.type'"
                raise ValueError(msg)
            return audit_source(
                df,
                labels,
                threshold=threshold,
                label_col=label_col,
                join_on=join_on,
                bins=bins,
                n_bins=n_bins,
            )
        msg = (
            "audit needs a DataFrame of jobs (see jobs_to_frame), a dataset path or glob, a "
            f"DuckDB relation, or a Polars or PySpark DataFrame; got {type(df).__name__}"
        )
        raise TypeError(msg)
    if by != "result.type":
        if by not in df.columns:
            msg = f"by={by!r} is not a column of the frame"
            raise ValueError(msg)
        df = df.assign(**{"result.type": df[by]})
    return AuditReport(
        df,
        labels,
        threshold=threshold,
        label_col=label_col,
        join_on=join_on,
        bins=bins,
        n_bins=n_bins,
    )
