"""Each distinct value stored once: rule sets and repeated ids, dictionary-encoded in Arrow.

A frame of a million jobs holds a handful of rule sets and a few hundred project, user and
configuration ids. Copied into every row, the rules alone cost 780 bytes a job; as an Arrow
dictionary each row costs a 4-byte index and still reads as its own list of rules.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["decode_nested", "encode_ids", "encode_rule_sets", "is_encoded_rule_sets"]

_DENSE_LIMIT = 2**62


def encode_rule_sets(rules: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """``rules`` (a list column, or one already dictionary-encoded in chunks) as one dictionary
    array: each distinct list stored once, in order of first appearance; nulls stay null.

    >>> rules = pa.array([[{"type": "a"}], [{"type": "b"}], [{"type": "a"}], None])
    >>> encoded = encode_rule_sets(rules)
    >>> encoded.indices.to_pylist(), len(encoded.dictionary)
    ([0, 1, 0, None], 2)
    """
    if isinstance(rules, pa.ChunkedArray):
        if pa.types.is_dictionary(rules.type):
            return _merge_dictionaries(rules)
        rules = rules.combine_chunks()
    if pa.types.is_dictionary(rules.type):
        return _merge_dictionaries(pa.chunked_array([rules]))
    index = _first_equal_row(rules)
    valid = rules.is_valid().to_numpy(zero_copy_only=False)
    firsts = np.flatnonzero((index == np.arange(len(index))) & valid)
    numbering = np.full(len(index), -1, dtype=np.int64)
    numbering[firsts] = np.arange(len(firsts))
    indices = pa.array(numbering[index].astype(np.int32), mask=~valid)
    dictionary = rules.take(pa.array(firsts, type=pa.int64()))
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def is_encoded_rule_sets(t: pa.DataType) -> bool:
    """Whether ``t`` is a dictionary of lists (what :func:`encode_rule_sets` makes)."""
    return bool(pa.types.is_dictionary(t) and pa.types.is_nested(t.value_type))


def decode_nested(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary of lists back as the plain list column (Parquet cannot store the former)."""
    if not is_encoded_rule_sets(column.type):
        return column
    # Arrow has no cast from a dictionary of lists; a take per chunk is that cast
    decoded = [chunk.dictionary.take(chunk.indices) for chunk in column.chunks]
    return pa.chunked_array(decoded, type=column.type.value_type)


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
    decoding the rows (10 million ids as text would take 440 MB a column)."""
    unified = chunks.unify_dictionaries()
    dictionary = unified.chunk(0).dictionary
    order = pc.array_sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes = [pc.fill_null(c.indices, 0).to_numpy(zero_copy_only=False) for c in unified.chunks]
    valid = [c.is_valid().to_numpy(zero_copy_only=False) for c in unified.chunks]
    indices = rank[np.concatenate(codes)] if len(rank) else np.zeros(len(chunks), np.int32)
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, mask=~np.concatenate(valid)), dictionary.take(pa.array(order))
    )


def _merge_dictionaries(chunks: pa.ChunkedArray) -> pa.DictionaryArray:
    """Chunks that each carry their own dictionary, as one array with one dictionary."""
    dictionaries = [c.dictionary for c in chunks.chunks]
    merged = encode_rule_sets(pa.concat_arrays(dictionaries)) if dictionaries else None
    if merged is None:
        return pa.DictionaryArray.from_arrays(
            pa.array([], pa.int32()), pa.array([], chunks.type.value_type)
        )
    remap = merged.indices.to_numpy(zero_copy_only=False)
    parts, start = [], 0
    for chunk, dictionary in zip(chunks.chunks, dictionaries, strict=True):
        codes = pc.fill_null(chunk.indices, 0).to_numpy(zero_copy_only=False).astype(np.int64)
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        picked = np.zeros(len(codes), dtype=np.int64)
        picked[valid] = remap[start + codes[valid]]
        parts.append((picked, ~valid))
        start += len(dictionary)
    codes = np.concatenate([p[0] for p in parts]).astype(np.int32)
    mask = np.concatenate([p[1] for p in parts])
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), merged.dictionary)


def _first_equal_row(rules: pa.Array) -> np.ndarray:
    """For each row, the first row holding an equal list (nulls are all equal to each other).

    Every element is numbered by Arrow's dictionary encoding of each field; a row is keyed by
    its length and a 64-bit hash of its element numbers, and each candidate match is then
    checked element by element, so the answer is exact (a hash collision falls back to
    comparing the rows in Python).
    """
    n = len(rules)
    offsets = rules.offsets.to_numpy().astype(np.int64)
    starts, lengths = offsets[:-1] - offsets[0], np.diff(offsets)
    valid = rules.is_valid().to_numpy(zero_copy_only=False)
    # the values behind the rows, nulls' included, so that offsets index them directly
    items = _element_numbers(rules.values.slice(offsets[0], offsets[-1] - offsets[0]))
    owner = np.repeat(np.arange(n), lengths)
    within = np.arange(len(items)) - starts[owner]
    mixed = _mix(_mix(items.astype(np.uint64)) ^ within.astype(np.uint64))
    sums = np.zeros(n, dtype=np.uint64)
    filled = lengths > 0
    if len(items):
        sums[filled] = np.add.reduceat(mixed, starts[filled])
    key = _mix(sums ^ _mix(lengths.astype(np.uint64) + np.uint64(1))) | np.uint64(1)
    key[~valid] = 0  # every other key is odd
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    index: np.ndarray = first[inverse.reshape(-1)]
    same = (valid == valid[index]) & (~valid | (lengths == lengths[index]))
    if same.all():
        counted = valid[owner]  # a null row's elements do not count
        other = starts[index][owner] + within
        same_items = items[counted] == items[other[counted]]
        if same_items.all():
            return index
    return _first_equal_row_slowly(rules)


def _first_equal_row_slowly(rules: pa.Array) -> np.ndarray:
    seen: dict[str, int] = {}
    return np.array([seen.setdefault(repr(v), i) for i, v in enumerate(rules.to_pylist())])


def _element_numbers(elements: pa.Array) -> np.ndarray:
    """A number per element such that equal elements (and only they) get equal numbers."""
    columns = [elements.is_valid().to_numpy(zero_copy_only=False).astype(np.int64)]
    if pa.types.is_struct(elements.type):
        fields = [elements.field(i) for i in range(elements.type.num_fields)]
    else:
        fields = [elements]
    for field in fields:
        if pa.types.is_nested(field.type) or pa.types.is_dictionary(field.type):
            field = pa.array([repr(v) for v in field.to_pylist()], type=pa.string())
        encoded = pc.dictionary_encode(field, null_encoding="encode")
        columns.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
    number = np.zeros(len(elements), dtype=np.int64)
    size = 1
    for column in columns:
        width = int(column.max(initial=0)) + 1
        if size * width >= _DENSE_LIMIT:  # renumber densely before the product overflows
            _, number = np.unique(number, return_inverse=True)
            number = number.reshape(-1).astype(np.int64)
            size = int(number.max(initial=0)) + 1
        number = number * width + column
        size *= width
    return number


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads equal-looking integers over all 64 bits."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        out: np.ndarray = x ^ (x >> np.uint64(31))
    return out
