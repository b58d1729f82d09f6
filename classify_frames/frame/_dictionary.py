"""Repeated ids dictionary-encoded in Arrow: each distinct value stored once.

A frame of a million jobs holds a few hundred project, user and configuration ids; as an
Arrow dictionary (a pandas categorical) each row costs a 4-byte index and still reads as its
string.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["encode_ids"]


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


def _sorted_union(chunks: pa.ChunkedArray) -> pa.DictionaryArray:
    """Dictionary chunks of strings as one array over their sorted union, without ever
    decoding the rows (10 million ids as text would take 440 MB a column): the few distinct
    values are sorted, and each row's index mapped to its value's rank by one ``take``."""
    unified = chunks.unify_dictionaries()
    dictionary = unified.chunk(0).dictionary
    order = pc.array_sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    indices = pa.concat_arrays([c.indices.cast(pa.int32()) for c in unified.chunks])
    return pa.DictionaryArray.from_arrays(
        pc.take(pa.array(rank), indices), dictionary.take(pa.array(order))
    )
