"""One normalised view of a jobs frame, whatever optional columns it lacks.

The audit reads the contract columns (``result.type``, ``result.confidence``, ``status`` ...) once
into short internal names, so every table works on any frame: one loaded from CSV without the
rules, one built by hand with only ids, types and confidences, or a full ``fetch_jobs`` frame.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["NO_MATCH", "objects", "prepare", "rule_set_ids"]

#: How a job whose rules all failed to match (``result.type`` null) is named in every table.
NO_MATCH = "no match"

_STRING = pd.StringDtype("pyarrow")
_RULE_SEP, _FIELD_SEP = "\x1e", "\x1f"


def _column(df: pd.DataFrame, name: str, dtype: Any = _STRING) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.array([None] * len(df), dtype=dtype), index=df.index, name=name)


def objects(values: pd.Series) -> np.ndarray:
    """The values as a numpy object array, None where missing."""
    return values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload,no-any-return]


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Internal columns: id, status, completed, type, confidence, created_at, configuration_id,
    rule_set, document, reasoning, error_message (row order and index kept).

    A frame without ``status`` counts the rows with a result as completed; rows that could not be
    fetched (``fetch_error`` set) never count as completed. ``type`` is categorical, with
    :data:`NO_MATCH` for a completed job whose ``result.type`` is null.
    """
    if not isinstance(df, pd.DataFrame):
        msg = f"audit needs a DataFrame of jobs (see jobs_to_frame), got {type(df).__name__}"
        raise TypeError(msg)
    if "result.type" not in df.columns and "result.confidence" not in df.columns:
        msg = (
            "the frame has neither 'result.type' nor 'result.confidence': audit needs the "
            "flat frame of jobs_to_frame/fetch_jobs (not nested=True)"
        )
        raise ValueError(msg)
    confidence = pd.to_numeric(_column(df, "result.confidence", "float64"), errors="coerce")
    confidence = confidence.astype("float64")
    raw_type = _column(df, "result.type").astype(_STRING)
    if "status" in df.columns:
        status = df["status"].astype(_STRING).str.upper().fillna("UNKNOWN")
    else:
        has_result = raw_type.notna() | confidence.notna()
        status = pd.Series(
            np.where(has_result.to_numpy(bool), "COMPLETED", "UNKNOWN"), index=df.index
        ).astype(_STRING)
    fetched = _column(df, "fetch_error").isna().to_numpy(bool)
    completed = (status == "COMPLETED").to_numpy(bool) & fetched
    types = raw_type.where(~(raw_type.isna() & completed), NO_MATCH).where(completed)
    confidence = confidence.where(completed & np.isfinite(confidence.to_numpy()))
    created = _column(df, "created_at", "datetime64[us, UTC]")
    created = pd.to_datetime(created, utc=True, errors="coerce")
    rule_set, _ = rule_set_ids(_column(df, "configuration.rules", object))
    out = pd.DataFrame(
        {
            "id": _column(df, "id").astype(_STRING),
            "status": status.where(fetched, "FETCH ERROR"),
            "completed": completed,
            "type": pd.Categorical(objects(types)),
            "confidence": confidence,
            "created_at": created,
            "configuration_id": _column(df, "configuration_id").astype(_STRING),
            "rule_set": rule_set.to_numpy(),
            "document": _column(df, "document_input_value").astype(_STRING),
            "reasoning": _column(df, "result.reasoning").astype(_STRING),
            "error_message": _column(df, "error_message").astype(_STRING),
        },
        index=df.index,
    )
    out["rule_set"] = out["rule_set"].astype(_STRING)
    return out


def rule_set_ids(rules: pd.Series) -> tuple[pd.Series, dict[str, list[tuple[str, str]]]]:
    """A stable fingerprint of each row's rules, and each fingerprint's ``(type, description)``s.

    The fingerprint is the first 10 hex digits of the SHA-256 of the sorted ``(type, description)``
    pairs, so it names a rule set across datasets and sessions whatever the rules' order. The
    work is done once per distinct rule set (Arrow joins each row's rules into one string).

    >>> import pyarrow as pa
    >>> from classify_frames._schema import RULE_TYPE
    >>> rules = pd.Series(pd.array([[{"type": "a", "description": "x"}], None],
    ...                            dtype=pd.ArrowDtype(pa.list_(RULE_TYPE))))
    >>> ids, sets = rule_set_ids(rules)
    >>> ids.isna().tolist(), sets[ids[0]]
    ([False, True], [('a', 'x')])
    """
    keys = _rule_keys(rules)
    encoded = keys.dictionary_encode()
    fingerprints: list[str] = []
    sets: dict[str, list[tuple[str, str]]] = {}
    for key in encoded.dictionary.to_pylist():
        pairs = sorted(
            (tuple(rule.split(_FIELD_SEP, 1)) for rule in key.split(_RULE_SEP)) if key else []
        )
        pairs_list = [(str(p[0]), str(p[1]) if len(p) > 1 else "") for p in pairs]
        digest = hashlib.sha256(json.dumps(pairs_list).encode()).hexdigest()[:10]
        fingerprints.append(digest)
        sets[digest] = pairs_list
    names = pa.array(fingerprints, type=pa.string())
    indices = encoded.indices
    values = pc.take(names, indices) if len(names) else pa.nulls(len(indices), pa.string())
    series = values.to_pandas(types_mapper=lambda _: _STRING).set_axis(rules.index)
    return series.astype(_STRING), sets


def _rule_keys(rules: pd.Series) -> pa.Array:
    """One string per row holding its rules (``type<US>description`` joined by ``<RS>``)."""
    arrow = _as_arrow_rules(rules)
    if arrow is None:
        return pa.nulls(len(rules), pa.string())
    values = arrow.values
    kinds = pc.fill_null(pc.struct_field(values, "type"), "")
    descriptions = pc.fill_null(pc.struct_field(values, "description"), "")
    elements = pc.binary_join_element_wise(kinds, descriptions, _FIELD_SEP)
    lists = pa.ListArray.from_arrays(arrow.offsets, elements, mask=arrow.is_null())
    return pc.binary_join(lists, _RULE_SEP)


def _as_arrow_rules(rules: pd.Series) -> pa.ListArray | None:
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
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    if not isinstance(data, pa.ListArray):
        return None
    if data.offset:  # ListArray.from_arrays refuses a null mask with sliced offsets: rebase
        data = pa.concat_arrays([data])
    return data


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
