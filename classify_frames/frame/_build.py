"""Job JSON -> Arrow -> typed pandas frame, following the column contract of :mod:`._schema`.

The fast path hands every job dict to Arrow in one call (C++ does the parsing of known fields);
only when a server sends a value of the wrong type (a confidence as a string, say) are the jobs
coerced one by one in Python. Unknown fields are never dropped: they become extra columns,
nested ones flattened with dots.
"""

from __future__ import annotations

import gc
import io
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from ._dictionary import encode_ids
from ._json_arrow import any_array, as_text, has_empty_struct
from ._rule_codes import factorize_lists
from ._rule_sets import RuleSetDtype, rule_sets_to_arrow
from ._schema import (
    JOB_TYPE,
    KNOWN_COLUMNS,
    NESTED_GROUPS,
    REPEATED_COLUMNS,
    RULE_TYPE,
    STATUSES,
    TAIL_COLUMNS,
    TIMESTAMP_COLUMNS,
    status_dtype,
)

__all__ = [
    "JobsInput",
    "build_frame",
    "empty_frame",
    "encode_table",
    "frame_from_table",
    "jobs_to_frame",
]

JobsInput = Iterable[Mapping[str, Any]] | bytes | str | os.PathLike[str]

_STRING = pd.StringDtype("pyarrow")
_CATEGORIES = pd.StringDtype("pyarrow", na_value=float("nan"))  # pandas' "str"


def jobs_to_frame(jobs: JobsInput, *, nested: bool = False) -> pd.DataFrame:
    """Turn job objects you already have into the typed frame that ``fetch_jobs`` returns.

    ``jobs`` is a list of dicts, JSON bytes (an array, one ``{"items": [...]}`` page, or JSON
    lines), or the path of a ``.json`` / ``.jsonl`` file.

    >>> df = jobs_to_frame([{"id": "j1", "status": "COMPLETED",
    ...                      "result": {"type": "invoice", "confidence": 0.9, "reasoning": "..."}}])
    >>> df.loc[0, "result.type"], float(df.loc[0, "result.confidence"])
    ('invoice', 0.9)
    """
    source: Iterable[Mapping[str, Any]] | bytes
    if isinstance(jobs, str) and jobs.lstrip()[:1] in ("{", "["):
        source = jobs.encode()
    elif isinstance(jobs, str | os.PathLike):
        source = _read_file(jobs)
    elif isinstance(jobs, bytearray | memoryview):
        source = bytes(jobs)
    elif isinstance(jobs, Mapping):
        msg = "jobs_to_frame takes a list of jobs, not one job: wrap it, [job]"
        raise TypeError(msg)
    elif not isinstance(jobs, Iterable):
        msg = f"jobs_to_frame takes dicts, JSON bytes or a path, not {type(jobs).__name__}"
        raise TypeError(msg)
    else:
        source = jobs
    if isinstance(source, bytes):
        parsed = _read_json_lines(source, nested=nested)
        if parsed is not None:
            return _assemble(*parsed, nested=nested)
    with _gc_paused():
        return build_frame(_load_records(source), nested=nested)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while millions of acyclic JSON objects are made (2-3x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def empty_frame(*, nested: bool = False) -> pd.DataFrame:
    """A frame with no rows and every contract column at its dtype."""
    return build_frame([], nested=nested)


def build_frame(
    records: Sequence[dict[str, Any]],
    *,
    fetch_errors: Sequence[str | None] | None = None,
    http_status: Sequence[int | None] | None = None,
    nested: bool = False,
) -> pd.DataFrame:
    """Build the frame from job dicts, with optional per-row fetch errors and statuses.

    Rows keep the order of ``records``; a failed fetch is a record holding only its ``id``.
    """
    reserved = set(KNOWN_COLUMNS) | set(TAIL_COLUMNS) | set(JOB_TYPE.names)
    notes: list[str] = []
    rule_sets = None if nested else _plain_rule_sets(records)
    struct, unconverted = _known_struct(records, JOB_TYPE if rule_sets is None else _NO_RULES)
    extras = _extra_columns(
        records,
        reserved=reserved,
        notes=notes,
        unconverted=unconverted,
        rules_known=rule_sets is not None,
    )
    if rule_sets is not None:
        extras["configuration.rules"] = rule_sets
    return _assemble(
        struct,
        extras,
        fetch_errors=fetch_errors,
        http_status=http_status,
        nested=nested,
        notes=notes,
    )


def _assemble(
    struct: pa.StructArray | pa.ChunkedArray,
    extras: dict[str, pa.Array | pa.ChunkedArray],
    *,
    fetch_errors: Sequence[str | None] | None = None,
    http_status: Sequence[int | None] | None = None,
    nested: bool = False,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    n = len(struct)
    notes = [] if notes is None else notes
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for i, field in enumerate(JOB_TYPE):
        child = _child(struct, i)
        if field.name == "document_input_value":  # the seed's name, read into file_input
            continue
        if field.name == "file_input":
            legacy = _child(struct, JOB_TYPE.get_field_index("document_input_value"))
            child = pc.coalesce(child, legacy)
        if field.name in NESTED_GROUPS and not nested:
            _flatten_into(columns, field.name, child)
        else:
            columns[field.name] = child
    _keep_conflicting_input(columns, struct)
    times: dict[str, pd.Series] = {}
    for name in TIMESTAMP_COLUMNS:
        times[name], unread = _parse_times(columns[name])
        if unread is not None:
            extras[f"{name} (unparsed)"] = unread
            notes.append(f"{name!r} in {len(unread) - unread.null_count} job(s) (not a time)")
    if "configuration.rules" in extras:  # unknown rule fields, or converted apart: in its place
        columns["configuration.rules"] = extras.pop("configuration.rules")
        known = [name for name in KNOWN_COLUMNS if name in columns]
        others = [name for name in columns if name not in KNOWN_COLUMNS]
        columns = {name: columns[name] for name in [*known, *others]}
    columns.update(sorted(extras.items()))
    columns["fetch_error"] = pa.array(fetch_errors or [None] * n, type=pa.string())
    columns["http_status"] = pa.array(http_status or [None] * n, type=pa.int64())
    frame = frame_from_table(pa.table(columns))
    for name, parsed in times.items():
        frame[name] = parsed
    unknown = sorted(set(frame["status"].dropna().unique()) - set(STATUSES))
    frame["status"] = frame["status"].astype(status_dtype(tuple(unknown)))
    if notes:
        msg = (
            f"not the expected JSON type: {', '.join(notes)}; kept as they came in "
            "'... (unparsed)' columns"
        )
        warnings.warn(msg, stacklevel=3)
    return frame


#: Epoch numbers below these magnitudes are read as seconds, milliseconds, microseconds (a
#: heuristic: 1e11 s is the year 5138, 1e11 ms is 1973); anything larger as nanoseconds.
_EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def _parse_times(text: pa.Array) -> tuple[pd.Series, pa.Array | None]:
    """ISO 8601 text (and epoch numbers, which arrive as text) as UTC times, and the raw text
    of the values that are neither (None when there are none)."""
    raw = pd.Series(text.to_pandas(types_mapper=_pandas_dtype), dtype=_STRING)
    parsed = pd.to_datetime(raw, utc=True, format="ISO8601", errors="coerce").dt.as_unit("us")
    failed = parsed.isna() & raw.notna()
    if not failed.any():
        return parsed, None
    numbers = pd.to_numeric(raw[failed], errors="coerce").to_numpy("float64", na_value=np.nan)
    size = np.abs(numbers)
    scale = np.select([size < limit for limit, _ in _EPOCH_UNITS], [1e6, 1e3, 1.0], 1e-3)
    with np.errstate(invalid="ignore", over="ignore"):
        micros = np.floor(numbers * scale)
    ok = np.isfinite(micros) & (np.abs(micros) < 2**62)
    rows = np.flatnonzero(failed.to_numpy())[ok]
    parsed.iloc[rows] = pd.to_datetime(micros[ok].astype(np.int64), unit="us", utc=True)
    unread = raw.where(failed & parsed.isna())
    if unread.isna().all():
        return parsed, None
    return parsed, pa.array(unread.astype(object).where(unread.notna(), None), type=pa.string())


def frame_from_table(table: pa.Table | list[pa.Table]) -> pd.DataFrame:
    """A table of jobs as Arrow holds them (a Parquet dataset's, say) as a frame with the
    contract's dtypes for its rule sets and repeated columns (timestamps and status aside).

    A table handed over in a list is taken out of it, so that, with no other reference left,
    each column's Arrow memory is freed as soon as pandas has its own copy.
    """
    if isinstance(table, list):
        table = table.pop()
    table = _legacy_input_read(table)
    table = encode_table(table)
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=_pandas_dtype, ignore_metadata=True, self_destruct=True, split_blocks=True
    )
    for name in REPEATED_COLUMNS:
        dtype = frame[name].dtype if name in frame.columns else None
        if isinstance(dtype, pd.CategoricalDtype) and dtype.categories.dtype != _CATEGORIES:
            frame[name] = _string_categories(frame[name])  # only when there are none
    return frame


def _legacy_input_read(table: pa.Table) -> pa.Table:
    """A table stored under the seed's ``document_input_value`` (by older code, or joined from
    segments of both names) with that column read into ``file_input``; it stays apart only
    where both hold values that differ, as :func:`jobs_to_frame` keeps it."""
    names = table.column_names
    if "document_input_value" not in names:
        return table
    if "file_input" not in names:
        return table.rename_columns(
            ["file_input" if n == "document_input_value" else n for n in names]
        )
    legacy, current = table.column("document_input_value"), table.column("file_input")
    if not (pa.types.is_string(legacy.type) or pa.types.is_large_string(legacy.type)):
        return table
    merged = pc.coalesce(current, legacy.cast(current.type))
    table = table.set_column(names.index("file_input"), "file_input", merged)
    differs = pc.and_(pc.is_valid(current), pc.not_equal(current, legacy.cast(current.type)))
    if not pc.any(differs).as_py():
        table = table.drop_columns(["document_input_value"])
    return table


def _string_categories(column: pd.Series) -> pd.Series:
    """The categorical with its categories as pandas' ``str``, as Arrow makes them when
    there are any."""
    categories = column.cat.categories.astype(_CATEGORIES)
    dtype = pd.CategoricalDtype(categories)
    return pd.Series(
        pd.Categorical.from_codes(column.cat.codes, dtype=dtype),
        index=column.index,
        name=column.name,
    )


def encode_table(table: pa.Table) -> pa.Table:
    """A flat table of jobs (as a dataset stores it) with its repeated ids dictionary-encoded,
    as :func:`jobs_to_frame` makes them; other columns as they are."""
    for name in REPEATED_COLUMNS:
        if name in table.column_names:
            column = table.column(name)
            if pa.types.is_string(column.type) or pa.types.is_dictionary(column.type):
                encoded = encode_ids(column)
                table = table.set_column(table.column_names.index(name), name, encoded)
    if "configuration.rules" in table.column_names:
        at = table.column_names.index("configuration.rules")
        table = table.set_column(at, "configuration.rules", _encode_rules(table.column(at)))
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type):  # pandas holds large_string: convert now, not later
            table = table.set_column(i, field.name, table.column(i).cast(pa.large_string()))
    return table


def _encode_rules(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Rule sets as a dictionary over the distinct ones, which :class:`RuleSetDtype` reads; a
    column that is not lists (JSON text, say) stays as it is."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return column
    codes, distinct = factorize_lists(column)
    indices = pa.array(codes, mask=codes < 0, type=pa.int32())
    return pa.chunked_array([pa.DictionaryArray.from_arrays(indices, distinct)])


def _is_rule_sets(t: pa.DataType) -> bool:
    value = t.value_type if pa.types.is_dictionary(t) else None
    return value is not None and (pa.types.is_list(value) or pa.types.is_large_list(value))


def _pandas_dtype(t: pa.DataType) -> Any:
    if _is_rule_sets(t):  # only encode_table makes these: configuration.rules
        return RuleSetDtype()
    if pa.types.is_dictionary(t):
        return None  # a pandas categorical
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return _STRING
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_floating(t) or pa.types.is_timestamp(t):
        return None
    return pd.ArrowDtype(t)


def _child(array: pa.StructArray | pa.ChunkedArray, i: int) -> pa.Array | pa.ChunkedArray:
    """The i-th field of a struct array, chunk by chunk for a chunked one (the struct's own
    nulls not applied, as ``StructArray.field`` gives it)."""
    if isinstance(array, pa.ChunkedArray):
        return pa.chunked_array([c.field(i) for c in array.chunks], type=array.type[i].type)
    return array.field(i)


def _flatten_into(columns: dict[str, Any], prefix: str, array: pa.Array | pa.ChunkedArray) -> None:
    if not pa.types.is_struct(array.type):
        columns[prefix] = array.cast(pa.string()) if pa.types.is_null(array.type) else array
        return
    for i, field in enumerate(array.type):
        child = _child(array, i)
        name = _column_name(prefix, field.name)
        _flatten_into(columns, name, child)
    # a struct's own nulls (result: null) must null its children too
    if array.null_count:
        valid = array.is_valid()
        for name in [c for c in columns if c.startswith(prefix + ".")]:
            columns[name] = pc.if_else(valid, columns[name], pa.scalar(None, columns[name].type))


def _keep_conflicting_input(
    columns: dict[str, Any], struct: pa.StructArray | pa.ChunkedArray
) -> None:
    """Keep ``document_input_value`` as its own column only where a job sends both names and
    they disagree (``file_input`` holds the current name's value)."""
    legacy = _child(struct, JOB_TYPE.get_field_index("document_input_value"))
    file_input = _child(struct, JOB_TYPE.get_field_index("file_input"))
    both = pc.and_(legacy.is_valid(), file_input.is_valid())
    if pc.any(pc.and_(both, pc.not_equal(legacy, file_input))).as_py():
        columns["document_input_value"] = legacy


# -- the known fields --------------------------------------------------------------------------


Unconverted = dict[str, list[tuple[int, Any]]]

#: What each coerced column holds, for the warning about values that are not one.
_KIND = {
    "result.confidence": "a number",
    "usage.credits": "a number",
    "usage.parse_credits": "a number",
    "configuration.parsing_configuration.max_pages": "a whole number",
    "configuration.rules": "a list of objects",
}


def _known_struct(
    records: Sequence[dict[str, Any]], job_type: pa.StructType = JOB_TYPE
) -> tuple[pa.StructArray, Unconverted]:
    """The known fields as one struct array, and the raw values (by column, with their row)
    that could not be converted to their contract type."""
    try:
        return pa.array(records, type=job_type), {}
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        unconverted: Unconverted = {}
        jobs = [_coerce_job(r, i, unconverted) for i, r in enumerate(records)]
        return pa.array(jobs, type=job_type), unconverted


def _without_rules(job_type: pa.StructType) -> pa.StructType:
    fields = [
        pa.field(f.name, pa.struct([g for g in f.type if g.name != "rules"]))
        if f.name == "configuration"
        else f
        for f in job_type
    ]
    return pa.struct(fields)


#: The known fields but the rules, which :func:`_plain_rule_sets` converts apart.
_NO_RULES = _without_rules(JOB_TYPE)


def _plain_rule_sets(records: Sequence[dict[str, Any]]) -> pa.Array | None:
    """Each row's rules as a dictionary over the distinct lists, each converted to Arrow once (a
    million jobs share a handful), or None when some rule is not an object: the general path
    keeps those apart."""
    codes: dict[bytes, int] = {}
    distinct: list[list[Any]] = []
    rows: list[int | None] = []
    for r in records:
        config = r.get("configuration")
        rules = config.get("rules") if type(config) is dict else None
        if type(rules) is not list:
            rows.append(None)
            continue
        try:
            key = orjson.dumps(rules)
        except TypeError:  # keys that are not strings, integers past 64 bits
            return None
        code = codes.get(key)
        if code is None:
            if not all(type(rule) is dict for rule in rules):
                return None
            code = codes[key] = len(distinct)
            distinct.append(rules)
        rows.append(code)
    dictionary = rule_sets_to_arrow(distinct)
    return pa.DictionaryArray.from_arrays(pa.array(rows, type=pa.int32()), dictionary)


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _as_int(value: Any) -> int | None:
    number = _as_float(value)
    if number is None or not math.isfinite(number) or number != int(number):
        return None
    whole = int(number)
    return whole if -(2**63) <= whole < 2**63 else None


def _as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _coerce_job(job: Mapping[str, Any], row: int, unconverted: Unconverted) -> dict[str, Any]:
    """The known fields of one job, each forced to its contract type; a value that cannot be
    (confidence "high", a rule that is not an object) is None here and its raw value goes to
    ``unconverted``."""

    def convert(name: str, value: Any, to: Any) -> Any:
        out = to(value)
        if out is None and value is not None:
            unconverted.setdefault(name, []).append((row, value))
        return out

    out: dict[str, Any] = {
        f.name: as_text(job.get(f.name)) for f in JOB_TYPE if f.name not in NESTED_GROUPS
    }
    config, result, usage = (job.get(g) for g in NESTED_GROUPS)
    if isinstance(config, Mapping):
        parsing = config.get("parsing_configuration")
        rules = config.get("rules")
        if isinstance(rules, list) and not all(isinstance(r, Mapping) for r in rules):
            unconverted.setdefault("configuration.rules", []).append((row, rules))
        out["configuration"] = {
            "rules": [
                {"description": as_text(r.get("description")), "type": as_text(r.get("type"))}
                for r in rules
                if isinstance(r, Mapping)
            ]
            if isinstance(rules, list)
            else None,
            "mode": as_text(config.get("mode")),
            "parsing_configuration": {
                "lang": as_text(_as_dict(parsing).get("lang")),
                "max_pages": convert(
                    "configuration.parsing_configuration.max_pages",
                    _as_dict(parsing).get("max_pages"),
                    _as_int,
                ),
                "target_pages": as_text(_as_dict(parsing).get("target_pages")),
            }
            if isinstance(parsing, Mapping)
            else None,
        }
    if isinstance(result, Mapping):
        out["result"] = {
            "type": as_text(result.get("type")),
            "confidence": convert("result.confidence", result.get("confidence"), _as_float),
            "reasoning": as_text(result.get("reasoning")),
        }
    if isinstance(usage, Mapping):
        out["usage"] = {
            k: convert(f"usage.{k}", usage.get(k), _as_float) for k in ("credits", "parse_credits")
        }
    return out


# -- unknown fields ----------------------------------------------------------------------------


def _known_tree(t: pa.DataType) -> dict[str, Any] | None:
    """Known field names as a tree; None marks a leaf."""
    if not pa.types.is_struct(t):
        return None
    return {f.name: _known_tree(f.type) for f in t}


_KNOWN_TREE: dict[str, Any] = _known_tree(JOB_TYPE) or {}
_RULE_FIELDS = frozenset(RULE_TYPE.names)


def _column_name(prefix: str, key: str) -> str:
    # A key holding a dot is bracketed, so it can never collide with a flattened path:
    # {"result.type": 1} becomes "[result.type]", next to the nested "result.type".
    part = f"[{key}]" if "." in key else key
    return f"{prefix}.{part}" if prefix else part


def _extra_columns(
    records: Sequence[dict[str, Any]],
    reserved: set[str],
    notes: list[str],
    unconverted: Unconverted,
    *,
    rules_known: bool = False,
) -> dict[str, pa.Array]:
    """Unknown fields, flattened, and the raw values of known ones that are not what the
    contract expects, in ``... (unparsed)`` columns (each described in ``notes``)."""
    n = len(records)
    found: dict[str, list[tuple[int, Any]]] = {}

    def walk(rows: list[tuple[int, dict[str, Any]]], prefix: str, known: dict[str, Any]) -> None:
        keys: set[str] = set()
        for _, row in rows:
            keys.update(row)
        for key in sorted(keys - known.keys()):
            values = [(i, row[key]) for i, row in rows if key in row]
            name = _column_name(prefix, key)
            objects = [(i, v) for i, v in values if type(v) is dict and v]
            if objects:
                walk(objects, name, {})
            if len(objects) < len(values):
                found[name] = [(i, v) for i, v in values if not (type(v) is dict and v)]
        for key in keys & known.keys():
            name = _column_name(prefix, key)
            if known[key] is not None:
                walk([(i, r[key]) for i, r in rows if type(r.get(key)) is dict], name, known[key])
            misfits = [(i, r[key]) for i, r in rows if not _fits(key, known[key], r.get(key))]
            if misfits:  # an object field that holds something else: keep it as it came
                found[f"{name} (unparsed)"] = misfits
                shape = "an object" if known[key] is not None else "a list"
                notes.append(f"{name!r} in {len(misfits)} job(s) (not {shape})")

    unknown_fields, unknown_rule_fields = _unknown_levels(records, rules_known=rules_known)
    if unknown_fields:
        walk(list(enumerate(records)), "", _KNOWN_TREE)
    for name, values in unconverted.items():
        notes.append(f"{name!r} in {len(values)} job(s) (not {_KIND[name]})")
        column = found.setdefault(f"{name} (unparsed)", [])
        column.extend(values)  # rows apart from the misshapen ones: rules here are lists
    if unknown_rule_fields:
        found["configuration.rules"] = [
            (i, r["configuration"]["rules"])
            for i, r in enumerate(records)
            if type(r.get("configuration")) is dict
            and type(r["configuration"].get("rules")) is list
        ]
    columns: dict[str, pa.Array] = {}
    for name, values in found.items():
        if name in reserved and name != "configuration.rules":
            msg = f"field {name!r} collides with a contract column; kept as {name!r} (extra)"
            warnings.warn(msg, stacklevel=3)
            name = f"{name} (extra)"
        full: list[Any] = [None] * n
        for i, v in values:
            full[i] = v
        columns[name] = _rules_array(full) if name == "configuration.rules" else any_array(full)
    return columns


def _rules_array(rows: list[Any]) -> pa.Array:
    """``configuration.rules`` when rules are not all plain ``{description, type}`` objects:
    each rule with exactly its own keys (see :func:`rule_sets_to_arrow`); what is not a rule
    object is left out here and kept in ``configuration.rules (unparsed)``."""
    return rule_sets_to_arrow(
        [[r for r in row if type(r) is dict] if type(row) is list else None for row in rows]
    )


_TOP_KEYS = frozenset(_KNOWN_TREE)
_CONFIG_KEYS = frozenset(_KNOWN_TREE["configuration"])
_PARSING_KEYS = frozenset(_KNOWN_TREE["configuration"]["parsing_configuration"])
_RESULT_KEYS = frozenset(_KNOWN_TREE["result"])
_USAGE_KEYS = frozenset(_KNOWN_TREE["usage"])


def _fits(key: str, known: dict[str, Any] | None, value: Any) -> bool:
    """Whether a known field's value has the shape the contract parses (else it is kept raw)."""
    if value is None:
        return True
    if known is not None:
        return type(value) is dict
    return key != "rules" or type(value) is list


def _unknown_levels(
    records: Sequence[dict[str, Any]], *, rules_known: bool = False
) -> tuple[bool, bool]:
    """(any unknown key or misshapen object outside rules, any rule that is not exactly
    ``{description, type}``),
    in one cheap pass (not looking inside rules already known to be plain)."""
    other = odd_rules = False
    for r in records:
        if not r.keys() <= _TOP_KEYS:
            other = True
        config, result, usage = r.get("configuration"), r.get("result"), r.get("usage")
        if result is not None and (type(result) is not dict or not result.keys() <= _RESULT_KEYS):
            other = True
        if usage is not None and (type(usage) is not dict or not usage.keys() <= _USAGE_KEYS):
            other = True
        if config is not None and type(config) is not dict:
            other = True
        if type(config) is dict:
            parsing, rules = config.get("parsing_configuration"), config.get("rules")
            if not config.keys() <= _CONFIG_KEYS or (
                parsing is not None
                and (type(parsing) is not dict or not parsing.keys() <= _PARSING_KEYS)
            ):
                other = True
            if rules is not None and type(rules) is not list:
                other = True
            if type(rules) is list and not rules_known and not odd_rules:
                odd_rules = any(type(r) is dict and r.keys() != _RULE_FIELDS for r in rules)
    return other, odd_rules


# -- reading what the user has -------------------------------------------------------------------


def _read_file(path: str | os.PathLike[str]) -> bytes:
    if not Path(path).is_file():
        msg = f"no such file: {str(path)!r} (jobs_to_frame takes dicts, JSON bytes or a path)"
        raise ValueError(msg)
    return Path(path).read_bytes()


def _read_json_lines(
    data: bytes, *, nested: bool = False
) -> tuple[pa.StructArray | pa.ChunkedArray, dict[str, pa.Array | pa.ChunkedArray]] | None:
    """JSON lines parsed by Arrow in C++ (the known-field struct and the flattened unknown
    columns), or None when the bytes need the Python path.

    The Python path takes over for JSON arrays, a single ``{"items": [...]}`` page, values of
    the wrong type, and unknown fields nested inside the known objects.
    """
    if data.lstrip()[:1] != b"{":
        return None
    options = pa_json.ParseOptions(
        explicit_schema=pa.schema(list(JOB_TYPE)), unexpected_field_behavior="infer"
    )
    try:
        table = pa_json.read_json(
            io.BytesIO(data), read_options=_blocks(len(data)), parse_options=options
        )
    except (pa.ArrowException, ValueError):
        return None
    if (
        "items" in table.column_names
        or any(table.schema.field(f.name).type != f.type for f in JOB_TYPE)
        or any(has_empty_struct(f.type) for f in table.schema)
        or _rules_lack_keys(table.column("configuration"))
    ):
        return None
    try:
        return _split_table(table, nested=nested)
    except pa.ArrowException:  # e.g. a list of nothing but nulls, which Arrow cannot combine
        return None


def _rules_lack_keys(configuration: pa.ChunkedArray) -> bool:
    """Whether a rule read by Arrow may lack ``description`` or ``type`` (Arrow reads a missing
    key as null): the Python path then keeps each rule's own keys."""
    for chunk in configuration.chunks:
        rules = chunk.field("rules").flatten()
        if rules.null_count or any(rules.field(k).null_count for k in RULE_TYPE.names):
            return True
    return False


def _blocks(size: int) -> pa_json.ReadOptions:
    """Blocks of about a quarter of the data per core (at least Arrow's 1 MB): every core
    busy, and a few dozen chunks rather than hundreds, each of which every later step pays."""
    cores = os.cpu_count() or 1
    return pa_json.ReadOptions(block_size=min(64 << 20, max(1 << 20, size // (4 * cores))))


def _split_table(
    table: pa.Table, *, nested: bool
) -> tuple[pa.ChunkedArray, dict[str, pa.Array | pa.ChunkedArray]]:
    """The known-field struct and the flattened unknown columns of an Arrow-parsed table.

    In a flat frame the rules go apart and stay in their chunks: combining the chunks of a
    list of structs would copy every row's rules (a fifth of the whole parse).
    """
    extras: dict[str, pa.Array | pa.ChunkedArray] = {}
    children = [table.column(f.name) for f in JOB_TYPE]
    if not nested:
        at = JOB_TYPE.get_field_index("configuration")
        config = children[at]
        extras["configuration.rules"] = pa.chunked_array(
            [pc.struct_field(c, "rules") for c in config.chunks], type=pa.list_(RULE_TYPE)
        )
        kept = [f for f in config.type if f.name != "rules"]
        children[at] = pa.chunked_array(
            [
                pa.StructArray.from_arrays(
                    [c.field(f.name) for f in kept], fields=kept, mask=c.is_null()
                )
                for c in config.chunks
            ],
            type=pa.struct(kept),
        )
    # struct by struct over Arrow's own blocks: joining them would copy every known field
    struct = pa.chunked_array(
        [
            pa.StructArray.from_arrays([c.chunk(k) for c in children], names=JOB_TYPE.names)
            for k in range(table.column(0).num_chunks)
        ],
        type=pa.struct(
            [pa.field(n, c.type) for n, c in zip(JOB_TYPE.names, children, strict=True)]
        ),
    )
    for name in table.column_names:
        if name not in JOB_TYPE.names:
            _flatten_into(extras, _column_name("", name), table.column(name).combine_chunks())
    return struct, extras


def _load_records(jobs: Iterable[Mapping[str, Any]] | bytes) -> list[dict[str, Any]]:
    records: list[Any]
    if isinstance(jobs, bytes):
        records = _parse_json(jobs)
    else:
        records = [r if type(r) is dict or not isinstance(r, Mapping) else dict(r) for r in jobs]
    bad = [i for i, r in enumerate(records) if type(r) is not dict]
    if bad:
        msg = f"every job must be a JSON object; item(s) at position {bad[:10]} are not"
        raise ValueError(msg)
    return records


def _parse_lines(data: bytes) -> list[Any]:
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                where = f"line {number}, column {exc.colno}"
                msg = f"not JSON, a JSON array, or JSON lines: {exc.msg} at {where}"
                raise ValueError(msg) from None
    return records


def _parse_json(data: bytes) -> list[Any]:
    try:
        parsed = orjson.loads(data) if data.strip() else []
    except orjson.JSONDecodeError:
        return _parse_lines(data)
    if isinstance(parsed, dict):
        items = parsed.get("items")
        return list(items) if isinstance(items, list) else [parsed]
    if isinstance(parsed, list):
        return parsed
    msg = f"expected job objects, got JSON {type(parsed).__name__}"
    raise ValueError(msg)
