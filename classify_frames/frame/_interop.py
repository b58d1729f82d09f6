"""A jobs frame as Arrow or Polars, sharing its Arrow buffers wherever the column types allow.

Arrow-backed columns (``string[pyarrow]``, ``ArrowDtype`` columns) hand over their chunks as
they are; numpy columns (float64 confidences, tz-aware timestamps) are wrapped without a copy
where their memory layout is Arrow's; categoricals become dictionary arrays over their codes; the
rule sets, held once each, are written out as plain lists (what Parquet and Polars take).
Polars is an optional extra: ``pip install 'classify-frames[polars]'``.

>>> table = to_arrow(df)                  # doctest: +SKIP
>>> frame = to_polars(df)                 # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd
import pyarrow as pa

__all__ = ["to_arrow", "to_polars"]


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as a ``pyarrow.Table`` (no index; the pandas dtypes kept in its metadata)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def to_polars(frame: pd.DataFrame) -> Any:
    """``frame`` as a ``polars.DataFrame`` over the same Arrow buffers (chunks not joined).

    Raises ``ImportError`` saying how to install polars when it is missing.
    """
    return polars().from_arrow(to_arrow(frame), rechunk=False)


def polars() -> Any:
    """The polars module, or an ``ImportError`` that says how to get it."""
    try:
        return importlib.import_module("polars")
    except ImportError:
        msg = (
            "polars is not installed: pip install 'classify-frames[polars]' (or pip install polars)"
        )
        raise ImportError(msg) from None
