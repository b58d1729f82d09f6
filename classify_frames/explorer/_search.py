"""The explorer's text search: which rows hold a literal, case-insensitively, in any searched field.

Exactly ``column.str.contains(query, case=False, regex=False)`` ORed over the fields (Arrow's
case-insensitive substring kernel, the one pandas uses for Arrow strings), made fast in ways
none of which can change a result:

- a field whose values repeat (templated reasoning, a categorical) is searched once per
  distinct value and the answer spread to the rows by their codes;
- every other field is cut into blocks of rows, and each block remembers which pairs of ASCII
  bytes occur in it (case-folded): a block lacking one of the query's pairs cannot hold the
  query and is skipped (hex ids never hold "receipt");
- within a block, 16 rows are first looked at as one string (Arrow's cost is mostly per
  string), and row by row only where such a group holds the query;
- blocks run on several threads (Arrow releases the GIL), and only blocks where the caller
  still needs an answer are scanned; a later call for the same query scans only the rest, and
  a query extending the last one looks only among the rows that held the last one.

What remains is Arrow's per-string cost where a query is common in unique text (``a1`` in hex
ids: about 100 ns a row and field, 2-3 s for 10M rows on 2 cores).

>>> import pandas as pd
>>> text = TextSearch([pd.Series(["Invoice 7", "a receipt", None])], 3)
>>> text.mask("RECEIPT").tolist()
[False, True, False]
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["TextSearch"]

Mask = npt.NDArray[np.bool_]

_BLOCK = 65_536  # rows per block: what one task scans and one pair table describes
_GROUP = 16  # rows looked at as one string first (see _grouped)
_DENSE = 0.3  # ... unless this share of the groups of a block hold the query
_SAMPLE = 20_000  # rows looked at to decide whether a field repeats enough to search by value
_REPEATS = 0.25  # ... it does when its sample has at most this share of distinct values
# ASCII letters that case-fold to a non-ASCII letter too (K: the Kelvin sign, s: the long s),
# so a pair holding one may occur in a matching row under other bytes
_UNSAFE = frozenset("kKsS")


class _Values:
    """A field searched once per distinct value: ``codes[i]`` is row i's value (-1: missing)."""

    def __init__(self, values: pa.Array, codes: npt.NDArray[np.intp]) -> None:
        self.values = values
        self.codes = codes

    def found(self, needle: str) -> Mask:
        """Per distinct value, then one more False for the missing code (-1 indexes it)."""
        hits = pc.match_substring(self.values, needle, ignore_case=True)
        return np.append(hits.fill_null(False).to_numpy(zero_copy_only=False), False)


class _Blocks:
    """A field scanned block by block, with each block's case-folded byte pairs."""

    def __init__(self, data: pa.ChunkedArray, blocks: int) -> None:
        self.data = data
        self.pairs = np.zeros((blocks, 1 << 16), dtype=bool)
        for block in range(blocks):
            for chunk in data.slice(block * _BLOCK, _BLOCK).chunks:
                _mark_pairs(chunk, self.pairs[block])

    def may_hold(self, pairs: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        """Per block: could it hold a text with all these byte pairs?"""
        if not len(pairs):
            return np.ones(len(self.pairs), dtype=bool)
        return np.asarray(self.pairs[:, pairs].all(axis=1), dtype=bool)


class TextSearch:
    """The searched fields of ``n`` rows (``None``: a field the frame lacks), prepared once."""

    def __init__(self, columns: Sequence[pd.Series | None], n: int) -> None:
        self.total = n
        self.blocks = -(-n // _BLOCK)
        self._values: list[_Values] = []
        self._scanned: list[_Blocks] = []
        for column in columns:
            if column is not None:
                self._add(column)
        self._cache: _Found | None = None  # the last query's

    def _add(self, column: pd.Series) -> None:
        if isinstance(column.dtype, pd.CategoricalDtype):
            categories = pa.array(column.cat.categories.astype(str), type=pa.large_string())
            codes = np.asarray(column.cat.codes.to_numpy(), dtype=np.intp)
            self._values.append(_Values(categories, codes))
            return
        data = _strings(column)
        sample = data.slice(0, _SAMPLE)
        if self.total >= 2 * _SAMPLE and len(pc.unique(sample)) <= _REPEATS * len(sample):
            encoded = pc.dictionary_encode(data).unify_dictionaries()
            values = (
                encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], pa.string())
            )
            indices = pa.chunked_array([c.indices for c in encoded.chunks], pa.int32())
            codes = indices.fill_null(-1).to_numpy().astype(np.intp)
            self._values.append(_Values(values, codes))
        else:
            self._scanned.append(_Blocks(data, self.blocks))

    def mask(self, query: str, needed: Mask | None = None) -> Mask:
        """Rows holding ``query`` (stripped; case ignored), exact at least where ``needed``.

        A query that extends the last one (``"invoice 20"`` after ``"invoice"``) is looked for
        only in the rows that held the last one, in the blocks it was looked for in.
        """
        needle = query.strip()
        if self._cache is None or self._cache.needle != needle:
            last = self._cache
            self._cache = _Found(needle, self.blocks, self.total)
            if last is not None and last.needle and last.needle in needle:
                # case folds letter by letter: a text holding needle holds every piece of it
                self._cache.within = (last.searched, last.found)
        cache = self._cache
        todo = ~cache.searched
        if needed is not None:
            todo &= np.logical_or.reduceat(needed, np.arange(0, self.total, _BLOCK))
        starts = np.flatnonzero(todo)
        if not len(starts):
            return cache.found
        pairs = _query_pairs(needle)
        scans = [column.may_hold(pairs) for column in self._scanned]
        # per field: does the query occur in most groups of rows (threads share the answer)
        dense = [[False] for _ in self._scanned]
        values = [(column.codes, column.found(needle)) for column in self._values]

        def scan(block: int) -> None:
            rows = slice(block * _BLOCK, (block + 1) * _BLOCK)
            only = None
            if cache.within is not None and cache.within[0][block]:
                only = cache.within[1][rows]  # the rows that held the shorter query
            hit = np.zeros(len(cache.found[rows]), dtype=bool)
            for codes, per_value in values:
                hit |= per_value[codes[rows]]
            for column, maybe, common in zip(self._scanned, scans, dense, strict=True):
                if not maybe[block] or (only is not None and not only.any()):
                    continue
                text = column.data.slice(rows.start, _BLOCK)
                hit |= (
                    _holding(text, needle, common) if only is None else _among(text, only, needle)
                )
            cache.found[rows] = hit if only is None else hit & only

        workers = min(os.cpu_count() or 1, 4, len(starts))
        if workers <= 1:
            for block in starts.tolist():
                scan(block)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(scan, starts.tolist()))
        cache.searched[starts] = True
        return cache.found


class _Found:
    """What one query found: in which blocks it was looked for, which rows there hold it, and
    (``within``) the same for a shorter query it extends, whose rows are the only candidates."""

    def __init__(self, needle: str, blocks: int, rows: int) -> None:
        self.needle = needle
        self.searched = np.zeros(blocks, dtype=bool)
        self.found = np.zeros(rows, dtype=bool)
        self.within: tuple[npt.NDArray[np.bool_], Mask] | None = None


def _among(data: pa.ChunkedArray, rows: Mask, needle: str) -> Mask:
    """Which rows of ``data`` hold ``needle``, looking only at the ``rows`` set (others: False)."""
    hit = np.zeros(len(data), dtype=bool)
    start = 0
    for chunk in data.chunks:
        part = rows[start : start + len(chunk)]
        if part.any():
            hit[start : start + len(chunk)][part] = _contains(chunk.filter(pa.array(part)), needle)
        start += len(chunk)
    return hit


def _holding(data: pa.ChunkedArray, needle: str, dense: list[bool]) -> Mask:
    """Which rows of ``data`` hold ``needle``: first ``_GROUP`` rows at a time, then row by row
    only in the groups that hold it. Once a block has many groups holding it (``dense[0]`` is set:
    for this field and query), later blocks go row by row at once, which is then cheaper."""
    parts = [np.zeros(0, dtype=bool)]
    for chunk in data.chunks:
        if dense[0]:
            parts.append(_contains(chunk, needle))
            continue
        found = _contains(_grouped(chunk), needle)
        if found.mean() > _DENSE:
            dense[0] = True
            parts.append(_contains(chunk, needle))
            continue
        parts.append(
            _among(pa.chunked_array([chunk]), np.repeat(found, _GROUP)[: len(chunk)], needle)
        )
    return np.concatenate(parts)


def _contains(strings: pa.Array, needle: str) -> Mask:
    found = pc.match_substring(strings, needle, ignore_case=True).fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _grouped(chunk: pa.Array) -> pa.Array:
    """``chunk``'s text as one string per ``_GROUP`` rows, sharing its buffers (no copy).

    A row holds the query only if its group does (a group may hold it across two rows too),
    and Arrow's cost is mostly per string: 2M ids in groups of 16 take 0.35-0.5x the CPU of
    looking at them one by one.
    """
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    picked = offsets[::_GROUP]
    bounds = np.append(picked, offsets[-1]) if len(chunk) % _GROUP else np.ascontiguousarray(picked)
    return pa.Array.from_buffers(
        chunk.type, len(bounds) - 1, [None, pa.py_buffer(bounds), chunk.buffers()[2]]
    )


def _strings(column: pd.Series) -> pa.ChunkedArray:
    """The column as Arrow strings: its own buffers when it has them, else converted once."""
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype) or (
        isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    ):
        data: pa.ChunkedArray = column.array.__arrow_array__()
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            return data
    converted = pa.array(column.astype("string[pyarrow]"), type=pa.large_string())
    return pa.chunked_array([converted])


def _mark_pairs(chunk: pa.Array, table: npt.NDArray[np.bool_]) -> None:
    """Set ``table`` at every pair of adjacent bytes of ``chunk``'s text, ASCII case-folded.

    Pairs across two values are marked too: the table may say yes where there is no such pair
    (a block is scanned for nothing), never no where there is one.
    """
    if not len(chunk):
        return
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    if offsets[-1] - offsets[0] < 2:
        return
    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    folded = data | (((data >= 65) & (data <= 90)).view(np.uint8) << 5)
    # two little-endian views of the bytes as uint16, from even and odd offsets, are every
    # pair (first byte low): no arithmetic per pair
    even = len(folded) // 2 * 2
    table[folded[:even].view("<u2")] = True
    table[folded[1 : 1 + (len(folded) - 1) // 2 * 2].view("<u2")] = True


def _query_pairs(needle: str) -> npt.NDArray[np.intp]:
    """The ASCII byte pairs any case-insensitive match of ``needle`` must hold, case-folded.

    Only pairs of two adjacent ASCII characters of the query count, each folded on its own
    (lowering a whole string can change its length: "İ" becomes two characters).
    """
    pairs = {
        ord(a.lower()) | (ord(b.lower()) << 8)
        for a, b in itertools.pairwise(needle)
        if a.isascii() and b.isascii() and a not in _UNSAFE and b not in _UNSAFE
    }
    return np.array(sorted(pairs), dtype=np.intp)
