"""The audit's counting where the data lies: one narwhals expression for every engine.

The label-free audit is counting. Jobs grouped by status, predicted type, stated confidence,
day, configuration and rule set (with their first and last job) are a few thousand cells from
which the summary, the status table, by type, drift, by configuration and mix, the rule-set
tables and the strata of a review queue follow exactly. The engine counts; classify_frames
computes the statistics from the small pandas tables.

``source`` is a dataset path or glob (read by DuckDB, embedded: ``pip install
'classify-frames[scale]'``), a DuckDB relation, a Polars DataFrame or LazyFrame, a PySpark
DataFrame or a pandas frame of jobs (``jobs_to_frame``'s columns; those it lacks count as
missing, as in :func:`._prepare.prepare`).

>>> cells = count_cells("jobs/")                       # doctest: +SKIP
>>> cells.cells.groupby("status")["jobs"].sum()        # doctest: +SKIP
>>> rows = labelled_rows("jobs/", labels["id"])        # doctest: +SKIP
>>> queue = stratified_draw("jobs/", {"invoice": 25, "no match": 25}, seed=0)  # doctest: +SKIP

Why narwhals, not Ibis. Measured with ``benchmarks/bench_scale.py --layers`` on 2,000,000
generated jobs (49 MB of Parquet), two runs, each step a fresh process, on this 2-core machine
shared by 7 engineers (load 3.4-8: the times vary by up to 2x between runs; memory does not):

=============================  ============================  ====================================
                               narwhals 2.29                 Ibis 12.0
=============================  ============================  ====================================
installed                      2.4 MB, no dependency         19 MB + sqlglot 8.2 MB, parsy,
                                                             atpublic, toolz (30 MB, 40 with .pyc)
import                         0.19-0.27 s                   0.50-0.69 s
cells, DuckDB over Parquet     4.7-8.9 s, 0.28 GB peak       10.0-14.8 s, 0.31 GB
cells, Polars LazyFrame        6.8-6.9 s, 0.90 GB            11.3-17.0 s, 2.22 GB
cells, pandas frame            5.4 s after the read          no pandas backend since Ibis 10
PySpark DataFrame              yes (tested, local mode)      a backend of its own (not measured)
hand-written DuckDB SQL        6.1-6.2 s, 0.30 GB            (the same)
=============================  ============================  ====================================

narwhals passes the expression to the engine's own API (DuckDB's relational API, Polars' lazy
plan, Spark's DataFrame), so a DuckDB relation or a LazyFrame the user already has goes in as
it is, the results are the engine's own Arrow tables, and pandas works too; Ibis compiles
through sqlglot to SQL for DuckDB and to its own plan for Polars, wants its own connection,
and no longer runs on pandas. On DuckDB both leave the work to the engine, within the noise of
each other and of the hand-written SQL; on Polars Ibis took 1.6-2.5x the time and 2.5x the
memory. narwhals is already a dependency of scikit-learn, Altair, Plotly and marimo.

Most of the counting's time is the rule set: DuckDB grouping these 2,000,000 rows by the rules'
list takes 7 s, by a 64-bit hash of it 3.4 s, without it 1.9 s. No layer has a portable hash of
a list, so a dataset that stores each job's fingerprint (:data:`FINGERPRINT`, what
:func:`._prepare.rule_set_ids` names a rule set by) is grouped by those 10 characters, and the
rules of each read once (from the first jobs, else one query each); without the column the
rules are grouped as they are and the few distinct lists fingerprinted here (cells whose lists
differ only in order merge), and a dataset whose older files lack it is counted both ways. At
10,000,000 jobs the counting took 14 s at 0.34 GB with the column, 34 s at 1.24 GB without
(load 5-7); at 100,000,000 without it 193 s at 0.41 GB (hand-written SQL 108 s; SQL without
the rules 27 s: decoding every job's list of rules is the cost, not grouping them).
A pandas frame is fingerprinted first (its rules may be JSON text or a RuleSetArray).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from .._exceptions import ConfigurationError
from ._advice import FLAT_JOBS
from ._prepare import NO_MATCH, rule_set_ids

if TYPE_CHECKING:
    import narwhals as nw

__all__ = [
    "CELL_KEYS",
    "Cells",
    "count_cells",
    "labelled_rows",
    "stratified_draw",
    "waiting_jobs",
]

#: The keys of a cell, in order (``period``: the UTC day or month of ``created_at``, set for
#: completed jobs only, as are ``type`` and ``confidence``).
CELL_KEYS = ("status", "type", "confidence", "period", "configuration_id", "rule_set")
Period = Literal["day", "month"]

# the contract's columns this module reads, by their short internal names
_COLUMNS = {
    "id": "id",
    "status": "status",
    "fetch_error": "fetch_error",
    "error_message": "error_message",
    "created_at": "created_at",
    "configuration_id": "configuration_id",
    "rules": "configuration.rules",
    "type": "result.type",
    "confidence": "result.confidence",
    "document": "file_input",
    "reasoning": "result.reasoning",
}
_TRUNCATE = {"day": "1d", "month": "1mo"}
_ERROR = "error_message"  # a key of failed jobs' cells alone
_FIRST_JOBS = 10_000  # read for the rules of the stored fingerprints
_KEY = 10_000_000  # a stratum's number in a draw's key, above year * 1000 + day of year
_NO_DAY = dt.datetime(1, 1, 1, tzinfo=dt.UTC)  # the partition of jobs without a time
_RULE_SET = "rule_set"  # a pandas source's rules, already fingerprinted
#: The rule set's fingerprint (:func:`._prepare.rule_set_ids`), where the dataset stores it:
#: the engine then groups by these 10 characters, not by every job's list of rules.
FINGERPRINT = "configuration.rule_set"
_STRING = pd.StringDtype("pyarrow")


@dataclass(frozen=True)
class Cells:
    """Counted jobs: ``cells`` (:data:`CELL_KEYS`, the ``error_message`` of failed jobs,
    ``jobs``, ``first_seen`` and ``last_seen`` of ``created_at``), ``errors`` (failed jobs per
    ``error_message``, ``"(no message)"`` where missing), ``rules`` (each rule set's sorted
    ``(type, description)`` pairs) and the ``engine`` that counted."""

    cells: pd.DataFrame
    errors: pd.DataFrame
    rules: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    engine: str = ""


def count_cells(source: Any, *, period: Period = "day") -> Cells:
    """The cells of ``source`` (see the module docstring), counted by its engine.

    ``period="day"`` serves drift at any frequency (days add up to weeks, months, quarters);
    ``"month"`` gives fewer cells for monthly drift alone.
    """
    import narwhals as nw

    if period not in _TRUNCATE:
        msg = f"period must be 'day' or 'month', got {period!r}"
        raise ValueError(msg)
    frame, engine, rules = _jobs(source)
    stored = "rule_list" in frame.collect_schema().names()  # fingerprints come with the data
    cells = _count(frame, "rules", period)
    if rules is None:
        ids, rules = rule_set_ids(cells["rules"])
        cells["rules"] = ids
    elif stored and len(cells):  # one list of rules read for each fingerprint
        rules = _stored_rules(frame, cells["rules"].dropna().unique())
        if cells["rules"].isna().any():  # files without the column: their lists, grouped
            cells = cells[cells["rules"].notna()]
            rest = _count(frame.filter(nw.col("rules").is_null()), "rule_list", period)
            ids, more = rule_set_ids(rest["rule_list"])
            rules.update(more)
            cells = pd.concat([cells, rest.drop(columns="rule_list").assign(rules=ids)])
    cells = cells.rename(columns={"rules": _RULE_SET})
    # merge what the engine kept apart: rule lists in another order, NaN next to null
    cells["confidence"] = cells["confidence"].astype("float64")
    cells["period"] = _naive_utc(cells["period"])
    for name in ("first_seen", "last_seen"):
        cells[name] = _utc(cells[name])
    merged = cells.groupby([*CELL_KEYS, _ERROR], dropna=False, sort=True).agg(
        jobs=("jobs", "sum"), first_seen=("first_seen", "min"), last_seen=("last_seen", "max")
    )
    merged = merged.reset_index()
    merged["jobs"] = merged["jobs"].astype("int64")
    failed = merged[merged["status"] == "FAILED"]
    messages = failed[_ERROR].astype(object).fillna("(no message)")
    per = failed["jobs"].groupby(messages.to_numpy(), sort=True).sum().astype("int64")
    errors = per.sort_values(ascending=False, kind="stable").rename_axis(_ERROR).reset_index()
    return Cells(merged, errors, rules, engine)


def _count(frame: nw.LazyFrame[Any], rules: str, period: Period) -> pd.DataFrame:
    """The engine's cells of ``frame``, keyed by its ``rules`` column (lists or fingerprints)
    as ``rules``; not yet merged."""
    import narwhals as nw

    completed = nw.col("status") == "COMPLETED"
    keyed = frame.select(
        "status",
        nw.when(completed).then(nw.col("type").fill_null(NO_MATCH)).alias("type"),
        nw.when(completed).then(nw.col("confidence")).alias("confidence"),
        nw.when(completed)
        .then(nw.col("created_at").dt.truncate(_TRUNCATE[period]))
        .alias("period"),
        "configuration_id",
        nw.col(rules).alias(rules),
        nw.when(nw.col("status") == "FAILED").then(nw.col("error_message")).alias(_ERROR),
        "created_at",
    )
    counted = keyed.group_by(*CELL_KEYS[:-1], rules, _ERROR, drop_null_keys=False).agg(
        nw.len().alias("jobs"),
        nw.col("created_at").min().alias("first_seen"),
        nw.col("created_at").max().alias("last_seen"),
    )
    return _to_pandas(counted.collect())


def labelled_rows(source: Any, ids: Iterable[str]) -> pd.DataFrame:
    """The jobs of ``source`` whose id is in ``ids`` (a few hundred labels), read by the engine
    (a filter it pushes to the scan), as a small pandas frame of the internal columns."""
    import narwhals as nw

    wanted = sorted({str(i) for i in ids})
    frame, _, rules = _jobs(source)
    rows = frame.filter(nw.col("id").is_in(wanted)).select(*_ROW_COLUMNS)
    return _named_rows(_to_pandas(rows.collect()), rules)


def stratified_draw(
    source: Any,
    counts: Mapping[str, int],
    seed: int,
    *,
    bands: tuple[float, ...] = (),
    exclude: Iterable[str] = (),
    days: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A simple random sample of ``counts[s]`` completed jobs from each stratum ``s`` (the
    predicted type, split at ``bands`` as :func:`._sample.stratum_names` names them), drawn in
    the engine, in random order, with the stratum and its size (``pool``).

    Reproducible from ``seed`` whatever the engine or the files' order: the jobs of a stratum
    are numbered by their day (UTC; jobs without a time last), then by id, and the numbers are
    drawn here (numpy, ``seed``). Only the days that hold a drawn number are ranked by id in
    the engine (a window over those days' jobs, not over every job: at 20 million jobs the
    window over all of them took 75 s). The jobs whose id is in ``exclude`` are left out.
    ``days``: the jobs per ``stratum`` and ``day`` (``jobs``), where the caller counted them
    already (else counted here).
    """
    import narwhals as nw

    frame, _, rules = _jobs(source)
    stratum = nw.col("type").fill_null(NO_MATCH)
    if bands:
        stratum = nw.concat_str([stratum, nw.lit(" | "), _band(sorted(bands))])
    day = nw.col("created_at").dt.truncate("1d")
    pool = frame.filter(nw.col("status") == "COMPLETED").with_columns(
        stratum.alias("stratum"), day.alias("day")
    )
    left_out = sorted({str(i) for i in exclude})
    if left_out:  # jobs labelled in an earlier round are not drawn again
        pool = pool.filter(~nw.col("id").is_in(left_out))
    if days is None:  # (an audit passes them, counted in its cells)
        counted = pool.group_by("stratum", "day", drop_null_keys=False).agg(nw.len().alias("jobs"))
        days = _to_pandas(counted.collect())
    days = days.assign(day=_naive_utc(days["day"]), stratum=days["stratum"].astype(str))
    days = days[days["jobs"] > 0].sort_values(["stratum", "day"], na_position="last")
    sizes = days.groupby("stratum", sort=True)["jobs"].sum().astype("int64")
    rng = np.random.default_rng(seed)
    # each drawn number as (stratum, day, rank by id within the day)
    picks: list[tuple[str, Any, int]] = []
    for name, size in sizes.items():
        k = min(int(counts.get(str(name), 0)), int(size))
        if k <= 0:
            continue
        numbers = np.sort(rng.choice(int(size), k, replace=False))
        mine = days[days["stratum"] == name]
        ends = np.cumsum(mine["jobs"].to_numpy(np.int64))
        at = np.searchsorted(ends, numbers, side="right")
        starts = ends - mine["jobs"].to_numpy(np.int64)
        for n, i in zip(numbers, at, strict=True):
            picks.append((str(name), mine["day"].iloc[i], int(n - starts[i]) + 1))
    if not picks:
        return pd.DataFrame(columns=[*_ROW_COLUMNS, "stratum", "pool"])
    wanted = pd.DataFrame(picks, columns=["stratum", "day", "rank"])
    # one integer key per job (stratum, year, day of year), one IN list: an OR of a condition
    # per stratum and day took 100 s at 20M jobs, a text key 15.6 s, this one 8.6 s
    names = [str(n) for n in sizes.index]
    code = nw.col("stratum").replace_strict(
        names, list(range(len(names))), default=-1, return_dtype=nw.Int64()
    )
    when = nw.col("day").fill_null(_NO_DAY)  # (no integer NaN in a pandas source)
    key = code * _KEY + when.dt.year().cast(nw.Int64()) * 1000 + when.dt.ordinal_day()
    timed = wanted.dropna(subset=["day"])
    stamps = pd.DatetimeIndex(timed["day"])
    keys = timed["stratum"].map(names.index).to_numpy(np.int64) * _KEY
    keys = keys + stamps.year.to_numpy(np.int64) * 1000 + stamps.day_of_year.to_numpy(np.int64)
    conditions = [key.is_in(sorted({int(k) for k in keys}))]
    untimed = sorted(set(wanted.loc[wanted["day"].isna(), "stratum"]))
    if untimed:
        conditions.append(nw.col("day").is_null() & nw.col("stratum").is_in(untimed))
    # ids alone through the window (a sort per stratum and day), the rows read afterwards:
    # every column through the window spared that second read (0.7-1.7 s of 8-15 s at 20M
    # jobs) but held the drawn days' jobs whole, +0.3 GB there and growing with the dataset
    ranked = (
        pool.filter(nw.any_horizontal(*conditions, ignore_nulls=True))
        .select("id", "stratum", "day")
        .with_columns(nw.col("day").fill_null(_NO_DAY).alias("_day"))  # partitions never null
        .with_columns(nw.col("id").rank("min").over("stratum", "_day").alias("rank"))
        .filter(nw.col("rank").is_in(sorted(set(wanted["rank"]))))
    )
    found = _to_pandas(ranked.collect())
    found["day"] = _naive_utc(found["day"])
    found["rank"] = found["rank"].astype("int64")
    on = ["stratum", "day", "rank"]
    drawn = wanted.merge(found, on=on, how="left").sort_values(on, kind="stable")
    if drawn["id"].isna().any() or len(drawn) != len(wanted):
        msg = "the jobs changed between counting and drawing (or ids repeat): draw again"
        raise RuntimeError(msg)
    drawn = drawn.iloc[rng.permutation(len(drawn))]
    rows = _named_rows(
        _to_pandas(
            frame.filter(nw.col("id").is_in(list(drawn["id"]))).select(*_ROW_COLUMNS).collect()
        ),
        rules,
    )
    out: pd.DataFrame = rows.set_index("id").loc[drawn["id"]].reset_index()
    out["stratum"] = drawn["stratum"].to_numpy()
    out["pool"] = out["stratum"].map(sizes).astype("int64")
    return out


def chosen_rows(source: Any, n: int, strategy: str, threshold: float) -> pd.DataFrame:
    """The ``n`` completed jobs a ``"lowest"`` or ``"margin"`` queue picks (see
    :func:`._queue.review_queue`), sorted in the engine with the same keys and tie-breaks:
    the lowest stated confidence (missing or impossible ones first, as -1), no match first,
    then the id; or the distance to ``threshold``, then the id."""
    import narwhals as nw

    frame, _, rules = _jobs(source)
    conf = nw.col("confidence")
    usable = (conf >= 0) & (conf <= 1)  # False for NaN and infinities on every engine
    done = frame.filter(nw.col("status") == "COMPLETED")
    if strategy == "lowest":
        keyed = done.with_columns(
            nw.when(usable).then(conf).otherwise(nw.lit(-1.0)).alias("_key"),
            (~nw.col("type").is_null()).alias("_match"),
        )
        order = ["_key", "_match", "id"]
    else:
        keyed = done.filter(usable).with_columns((conf - threshold).abs().alias("_key"))
        order = ["_key", "id"]
    top = keyed.sort(*order).head(n).select(*_ROW_COLUMNS)
    return _named_rows(_to_pandas(top.collect()), rules)


def frame_of(source: Any) -> tuple[int, str | None, str | None]:
    """The completed jobs' number and their smallest and largest id (what
    :func:`._design.frame_fingerprint` reads), from the engine."""
    import narwhals as nw

    frame, _, _ = _jobs(source)
    ends = frame.filter(nw.col("status") == "COMPLETED").select(
        nw.len().alias("jobs"), nw.col("id").min().alias("low"), nw.col("id").max().alias("high")
    )
    row = _to_pandas(ends.collect()).iloc[0]
    low, high = row["low"], row["high"]
    return (
        int(row["jobs"]),
        None if pd.isna(low) else str(low),
        None if pd.isna(high) else str(high),
    )


def waiting_jobs(source: Any, before: pd.Timestamp) -> tuple[int, pd.Timestamp | None, str]:
    """The jobs still PENDING or RUNNING created at or before ``before``: how many, and the
    oldest one's time and id (the smallest id among equally old ones), from the engine (what
    :func:`._findings.stuck_jobs` reads from a frame)."""
    import narwhals as nw

    frame, _, _ = _jobs(source)
    when = before.tz_convert("UTC").to_pydatetime()
    waiting = frame.filter(
        nw.col("status").is_in(["PENDING", "RUNNING"]) & (nw.col("created_at") <= when)
    )
    ends = waiting.select(nw.len().alias("jobs"), nw.col("created_at").min().alias("oldest"))
    row = _to_pandas(ends.collect()).iloc[0]
    if not int(row["jobs"]):
        return 0, None, ""
    oldest = _utc(pd.Series([row["oldest"]])).iloc[0]
    first = waiting.filter(nw.col("created_at") == oldest.to_pydatetime()).select(
        nw.col("id").min().alias("id")
    )
    found = _to_pandas(first.collect())["id"].iloc[0]
    return int(row["jobs"]), oldest, "(no id)" if pd.isna(found) else str(found)


_ROW_COLUMNS = (
    "id",
    "status",
    "error_message",
    "type",
    "confidence",
    "created_at",
    "configuration_id",
    "rules",
    "document",
    "reasoning",
)


def _stored_rules(
    frame: nw.LazyFrame[Any], fingerprints: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """The rules of each stored fingerprint, from one job of each (a scan the engine stops at
    its first match), fingerprinted again here: a list whose digest differs from the stored one
    (the column edited by hand) is refused, since the audit would name its rules wrongly."""
    import narwhals as nw

    rules: dict[str, list[tuple[str, str]]] = {}
    names = sorted(str(f) for f in fingerprints)
    # the first jobs usually hold every rule set; one query for each of the others
    first = _to_pandas(frame.select("rules", "rule_list").head(_FIRST_JOBS).collect())
    first = first[first["rules"].notna()].drop_duplicates("rules").set_index("rules")
    for name in names:
        if name in first.index:
            one = first.loc[[name], ["rule_list"]]
        else:
            query = frame.filter(nw.col("rules") == name).select("rule_list").head(1)
            one = _to_pandas(query.collect())
        ids, found = rule_set_ids(one["rule_list"].reset_index(drop=True))
        if ids.isna().all():
            rules[name] = []
            continue
        if str(ids.iloc[0]) != name:
            msg = (
                f"the column {FINGERPRINT!r} holds {name!r} for rules whose fingerprint is "
                f"{ids.iloc[0]!r}: drop the column (the rules are then fingerprinted as they "
                "are) or write it again with the export"
            )
            raise ValueError(msg)
        rules[name] = found[name]
    return rules


def _band(edges: list[float]) -> nw.Expr:
    """Each job's confidence band, named as :func:`._sample.stratum_names` names it (a
    missing or impossible confidence in the lowest band)."""
    import narwhals as nw

    names = [f"c < {edges[0]:g}"]
    names += [f"{lo:g} <= c < {hi:g}" for lo, hi in itertools.pairwise(edges)]
    names += [f"c >= {edges[-1]:g}"]
    conf = nw.col("confidence")
    usable = (conf >= 0) & (conf <= 1)  # False for NaN and infinities on every engine
    band: nw.Expr = nw.lit(names[0])
    for edge, name in zip(edges, names[1:], strict=True):
        band = nw.when(usable & (conf >= edge)).then(nw.lit(name)).otherwise(band)
    return band


def _named_rows(rows: pd.DataFrame, rules: dict[str, list[tuple[str, str]]] | None) -> pd.DataFrame:
    """Rows with their rule set's fingerprint in place of the rules, and the UTC times."""
    if rules is None:
        rows["rules"] = rule_set_ids(rows["rules"])[0]
    rows["created_at"] = _utc(rows["created_at"])
    rows["confidence"] = rows["confidence"].astype("float64")
    return rows.rename(columns={"rules": _RULE_SET})


def _jobs(source: Any) -> tuple[nw.LazyFrame[Any], str, dict[str, list[tuple[str, str]]] | None]:
    """``source`` as a narwhals LazyFrame of the internal columns (status upper-cased,
    ``UNKNOWN`` where missing, ``FETCH ERROR`` where the fetch failed), the engine's name, and
    the rule sets when the rules were fingerprinted here (a pandas source) rather than left
    for the engine to group."""
    import narwhals as nw

    rules: dict[str, list[tuple[str, str]]] | None = None
    if isinstance(source, str | os.PathLike):
        native: Any = _duckdb_scan(source)
    elif isinstance(source, pd.DataFrame):
        native, rules = _pandas(source)
    else:
        native = source
        if type(native).__module__.startswith("polars") and hasattr(native, "lazy"):
            native = native.lazy()
    try:
        frame = nw.from_native(native)
    except TypeError:
        msg = (
            "count the jobs of a dataset path or glob, a DuckDB relation, a Polars or PySpark "
            f"DataFrame, or a pandas frame; got {type(source).__name__}"
        )
        raise TypeError(msg) from None
    lazy = frame.lazy() if isinstance(frame, nw.DataFrame) else frame
    engine = str(lazy.implementation).lower().rsplit(".", 1)[-1]
    present = set(lazy.collect_schema().names())
    if "result.type" not in present and "result.confidence" not in present:
        msg = "the jobs have neither 'result.type' nor 'result.confidence'"
        raise ConfigurationError(msg, hint=FLAT_JOBS)
    kinds: dict[str, Any] = {"confidence": nw.Float64(), "created_at": nw.Datetime("us", "UTC")}
    rule_list = nw.List(nw.Struct({"description": nw.String(), "type": nw.String()}))
    if rules is not None:
        named = {**_COLUMNS, "rules": _RULE_SET}
    elif FINGERPRINT in present:  # grouped by the stored fingerprint, the lists read once each
        named = {**_COLUMNS, "rules": FINGERPRINT, "rule_list": "configuration.rules"}
        kinds["rule_list"] = rule_list
        rules = {}
    else:
        named = _COLUMNS
        kinds["rules"] = rule_list
    renames = {name: short for short, name in named.items() if name in present and name != short}
    if engine == "pyspark":  # narwhals' col("result.type") is a struct field's path to Spark
        native_renamed = lazy.to_native().withColumnsRenamed(renames)
        lazy = nw.from_native(native_renamed).lazy()
    else:
        lazy = lazy.rename(renames)
    columns = [
        nw.col(short)
        if name in present
        else nw.lit(None, dtype=kinds.get(short, nw.String())).alias(short)
        for short, name in named.items()
    ]
    strings = ["id", "error_message", "configuration_id", "type", "document", "reasoning"]
    if FINGERPRINT in present and "rule_list" in named:
        strings.append("rules")
    base = lazy.select(*columns).with_columns(  # dictionary-encoded columns, as plain strings
        nw.col("confidence").cast(nw.Float64()), *[nw.col(c).cast(nw.String()) for c in strings]
    )
    fetched = nw.col("fetch_error").is_null()
    status = nw.when(fetched).then(_status(present)).otherwise(nw.lit("FETCH ERROR"))
    return base.with_columns(status.alias("status")), engine, rules


def _status(present: set[str]) -> nw.Expr:
    """The upper-cased status, ``UNKNOWN`` where missing; without the column, as ``prepare``
    does, ``COMPLETED`` for a row with a result."""
    import narwhals as nw

    if "status" in present:
        return nw.col("status").cast(nw.String()).str.to_uppercase().fill_null("UNKNOWN")
    conf = nw.col("confidence")
    has = ~nw.col("type").is_null() | (~conf.is_null() & ~conf.is_nan())  # NaN: no result
    return nw.when(has).then(nw.lit("COMPLETED")).otherwise(nw.lit("UNKNOWN"))


def _pandas(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[tuple[str, str]]]]:
    """The contract columns of a pandas frame, its rules fingerprinted, times as UTC and
    confidences as numbers (``prepare`` coerces them the same way)."""
    keep = [c for c in _COLUMNS.values() if c in df.columns and c != "configuration.rules"]
    out = df[keep].copy()
    for name in ("status", "configuration_id"):
        if name in out.columns:
            out[name] = out[name].astype(pd.StringDtype("pyarrow"))
    if "result.confidence" in out.columns:
        conf = pd.to_numeric(out["result.confidence"], errors="coerce").astype("float64")
        out["result.confidence"] = conf
    if "created_at" in out.columns:
        out["created_at"] = pd.to_datetime(out["created_at"], utc=True, errors="coerce")
    if "configuration.rules" in df.columns:
        ids, rules = rule_set_ids(df["configuration.rules"])
    else:
        ids, rules = pd.Series(pd.NA, index=df.index, dtype=pd.StringDtype("pyarrow")), {}
    out[_RULE_SET] = ids
    return out.reset_index(drop=True), rules


def _duckdb_scan(path: str | os.PathLike[str]) -> Any:
    """A DuckDB relation over the Parquet files at ``path`` (a file, a dataset directory or a
    glob), in a connection of its own whose time zone is UTC."""
    try:
        import duckdb
    except ImportError:
        msg = (
            "counting a dataset on disk needs DuckDB: pip install 'classify-frames[scale]' "
            "(or pass a Polars LazyFrame or a PySpark DataFrame)"
        )
        raise ImportError(msg) from None
    target = Path(path)
    if target.is_dir():
        pattern = str(target / "**" / "*.parquet")
    elif target.exists() or any(ch in str(path) for ch in "*?["):
        pattern = str(path)
    else:
        msg = f"no Parquet file or dataset at {str(path)!r}"
        raise FileNotFoundError(msg)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.read_parquet(pattern, hive_partitioning=True, union_by_name=True)


def _to_pandas(frame: Any) -> pd.DataFrame:
    """A collected narwhals frame as pandas, through Arrow (strings stay Arrow strings)."""
    out: pd.DataFrame = frame.to_arrow().to_pandas(types_mapper=_dtype)
    return out


def _dtype(kind: pa.DataType) -> Any:
    """Arrow strings as pandas' Arrow strings, and lists (the rules) kept as Arrow lists."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _STRING
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pd.ArrowDtype(kind)
    return None


def _utc(values: pd.Series) -> pd.Series:
    times: pd.Series = pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")
    return times


def _naive_utc(values: pd.Series) -> pd.Series:
    naive: pd.Series = _utc(values).dt.tz_convert(None)
    return naive
