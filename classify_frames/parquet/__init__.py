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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias, overload

import pandas as pd
import pyarrow.compute as pc

from .._exceptions import ExportError
from ._commit import side_copy
from ._dataset import read_dataset
from ._file import Pushdown, read_file, read_metadata, to_parquet
from ._sync import SYNC_MARGIN, SyncSummary, export_jobs, sync_parquet

#: ``read_parquet``'s ``filters``: (column, op, value) tuples, lists of them, or an expression.
Filters: TypeAlias = (
    Sequence[tuple[str, str, Any]] | Sequence[Sequence[tuple[str, str, Any]]] | pc.Expression
)

__all__ = [
    "SYNC_MARGIN",
    "SyncSummary",
    "export_jobs",
    "read_metadata",
    "read_parquet",
    "sync_parquet",
    "to_parquet",
]


@overload
def read_parquet(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Filters | None = None,
    on_bad_files: Literal["raise", "skip"] = "raise",
    backend: Literal["pandas"] = "pandas",
) -> pd.DataFrame: ...
@overload
def read_parquet(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Filters | None = None,
    on_bad_files: Literal["raise", "skip"] = "raise",
    backend: Literal["polars"],
) -> Any: ...
def read_parquet(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    filters: Filters | None = None,
    on_bad_files: Literal["raise", "skip"] = "raise",
    backend: Literal["pandas", "polars"] = "pandas",
) -> Any:
    """Read a file written by :func:`to_parquet`, or a whole dataset directory, as a typed frame
    (``backend="polars"``: a ``polars.DataFrame`` of the same columns, see ``to_polars``).
    Files of jobs written by Polars, DuckDB or Spark come in the same column contract.

    ``columns`` and ``filters`` are read from the files alone, so a slice of a dataset larger
    than memory loads: ``filters`` as pandas and pyarrow take them, ``[("status", "==",
    "COMPLETED")]``, a list of such lists (any of them), or a ``pyarrow.compute`` expression.
    A filter on a partition (``created_month``, say) skips whole files; one on a column skips
    row groups by their statistics.

    A dataset's data files that cannot be read (missing, truncated, a damaged page: every page
    carries a checksum) are named in the error; ``on_bad_files="skip"`` reads the others and
    warns how many rows are missing.

    >>> df = read_parquet("jobs.parquet")                # doctest: +SKIP
    >>> df = read_parquet("jobs/", filters=[("created_month", "==", "2026-03")])  # doctest: +SKIP
    >>> df = read_parquet("jobs/", columns=["id", "result.confidence"])  # doctest: +SKIP
    >>> df = read_parquet("jobs/", on_bad_files="skip")  # doctest: +SKIP
    >>> df = read_parquet("jobs/", backend="polars")     # doctest: +SKIP
    """
    if backend not in ("pandas", "polars"):
        msg = f"backend must be 'pandas' or 'polars', got {backend!r}"
        raise ValueError(msg)
    frame = _read_pandas(Path(path), on_bad_files, Pushdown.of(columns, filters))
    if backend == "polars":
        from ..frame import to_polars

        return to_polars(frame)
    return frame


def _read_pandas(
    target: Path, on_bad_files: Literal["raise", "skip"], wanted: Pushdown
) -> pd.DataFrame:
    if on_bad_files not in ("raise", "skip"):
        msg = f"on_bad_files must be 'raise' or 'skip', got {on_bad_files!r}"
        raise ValueError(msg)
    failure: ExportError | None = None
    for _ in range(2):  # a sync may swap a new version in while we read: read that one
        if target.is_dir():
            root, shown = target, None
        elif (old := side_copy(target)) is not None:
            root, shown = old, target  # a writer died between the two renames of a swap
        elif target.exists():
            return read_file(target, wanted)
        else:
            break
        try:
            return read_dataset(root, on_bad_files, shown=shown, wanted=wanted)
        except ExportError as exc:
            failure = exc
    if failure is not None:
        raise failure
    msg = f"no such file or dataset directory: {str(target)!r}"
    raise ExportError(msg)
