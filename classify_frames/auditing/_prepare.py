"""One normalised view of a jobs frame, whatever optional columns it lacks.

The audit reads the contract columns (``result.type``, ``result.confidence``, ``status`` ...) once
into short internal names, so every table works on any frame: one loaded from CSV without the
rules, one built by hand with only ids, types and confidences, or a full ``fetch_jobs`` frame.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import AuditWarning, ConfigurationError
from ..frame import RuleSetArray
from ._advice import FLAT_JOBS

__all__ = ["NO_MATCH", "objects", "prepare", "rule_set_ids"]

#: How a job whose rules all failed to match (``result.type`` null) is named in every table.
NO_MATCH = "no match"

_STRING = pd.StringDtype("pyarrow")


def _column(df: pd.DataFrame, name: str, dtype: Any = _STRING) -> pd.Series:
    if name in df.columns:
        return df[name]
    if dtype is _STRING:  # an all-null Arrow array, not millions of Python Nones
        empty = pd.array(pa.nulls(len(df), pa.string()), dtype=_STRING)
        return pd.Series(empty, index=df.index, name=name)
    return pd.Series(pd.array([None] * len(df), dtype=dtype), index=df.index, name=name)


def _categories(values: pd.Series) -> pd.Series:
    """``values`` as a categorical of strings (sorted categories, NaN where missing): the
    audit groups by configuration and rule set many times, and grouping codes is far cheaper
    than hashing a string per row each time."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        names = values.cat.categories
        if isinstance(names.dtype, pd.StringDtype) and names.is_monotonic_increasing:
            return values
        # categories of another kind (numbers, object): as strings, merged where they meet
        text = pd.Index([str(c) for c in names], dtype=_STRING)
        unique = text.unique().sort_values()
        codes = values.cat.codes.to_numpy()
        remap = np.append(unique.get_indexer(text), -1)
        return pd.Series(
            pd.Categorical.from_codes(remap[codes], dtype=pd.CategoricalDtype(unique)),
            index=values.index,
            name=values.name,
        )
    return values.astype(_STRING).astype("category")


def objects(values: pd.Series) -> np.ndarray:
    """The values as a numpy object array, None where missing."""
    return values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload,no-any-return]


def prepare(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[tuple[str, str]]]]:
    """Internal columns: id, status, completed, type, confidence, created_at, configuration_id,
    rule_set, document, reasoning, error_message, confidence_impossible (row order and index
    kept); and the rules of each rule set (see :func:`rule_set_ids`). ``type``,
    ``configuration_id`` and ``rule_set`` are categoricals of strings (sorted categories).

    A stated confidence outside [0, 1] or infinite cannot be a probability: it becomes NaN
    (``confidence_impossible`` marks it) with one warning counting them.

    A frame without ``status`` counts the rows with a result as completed; rows that could not be
    fetched (``fetch_error`` set) never count as completed. ``type`` is categorical, with
    :data:`NO_MATCH` for a completed job whose ``result.type`` is null.
    """
    if not isinstance(df, pd.DataFrame):
        msg = f"audit needs a DataFrame of jobs (see jobs_to_frame), got {type(df).__name__}"
        raise TypeError(msg)
    if "result.type" not in df.columns and "result.confidence" not in df.columns:
        msg = "the frame has neither 'result.type' nor 'result.confidence'"
        raise ConfigurationError(msg, hint=FLAT_JOBS)
    confidence = pd.to_numeric(_column(df, "result.confidence", "float64"), errors="coerce")
    confidence = confidence.astype("float64")
    raw_type = _column(df, "result.type").astype(_STRING)
    if "status" in df.columns:
        status = _statuses(df["status"])
    else:
        has_result = raw_type.notna() | confidence.notna()
        status = pd.Series(
            pd.Categorical(np.where(has_result.to_numpy(bool), "COMPLETED", "UNKNOWN")),
            index=df.index,
        )
    fetched = _column(df, "fetch_error").isna().to_numpy(bool)
    if not fetched.all():
        status = status.cat.add_categories(["FETCH ERROR"]).where(fetched, "FETCH ERROR")
    completed = (status == "COMPLETED").to_numpy(bool)
    types = _types(raw_type, completed, df.index)
    values = confidence.to_numpy()
    with np.errstate(invalid="ignore"):
        possible = np.isfinite(values) & (values >= 0) & (values <= 1)
    impossible = completed & confidence.notna().to_numpy(bool) & ~possible
    if impossible.any():
        _warn_impossible(values[impossible])
    confidence = confidence.where(completed & possible)
    created = _column(df, "created_at", "datetime64[us, UTC]")
    created = pd.to_datetime(created, utc=True, errors="coerce")
    rule_set, rules = rule_set_ids(_column(df, "configuration.rules", object))
    out = pd.DataFrame(
        {
            "id": _column(df, "id").astype(_STRING),
            "status": status,
            "completed": completed,
            "type": types,
            "confidence": confidence,
            "created_at": created,
            "configuration_id": _categories(_column(df, "configuration_id")),
            "rule_set": _categories(rule_set),
            # filled by cf.with_configuration_names (the service's names for configuration_id)
            "configuration_name": _column(df, "configuration.name").astype(_STRING),
            "configuration_version": _column(df, "configuration.version").astype(_STRING),
            "document": _column(df, "file_input").astype(_STRING),
            "reasoning": _column(df, "result.reasoning").astype(_STRING),
            "error_message": _column(df, "error_message").astype(_STRING),
            "confidence_impossible": impossible,
        },
        index=df.index,
    )
    return out, rules


def _types(raw: pd.Series, completed: np.ndarray, index: pd.Index) -> pd.Series:
    """The predicted type of each completed job (:data:`NO_MATCH` where it has none; NaN for
    other jobs) as a categorical of the types that occur, sorted: recoded from the distinct
    values, not by filling and hashing a string per row."""
    found = raw.astype("category")
    names = found.cat.categories
    every = names.append(pd.Index([NO_MATCH], dtype=names.dtype)).unique().sort_values()
    # old code -> new code, and a missing type (code -1, the last entry) -> NO_MATCH
    remap = np.append(every.get_indexer(names), every.get_indexer(pd.Index([NO_MATCH])))
    recoded = np.where(completed, remap[found.cat.codes.to_numpy()], -1)
    # only the types of completed jobs are categories (a bincount, not a sort of the codes)
    used = np.bincount(recoded[recoded >= 0], minlength=len(every)) > 0
    final = np.append(np.cumsum(used) - 1, -1)[recoded]
    categorical = pd.Categorical.from_codes(final, dtype=pd.CategoricalDtype(every[used]))
    return pd.Series(categorical, index=index)


def _warn_impossible(values: np.ndarray) -> None:
    """Warn once per frame about confidences outside [0, 1] or infinite, with examples."""
    examples = ", ".join(f"{v:g}" for v in pd.unique(values)[:3])
    msg = (
        f"{len(values)} completed job(s) state an impossible confidence ({examples}: outside "
        "0..1 or infinite); they are left out of calibration, ECE, Brier, AUROC and thresholds "
        "(their type and correctness still count)"
    )
    warnings.warn(msg, AuditWarning, stacklevel=4)


def _statuses(status: pd.Series) -> pd.Series:
    """Statuses as an upper-case categorical, ``UNKNOWN`` where missing (per category, not row)."""
    status = status.astype("category")
    upper = [str(c).upper() for c in status.cat.categories]
    if len(set(upper)) == len(upper):
        status = status.cat.rename_categories(upper)
    else:  # "completed" and "COMPLETED" both present: merge them row by row
        status = status.astype(str).str.upper().astype("category")
    if status.isna().any():
        status = status.cat.add_categories(["UNKNOWN"]).fillna("UNKNOWN")
    return status


def rule_set_ids(rules: pd.Series) -> tuple[pd.Series, dict[str, list[tuple[str, str]]]]:
    """A stable fingerprint of each row's rules, and each fingerprint's ``(type, description)``s.

    The fingerprint is the first 10 hex digits of the SHA-256 of the sorted ``(type, description)``
    pairs, so it names a rule set across datasets and sessions whatever the rules' order. Rows
    are grouped first by a 64-bit hash of their rules computed in numpy (a million rows share a
    handful of rule sets), and the fingerprint is computed once per group, from one of its rows.

    >>> import pyarrow as pa
    >>> from classify_frames.frame import RULE_TYPE
    >>> rules = pd.Series(pd.array([[{"type": "a", "description": "x"}], None],
    ...                            dtype=pd.ArrowDtype(pa.list_(RULE_TYPE))))
    >>> ids, sets = rule_set_ids(rules)
    >>> ids.isna().tolist(), sets[ids[0]]
    ([False, True], [('a', 'x')])
    """
    sets: dict[str, list[tuple[str, str]]] = {}
    if isinstance(rules.array, RuleSetArray):  # each distinct set once, rows by their codes
        held = rules.array
        digests = np.array([_digest(r, sets) for r in held.categories.to_pylist()] + [None])
        names = digests[held.codes]
        return pd.Series(pd.array(names, dtype=_STRING), index=rules.index), sets
    arrow = _as_arrow_rules(rules)
    names = np.full(len(rules), None, dtype=object)
    if arrow is not None and arrow.num_chunks:
        # chunk by chunk: combining the chunks of nested lists costs more than all the rest
        valid = np.concatenate([c.is_valid().to_numpy(zero_copy_only=False) for c in arrow.chunks])
        hashes = _row_hashes(arrow)[valid]
        rows = np.flatnonzero(valid)
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        found = [_digest(arrow[int(row)].as_py(), sets) for row in rows[first]]
        names[rows] = np.array(found, dtype=object)[inverse]
    return pd.Series(pd.array(names, dtype=_STRING), index=rules.index), sets


def _digest(rules: list[dict[str, Any]], sets: dict[str, list[tuple[str, str]]]) -> str:
    """The fingerprint of one rule set, recorded with its sorted ``(type, description)``s."""
    pairs = sorted((str(r.get("type") or ""), str(r.get("description") or "")) for r in rules)
    digest = hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:10]
    sets[digest] = pairs
    return digest


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads equal-looking integers over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = x ^ (x >> np.uint64(31))
    return out


def _row_hashes(rules: pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash per row of its multiset of rules (order-insensitive, like the fingerprint).

    Each distinct type and description is numbered once by Arrow's dictionary encoding (over
    all chunks together); a rule is the mixed pair of numbers, and a row the wrapping sum of its
    rules mixed with its length.
    """
    flats = [chunk.flatten() for chunk in rules.chunks]
    lengths = np.concatenate([np.diff(chunk.offsets.to_numpy()) for chunk in rules.chunks])
    codes = []
    for field in ("type", "description"):
        values = pa.chunked_array([pc.struct_field(flat, field) for flat in flats])
        encoded = pc.dictionary_encode(values).unify_dictionaries()
        indices = [pc.fill_null(c.indices, -1).to_numpy() for c in encoded.chunks]
        codes.append(np.concatenate([np.zeros(0, np.int64), *indices]).astype(np.int64) + 1)
    size = np.uint64(int(codes[1].max(initial=0)) + 1)
    rule = _mix(codes[0].astype(np.uint64) * size + codes[1].astype(np.uint64))
    starts = np.cumsum(lengths) - lengths
    sums = np.zeros(len(lengths), dtype=np.uint64)
    filled = lengths > 0
    if len(rule):
        sums[filled] = np.add.reduceat(rule, starts[filled])
    return _mix(sums ^ _mix(lengths.astype(np.uint64)))


def _as_arrow_rules(rules: pd.Series) -> pa.ChunkedArray | None:
    if rules.isna().all():
        return None
    if isinstance(rules.dtype, pd.ArrowDtype) and pa.types.is_list(rules.dtype.pyarrow_dtype):
        data = pa.array(rules)
    else:  # lists of dicts, or JSON text (a frame read back from CSV)
        values = [_json_or_none(v) if isinstance(v, str) else v for v in rules]
        rule_type = pa.struct([("description", pa.string()), ("type", pa.string())])
        data = pa.array(
            [v if isinstance(v, list) else None for v in values], type=pa.list_(rule_type)
        )
    chunked = data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])
    kind = chunked.type
    return chunked if pa.types.is_list(kind) or pa.types.is_large_list(kind) else None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
