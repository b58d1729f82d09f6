"""Which copy of a job wins when two disagree (a listing that repeats a job, a re-poll, a sync).

The order, from the strongest evidence to the weakest:

1. a final status (COMPLETED, FAILED, CANCELLED) beats an unfinished one: a job never leaves
   a final state, so a final copy is the later one whatever the clocks say;
2. then the later ``updated_at``, compared as parsed instants (``10:00:00.500Z`` is after
   ``10:00:00Z``, and ``12:00:00+02:00`` before ``10:30:00Z``); a copy without one is older;
3. then RUNNING over PENDING (an unknown status counts as between them, none as below).

Copies equal on all three are a tie: callers choose which one they keep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frame import FINAL_STATUSES, STATUSES

__all__ = ["NAT", "instant", "newer_copy", "precedence"]

NAT = np.iinfo(np.int64).min  # "no updated_at", in microseconds since the epoch
_OFFSET = 1 << 58  # instants from year -7100 to 11100 fit in the key's 59 bits


def precedence(statuses: Any, instants: Any) -> npt.NDArray[np.int64]:
    """One sortable key per copy of a job: the copy with the larger key wins.

    ``statuses`` are status strings (None when unknown; a list, an array or an Arrow array),
    ``instants`` ``updated_at`` values in microseconds since the epoch (``NAT`` when missing).

    >>> a, b = precedence(["RUNNING", "COMPLETED"], [instant("2026-03-01T10:00:00Z")] * 2)
    >>> bool(b > a)
    True
    """
    values = (
        statuses
        if isinstance(statuses, pa.Array | pa.ChunkedArray)
        else pa.array(np.asarray(statuses, dtype=object), type=pa.string(), from_pandas=True)
    )
    known = pa.array(STATUSES)
    # Arrow looks the statuses up without a Python object per row (a million stored rows)
    index = pc.index_in(values, value_set=known).fill_null(len(STATUSES))
    index = np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.intp)
    final = np.array([s in FINAL_STATUSES for s in STATUSES] + [False], dtype=np.int64)[index]
    rank = np.array([_rank(s) for s in STATUSES] + [2], dtype=np.int64)[index]
    rank[np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = 0
    when = np.asarray(instants, dtype=np.int64)
    # NAT stays 0, below every real instant; the clip only guards absurd years
    shifted = np.where(when != NAT, np.clip(when, 1 - _OFFSET, _OFFSET - 1) + _OFFSET, 0)
    key: npt.NDArray[np.int64] = (final << 61) | (shifted << 2) | rank
    return key


def _rank(status: str) -> int:
    """Within final or unfinished copies, after the instant: RUNNING over PENDING."""
    return {"PENDING": 1, "RUNNING": 3}.get(status, 0 if status in FINAL_STATUSES else 2)


def instant(value: Any) -> int:
    """An ``updated_at`` value (ISO 8601 text, datetime or Timestamp) in microseconds since the
    epoch; ``NAT`` when it is missing or unreadable. A time without an offset is taken as UTC.

    >>> instant("1970-01-01T00:00:01.5Z")
    1500000
    """
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return NAT
    if not isinstance(value, dt.datetime) or pd.isna(value):
        return NAT
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta: dt.timedelta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def newer_copy(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether job dict ``new`` wins over ``old`` or ties with it (see the module's order)."""
    old_key, new_key = precedence(
        [old.get("status"), new.get("status")],
        [instant(old.get("updated_at")), instant(new.get("updated_at"))],
    )
    return bool(new_key >= old_key)
