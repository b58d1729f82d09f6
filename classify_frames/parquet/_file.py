"""One frame, one Parquet file: every dtype comes back exactly, writes are atomic.

pandas' own Parquet metadata cannot restore ``pd.ArrowDtype`` columns (the rules list) nor the
unused categories of ``status``, so each column's dtype is recorded under the ``classify_frames``
key of the file's metadata, next to the toolkit version, the API base URL, the fetch time and the
row count. Other readers ignore that key and see plain Arrow types.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from .._atomic import atomic_path
from .._exceptions import ExportError
from ._commit import side_copy
from ._contract import contract_frame, from_other_writer, holds_jobs
from ._manifest import provenance, read_manifest

__all__ = [
    "META_KEY",
    "ROW_GROUP_ROWS",
    "WRITE_OPTIONS",
    "Pushdown",
    "check_file",
    "read_file",
    "read_metadata",
    "read_table",
    "to_parquet",
    "unreadable",
    "write_table",
]

META_KEY = b"classify_frames"
ROW_GROUP_ROWS = 64_000  # ~10-30 MB of jobs per group: big enough to scan fast, small to stream
_SUFFIXES = (".parquet", ".pq", ".parq")
_SECRET_WORDS = ("key", "secret", "token", "password", "authorization")
_DROP: Any = object()  # marks a value _json_safe leaves out
#: How every data file is written: each page carries a CRC, which every read of ours checks, so
#: a flipped byte is an error naming the file, never other values read back in silence.
WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_page_checksum": True}


def write_table(table: pa.Table, path: Path, *, row_group_size: int = ROW_GROUP_ROWS) -> None:
    """Write ``table`` to ``path`` as every data file is written (:data:`WRITE_OPTIONS`)."""
    pq.write_table(table, path, row_group_size=max(1, row_group_size), **WRITE_OPTIONS)


def read_table(path: Path, **options: Any) -> pa.Table:
    """``pq.read_table`` with page checksums verified (files without them read as before)."""
    return pq.read_table(path, page_checksum_verification=True, **options)


@dataclass(frozen=True)
class Pushdown:
    """The columns and rows a read asks for, read from the files alone (None: all)."""

    columns: tuple[str, ...] | None = None
    filter: pc.Expression | None = None
    filtered: tuple[str, ...] = ()  # the columns a list of filters names (an expression's
    # own are checked by Arrow as the scan starts)

    @classmethod
    def of(cls, columns: Sequence[str] | None, filters: Any) -> Pushdown:
        """Checked ``read_parquet`` arguments: ``columns`` a list of names, ``filters`` a
        pyarrow expression or pandas' and pyarrow's list of ``(column, op, value)`` tuples
        (a list of such lists: any of them)."""
        if columns is not None and (
            isinstance(columns, str) or not all(isinstance(c, str) for c in columns)
        ):
            msg = f"columns must be a list of column names, got {columns!r}"
            raise ValueError(msg)
        filtered: list[str] = []
        if filters is None or isinstance(filters, pc.Expression):
            expression = filters
        else:
            terms = filters if filters and isinstance(filters[0], list) else [filters]
            filtered = [t[0] for term in terms for t in term if isinstance(t, tuple) and t]
            try:
                expression = pq.filters_to_expression(filters)
            except (TypeError, ValueError, IndexError) as exc:
                msg = (
                    "filters must be a pyarrow expression or a list of (column, op, value) "
                    f"tuples like [('status', '==', 'COMPLETED')]; got {filters!r} ({exc})"
                )
                raise ValueError(msg) from None
        names = tuple(dict.fromkeys(columns)) if columns is not None else None
        return cls(names, expression, tuple(dict.fromkeys(filtered)))

    def output(
        self, available: Sequence[str], where: Path, filterable: Sequence[str] = ()
    ) -> list[str]:
        """The columns to read of those ``available`` at ``where``; an unknown one is refused,
        and so is a filter on one not ``available`` or ``filterable`` (a derived partition)."""
        unknown = [c for c in self.columns or () if c not in available]
        unknown += [c for c in self.filtered if c not in available and c not in filterable]
        if unknown:
            shown = ", ".join(available[:12]) + (" …" if len(available) > 12 else "")
            msg = f"{str(where)!r} has no column {', '.join(map(repr, unknown))}; it has {shown}"
            raise ExportError(msg)
        return list(available) if self.columns is None else list(self.columns)

    def check_filter(self, schema: pa.Schema, where: Path) -> None:
        """Refuse a filter that does not apply to ``schema`` (a column it lacks, a value of
        another type) before any file is read: Arrow says so only once a scan starts."""
        if self.filter is None:
            return
        try:
            pads.dataset(schema.empty_table()).scanner(filter=self.filter)
        except pa.ArrowException as exc:
            msg = (
                f"cannot filter {str(where)!r} by {self.filter}: {str(exc).splitlines()[0]}. "
                "Compare each column with a value of its type (pd.Timestamp('2026-03-01', "
                "tz='UTC') for created_at, a number for result.confidence)"
            )
            raise ExportError(msg) from None


def check_file(path: Path) -> None:
    """Decode every page of ``path``, a row group at a time, checksums verified; raises what
    reading raises (a footer-only check misses a damaged page)."""
    with pq.ParquetFile(path, page_checksum_verification=True) as file:
        for group in range(file.num_row_groups):
            file.read_row_group(group)


def unreadable(path: Path, exc: BaseException) -> ExportError:
    """The error for a file that cannot be decoded: its name first, then Arrow's words."""
    return ExportError(f"cannot read {str(path)!r} as Parquet: {exc}")


def to_parquet(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    fetched_at: str | dt.datetime | None = None,
    compression: str = "zstd",
    row_group_size: int = ROW_GROUP_ROWS,
) -> Path:
    """Write ``df`` to one Parquet file that :func:`read_parquet` turns back into an equal frame.

    ``base_url`` and ``fetched_at`` default to what the fetch recorded in ``df.attrs``. The
    file appears only once complete; on any failure an existing file is left as it was.

    >>> to_parquet(df, "jobs.parquet")                      # doctest: +SKIP
    PosixPath('jobs.parquet')
    """
    target = _check_file_path(path)
    table, columns, index = _frame_to_table(df)
    meta = provenance(df.attrs, base_url=base_url, fetched_at=fetched_at)
    meta.update(rows=len(df), columns=columns, index=index, attrs=_json_safe(df.attrs))
    table = table.replace_schema_metadata({META_KEY: orjson.dumps(meta)})
    try:
        with atomic_path(target) as tmp:
            pq.write_table(
                table,
                tmp,
                row_group_size=max(1, row_group_size),
                **{**WRITE_OPTIONS, "compression": compression},
            )
            _fsync(tmp)
    except OSError as exc:
        if isinstance(exc, ExportError):
            raise
        msg = f"cannot write {str(target)!r}: {exc.strerror or exc}"
        raise ExportError(msg) from None
    return target


def read_file(path: Path, wanted: Pushdown | None = None) -> pd.DataFrame:
    """The frame stored by :func:`to_parquet`; a file of jobs another engine wrote, in the
    column contract; any other Parquet file with Arrow's default dtypes. ``wanted``: only
    those columns and rows, read from the file (row groups skipped by their statistics)."""
    wanted = wanted or Pushdown()
    try:
        stored = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(path, exc) from None
    raw = (stored.metadata or {}).get(META_KEY)
    meta: dict[str, Any] = orjson.loads(raw) if raw is not None else {}
    index: dict[str, Any] = meta.get("index", {})
    columns = None
    if wanted.columns is not None:
        kept = index.get("columns", [])
        columns = [*kept, *wanted.output([n for n in stored.names if n not in kept], path)]
    wanted.check_filter(stored, path)
    try:
        table = read_table(path, columns=columns, filters=wanted.filter)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(path, exc) from None
    if raw is None and holds_jobs(stored):  # written by Polars, DuckDB, Spark ...
        return contract_frame([from_other_writer(table, path)])
    if raw is None:
        try:
            plain: pd.DataFrame = table.to_pandas()
        except TypeError:  # pandas wrote an Arrow list dtype into its metadata it cannot parse
            plain = table.to_pandas(types_mapper=_nested_as_arrow, ignore_metadata=True)
        return plain
    specs: dict[str, dict[str, Any]] = meta.get("columns", {})
    data = {
        name: _column_from_arrow(table.column(name), specs.get(name, {"kind": "default"}))
        for name in table.column_names
    }
    frame = pd.DataFrame(data, columns=table.column_names)
    if wanted.filter is not None and "range" in index:  # fewer rows: numbered from 0 again
        index = {"range": [0, len(frame), 1], "name": index.get("name")}
    frame = _restore_index(frame, index)
    frame.attrs = meta.get("attrs", {})
    return frame


def _nested_as_arrow(t: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(t) if pa.types.is_nested(t) else None


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What classify_frames recorded about a file or dataset: version, base URL, times, rows.

    >>> read_metadata("jobs.parquet")["rows"]               # doctest: +SKIP
    10000
    """
    target = Path(path)
    root = target if target.is_dir() else side_copy(target)
    if root is not None:
        manifest = read_manifest(root)
        return {k: v for k, v in manifest.items() if k not in ("files", "schema")}
    try:
        raw = (pq.read_schema(target).metadata or {}).get(META_KEY)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(target, exc) from None
    if raw is None:
        return {}
    meta: dict[str, Any] = orjson.loads(raw)
    return {k: v for k, v in meta.items() if k not in ("columns", "index")}


# -- paths ---------------------------------------------------------------------------------------


def _check_file_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix.lower() not in _SUFFIXES:
        msg = (
            f"{str(target)!r} does not end in .parquet; give a file name like 'jobs.parquet' "
            "(for a partitioned dataset directory use export_jobs)"
        )
        raise ExportError(msg)
    if target.is_dir():
        msg = f"{str(target)!r} is a directory; give a file name like 'jobs.parquet'"
        raise ExportError(msg)
    if not target.parent.is_dir():
        msg = f"cannot write {str(target)!r}: the directory {str(target.parent)!r} does not exist"
        raise ExportError(msg)
    return target


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- dtypes --------------------------------------------------------------------------------------


def _frame_to_table(df: pd.DataFrame) -> tuple[pa.Table, dict[str, Any], dict[str, Any]]:
    """The Arrow table to write, each column's dtype spec, and how to rebuild the index."""
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad or isinstance(df.columns, pd.MultiIndex):
        msg = f"column names must be strings to be written to Parquet, got {bad[:5]!r}"
        raise ExportError(msg)
    if df.columns.has_duplicates:
        dupes = sorted(set(df.columns[df.columns.duplicated()]))
        msg = f"duplicate column names cannot be written to Parquet: {dupes[:5]!r}"
        raise ExportError(msg)
    index = df.index
    if isinstance(index, pd.RangeIndex) and (index.name is None or isinstance(index.name, str)):
        frame = df
        index_spec: dict[str, Any] = {
            "range": [index.start, index.stop, index.step],
            "name": index.name,
        }
    else:  # the index levels go first, as columns, and come back as the index
        frame = df.reset_index(drop=True)
        names = [f"__index_level_{i}__" for i in range(index.nlevels)]
        for i, name in enumerate(names):
            frame.insert(i, name, index.get_level_values(i).array)
        index_spec = {"columns": names, "names": [n if n is None else str(n) for n in index.names]}
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        msg = f"this frame cannot be written to Parquet: {exc}"
        raise ExportError(msg) from None
    specs = {str(name): _dtype_spec(dtype) for name, dtype in frame.dtypes.items()}
    return table.replace_schema_metadata(None), specs, index_spec


def _restore_index(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    if "range" in spec:
        start, stop, step = spec["range"]
        frame.index = pd.RangeIndex(start, stop, step, name=spec.get("name"))
        return frame
    columns = spec.get("columns", [])
    if not columns:
        return frame
    frame = frame.set_index(columns if len(columns) > 1 else columns[0])
    frame.index.names = spec.get("names") or [None] * len(columns)
    return frame


def _dtype_spec(dtype: Any) -> dict[str, Any]:
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return {
            "kind": "category",
            "categories": [
                v if v is None or isinstance(v, str | bool | int | float) else str(v)
                for v in categories.tolist()
            ],
            "categories_dtype": _dtype_spec(categories.dtype),
            "ordered": bool(dtype.ordered),
        }
    if isinstance(dtype, pd.ArrowDtype):
        return {"kind": "arrow"}
    if isinstance(dtype, pd.StringDtype):
        na = "NA" if dtype.na_value is pd.NA else "nan"
        return {"kind": "string", "storage": dtype.storage, "na": na}
    return {"kind": "dtype", "name": str(dtype)}


def _pandas_dtype(spec: dict[str, Any]) -> Any:
    kind = spec.get("kind")
    if kind == "string":
        return pd.StringDtype(spec["storage"], na_value=pd.NA if spec["na"] == "NA" else np.nan)
    if kind == "category":
        categories = pd.Index(spec["categories"]).astype(_pandas_dtype(spec["categories_dtype"]))
        return pd.CategoricalDtype(categories, ordered=spec["ordered"])
    if kind == "dtype":
        return pd.api.types.pandas_dtype(spec["name"])
    return None


def _column_from_arrow(column: pa.ChunkedArray, spec: dict[str, Any]) -> Any:
    if spec.get("kind") == "arrow":
        return pd.array(column, dtype=pd.ArrowDtype(column.type))
    try:
        dtype = _pandas_dtype(spec)
    except (TypeError, ValueError):
        dtype = None
    if dtype is None:
        return column.to_pandas()
    if hasattr(dtype, "__from_arrow__") and not isinstance(dtype, pd.CategoricalDtype):
        return dtype.__from_arrow__(column)
    return column.to_pandas().astype(dtype)


def _json_safe(value: Any) -> Any:
    """``value`` with whatever JSON cannot hold, and anything named like a secret, left out."""
    if isinstance(value, dict):
        kept = {
            str(k): _json_safe(v)
            for k, v in value.items()
            if not any(word in str(k).lower() for word in _SECRET_WORDS)
        }
        return {k: v for k, v in kept.items() if v is not _DROP}
    if isinstance(value, list | tuple):
        items = [_json_safe(v) for v in value]
        return _DROP if any(v is _DROP for v in items) else items
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return _DROP
