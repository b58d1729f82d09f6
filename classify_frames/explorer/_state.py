"""The explorer's filter state: one immutable value that says which jobs are shown.

An empty selection means "no constraint" (every status, every type), as in a search page's facets.
``confidence=None`` means the slider spans its whole range, which keeps jobs with no confidence
(pending, failed); any narrower range keeps only jobs whose confidence lies inside it, inclusive.
``created`` is a pair of UTC calendar days, both inclusive, either one open (``None``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

__all__ = ["FILTER_NAMES", "FilterState"]


@dataclasses.dataclass(frozen=True)
class FilterState:
    """Which jobs the explorer shows; ``FilterState()`` shows them all.

    >>> FilterState.from_options(status="FAILED", confidence=(0, 0.5)).as_dict()["status"]
    ['FAILED']
    """

    status: tuple[Any, ...] = ()
    result_type: tuple[Any, ...] = ()
    configuration: str | None = None
    confidence: tuple[float, float] | None = None
    created: tuple[dt.date | None, dt.date | None] = (None, None)
    search: str = ""
    no_match_only: bool = False
    failed_only: bool = False

    @classmethod
    def from_options(cls, base: FilterState | None = None, **options: Any) -> FilterState:
        """``base`` (default: no filter) with the named filters replaced, each checked.

        Raises ``TypeError`` for an unknown name and ``ValueError`` for a bad value.
        """
        unknown = sorted(set(options) - set(FILTER_NAMES))
        if unknown:
            msg = f"unknown filter(s) {unknown}; the filters are {list(FILTER_NAMES)}"
            raise TypeError(msg)
        changes: dict[str, Any] = {}
        for name, value in options.items():
            if name in ("status", "result_type"):
                changes[name] = _as_choices(value)
            elif name == "configuration":
                changes[name] = None if value is None else str(value)
            elif name == "confidence":
                changes[name] = _as_range(value)
            elif name == "created":
                changes[name] = _as_days(value)
            elif name == "search":
                changes[name] = "" if value is None else str(value)
            else:
                changes[name] = bool(value)
        return dataclasses.replace(base or cls(), **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain values that :meth:`from_options` (and ``set_filters``) accept back."""
        out = dataclasses.asdict(self)
        out["status"], out["result_type"] = list(self.status), list(self.result_type)
        return out


FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FilterState))


def _as_choices(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        msg = f"expected a list of values, got {value!r}"
        raise TypeError(msg)
    return tuple(dict.fromkeys(value))


def _as_range(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        msg = f"confidence must be a (low, high) pair of numbers, got {value!r}"
        raise ValueError(msg) from None
    if not low <= high:
        msg = f"confidence range {value!r} has low > high"
        raise ValueError(msg)
    return (low, high)


def _as_day(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        msg = f"expected a date like '2026-01-20', got {value!r}"
        raise ValueError(msg) from None


def _as_days(value: Any) -> tuple[dt.date | None, dt.date | None]:
    if value is None:
        return (None, None)
    try:
        first, last = value
    except (TypeError, ValueError):
        msg = f"created must be a (from, to) pair of dates or None, got {value!r}"
        raise ValueError(msg) from None
    start, end = _as_day(first), _as_day(last)
    if start is not None and end is not None and start > end:
        msg = f"created range {value!r} starts after it ends"
        raise ValueError(msg)
    return (start, end)
