"""Comparing configurations and rule-set versions (a rule set is named by its fingerprint).

A rule set's predecessor is the earlier-seen rule set sharing the most types with it (by Jaccard
similarity), so a new version is compared with the one it replaced even when it was saved under
a new ``configuration_id``, and unrelated configurations are never compared.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd

from ._prepare import NO_MATCH
from ._stats import wilson_interval
from ._tables import type_order

__all__ = [
    "by_configuration",
    "configuration_mix",
    "flips",
    "pairs_of",
    "predecessors",
    "reclassified",
    "rule_changes",
    "unknown_types",
    "unused_rules",
]

Rules = dict[str, list[tuple[str, str]]]
_KEYS = ["configuration_id", "rule_set"]


def _keyed(jobs: pd.DataFrame) -> pd.DataFrame:
    named = [c for c in ("configuration_name", "configuration_version") if c in jobs.columns]
    rows = jobs.loc[jobs["completed"], [*_KEYS, "type", "confidence", "created_at", *named]]
    return rows.assign(
        configuration_id=rows["configuration_id"].fillna("(none)"),
        rule_set=rows["rule_set"].fillna("(none)"),
    )


def by_configuration(jobs: pd.DataFrame, threshold: float, rules: Rules) -> pd.DataFrame:
    """Per ``configuration_id`` and rule set: jobs, no-match rate with a Wilson interval,
    confidence mean/median, share below threshold, number of rules, first and last job."""
    rows = _keyed(jobs)
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
    conf = rows["confidence"]
    frame = rows.assign(
        no_match=(rows["type"].astype(object) == NO_MATCH),
        below=(conf < threshold).where(conf.notna()),
    )
    grouped = frame.groupby(_KEYS, sort=False)
    table = grouped.agg(
        jobs=("type", "size"),
        no_match=("no_match", "sum"),
        confidence_mean=("confidence", "mean"),
        confidence_median=("confidence", "median"),
        below_threshold=("below", "mean"),
        first_seen=("created_at", "min"),
        last_seen=("created_at", "max"),
    )
    table["no_match_rate"] = table["no_match"] / table["jobs"]
    lo, hi = wilson_interval(table["no_match"], table["jobs"])
    table["no_match_lo"], table["no_match_hi"] = lo, hi
    table["rules"] = [len(rules.get(rs, [])) for rs in table.index.get_level_values("rule_set")]
    if "configuration_name" in rows.columns and rows["configuration_name"].notna().any():
        # names and versions next to the ids, when cf.with_configuration_names added them
        names = grouped[["configuration_name", "configuration_version"]].first()
        table[["name", "version"]] = names.to_numpy()
        columns = ["name", "version", *columns]
    return table.sort_values("first_seen", kind="stable")[columns]


def configuration_mix(jobs: pd.DataFrame) -> pd.DataFrame:
    """Share of each predicted type (columns) per configuration and rule set (rows)."""
    rows = _keyed(jobs)
    types = rows["type"].astype(object)
    mix = pd.crosstab([rows["configuration_id"], rows["rule_set"]], types, normalize="index")
    return mix.reindex(columns=type_order(types), fill_value=0.0)


def predecessors(jobs: pd.DataFrame, rules: Rules) -> dict[str, str]:
    """Each rule set's predecessor (see the module docstring), by order of first job."""
    rows = jobs[jobs["rule_set"].notna()]
    first = rows.groupby("rule_set")["created_at"].min().sort_values(kind="stable")
    seen: list[str] = []
    out: dict[str, str] = {}
    for rs in first.index:
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


def rule_changes(jobs: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Rules added, removed or edited (same type, new description) from each rule set's
    predecessor to it, with both rule sets' configuration ids."""
    config = jobs.dropna(subset=["rule_set"]).groupby("rule_set")["configuration_id"].first()
    records = []
    for new, old in predecessors(jobs, rules).items():
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


def unused_rules(jobs: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Rules that no completed job of their rule set was classified as."""
    rows = jobs.loc[jobs["completed"] & jobs["rule_set"].notna(), ["rule_set", "type"]]
    seen = {str(rs): set(types.astype(object)) for rs, types in rows.groupby("rule_set")["type"]}
    counts = rows["rule_set"].value_counts()
    records = [
        {"rule_set": rs, "type": t, "description": d, "jobs_under_rule_set": int(counts[rs])}
        for rs in seen
        for t, d in rules.get(rs, [])
        if t not in seen[rs]
    ]
    return pd.DataFrame.from_records(
        records, columns=["rule_set", "type", "description", "jobs_under_rule_set"]
    )


def unknown_types(jobs: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Result types that are not among the rules of the job's rule set, with their count."""
    rows = jobs.loc[jobs["completed"] & jobs["rule_set"].notna(), ["rule_set", "type"]]
    rows = rows[rows["type"].astype(object) != NO_MATCH]
    allowed = pd.MultiIndex.from_tuples(
        [(rs, t) for rs, pairs in rules.items() for t, _ in pairs], names=["rule_set", "type"]
    )
    counts = rows.groupby([rows["rule_set"], rows["type"].astype(object)]).size()
    counts.index.names = ["rule_set", "type"]
    unknown = counts[~counts.index.isin(allowed)]
    return unknown.rename("jobs").reset_index()


def pairs_of(jobs: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Documents classified under a rule set and its predecessor: the latest type under each."""
    keep = jobs["completed"] & jobs["rule_set"].notna() & jobs["document"].notna()
    rows = jobs.loc[keep, ["document", "rule_set", "type", "created_at"]]
    rows = rows[rows["document"].duplicated(keep=False)]
    latest = rows.sort_values("created_at", kind="stable").drop_duplicates(
        ["document", "rule_set"], keep="last"
    )
    by_doc = latest.set_index(["document", "rule_set"])["type"].astype(object)
    frames = []
    for new, old in predecessors(jobs, rules).items():
        a = by_doc.xs(old, level="rule_set") if old in by_doc.index.get_level_values(1) else None
        b = by_doc.xs(new, level="rule_set") if new in by_doc.index.get_level_values(1) else None
        if a is None or b is None:
            continue
        both = pd.concat([a.rename("from_type"), b.rename("to_type")], axis=1, join="inner")
        frames.append(both.assign(from_rule_set=old, to_rule_set=new))
    columns = ["from_rule_set", "to_rule_set", "from_type", "to_type"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames)[columns]


def reclassified(pairs: pd.DataFrame) -> pd.DataFrame:
    """Documents classified under a rule set and again under its successor: how many, and how
    often the type stayed the same (with a Wilson interval)."""
    columns = ["documents", "agree", "agreement", "agreement_lo", "agreement_hi"]
    if pairs.empty:
        return pd.DataFrame(
            columns=columns,
            index=pd.MultiIndex.from_tuples([], names=["from_rule_set", "to_rule_set"]),
        )
    pairs = pairs.assign(agree=pairs["from_type"] == pairs["to_type"])
    table = pairs.groupby(["from_rule_set", "to_rule_set"]).agg(
        documents=("agree", "size"), agree=("agree", "sum")
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
    top = cast(tuple[str, str], pairs.groupby(["from_rule_set", "to_rule_set"]).size().idxmax())
    chosen = pairs[(pairs["from_rule_set"] == top[0]) & (pairs["to_rule_set"] == top[1])]
    order = type_order(chosen["from_type"], chosen["to_type"])
    matrix = pd.crosstab(chosen["from_type"], chosen["to_type"]).reindex(
        index=[t for t in order if t in set(chosen["from_type"])],
        columns=[t for t in order if t in set(chosen["to_type"])],
        fill_value=0,
    )
    matrix.index.name = f"under {top[0]}"
    matrix.columns.name = f"under {top[1]}"
    return matrix.astype(np.int64)
