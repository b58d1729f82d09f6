"""JSON values a server sent, as Arrow arrays: typed when they agree, as JSON text when not."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pyarrow as pa

__all__ = ["any_array", "as_text", "has_empty_struct"]


def as_text(value: Any) -> str | None:
    """A value as the string column it belongs in: strings as they are, others as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes it, like the objects below
    if isinstance(value, int | float):
        return str(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # integers past 64 bits, which orjson refuses
        return json.dumps(value, ensure_ascii=False, default=str)


def any_array(values: list[Any]) -> pa.Array:
    """An Arrow array of whatever the values are; mixed types become JSON text."""
    try:
        array = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([as_text(v) for v in values], type=pa.string())
    if has_empty_struct(array.type):  # Parquet cannot store a struct with no fields
        return pa.array([as_text(v) for v in values], type=pa.string())
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def has_empty_struct(t: pa.DataType) -> bool:
    """Whether ``t`` holds a struct with no fields anywhere (which Parquet cannot store)."""
    if pa.types.is_struct(t):
        return t.num_fields == 0 or any(has_empty_struct(f.type) for f in t)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return has_empty_struct(t.value_type)
    return False
