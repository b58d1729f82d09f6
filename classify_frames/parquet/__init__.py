"""Parquet export: single files with an exact round trip, partitioned datasets, incremental sync.

>>> import classify_frames as cf
>>> cf.to_parquet(df, "jobs.parquet")                                     # doctest: +SKIP
>>> cf.export_jobs(path="jobs/", status="COMPLETED", base_url=..., api_key=...)  # doctest: +SKIP
>>> cf.sync_parquet("jobs/", base_url=..., api_key=...)                  # doctest: +SKIP
SyncSummary(added=12, updated=3, unchanged=9985, failed=0, ...)

A dataset directory is plain hive-partitioned Parquet (``created_month=2026-03/part-….parquet``)
that DuckDB, Polars, pyarrow, Dask and Spark read without this package; a small
``_classify_frames.json`` beside the data records how it was made.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, overload

import pandas as pd

from .._exceptions import ExportError
from ._dataset import read_dataset
from ._file import read_file, read_metadata, to_parquet
from ._sync import SyncSummary, export_jobs, sync_parquet

__all__ = [
    "SyncSummary",
    "export_jobs",
    "read_metadata",
    "read_parquet",
    "sync_parquet",
    "to_parquet",
]


@overload
def read_parquet(
    path: str | os.PathLike[str], *, backend: Literal["pandas"] = "pandas"
) -> pd.DataFrame: ...
@overload
def read_parquet(path: str | os.PathLike[str], *, backend: Literal["polars"]) -> Any: ...
def read_parquet(
    path: str | os.PathLike[str], *, backend: Literal["pandas", "polars"] = "pandas"
) -> Any:
    """Read a file written by :func:`to_parquet`, or a whole dataset directory, as a typed frame
    (``backend="polars"``: a ``polars.DataFrame`` of the same columns, see ``to_polars``).

    >>> df = read_parquet("jobs.parquet")                # doctest: +SKIP
    >>> df = read_parquet("jobs/", backend="polars")     # doctest: +SKIP
    """
    if backend not in ("pandas", "polars"):
        msg = f"backend must be 'pandas' or 'polars', got {backend!r}"
        raise ValueError(msg)
    frame = _read_pandas(Path(path))
    if backend == "polars":
        from .._interop import to_polars

        return to_polars(frame)
    return frame


def _read_pandas(target: Path) -> pd.DataFrame:
    if target.is_dir():
        try:
            return read_dataset(target)
        except ExportError:  # a sync swapped a new version in while we read: read that one
            return read_dataset(target)
    if not target.exists():
        msg = f"no such file or dataset directory: {str(target)!r}"
        raise ExportError(msg)
    return read_file(target)
