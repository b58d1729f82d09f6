"""Comparing configurations and rule-set versions (a rule set is named by its fingerprint).

A rule set's predecessor is the earlier-seen rule set sharing the most types with it (by Jaccard
similarity), so a new version is compared with the one it replaced even when it was saved under
a new ``configuration_id``, and unrelated configurations are never compared.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._prepare import NO_MATCH
from ._stats import wilson_interval
from ._tables import _codes, type_order
from ._weighted import median, weights_of

__all__ = [
    "by_configuration",
    "configuration_mix",
    "flips",
    "keyed",
    "pairs_of",
    "predecessors",
    "reclassified",
    "rule_changes",
    "unknown_types",
    "unused_rules",
]

Rules = dict[str, list[tuple[str, str]]]
_KEYS = ["configuration_id", "rule_set"]
_NONE = "(none)"
_STRING = pd.StringDtype("pyarrow")


def keyed(jobs: pd.DataFrame) -> pd.DataFrame:
    """The completed jobs' columns these tables read, ``"(none)"`` for a missing configuration
    or rule set (both categoricals of strings, see :func:`._prepare.prepare`): computed once
    per report and shared by its tables."""
    named = [c for c in ("configuration_name", "configuration_version") if c in jobs.columns]
    counted = [c for c in ("weight", "last_seen") if c in jobs.columns]  # a frame of cells
    rows = jobs.loc[
        jobs["completed"], [*_KEYS, "type", "confidence", "created_at", *named, *counted]
    ]
    return rows.assign(**{key: _filled(rows[key]) for key in _KEYS})


def _filled(values: pd.Series) -> pd.Series:
    if not values.isna().any():
        return values
    if _NONE not in values.cat.categories:
        values = values.cat.add_categories([_NONE])
    return values.fillna(_NONE)


def _groups(rows: pd.DataFrame) -> tuple[np.ndarray, pd.MultiIndex]:
    """Each row's (configuration_id, rule_set) group, numbered in order of first appearance,
    and the groups as an index of strings."""
    config, rule_set = rows["configuration_id"].cat, rows["rule_set"].cat
    width = max(len(rule_set.categories), 1)
    pair = config.codes.to_numpy(np.int64) * width + rule_set.codes.to_numpy(np.int64)
    group, uniques = pd.factorize(pair)
    index = pd.MultiIndex.from_arrays(
        [
            pd.Index(config.categories.take(uniques // width), dtype=_STRING),
            pd.Index(rule_set.categories.take(uniques % width), dtype=_STRING),
        ],
        names=_KEYS,
    )
    return group, index


def by_configuration(rows: pd.DataFrame, threshold: float, rules: Rules) -> pd.DataFrame:
    """Per ``configuration_id`` and rule set (``rows``: :func:`keyed`): jobs, no-match rate
    with a Wilson interval, confidence mean/median, share below threshold, number of rules,
    first and last job."""
    columns = [
        "jobs",
        "no_match",
        "no_match_rate",
        "no_match_lo",
        "no_match_hi",
        "confidence_mean",
        "confidence_median",
        "below_threshold",
        "rules",
        "first_seen",
        "last_seen",
    ]
    if rows.empty:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=_KEYS))
    group, index = _groups(rows)
    conf = rows["confidence"]
    frame = pd.DataFrame(
        {
            "type": rows["type"],
            "no_match": (rows["type"] == NO_MATCH).to_numpy(bool),
            "confidence": conf,
            "below": (conf < threshold).where(conf.notna()),
            "created_at": rows["created_at"],
        },
        index=rows.index,
    )
    grouped = frame.groupby(group, sort=True)  # the groups' numbers: order of appearance
    weights = weights_of(rows)
    if weights is None:
        table = grouped.agg(
            jobs=("type", "size"),
            no_match=("no_match", "sum"),
            confidence_mean=("confidence", "mean"),
            confidence_median=("confidence", "median"),
            below_threshold=("below", "mean"),
            first_seen=("created_at", "min"),
            last_seen=("created_at", "max"),
        )
    else:
        table = _weighted_groups(frame.assign(last_seen=rows["last_seen"]), group, weights)
    table.index = index
    table["no_match_rate"] = table["no_match"] / table["jobs"]
    lo, hi = wilson_interval(table["no_match"], table["jobs"])
    table["no_match_lo"], table["no_match_hi"] = lo, hi
    table["rules"] = [len(rules.get(rs, [])) for rs in table.index.get_level_values("rule_set")]
    if "configuration_name" in rows.columns and rows["configuration_name"].notna().any():
        # names and versions next to the ids, when cf.with_configuration_names added them
        named = rows[["configuration_name", "configuration_version"]]
        names = named.groupby(group, sort=True).first()
        table[["name", "version"]] = names.to_numpy()
        columns = ["name", "version", *columns]
    return table.sort_values("first_seen", kind="stable")[columns]


def _weighted_groups(frame: pd.DataFrame, group: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """``by_configuration``'s aggregates from weighted rows (a frame counted in cells)."""
    records = []
    for g in range(int(group.max()) + 1 if len(group) else 0):
        mine = group == g
        part, w = frame[mine], weights[mine]
        conf = part["confidence"].to_numpy(float)
        known = ~np.isnan(conf)
        total = float(w[known].sum())
        below = part["below"].to_numpy(float)
        records.append(
            {
                "jobs": int(w.sum()),
                "no_match": int(w[part["no_match"].to_numpy(bool)].sum()),
                "confidence_mean": float((conf[known] * w[known]).sum() / total)
                if total
                else np.nan,
                "confidence_median": median(conf, w),
                "below_threshold": float((below[known] * w[known]).sum() / total)
                if total
                else np.nan,
                "first_seen": part["created_at"].min(),
                "last_seen": part["last_seen"].max(),
            }
        )
    return pd.DataFrame.from_records(records)


def configuration_mix(rows: pd.DataFrame) -> pd.DataFrame:
    """Share of each predicted type (columns) per configuration and rule set (rows; ``rows``:
    :func:`keyed`)."""
    types = rows["type"]
    group, index = _groups(rows)
    weights = weights_of(rows)
    order = type_order(types, weights=weights)
    counts = np.bincount(
        group * len(order) + _codes(types, order),
        weights=weights,
        minlength=len(index) * len(order),
    ).reshape(len(index), len(order))
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / counts.sum(axis=1, keepdims=True)
    mix = pd.DataFrame(shares, index=index, columns=pd.Index(order, name="type"))
    return mix.sort_index()


def predecessors(jobs: pd.DataFrame, rules: Rules) -> dict[str, str]:
    """Each rule set's predecessor (see the module docstring), by order of first job."""
    rows = jobs.loc[jobs["rule_set"].notna(), ["rule_set", "created_at"]]
    first = rows.groupby("rule_set", observed=True)["created_at"].min()
    first = first.sort_values(kind="stable")
    seen: list[str] = []
    out: dict[str, str] = {}
    for rs in first.index.astype(str):
        types = {t for t, _ in rules.get(rs, [])}
        best, score = None, 0.0
        for old in seen:
            other = {t for t, _ in rules.get(old, [])}
            union = types | other
            jaccard = len(types & other) / len(union) if union else 0.0
            if jaccard > 0 and jaccard >= score:
                best, score = old, jaccard
        if best is not None:
            out[rs] = best
        seen.append(rs)
    return out


def rule_changes(jobs: pd.DataFrame, rules: Rules, successions: dict[str, str]) -> pd.DataFrame:
    """Rules added, removed or edited (same type, new description) from each rule set's
    predecessor to it (``successions``: :func:`predecessors`), with both rule sets'
    configuration ids."""
    rows = jobs.loc[jobs["rule_set"].notna(), ["rule_set", "configuration_id"]]
    first = rows.groupby("rule_set", observed=True)["configuration_id"].first()
    config = pd.Series(first.to_numpy(), index=first.index.astype(str)).astype(_STRING)
    records = []
    for new, old in successions.items():
        before, after = dict(rules[old]), dict(rules[new])
        for t in sorted(before.keys() | after.keys()):
            if t not in before:
                change = "added"
            elif t not in after:
                change = "removed"
            elif before[t] != after[t]:
                change = "edited"
            else:
                continue
            records.append(
                {
                    "from_rule_set": old,
                    "to_rule_set": new,
                    "from_configuration": config.get(old),
                    "to_configuration": config.get(new),
                    "type": t,
                    "change": change,
                    "old_description": before.get(t),
                    "new_description": after.get(t),
                }
            )
    columns = [
        "from_rule_set",
        "to_rule_set",
        "from_configuration",
        "to_configuration",
        "type",
        "change",
        "old_description",
        "new_description",
    ]
    return pd.DataFrame.from_records(records, columns=columns)


def _seen(jobs: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str]]:
    """Completed jobs per (rule set, type) as a matrix (rule sets in sorted order), with the
    rule sets' and types' names."""
    counted = ["weight"] if "weight" in jobs.columns else []  # a frame of cells
    rows = jobs.loc[jobs["completed"] & jobs["rule_set"].notna(), ["rule_set", "type", *counted]]
    rule_set, types = rows["rule_set"].cat, rows["type"].cat
    names = [str(c) for c in rule_set.categories]
    kinds = [str(c) for c in types.categories]
    codes = rule_set.codes.to_numpy(np.int64) * len(kinds) + types.codes.to_numpy(np.int64)
    weights = weights_of(rows)
    counts = np.bincount(codes, weights=weights, minlength=len(names) * len(kinds))
    counts = counts.astype(np.int64)
    return counts.reshape(len(names), len(kinds)), names, kinds


def unused_rules(jobs: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Rules that no completed job of their rule set was classified as."""
    counts, names, kinds = _seen(jobs)
    records = []
    for i, rs in enumerate(names):
        total = int(counts[i].sum())
        if not total:
            continue
        seen = {kinds[j] for j in np.flatnonzero(counts[i])}
        records += [
            {"rule_set": rs, "type": t, "description": d, "jobs_under_rule_set": total}
            for t, d in rules.get(rs, [])
            if t not in seen
        ]
    return pd.DataFrame.from_records(
        records, columns=["rule_set", "type", "description", "jobs_under_rule_set"]
    )


def unknown_types(jobs: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Result types that are not among the rules of the job's rule set, with their count."""
    counts, names, kinds = _seen(jobs)
    allowed = {(rs, t) for rs, pairs in rules.items() for t, _ in pairs}
    found = [
        (names[i], kinds[j], int(counts[i, j]))
        for i, j in zip(*np.nonzero(counts), strict=True)
        if kinds[j] != NO_MATCH and (names[i], kinds[j]) not in allowed
    ]
    return pd.DataFrame(
        {
            "rule_set": pd.array([f[0] for f in found], dtype=_STRING),
            "type": pd.Series([f[1] for f in found], dtype="str"),
            "jobs": pd.Series([f[2] for f in found], dtype=np.int64),
        }
    )


def pairs_of(jobs: pd.DataFrame, successions: dict[str, str]) -> pd.DataFrame:
    """Documents classified under a rule set and its predecessor (``successions``:
    :func:`predecessors`): the latest type under each, one row per document and pair (rule
    sets and types as categoricals).

    Worked on integer codes (documents numbered once), as millions of jobs hold few rule sets
    and types but a document each."""
    columns = ["from_rule_set", "to_rule_set", "from_type", "to_type"]
    involved = jobs["rule_set"].isin([*successions, *successions.values()])
    keep = (jobs["completed"] & involved & jobs["document"].notna()).to_numpy(bool)
    if not keep.any():
        return pd.DataFrame(columns=columns)
    document = _numbered(jobs["document"], keep)
    rule_set, types = jobs["rule_set"].cat, jobs["type"].cat
    set_codes = rule_set.codes.to_numpy(np.int64)[keep]
    type_codes = types.codes.to_numpy(np.int64)[keep]
    created = jobs["created_at"].to_numpy("datetime64[us]")[keep].view(np.int64)
    created = np.where(created == np.iinfo(np.int64).min, np.iinfo(np.int64).max, created)
    again = np.bincount(document)[document] > 1  # documents classified more than once
    document, set_codes, type_codes = document[again], set_codes[again], type_codes[again]
    order = np.argsort(created[again], kind="stable")  # missing times last, as sort_values
    width = max(len(rule_set.categories), 1)
    pair = (document * width + set_codes)[order]
    latest = order[~pd.Series(pair).duplicated(keep="last").to_numpy()]
    sets = [str(c) for c in rule_set.categories]
    code_of = {name: i for i, name in enumerate(sets)}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in columns}
    for new, old in successions.items():
        a = latest[set_codes[latest] == code_of[old]]
        b = latest[set_codes[latest] == code_of[new]]
        _, ia, ib = np.intersect1d(document[a], document[b], return_indices=True)
        parts["from_rule_set"].append(np.full(len(ia), code_of[old]))
        parts["to_rule_set"].append(np.full(len(ia), code_of[new]))
        parts["from_type"].append(type_codes[a[ia]])
        parts["to_type"].append(type_codes[b[ib]])
    kinds = [str(c) for c in types.categories]
    out = pd.DataFrame(
        {
            name: pd.Categorical.from_codes(
                np.concatenate(codes), categories=pd.Index(sets if "rule_set" in name else kinds)
            )
            for name, codes in parts.items()
        }
    )
    return out if len(out) else pd.DataFrame(columns=columns)


def _numbered(values: pd.Series, keep: np.ndarray) -> np.ndarray:
    """A number for each distinct string of ``values[keep]``: one Arrow hash of the kept
    strings (pandas' factorize of a chunked column costs half as much again)."""
    data = pa.array(values.array)
    chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
    whole = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
    if not keep.all():
        whole = whole.filter(pa.array(keep))
    codes: np.ndarray = pc.dictionary_encode(whole).indices.to_numpy(zero_copy_only=False)
    return codes.astype(np.int64)


def reclassified(pairs: pd.DataFrame) -> pd.DataFrame:
    """Documents classified under a rule set and again under its successor (``pairs``:
    :func:`pairs_of`): how many, and how often the type stayed the same (with a Wilson
    interval)."""
    columns = ["documents", "agree", "agreement", "agreement_lo", "agreement_hi"]
    keys = ["from_rule_set", "to_rule_set"]
    if pairs.empty:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=keys))
    agree = pairs["from_type"].cat.codes.to_numpy() == pairs["to_type"].cat.codes.to_numpy()
    pairs = pairs.assign(agree=agree)
    table = pairs.groupby(keys, observed=True).agg(
        documents=("agree", "size"), agree=("agree", "sum")
    )
    table.index = pd.MultiIndex.from_arrays(
        [table.index.get_level_values(k).astype(str) for k in keys], names=keys
    )
    table["agreement"] = table["agree"] / table["documents"]
    lo, hi = wilson_interval(table["agree"], table["documents"])
    table["agreement_lo"], table["agreement_hi"] = lo, hi
    return table[columns]


def flips(
    pairs: pd.DataFrame, from_rule_set: str | None = None, to_rule_set: str | None = None
) -> pd.DataFrame:
    """Flip matrix of reclassified documents (``pairs_of``): type under the old rule set (rows)
    against type under the new one (columns); the pair with the most documents unless named."""
    if from_rule_set is not None:
        pairs = pairs[pairs["from_rule_set"] == from_rule_set]
    if to_rule_set is not None:
        pairs = pairs[pairs["to_rule_set"] == to_rule_set]
    if pairs.empty:
        return pd.DataFrame()
    sizes = pairs.groupby(["from_rule_set", "to_rule_set"], observed=True).size()
    top = tuple(str(k) for k in cast(tuple[object, object], sizes.idxmax()))
    chosen = pairs[(pairs["from_rule_set"] == top[0]) & (pairs["to_rule_set"] == top[1])]
    before, after = chosen["from_type"], chosen["to_type"]
    kinds = [str(c) for c in before.cat.categories]
    counts = np.bincount(
        before.cat.codes.to_numpy(np.int64) * len(kinds) + after.cat.codes.to_numpy(np.int64),
        minlength=len(kinds) ** 2,
    ).reshape(len(kinds), len(kinds))
    at = {name: i for i, name in enumerate(kinds)}
    order = type_order(before, after)
    rows = [t for t in order if counts[at[t]].sum() > 0]
    cols = [t for t in order if counts[:, at[t]].sum() > 0]
    matrix = pd.DataFrame(
        counts[np.ix_([at[t] for t in rows], [at[t] for t in cols])].astype(np.int64),
        index=pd.Index(rows, name=f"under {top[0]}"),
        columns=pd.Index(cols, name=f"under {top[1]}"),
    )
    return matrix
