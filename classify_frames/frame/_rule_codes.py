"""Each row of a list column numbered by its distinct list, in Arrow's C++ hash tables.

A million jobs share a handful of rule sets, and Arrow has no hash kernel for lists, so a
row's rules are read as a few byte strings over the buffers Arrow already holds (no copy): for
each field of the rules, the bytes of all the row's values, the lengths that split them and, when
there are nulls, which are null. Rows with equal lists have equal byte strings, and the converse
holds because the lengths are part of the key, so the numbering is exact, not a hash.

>>> import pyarrow as pa
>>> codes, distinct = factorize_lists(pa.array([["a"], None, ["a"], []]))
>>> codes.tolist(), distinct.to_pylist()
([0, -1, 0, 1], [['a'], []])
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ._dictionary import dictionary_numbers

__all__ = ["factorize_lists"]


def factorize_lists(
    values: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, pa.Array]:
    """``(codes, distinct)``: an int32 code per row (-1 for a null row) and the distinct lists
    in order of first appearance, so that ``distinct.take(codes)`` is ``values`` again.

    ``values`` is a list (or large list) array, or a dictionary array of lists, whose chunks are
    numbered apart and then merged through their few distinct lists.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if not chunks:
        return np.zeros(0, np.int32), pa.array([], type=_value_type(values.type))
    whole = _factorize_whole(chunks)
    if whole is not None:
        return whole
    parts = [_factorize_chunk(chunk) for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    local = pa.concat_arrays([distinct for _, distinct in parts])
    merged, distinct = _factorize_chunk(local)
    codes, start = [], 0
    for chunk_codes, chunk_distinct in parts:
        remap = np.append(merged[start : start + len(chunk_distinct)], np.int32(-1))
        codes.append(remap[chunk_codes])  # -1 picks the appended -1
        start += len(chunk_distinct)
    return np.concatenate(codes).astype(np.int32, copy=False), distinct


def _factorize_whole(chunks: list[pa.Array]) -> tuple[np.ndarray, pa.Array] | None:
    """All chunks of a list column numbered at once, or None when its elements hold a type
    this does not number (the chunk-by-chunk path does).

    Each leaf of the elements (a rule's description, its type) is numbered over the whole
    column (a dictionary's chunks unified, never decoded; other leaves by Arrow's hash), the
    leaves' numbers combine into one int64 per element (0: a null element), and a row's key is
    the bytes of its elements' numbers, read in place: one hash of one key per row.
    """
    if not all(pa.types.is_list(c.type) or pa.types.is_large_list(c.type) for c in chunks):
        return None
    starts, elements, base = [np.zeros(1, np.int64)], [], 0
    for chunk in chunks:
        offsets = np.asarray(chunk.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        elements.append(chunk.values.slice(offsets[0], offsets[-1] - offsets[0]))
        starts.append(offsets[1:] - offsets[0] + base)
        base += int(offsets[-1] - offsets[0])
    codes = _element_codes(elements, base)
    if codes is None:
        return None
    keys = _view(pa.py_buffer(codes), np.concatenate(starts) * codes.itemsize)
    numbered = pc.dictionary_encode(keys).indices.to_numpy(zero_copy_only=False)
    valid = np.concatenate([c.is_valid().to_numpy(zero_copy_only=False) for c in chunks])
    row_codes, first = _renumber(np.where(valid, numbered, -1).astype(np.int32))
    return row_codes, _rows_of(chunks, first)


def _rows_of(chunks: list[pa.Array], rows: np.ndarray) -> pa.Array:
    """The ``rows`` (ascending) of the chunks as one array, dictionaries decoded: taken chunk
    by chunk (a chunked ``take`` of lists joins every chunk first)."""
    plain = _decoded(chunks[0].type)
    ends = np.cumsum([len(c) for c in chunks])
    which = np.searchsorted(ends, rows, side="right")
    parts = []
    for k in np.unique(which):
        local = rows[which == k] - (ends[k] - len(chunks[k]))
        part = chunks[k].take(pa.array(local, type=pa.int64()))
        parts.append(part if part.type == plain else part.cast(plain))
    return pa.concat_arrays(parts) if parts else pa.array([], type=plain)


def _element_codes(elements: list[pa.Array], n: int) -> np.ndarray | None:
    """One number per element, equal exactly when the elements are (0 for a null element):
    int32 when the leaves' numbers fit (they do for rules: a few dozen texts each), so each
    row's key is 4 bytes an element. Written piece by piece into one array: a temporary the
    size of the column would cost more in page faults than the arithmetic."""
    leaves = [_leaf_pieces(piece) for piece in elements]
    if any(pieces is None for pieces in leaves):
        return None
    numbered = [
        _leaf_numbers([pieces[i] for pieces in leaves if pieces is not None])
        for i in range(len(leaves[0] or []))
    ]
    span = 2 * math.prod(size + 1 for _, _, size in numbered)
    if span >= 2**62:  # the numbers would not fit in one int64
        return None
    codes: np.ndarray[Any, np.dtype[np.signedinteger[Any]]]
    codes = np.zeros(n, np.int32 if span < 2**31 else np.int64)
    at = 0
    for k, piece in enumerate(elements):
        part = codes[at : at + len(piece)]
        for tables, indices, size in numbered:
            part *= size + 1
            index = indices[k]
            index = pc.fill_null(index, -1) if index.null_count else index
            part += tables[k][index.to_numpy(zero_copy_only=False)]  # -1: the table's 0
        part += 1
        if piece.null_count:
            part[~piece.is_valid().to_numpy(zero_copy_only=False)] = 0
        at += len(piece)
    return codes


def _leaf_pieces(elements: pa.Array) -> list[pa.Array] | None:
    """The leaves of one piece of elements, struct fields in order, or None for a type
    :func:`_leaf_numbers` does not number (floats, nested lists)."""
    t = elements.type
    if pa.types.is_struct(t):
        out: list[pa.Array] = []
        for child in elements.flatten():  # aligned with the struct's offset
            inner = _leaf_pieces(child)
            if inner is None:
                return None
            out.extend(inner)
        return out
    plain = t.value_type if pa.types.is_dictionary(t) else t
    if pa.types.is_dictionary(plain) or not (
        pa.types.is_string(plain)
        or pa.types.is_large_string(plain)
        or pa.types.is_binary(plain)
        or pa.types.is_large_binary(plain)
        or pa.types.is_boolean(plain)
        or pa.types.is_integer(plain)
    ):
        return None
    return [elements]


def _leaf_numbers(pieces: list[pa.Array]) -> tuple[list[np.ndarray], list[pa.Array], int]:
    """A leaf numbered over all its pieces: per piece, a table from its indices to numbers
    (1.. for values, equal for equal values; its last entry, 0, for a null index) and the
    indices; and how many distinct values there are. A dictionary's rows stay its indices,
    only its few entries are numbered (each distinct dictionary once)."""
    if pa.types.is_dictionary(pieces[0].type):
        entries, distinct = dictionary_numbers(pieces)
        tables = [np.append(table + 1, np.int32(0)) for table in entries]
        return tables, [piece.indices for piece in pieces], len(distinct)
    encoded = pc.dictionary_encode(pa.concat_arrays(pieces))
    numbers = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False) + 1
    bounds = np.cumsum([0, *(len(piece) for piece in pieces)])
    indices = [pa.array(numbers[a:b]) for a, b in itertools.pairwise(bounds)]
    identity = np.arange(len(encoded.dictionary) + 1, dtype=np.int32)  # numbers already
    return [identity] * len(pieces), indices, len(encoded.dictionary)


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _factorize_chunk(array: pa.Array) -> tuple[np.ndarray, pa.Array]:
    if pa.types.is_dictionary(array.type):  # number the few entries, then the rows
        inner, entries = _factorize_chunk(array.dictionary)
        indices = pc.fill_null(array.indices, -1).to_numpy(zero_copy_only=False)
        codes, first = _renumber(np.append(inner, np.int32(-1))[indices])
        return codes, entries.take(pa.array(np.append(inner, -1)[indices[first]]))
    keys = _row_keys(array)
    codes = _codes_in_python(array) if keys is None else _codes_of_keys(keys, len(array))
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    codes, first = _renumber(np.where(valid, codes, -1).astype(np.int32))
    distinct = array.take(pa.array(first, type=pa.int64()))
    plain = _decoded(distinct.type)
    return codes, distinct if plain == distinct.type else distinct.cast(plain)


def _decoded(t: pa.DataType) -> pa.DataType:
    """``t`` with every dictionary inside it replaced by its values' type."""
    if pa.types.is_dictionary(t):
        return _decoded(t.value_type)
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_decoded(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_decoded(t.value_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_decoded(t.value_type)))
    return t


def _renumber(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes made dense in order of first appearance (nulls stay -1), and each code's first row."""
    rows = np.flatnonzero(codes >= 0)
    seen = codes[rows]
    if not len(seen):
        return codes, np.zeros(0, np.int64)
    first = np.full(int(seen.max()) + 1, -1, dtype=np.int64)
    first[seen[::-1]] = rows[::-1]  # with repeated indices the last assignment wins
    used = np.flatnonzero(first >= 0)
    order = used[np.argsort(first[used], kind="stable")]
    dense = np.full(len(first), -1, dtype=np.int32)
    dense[order] = np.arange(len(order), dtype=np.int32)
    out = codes.copy()
    out[rows] = dense[seen]
    return out, first[order]


def _codes_of_keys(keys: list[pa.Array], n: int) -> np.ndarray:
    """One code per row for the tuple of its keys: each key numbered by Arrow, then the tuple of
    numbers, as one fixed-width binary value per row, numbered once more."""
    numbered = [pc.dictionary_encode(key).indices.to_numpy(zero_copy_only=False) for key in keys]
    if len(numbered) == 1:
        only: np.ndarray = numbered[0].astype(np.int32)
        return only
    stacked = np.ascontiguousarray(np.stack(numbered, axis=1).astype(np.int32))
    width = 4 * stacked.shape[1]
    rows = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(stacked)])
    out: np.ndarray = pc.dictionary_encode(rows).indices.to_numpy(zero_copy_only=False)
    return out


def _row_keys(array: pa.Array) -> list[pa.Array] | None:
    """Byte strings per row that together equal exactly when the rows' lists do, or None when
    an element type is not one this reads from its buffers (the slow path numbers those)."""
    offsets = np.asarray(array.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    lengths = np.diff(offsets)
    keys = [_bytes_per_row(lengths.astype(np.int64), np.arange(len(lengths) + 1) * 8)]
    elements = array.values
    leaves = _leaves(elements)
    if leaves is None:
        return None
    for leaf in leaves:
        if leaf.null_count:
            validity = leaf.is_valid().to_numpy(zero_copy_only=False).view(np.uint8)
            keys.append(_bytes_per_row(validity, offsets))
        if pa.types.is_string(leaf.type) or pa.types.is_binary(leaf.type):
            keys.extend(_string_keys(leaf, offsets, np.int32))
        elif pa.types.is_large_string(leaf.type) or pa.types.is_large_binary(leaf.type):
            keys.extend(_string_keys(leaf, offsets, np.int64))
        elif pa.types.is_boolean(leaf.type):
            data = leaf.fill_null(False).to_numpy(zero_copy_only=False).view(np.uint8)
            keys.append(_bytes_per_row(data, offsets))
        else:  # integers, floats, times: fixed width, by their bytes with nulls zeroed
            width = leaf.type.bit_width // 8
            data = np.frombuffer(leaf.buffers()[1], dtype=f"u{width}")
            data = data[leaf.offset : leaf.offset + len(leaf)]
            if leaf.null_count:
                data = np.where(leaf.is_valid().to_numpy(zero_copy_only=False), data, 0)
            keys.append(_bytes_per_row(data, offsets * width))
    return keys


def _leaves(elements: pa.Array) -> list[pa.Array] | None:
    """The element array's leaf arrays (its own validity included), struct fields in order."""
    t = elements.type
    if pa.types.is_dictionary(t):  # as Parquet can hand text over: each value's number
        numbers = _factorize_values(elements.dictionary)
        indices = elements.indices.cast(pa.int32())
        return [pc.take(pa.array(numbers, type=pa.int32()), indices)]
    if pa.types.is_struct(t):
        out: list[pa.Array] = [elements.is_valid()] if elements.null_count else []
        for child in elements.flatten():  # aligned with the struct's offset
            inner = _leaves(child)
            if inner is None:
                return None
            out.extend(inner)
        return out
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_boolean(t)
        or (
            (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t))
            and t.bit_width in (8, 16, 32, 64)
        )
    ):
        return [elements]
    return None


def _factorize_values(values: pa.Array) -> np.ndarray:
    """A number per value, equal for equal values (a dictionary may hold a value twice)."""
    numbers: np.ndarray = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    return numbers


def _string_keys(leaf: pa.Array, offsets: np.ndarray, width: type) -> list[pa.Array]:
    """The row's bytes of this string field, and the lengths that split them."""
    buffers = leaf.buffers()
    raw: np.ndarray = np.frombuffer(buffers[1], dtype=width)
    value_offsets = raw[leaf.offset : leaf.offset + len(leaf) + 1].astype(np.int64)
    data = buffers[2] if buffers[2] is not None else pa.py_buffer(b"")
    text = _view(data, value_offsets[offsets])
    lengths = np.diff(value_offsets)
    return [text, _bytes_per_row(lengths, offsets * 8)]


def _bytes_per_row(data: np.ndarray, byte_offsets: np.ndarray) -> pa.Array:
    return _view(pa.py_buffer(np.ascontiguousarray(data)), byte_offsets)


def _view(data: pa.Buffer, byte_offsets: np.ndarray) -> pa.Array:
    """A binary array whose i-th value is ``data[byte_offsets[i]:byte_offsets[i + 1]]``."""
    n = len(byte_offsets) - 1
    offsets = pa.py_buffer(np.ascontiguousarray(byte_offsets, dtype=np.int64))
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [None, offsets, data])


def _codes_in_python(array: pa.Array) -> np.ndarray:
    """Codes from each row's JSON text, for element types the buffers path does not read."""
    seen: dict[bytes, int] = {}
    codes = np.empty(len(array), dtype=np.int32)
    for i, row in enumerate(array.to_pylist()):
        key = orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS, default=repr)
        codes[i] = seen.setdefault(key, len(seen))
    return codes
