"""Repeated ids dictionary-encoded in Arrow: each distinct value stored once.

A frame of a million jobs holds a few hundred project, user and configuration ids; as an
Arrow dictionary (a pandas categorical) each row costs a 4-byte index and still reads as its
string.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["dictionary_numbers", "encode_ids"]


def encode_ids(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """Strings as a dictionary whose values are sorted, so that the pandas categorical it
    becomes sorts, compares and groups like the strings themselves."""
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type) and values.num_chunks:
            return _sorted_union(values)
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        return _sorted_union(pa.chunked_array([values]))
    distinct = pc.unique(values.drop_null())
    distinct = distinct.take(pc.array_sort_indices(distinct))
    indices = pc.index_in(values, value_set=distinct).cast(pa.int32())
    return pa.DictionaryArray.from_arrays(indices, distinct)


def dictionary_numbers(pieces: Sequence[pa.Array]) -> tuple[list[np.ndarray], pa.Array]:
    """Per dictionary-encoded piece, each entry of its dictionary as an int32 number into the
    returned distinct values (-1 for a null entry). Rows are never read: only the entries,
    each distinct dictionary once (the pieces of a column often share one)."""
    seen: dict[tuple[int, ...], int] = {}
    dictionaries: list[pa.Array] = []
    which = []
    for piece in pieces:
        d = piece.dictionary
        key = (d.offset, len(d), *(b.address if b is not None else 0 for b in d.buffers()))
        which.append(seen.setdefault(key, len(dictionaries)))
        if len(seen) > len(dictionaries):
            dictionaries.append(d)
    encoded = pc.dictionary_encode(pa.concat_arrays(dictionaries))
    numbers = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    bounds = np.cumsum([0, *(len(d) for d in dictionaries)])
    tables = [numbers[a:b].astype(np.int32) for a, b in itertools.pairwise(bounds)]
    return [tables[w] for w in which], encoded.dictionary


def _sorted_union(chunks: pa.ChunkedArray) -> pa.DictionaryArray:
    """Dictionary chunks of strings as one array over their sorted union, without ever
    decoding the rows (10 million ids as text would take 440 MB a column): the few distinct
    values are sorted, and each row's index mapped to its value's rank, chunk by chunk into
    one array (a temporary the size of the column costs more in page faults than the work)."""
    tables, distinct = dictionary_numbers(chunks.chunks)
    order = pc.array_sort_indices(distinct).to_numpy()
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1  # a null entry (-1) stays null
    indices = np.empty(len(chunks), dtype=np.int32)
    at = 0
    for table, chunk in zip(tables, chunks.chunks, strict=True):
        ranks = np.append(rank[table], np.int32(-1))  # a null index (-1) picks the -1
        index = chunk.indices
        index = pc.fill_null(index, -1) if index.null_count else index
        indices[at : at + len(chunk)] = ranks[index.to_numpy(zero_copy_only=False)]
        at += len(chunk)
    valid = indices >= 0
    nulls = len(indices) - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    codes = pa.Array.from_buffers(pa.int32(), len(indices), [bitmap, pa.py_buffer(indices)], nulls)
    return pa.DictionaryArray.from_arrays(codes, distinct.take(pa.array(order)))
