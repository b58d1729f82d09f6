"""Arrow tables of jobs into the column contract, whoever wrote them.

Our own files record each column's dtype; files written by Polars, DuckDB or Spark do not, and
hold the same data in other Arrow types (dictionary-encoded text, ``large_string`` and
``string_view``, ``large_list`` rules, nanosecond or zone-less timestamps, nested structs).
:func:`from_other_writer` brings such a table to the types our own datasets store, or refuses
it naming the column; :func:`contract_frame` then gives the contract's pandas dtypes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from .._exceptions import ExportError
from ..frame import (
    JOB_TYPE,
    KNOWN_COLUMNS,
    NESTED_GROUPS,
    STATUSES,
    TAIL_COLUMNS,
    RuleSetDtype,
    frame_from_table,
    status_dtype,
)

__all__ = ["canonical", "contract_frame", "from_other_writer", "holds_jobs"]

_TIME = pa.timestamp("us", "UTC")


def canonical(schema: pa.Schema) -> pa.Schema:
    """Contract columns in contract order, then unknown ones sorted, then the tail."""
    order = {name: i for i, name in enumerate(dict.fromkeys([*KNOWN_COLUMNS, *JOB_TYPE.names]))}
    tail = {name: i for i, name in enumerate(TAIL_COLUMNS)}

    def key(f: pa.Field) -> tuple[int, int, str]:
        if f.name in tail:
            return (2, tail[f.name], "")
        if f.name in order:
            return (0, order[f.name], "")
        return (1, 0, f.name)

    return pa.schema(sorted(schema, key=key))


def contract_frame(table: pa.Table | list[pa.Table]) -> pd.DataFrame:
    """A table of jobs in stored types as a frame with the contract's dtypes. A table handed
    over in a list is taken out of it, so its columns are freed as they are converted."""
    if isinstance(table, list):
        table = table.pop()
    owned = [table.select(canonical(table.schema).names)]
    del table
    frame = frame_from_table(owned)
    for name in ("created_at", "updated_at"):
        if name in frame.columns and not isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.as_unit("us")
    if "status" in frame.columns:
        status = frame["status"]
        unknown = sorted(set(status.dropna().unique()) - set(STATUSES))
        dtype = status_dtype(tuple(unknown))
        if isinstance(status.dtype, pd.CategoricalDtype):
            # read as the files' dictionary, in their order: astype would keep it, since
            # unordered categoricals of the same values compare equal whatever their order
            frame["status"] = status.cat.set_categories(dtype.categories)
        else:
            frame["status"] = status.astype(dtype)
    return frame


def holds_jobs(schema: pa.Schema) -> bool:
    """Whether a table without our metadata is one of jobs: an ``id`` and a known field."""
    names = set(schema.names)
    known = (set(KNOWN_COLUMNS) | set(NESTED_GROUPS)) - {"id"}
    return "id" in names and bool(names & known)


def from_other_writer(table: pa.Table, where: Path) -> pa.Table:
    """``table``, as another engine wrote it, in the types our datasets store: nested groups
    flattened, dictionaries decoded, text and lists with 32-bit offsets, known columns cast to
    the contract. A column that cannot be cast is refused, naming it and ``where``."""
    while any(
        pa.types.is_struct(f.type) and f.name.split(".")[0] in NESTED_GROUPS for f in table.schema
    ):
        table = table.flatten()
    columns = []
    for f, column in zip(table.schema, table.columns, strict=True):
        wanted = _contract_type(f.name, column.type)
        try:
            column = _cast(f.name, column, wanted)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            shown = str(exc).splitlines()[0][:160]
            msg = (
                f"cannot read {str(where)!r} into the column contract: column {f.name!r} holds "
                f"{column.type}, which does not convert to {wanted} ({shown}). Cast it in the "
                "engine that wrote the file, or read the file with pyarrow"
            )
            raise ExportError(msg) from None
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _cast(name: str, column: pa.ChunkedArray, wanted: pa.DataType) -> pa.ChunkedArray:
    """``column`` as ``wanted``; timestamps may lose nanoseconds (the contract keeps micros)."""
    if isinstance(KNOWN_COLUMNS.get(name), RuleSetDtype) and not pa.types.is_list(wanted):
        msg = "the rules must be a list of {description, type} structs"
        raise pa.ArrowTypeError(msg)
    return column.cast(wanted, safe=not pa.types.is_timestamp(wanted))


def _contract_type(name: str, current: pa.DataType) -> pa.DataType:
    """The type a column is stored in: the contract's for a known column, else ``current``
    with its text and lists narrowed."""
    dtype: Any = KNOWN_COLUMNS.get(name, TAIL_COLUMNS.get(name))
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _TIME
    if isinstance(dtype, pd.Int64Dtype):
        return pa.int64()
    if isinstance(dtype, pd.StringDtype | pd.CategoricalDtype):
        return pa.string()
    if isinstance(dtype, RuleSetDtype):
        return _narrow(current)
    if dtype is not None:
        return pa.from_numpy_dtype(pd.api.types.pandas_dtype(dtype))
    return _narrow(current)


def _narrow(t: pa.DataType) -> pa.DataType:
    """``t`` with dictionaries decoded and 64-bit offsets (and views) made 32-bit."""
    if pa.types.is_dictionary(t):
        return _narrow(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(t.value_field.with_type(_narrow(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_narrow(f.type)) for f in t])
    return t
