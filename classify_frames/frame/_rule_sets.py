"""``configuration.rules`` as a pandas extension array: each distinct rule set held once.

A million jobs share a handful of rule sets; as a plain list column every row held its own copy
(780 bytes a job, and past 2 GB of text pyarrow could no longer filter the column). Here a row
is a 4-byte code into the distinct rule sets, and still reads as its list of rule dicts:

>>> df = cf.jobs_to_frame(jobs)                               # doctest: +SKIP
>>> df["configuration.rules"].iloc[0]                         # doctest: +SKIP
[{'description': 'an invoice ...', 'type': 'invoice'}, ...]
>>> df.groupby("configuration.rules").size()                  # doctest: +SKIP

Filters, sorts, ``concat``, ``groupby``, ``value_counts``, ``drop_duplicates``, pickling and
pandas' own writers (``to_parquet`` writes plain lists; ``to_json``, ``to_csv``) all work, and
``pd.read_parquet`` gives the array back when classify_frames is imported.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import (
    ExtensionArray,
    ExtensionDtype,
    no_default,
    register_extension_dtype,
)
from pandas.api.extensions import take as _take
from pandas.api.indexers import check_array_indexer

from ._json_arrow import any_array, as_text
from ._rule_codes import factorize_lists

__all__ = [
    "ABSENT",
    "RULE_TYPE",
    "RuleSetArray",
    "RuleSetDtype",
    "rule_sets_from_arrow",
    "rule_sets_to_arrow",
    "rules_table",
]

#: One rule of the contract, as Arrow holds it.
RULE_TYPE = pa.struct([("description", pa.string()), ("type", pa.string())])
_CONTRACT = tuple(RULE_TYPE.names)

#: In Arrow, the keys a rule lacks that other rules of the column have (a struct cannot leave
#: a field out): null when it lacks none. Only rules whose keys differ carry it.
ABSENT = "__absent__"

#: Rows per chunk when the rules go back to Arrow as plain lists: Arrow's 32-bit offsets hold
#: 2 GB of text per array, so a chunk gets at most 1 GB of it.
_CHUNK_BYTES = 2**30


@register_extension_dtype
class RuleSetDtype(ExtensionDtype):
    """The dtype of ``configuration.rules``: a list of ``{description, type}`` dicts per row."""

    name: ClassVar[str] = "rule_sets"  # type: ignore[misc]
    type = list
    kind = "O"
    na_value = pd.NA

    def __repr__(self) -> str:
        return "RuleSetDtype()"

    @classmethod
    def construct_array_type(cls) -> builtins.type[RuleSetArray]:
        return RuleSetArray

    def __from_arrow__(self, array: pa.Array | pa.ChunkedArray) -> RuleSetArray:
        """Plain list columns (a Parquet file's) and dictionary-encoded ones alike."""
        codes, distinct = factorize_lists(array)
        return RuleSetArray(codes, distinct)


class RuleSetArray(ExtensionArray):
    """Rule sets as codes (int32, -1 where missing) into ``categories``, the distinct sets.

    >>> arr = RuleSetArray._from_sequence([[{"description": "d", "type": "a"}], None])
    >>> arr[0], arr.codes.tolist(), len(arr.categories)
    ([{'description': 'd', 'type': 'a'}], [0, -1], 1)
    """

    _dtype = RuleSetDtype()
    _readonly = False  # pandas sets it on arrays it hands out as read-only views
    __array_priority__ = 1000

    def __init__(self, codes: np.ndarray, categories: pa.Array | _Store) -> None:
        self._codes = np.asarray(codes, dtype=np.int32)
        # shared by the views of this array: a set assigned through one is seen by all
        self._store = categories if isinstance(categories, _Store) else _Store(categories)

    @property
    def _categories(self) -> pa.Array:
        return self._store.categories

    # -- what the frame exposes ----------------------------------------------------------------

    @property
    def codes(self) -> np.ndarray:
        """Each row's index into :attr:`categories` (-1 where the row has no rules)."""
        return self._codes

    @property
    def categories(self) -> pa.Array:
        """The distinct rule sets, each once, as an Arrow list array (after assignments, some
        may be used by no row)."""
        return self._categories

    @property
    def dtype(self) -> RuleSetDtype:
        return self._dtype

    @property
    def nbytes(self) -> int:
        return int(self._codes.nbytes + self._categories.nbytes)

    def __len__(self) -> int:
        return len(self._codes)

    def _category_lists(self) -> list[Any]:
        return self._store.lists()

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> RuleSetArray:
        if isinstance(scalars, RuleSetArray):
            return scalars.copy() if copy else scalars
        if isinstance(scalars, pd.Series | pd.Index):
            scalars = scalars.array
        if isinstance(scalars, RuleSetArray):
            return scalars.copy() if copy else scalars
        rows = [None if _missing(v) else _as_rules(v) for v in scalars]
        for row in rows:
            if row is not None and not _is_rule_set(row):
                msg = f"rule sets must be lists of rule objects (dicts), got {row!r:.80}"
                raise TypeError(msg)
        codes, distinct = factorize_lists(rule_sets_to_arrow(rows))
        return cls(codes, distinct)

    @classmethod
    def _from_factorized(cls, values: np.ndarray, original: RuleSetArray) -> RuleSetArray:
        return cls._from_sequence([None if v is None else orjson.loads(v) for v in values])

    def _values_for_factorize(self) -> tuple[np.ndarray, Any]:
        """Each row's rule set as JSON text (one string per distinct set, shared by its rows),
        so that hashing, ``merge`` and ``drop_duplicates`` agree across arrays."""
        texts = np.empty(len(self._categories) + 1, dtype=object)
        texts[:-1] = [orjson.dumps(v).decode() for v in self._category_lists()]
        texts[-1] = None
        return texts[self._codes], None

    # -- element access ------------------------------------------------------------------------

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, tuple) and len(item) == 1:
            item = item[0]
        if isinstance(item, numbers.Integral):
            code = self._codes[item]
            if code < 0:
                return self._dtype.na_value
            rules = self._category_lists()[code]
            return [dict(rule) if isinstance(rule, dict) else rule for rule in rules]
        if isinstance(item, slice):
            view = RuleSetArray(self._codes[item], self._store)
            view._readonly = self._readonly
            return view
        item = check_array_indexer(self, item)
        return RuleSetArray(self._codes[item], self._store)

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._readonly:
            msg = "Cannot modify read-only array"
            raise ValueError(msg)
        if not isinstance(key, numbers.Integral | slice):
            key = check_array_indexer(self, key)
        scalar = _missing(value) or _is_rule_set(value)
        other = RuleSetArray._from_sequence([value] if scalar else value)
        # this array's sets come first in the union, so its own codes keep their meaning
        categories, (_, theirs) = _union([self, other])
        self._store.extend(categories)
        self._codes[key] = theirs[0] if scalar else theirs

    def _explode(self) -> tuple[np.ndarray, np.ndarray]:
        """``Series.explode``: one row per rule (a dict), and one missing row for a job with
        no rules, as pandas does for an empty list."""
        sets = self._category_lists()
        sizes = np.array([max(1, len(rules)) for rules in sets] + [1], dtype=np.uint64)
        counts = sizes[self._codes]
        values = np.empty(int(counts.sum()), dtype=object)
        at = 0
        for code in self._codes.tolist():
            rules = sets[code] if code >= 0 else None
            if not rules:
                values[at] = np.nan
                at += 1
                continue
            for rule in rules:
                values[at] = dict(rule)
                at += 1
        return values, counts

    def isna(self) -> np.ndarray:
        return self._codes < 0

    def take(
        self, indices: Any, *, allow_fill: bool = False, fill_value: Any = None
    ) -> RuleSetArray:
        if allow_fill and not _missing(fill_value):
            with_fill = _concat([self, RuleSetArray._from_sequence([fill_value])])
            fill = int(with_fill._codes[-1])
            codes = _take(with_fill._codes[:-1], indices, allow_fill=True, fill_value=fill)
            return RuleSetArray(np.asarray(codes), with_fill._categories)
        codes = _take(self._codes, indices, allow_fill=allow_fill, fill_value=-1)
        return RuleSetArray(np.asarray(codes), self._store)

    def copy(self) -> RuleSetArray:
        return RuleSetArray(self._codes.copy(), self._categories)

    @classmethod
    def _concat_same_type(cls, to_concat: Sequence[RuleSetArray]) -> RuleSetArray:
        return _concat(list(to_concat))

    # -- conversion ----------------------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Object array of lists (``pd.NA`` where missing): one fresh list per distinct set,
        shared by its rows."""
        if copy is False:
            msg = "rule sets cannot be viewed as a numpy array without a copy"
            raise ValueError(msg)
        if dtype is not None and np.dtype(dtype) != object:
            return np.asarray(self.__array__(), dtype=dtype)
        sets = np.empty(len(self._categories) + 1, dtype=object)
        sets[:-1] = rule_sets_from_arrow(self._categories)
        sets[-1] = pd.NA
        out: np.ndarray = sets[self._codes]
        return out

    def to_numpy(
        self, dtype: Any = None, copy: bool = False, na_value: Any = no_default
    ) -> np.ndarray:
        """Object array of lists (always a new array: the lists are made from Arrow's sets)."""
        out = np.asarray(self, dtype=dtype)
        if na_value is not no_default and self.isna().any():
            out[self.isna()] = na_value
        return out

    def __arrow_array__(self, type: pa.DataType | None = None) -> pa.Array | pa.ChunkedArray:
        """Plain Arrow lists (what Parquet stores and other readers expect), in chunks that
        keep within Arrow's 32-bit offsets."""
        categories = self._categories
        if type is not None and pa.types.is_dictionary(type):
            indices = pa.array(self._codes, mask=self._codes < 0, type=type.index_type)
            return pa.DictionaryArray.from_arrays(indices, categories.cast(type.value_type))
        if type is not None and type != categories.type:
            categories = categories.cast(type)
        indices = pa.array(self._codes, mask=self._codes < 0)
        step = max(1, _CHUNK_BYTES // max(1, categories.nbytes))  # no row holds more than all
        if len(indices) <= step:
            return categories.take(indices)
        chunks = [categories.take(indices.slice(s, step)) for s in range(0, len(indices), step)]
        return pa.chunked_array(chunks, type=categories.type)

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        dtype = pd.api.types.pandas_dtype(dtype)
        if isinstance(dtype, RuleSetDtype):
            return self.copy() if copy else self
        if isinstance(dtype, ExtensionDtype):
            array_type: Any = dtype.construct_array_type()
            return array_type._from_sequence(np.asarray(self), dtype=dtype)
        return np.asarray(self).astype(dtype)

    # -- comparisons and grouping --------------------------------------------------------------

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        if isinstance(other, pd.Series | pd.Index | pd.DataFrame):
            return NotImplemented
        if _never_a_rule_set(other):  # as numpy and pandas' strings: unequal, not an error
            return np.zeros(len(self), dtype=bool)
        mine, theirs = self._aligned(other)
        return (mine == theirs) & (mine >= 0) & (theirs >= 0)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        if isinstance(other, pd.Series | pd.Index | pd.DataFrame):
            return NotImplemented
        result: np.ndarray = ~self.__eq__(other)
        return result

    def _aligned(self, other: Any) -> tuple[np.ndarray, np.ndarray]:
        """This array's codes and ``other``'s (one rule set, or one per row) over shared sets."""
        scalar = _missing(other) or _is_rule_set(other)
        theirs = RuleSetArray._from_sequence([other] if scalar else other)
        if not scalar and len(theirs) != len(self):
            msg = f"cannot compare {len(self)} rule sets with {len(theirs)}"
            raise ValueError(msg)
        _, (mine, codes) = _union([self, theirs])
        return mine, np.broadcast_to(codes, mine.shape) if scalar else codes

    def factorize(self, use_na_sentinel: bool = True) -> tuple[np.ndarray, RuleSetArray]:
        rows = np.flatnonzero(self._codes >= 0)
        if not len(rows):
            codes = np.full(len(self), -1 if use_na_sentinel else 0, dtype=np.intp)
            none = RuleSetArray(np.zeros(0, np.int32), self._categories)
            return codes, none if use_na_sentinel or not len(self) else self[:1]
        used, first = np.unique(self._codes[rows], return_index=True)
        order = used[np.argsort(first, kind="stable")]  # in order of first appearance
        dense = np.full(len(self._categories), -1, dtype=np.intp)
        dense[order] = np.arange(len(order))
        codes = np.where(self._codes >= 0, dense[np.maximum(self._codes, 0)], -1).astype(np.intp)
        uniques = RuleSetArray(np.arange(len(order), dtype=np.int32), self._categories.take(order))
        if not use_na_sentinel and (codes < 0).any():
            codes[codes < 0] = len(order)
            uniques = _concat([uniques, RuleSetArray(np.array([-1]), self._categories)])
        return codes, uniques

    def unique(self) -> RuleSetArray:
        _, first = np.unique(self._codes, return_index=True)
        return self.take(np.sort(first))

    def duplicated(self, keep: Any = "first") -> np.ndarray:
        return pd.Series(self._codes).duplicated(keep=keep).to_numpy()

    def value_counts(self, dropna: bool = True) -> pd.Series:
        counts = np.bincount(self._codes[self._codes >= 0], minlength=len(self._categories))
        used = np.flatnonzero(counts)
        values = RuleSetArray(used.astype(np.int32), self._categories)
        missing = int((self._codes < 0).sum())
        if not dropna and missing:
            values = _concat([values, RuleSetArray(np.array([-1]), self._categories)])
            counts = np.append(counts[used], missing)
        else:
            counts = counts[used]
        return pd.Series(pd.array(counts, dtype="Int64"), index=pd.Index(values), name="count")

    def _values_for_argsort(self) -> np.ndarray:
        """Rows ordered by their rule sets' JSON text (a stable, if arbitrary, order)."""
        texts = [orjson.dumps(v, option=orjson.OPT_SORT_KEYS) for v in self._category_lists()]
        rank = np.empty(len(texts) + 1, dtype=np.int64)
        rank[:-1] = np.argsort(np.argsort(np.array(texts, dtype=object), kind="stable"))
        rank[-1] = -1
        out: np.ndarray = rank[self._codes]
        return out


def rule_sets_to_arrow(sets: Sequence[Any]) -> pa.ListArray:
    """Rule sets (lists of rule dicts, or None) as an Arrow list of rule structs, each rule
    with exactly its own keys: ``description`` and ``type`` as strings, then every other key
    a rule has, with its own type (JSON text where values disagree), then :data:`ABSENT`
    where rules' keys differ. Plain rules (``description`` and ``type`` only) are
    :data:`RULE_TYPE`."""
    rules = [rule for row in sets if type(row) is list for rule in row]
    seen: dict[str, None] = {}
    for rule in rules:
        seen.update(dict.fromkeys(rule))
    others = sorted(k for k in seen if k not in _CONTRACT)
    names = [*_CONTRACT, *others]
    children = [
        pa.array([as_text(rule.get(key)) for rule in rules], type=pa.string())
        if key in _CONTRACT
        else any_array([rule.get(key) for rule in rules])
        for key in names
    ]
    absent = [[k for k in names if k not in rule] or None for rule in rules]
    if any(absent):
        names.append(ABSENT)
        children.append(pa.array(absent, type=pa.list_(pa.string())))
    offsets = [0]
    for row in sets:
        offsets.append(offsets[-1] + (len(row) if type(row) is list else 0))
    return pa.ListArray.from_arrays(
        pa.array(offsets, type=pa.int32()),
        pa.StructArray.from_arrays(children, names=names)
        if rules or names != list(_CONTRACT)
        else pa.array([], type=RULE_TYPE),
        mask=pa.array([type(row) is not list for row in sets], type=pa.bool_()),
    )


def rule_sets_from_arrow(categories: pa.Array) -> list[Any]:
    """The Python lists of :func:`rule_sets_to_arrow`'s array: each rule with exactly the keys
    it was made with (those :data:`ABSENT` names left out)."""
    sets: list[Any] = categories.to_pylist()
    value_type = categories.type.value_type
    if not (pa.types.is_struct(value_type) and value_type.get_field_index(ABSENT) >= 0):
        return sets
    for rules in sets:
        for rule in rules or ():
            for key in rule.pop(ABSENT) or ():
                rule.pop(key, None)
    return sets


def rules_table(ids: pd.Series, rules: pd.Series) -> pd.DataFrame:
    """One row per job and rule: ``id``, ``rule`` (the rule's place in its job's list, from 0),
    ``type``, ``description``, then every other key rules have (missing where a rule lacks it).
    Jobs without rules have no row."""
    array = rules.array if isinstance(rules.dtype, RuleSetDtype) else None
    if not isinstance(array, RuleSetArray):
        array = RuleSetArray._from_sequence(rules)
    codes = array.codes
    categories = array.categories
    sizes = np.append(pc.list_value_length(categories).fill_null(0).to_numpy(), 0)
    starts = np.append(np.cumsum(sizes[:-1]) - sizes[:-1], 0)
    per_row = sizes[codes]  # -1 picks the appended 0
    rows = np.repeat(np.arange(len(codes)), per_row)
    ends = np.cumsum(per_row)
    place = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - per_row, per_row)
    flat = categories.flatten().take(pa.array(starts[codes][rows] + place, type=pa.int64()))
    if not pa.types.is_struct(flat.type):  # no rule anywhere to give the rules a type
        flat = pa.array([], type=RULE_TYPE)
    columns: dict[str, Any] = {
        "id": ids.iloc[rows].reset_index(drop=True),
        "rule": pd.array(place, dtype="int64"),
    }
    absent = flat.field(ABSENT).to_pylist() if flat.type.get_field_index(ABSENT) >= 0 else None
    names = [n for n in ("type", "description") if flat.type.get_field_index(n) >= 0]
    names += [f.name for f in flat.type if f.name not in (*_CONTRACT, ABSENT)]
    for name in names:
        values = flat.field(name)
        if pa.types.is_string(values.type):
            column: Any = pd.array(values, dtype=pd.StringDtype("pyarrow"))
        else:  # other keys keep their own Arrow type (numbers, lists, structs)
            column = pd.arrays.ArrowExtensionArray(values)
        if absent is not None:
            lacking = np.array([name in (keys or ()) for keys in absent], dtype=bool)
            if lacking.any():
                column = pd.Series(column).mask(lacking).array
        columns[name] = column
    return pd.DataFrame(columns)


class _Store:
    """The distinct rule sets of an array and of its views, as Arrow and (once asked) Python."""

    def __init__(self, categories: pa.Array) -> None:
        self.categories = _plain_list(categories)
        self._lists: list[Any] | None = None

    def lists(self) -> list[Any]:
        if self._lists is None:
            self._lists = rule_sets_from_arrow(self.categories)
        return self._lists

    def extend(self, categories: pa.Array) -> None:
        """Take a union whose first sets are these (codes already given keep their meaning)."""
        if categories is not self.categories:
            self.categories, self._lists = _plain_list(categories), None


def _plain_list(categories: pa.Array) -> pa.Array:
    """The sets as ``list<item: ...>`` whatever their source called the field (Parquet says
    "element") or however wide its offsets: one type, so arrays from anywhere concatenate."""
    kind = pa.list_(categories.type.value_type)
    return categories if categories.type == kind else categories.cast(kind)


def _never_a_rule_set(value: Any) -> bool:
    """A scalar no rule set equals (``0``, ``"x"``, one rule's dict), as against a rule set,
    a missing value, or a sequence of either (one per row)."""
    if _missing(value) or _is_rule_set(value):
        return False
    return isinstance(value, str | bytes | dict) or not pd.api.types.is_list_like(value)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _is_rule_set(value: Any) -> bool:
    """One rule set (a list of rule dicts, perhaps empty), not a sequence of them. pandas hands
    a list it compares with as an object array, so that counts too."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = list(value)
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _as_rules(value: Any) -> Any:
    if isinstance(value, np.ndarray | tuple):
        return list(value)
    if isinstance(value, str):  # a frame read back from CSV or JSON text
        parsed = orjson.loads(value)
        return parsed
    return value


def _union(arrays: list[RuleSetArray]) -> tuple[pa.Array, list[np.ndarray]]:
    """The arrays' categories merged (each set once), and each array's codes over them."""
    if all(a._categories is arrays[0]._categories for a in arrays):
        return arrays[0]._categories, [a._codes.copy() for a in arrays]
    categories = _common(a._categories for a in arrays)
    merged, distinct = factorize_lists(pa.concat_arrays(categories))
    out, start = [], 0
    for a, c in zip(arrays, categories, strict=True):
        remap = np.append(merged[start : start + len(c)], np.int32(-1))
        out.append(remap[a._codes])
        start += len(c)
    return distinct, out


def _common(categories: Any) -> list[pa.Array]:
    """Category arrays as one type: empty ones adapt; rule structs that differ are made again
    together, so that each rule keeps exactly its own keys."""
    arrays = list(categories)
    typed = [a for a in arrays if not pa.types.is_null(a.type.value_type) and len(a)]
    if not typed:
        return [a.cast(arrays[0].type) for a in arrays]
    target = typed[0].type
    if all(a.type == target for a in typed):
        return [
            a if a.type == target else a.cast(target) if len(a) else pa.array([], type=target)
            for a in arrays
        ]
    return _reencoded(arrays)


def _reencoded(arrays: list[pa.Array]) -> list[pa.Array]:
    """Category arrays of differing rule types as one type, each rule keeping its own keys."""
    sets = [rule_sets_from_arrow(a) for a in arrays]
    joined = rule_sets_to_arrow([s for part in sets for s in part])
    out, start = [], 0
    for part in sets:
        out.append(joined.slice(start, len(part)))
        start += len(part)
    return out


def _concat(arrays: list[RuleSetArray]) -> RuleSetArray:
    categories, codes = _union(arrays)
    if not codes:
        return RuleSetArray(np.zeros(0, np.int32), categories)
    return RuleSetArray(np.concatenate(codes), categories)
