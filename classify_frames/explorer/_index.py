"""What the explorer computes, with no widgets: masks, counts, histogram and the rows of a page.

:class:`JobIndex` turns a frame into numpy arrays once (category codes, confidences, timestamps,
the searchable text), so that a filter change is a handful of vectorised operations on what it
changed:

- each filter's mask is kept, so a change recomputes only its own;
- every row's status, result type, configuration and confidence bin are one combined code, so
  the counts of every facet and the histogram come from one ``bincount`` of the rows the other
  filters keep (reused while only facets change), summed over a table of a few thousand cells;
- the table's page is taken by position from the first rows that match (in sort order): the
  filtered frame is never built, nor the list of all matching rows unless asked for.

>>> index = JobIndex(df)                                           # doctest: +SKIP
>>> view = index.view(FilterState(status=("FAILED",)))              # doctest: +SKIP
>>> view.matched, view.page(0, 25)                                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._search import TextSearch
from ._state import FilterState

__all__ = ["BINS", "NO_MATCH", "SEARCHED", "Facet", "JobIndex", "View", "arrow_data"]

#: A completed job no rule matched (``result.type`` missing), as the audit and the CLI say it;
#: a job with no result at all (failed, pending, not fetched) is not one.
NO_MATCH = "no match"
BINS = 20  # confidence histogram bins over [0, 1]
#: The fields the text search looks in, in the order a hit is reported.
SEARCHED = ("id", "file_input", "result.reasoning")
_FACETS = {"status": "status", "result_type": "result.type", "configuration": "configuration_id"}
_NARROWING = ("confidence", "created", "no_match_only", "failed_only")
_PAGE_SCAN = 4_096  # rows of the sort order looked at first for a page's matches
_COMPARISONS = 8  # a facet mask compares codes up to this many times, else looks them up
_COMBINED = 1 << 22  # combined codes up to this many cells are counted without renumbering

Mask = npt.NDArray[np.bool_]
Rows = npt.NDArray[np.intp]
Counts = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class Facet:
    """One categorical column as codes: ``values[codes[i]]`` is row i's value (None if missing)."""

    codes: npt.NDArray[np.integer[Any]]
    values: tuple[Any, ...]

    @classmethod
    def of(cls, column: pd.Series | None, n: int) -> Facet:
        """Observed values in their natural order (category order, else sorted); missing last."""
        if column is None:
            return cls(np.zeros(n, dtype=np.uint8), (None,) if n else ())
        codes, uniques = pd.factorize(column, sort=True, use_na_sentinel=True)
        values: list[Any] = [_plain(v) for v in uniques]
        codes = np.asarray(codes)
        missing = codes < 0
        if missing.any():
            values.append(None)
        # the smallest unsigned type: a mask compares 1 byte a row, not 8
        small = np.where(missing, len(values) - 1, codes).astype(np.min_scalar_type(len(values)))
        return cls(small, tuple(values))

    def split_missing(self, rows: Mask, name: str) -> Facet:
        """This facet with the missing value of ``rows`` called ``name`` (just before missing):
        a completed job with no type is "no match"; a failed one stays missing."""
        if not rows.any():
            return self
        known = [v for v in self.values if v is not None]
        if name in known:  # a type that really is called so: those rows join it
            code = known.index(name)
            codes = self.codes.astype(np.min_scalar_type(len(self.values)))
        else:
            code = len(known)
            size = len(known) + 1 + (None in self.values)
            codes = self.codes.astype(np.min_scalar_type(size))
            if None in self.values:
                codes[codes == len(known)] = len(known) + 1  # missing moves one place on
            known.append(name)
        codes[rows] = code
        values = (*known, None) if (codes == len(known)).any() else tuple(known)
        return Facet(codes, values)

    def wanted(self, chosen: Sequence[Any]) -> Mask | None:
        """Per value: is it one of ``chosen`` (None when nothing is chosen: no constraint)."""
        if not chosen:
            return None
        return np.array([value in chosen for value in self.values], dtype=bool)

    def mask(self, chosen: Sequence[Any]) -> Mask | None:
        """Rows whose value is one of ``chosen`` (None when nothing is chosen: no constraint)."""
        wanted = self.wanted(chosen)
        if wanted is None:
            return None
        # a few comparisons of 1-byte codes beat a lookup (and np.isin, 10x slower)
        keep = int(wanted.sum()) <= len(wanted) // 2
        picked = np.flatnonzero(wanted if keep else ~wanted)
        if len(picked) > _COMPARISONS:
            return np.asarray(wanted[self.codes], dtype=bool)
        mask = np.zeros(len(self.codes), dtype=bool)
        for code in picked.tolist():
            mask |= self.codes == code
        return mask if keep else ~mask


@dataclasses.dataclass(frozen=True)
class View:
    """The result of one filter state: which rows match, in which order, and their summary."""

    total: int
    mask: Mask
    matched: int
    order: Rows | None  # every frame position in sort order (None: frame order)
    facet_counts: dict[str, Counts]
    status_counts: Counts
    type_counts: Counts
    histogram: Counts
    no_confidence: int

    @functools.cached_property
    def rows(self) -> Rows:
        """Frame positions of every matching row, in display order (computed when first asked)."""
        if self.order is None:
            return np.flatnonzero(self.mask)
        return self.order[self.mask[self.order]]

    def pages(self, size: int) -> int:
        """Number of pages of ``size`` rows (at least 1, so an empty result has a page too)."""
        return max(1, -(-self.matched // size))

    def page(self, number: int, size: int) -> Rows:
        """Frame positions of the rows on page ``number`` (0-based, clamped to the last page).

        Only the start of the order is looked at, in growing steps, until the page is full;
        past a quarter of the rows every matching row is listed once (and kept).
        """
        number = min(max(number, 0), self.pages(size) - 1)
        start, stop = number * size, min((number + 1) * size, self.matched)
        if "rows" in self.__dict__ or stop <= start:
            return self.rows[start:stop]
        found: list[Rows] = []
        have, at, step = 0, 0, _PAGE_SCAN
        while have < stop:
            if at > self.total // 4:
                return self.rows[start:stop]
            if self.order is None:
                hits = np.flatnonzero(self.mask[at : at + step]) + at
            else:
                positions = self.order[at : at + step]
                hits = positions[self.mask[positions]]
            found.append(hits)
            have += len(hits)
            at, step = at + step, step * 2
        return np.concatenate(found)[start:stop].astype(np.intp)


class JobIndex:
    """A frame of jobs prepared for fast filtering; build once per frame (about 0.6 s per 1M rows).

    Columns the contract names but the frame lacks behave as all-missing, so their filters keep
    nothing once set and the widget disables them. Unknown statuses and extra columns are fine;
    so are ``nested=True`` frames, whose ``result`` and ``configuration`` are struct columns.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.total = n = len(frame)
        self.facets = {name: Facet.of(self._column(column), n) for name, column in _FACETS.items()}
        self.confidence = _floats(self._column("result.confidence"), n)
        self.created = _micros(self._column("created_at"), n)
        kind = self._column("result.type")
        completed = self._is("status", "COMPLETED")
        self.no_match = completed & (np.ones(n, bool) if kind is None else kind.isna().to_numpy())
        self.facets["result_type"] = self.facets["result_type"].split_missing(
            self.no_match, NO_MATCH
        )
        fetch_error = self._column("fetch_error")
        self.failed = self._is("status", "FAILED") | (
            np.zeros(n, bool) if fetch_error is None else fetch_error.notna().to_numpy()
        )
        bins = np.where(
            np.isnan(self.confidence),
            BINS,
            np.clip(np.nan_to_num(self.confidence) * BINS, 0, BINS - 1).astype(np.intp),
        )
        low, high = np.nanmin(self.confidence, initial=0.0), np.nanmax(self.confidence, initial=1.0)
        self.confidence_span = (min(0.0, float(low)), max(1.0, float(high)))
        dimensions = [(f.codes, len(f.values)) for f in self.facets.values()]
        self._cells, cells = _combine([*dimensions, (bins, BINS + 1)], n)
        # each cell's facet values and bin (all rows of a cell share them)
        self._cell_parts: list[Rows] = []
        for codes, _ in [*dimensions, (bins, BINS + 1)]:
            part = np.zeros(cells, dtype=np.intp)
            part[self._cells] = codes
            self._cell_parts.append(part)
        self._everyone = np.bincount(self._cells, minlength=cells)
        self.histogram: Counts = self._tally(self._everyone, [None, None, None], -1)[:BINS]
        self.search = TextSearch([self._column(c) for c in SEARCHED], n)
        self._kept: dict[str, tuple[Hashable, Any]] = {}
        self._orders: dict[tuple[str, bool], Rows] = {}

    def _column(self, name: str) -> pd.Series | None:
        """A column, or a struct field of a ``nested=True`` frame ("result.type"), or None."""
        if name in self.frame.columns:
            return self.frame[name]
        group, _, field = name.partition(".")
        if group in self.frame.columns:
            data = arrow_data(self.frame[group])
            if data is not None and pa.types.is_struct(data.type) and field in data.type.names:
                values: pd.Series = self.frame[group].struct.field(field)
                return values
        return None

    def _is(self, facet: str, value: str) -> Mask:
        """Rows whose ``facet`` is ``value`` (by its codes: no pass over the column's text)."""
        mask = self.facets[facet].mask([value])
        return np.zeros(self.total, dtype=bool) if mask is None else mask

    def has(self, name: str) -> bool:
        """Whether the frame has ``name`` with at least one value."""
        column = self._column(name)
        return column is not None and bool(column.notna().any())

    def _keep(self, name: str, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, reused while ``key`` stays what it was when ``name`` was last asked."""
        kept = self._kept.get(name)
        if kept is None or kept[0] != key:
            kept = (key, compute())
            self._kept[name] = kept
        return kept[1]

    def masks(self, state: FilterState) -> dict[str, Mask | None]:
        """One mask per filter (None for a filter that constrains nothing), each kept for reuse.

        The search mask is exact only where the confidence, date and toggle masks hold, which
        is all that any count or result of :meth:`view` looks at.
        """
        masks: dict[str, Mask | None] = {}
        for name, facet in self.facets.items():
            chosen = _choices(state, name)
            masks[name] = self._keep(name, chosen, functools.partial(facet.mask, chosen))
        masks["confidence"] = self._keep(
            "confidence",
            state.confidence,
            functools.partial(self._confidence_mask, state.confidence),
        )
        masks["created"] = self._keep(
            "created", state.created, functools.partial(self._created_mask, *state.created)
        )
        masks["no_match_only"] = self.no_match if state.no_match_only else None
        masks["failed_only"] = self.failed if state.failed_only else None
        narrowing = self._keep(
            "narrowing",
            tuple(getattr(state, name) for name in _NARROWING),
            lambda: _all([masks[name] for name in _NARROWING]),
        )
        # every count ANDs the narrowing filters, so the text only needs looking at where they hold
        needle = state.search.strip()
        masks["search"] = self.search.mask(needle, narrowing) if needle else None
        masks["narrowing"] = narrowing
        return masks

    def view(
        self, state: FilterState, sort_by: str | None = None, descending: bool = False
    ) -> View:
        """Everything shown for ``state``, rows sorted by ``sort_by`` (missing values last)."""
        masks = self.masks(state)
        key = (tuple(getattr(state, name) for name in _NARROWING), state.search.strip())
        # the rows every filter but the facets keeps, and how many of them each cell holds
        rest = self._keep("rest", key, lambda: _all([masks["narrowing"], masks["search"]]))
        weights = self._keep("weights", key, functools.partial(self._weights, rest))
        wanted = [facet.wanted(_choices(state, name)) for name, facet in self.facets.items()]
        facet_counts = {
            name: self._tally(weights, wanted, i, ignore=i) for i, name in enumerate(self.facets)
        }
        everything = self._tally(weights, wanted, -1)
        chosen = self._keep(
            "facets", tuple(map(_key, wanted)), lambda: _all([masks[f] for f in self.facets])
        )
        mask = _all([chosen, rest])
        return View(
            total=self.total,
            mask=np.ones(self.total, dtype=bool) if mask is None else mask,
            matched=int(everything.sum()),
            order=None if sort_by is None else self.order(sort_by, descending),
            facet_counts=facet_counts,
            status_counts=self._tally(weights, wanted, 0),
            type_counts=self._tally(weights, wanted, 1),
            histogram=everything[:BINS],
            no_confidence=int(everything[BINS]),
        )

    def _weights(self, rest: Mask | None) -> Counts:
        """How many of the ``rest`` rows each cell holds (counting the fewer of in and out)."""
        if rest is None:
            return self._everyone
        size = len(self._everyone)
        if np.count_nonzero(rest) <= self.total // 2:
            return np.bincount(self._cells[rest], minlength=size)
        counts: Counts = self._everyone - np.bincount(self._cells[~rest], minlength=size)
        return counts

    def _tally(
        self, weights: Counts, wanted: list[Mask | None], part: int, ignore: int | None = None
    ) -> Counts:
        """Rows per value of the ``part``-th code of the cells (-1: the confidence bin), over
        the cells whose facet values are wanted (but the ``ignore``-th facet's)."""
        keep = weights.astype(np.float64)
        for i, chosen in enumerate(wanted):
            if chosen is not None and i != ignore:
                keep *= chosen[self._cell_parts[i]]
        size = len(self.facets[list(self.facets)[part]].values) if part >= 0 else BINS + 1
        counts = np.bincount(self._cell_parts[part], weights=keep, minlength=size)
        return np.rint(counts[:size]).astype(np.int64)

    def order(self, column: str, descending: bool = False) -> Rows:
        """All frame positions sorted by ``column``, stable, missing values last; cached."""
        key = (column, descending)
        if key not in self._orders:
            self._orders[key] = _sort_order(self.frame[column], descending)
        return self._orders[key]

    def _confidence_mask(self, span: tuple[float, float] | None) -> Mask | None:
        if span is None or span == self.confidence_span:
            return None
        low, high = span
        with np.errstate(invalid="ignore"):
            return (self.confidence >= low) & (self.confidence <= high)

    def _created_mask(self, start: dt.date | None, end: dt.date | None) -> Mask | None:
        if start is None and end is None:
            return None
        # a missing time (_NAT, the smallest int64) is before any start: one pass fewer then
        valid: Mask = self.created != _NAT if start is None else self.created >= _day_micros(start)
        if end is not None:
            valid &= self.created < _day_micros(end + dt.timedelta(days=1))
        return valid


_NAT = np.iinfo(np.int64).min


def _all(masks: Sequence[Mask | None]) -> Mask | None:
    """Rows in every mask (a new array; None when no mask constrains anything)."""
    present = [m for m in masks if m is not None]
    if not present:
        return None
    result = present[0].copy()
    for mask in present[1:]:
        result &= mask
    return result


def _choices(state: FilterState, facet: str) -> tuple[Any, ...]:
    """The values chosen for ``facet`` (empty: no constraint)."""
    if facet == "configuration":
        return () if state.configuration is None else (state.configuration,)
    chosen: tuple[Any, ...] = getattr(state, facet)
    return chosen


def _combine(parts: list[tuple[npt.NDArray[np.integer[Any]], int]], n: int) -> tuple[Rows, int]:
    """One code per row for its combination of ``(codes, size)`` parts, and how many codes.

    Combinations are numbered in mixed radix; past ``_COMBINED`` cells (or where that would
    overflow) they are renumbered densely by ``factorize``, so there are never more than rows.
    """
    code = np.zeros(n, dtype=np.int64)
    size = 1
    for codes, count in parts:
        if size * max(count, 1) >= 1 << 62:
            code, uniques = pd.factorize(code)
            size = len(uniques)
        code = code * max(count, 1) + codes
        size *= max(count, 1)
    if size > _COMBINED:
        code, uniques = pd.factorize(code)
        size = len(uniques)
    return np.asarray(code, dtype=np.intp), size


def _key(wanted: Mask | None) -> Hashable:
    return None if wanted is None else wanted.tobytes()


def _plain(value: Any) -> Any:
    """A numpy or Arrow scalar as the Python value users type in ``set_filters``."""
    return value.item() if isinstance(value, np.generic) else value


def _floats(column: pd.Series | None, n: int) -> npt.NDArray[np.float64]:
    if column is None:
        return np.full(n, np.nan)
    numbers = pd.to_numeric(column, errors="coerce")
    return np.asarray(numbers.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)


def _micros(column: pd.Series | None, n: int) -> npt.NDArray[np.int64]:
    """UTC microseconds since the epoch; missing or unparseable times are ``_NAT``."""
    if column is None:
        return np.full(n, _NAT, dtype=np.int64)
    times = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    naive = times.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return naive.view(np.int64)


def _day_micros(day: dt.date) -> int:
    return int(np.datetime64(day, "us").astype(np.int64))


def arrow_data(column: pd.Series) -> pa.ChunkedArray | None:
    """The Arrow data behind an Arrow-backed column, without a copy (None for other columns)."""
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype) or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    ):
        data: pa.ChunkedArray = column.array.__arrow_array__()
        return data
    return None


def _sort_order(column: pd.Series, descending: bool) -> Rows:
    """Positions of ``column`` in sorted order: stable, missing values last."""
    data = arrow_data(column)
    if data is not None and not pa.types.is_nested(data.type):
        # Arrow sorts its strings 3x faster than factorize(sort=True) (1M ids: 0.8 s)
        order = "descending" if descending else "ascending"
        indices = pc.array_sort_indices(data, order=order, null_placement="at_end")
        return np.asarray(indices.to_numpy(), dtype=np.intp)
    values, missing = _sort_key(column)
    return np.lexsort((-values if descending else values, missing)).astype(np.intp)


def _sort_key(column: pd.Series) -> tuple[npt.NDArray[np.float64], Mask]:
    """A numeric key ordering ``column`` like its values, and where values are missing."""
    missing = column.isna().to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return _floats(column, len(column)), missing
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column):
        return _micros(column, len(column)).astype(np.float64), missing
    try:
        codes, _ = pd.factorize(column, sort=True)
    except TypeError:  # values that do not compare (lists, mixed types): sort their text
        codes, _ = pd.factorize(column.astype("string"), sort=True)
    return np.asarray(codes, dtype=np.float64), missing
