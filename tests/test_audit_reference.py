"""The audit's fast tables (integer codes, bincounts, one hash of the documents) against a
straightforward pandas version of each, on a small frame holding every case they branch on:
two rule-set versions, re-classified documents (one classified twice under the same rule set),
a missing configuration, missing times, an unknown type, an unused rule, failures and no-match.

Each table is checked without labels, fully labelled and from a sampled (stratified) queue.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_audit import RULES_V1, make_jobs

import classify_frames as cf
from classify_frames.auditing import NO_MATCH, AuditReport
from classify_frames.auditing._stats import bin_index, chi2_homogeneity, ks_2samp, psi, resolve_bins

THRESHOLD = 0.8


def mixed_frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    v2 = [r for r in RULES_V1 if r["type"] != "contract"]
    v2 = [*v2, {"type": "credit_note", "description": "A credit note from a supplier."}]
    v2[0] = {"type": "invoice", "description": "A bill asking for payment."}
    old, old_truth = make_jobs(240, seed=1)
    new, new_truth = make_jobs(240, seed=2, configuration={"rules": v2}, configuration_id="cfg-2")
    loose, loose_truth = make_jobs(60, seed=3, configuration_id=None, configuration={})
    new["created_at"] = old["created_at"] + pd.Timedelta(days=150)
    new["file_input"] = old["file_input"].where(new.index % 3 > 0)
    old.loc[::7, "file_input"] = old["file_input"].iloc[1]  # twice, one set
    old.loc[::11, "created_at"] = pd.NaT
    frames, truths = [old, new, loose], [old_truth, new_truth, loose_truth]
    for k, (frame, truth) in enumerate(zip(frames, truths, strict=True)):
        frame["id"] = frame["id"] + f"-{k}"
        truth["id"] = truth["id"] + f"-{k}"
    df = pd.concat(frames, ignore_index=True)
    return df, pd.concat(truths, ignore_index=True)


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    return mixed_frame()


@pytest.fixture(scope="module", params=["unlabelled", "fully labelled", "sampled"])
def report(request: pytest.FixtureRequest, frame: tuple[pd.DataFrame, pd.DataFrame]) -> AuditReport:
    df, truth = frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if request.param == "unlabelled":
            return cf.audit(df, threshold=THRESHOLD)
        if request.param == "fully labelled":
            return cf.audit(df, truth, threshold=THRESHOLD)
        queue = cf.audit(df).review_queue(strategy="stratified", budget=150)
        labels = truth.set_index("id")["label"]
        queue["label"] = labels[queue["id"]].to_numpy()
        return cf.audit(df, queue, threshold=THRESHOLD)


def plain(report: AuditReport) -> pd.DataFrame:
    """The completed jobs as plain object strings: what the reference versions group by."""
    jobs = report.jobs[report.jobs["completed"]]
    return pd.DataFrame(
        {
            "type": jobs["type"].astype(object),
            "confidence": jobs["confidence"].astype(float),
            "configuration_id": jobs["configuration_id"].astype(object).fillna("(none)"),
            "rule_set": jobs["rule_set"].astype(object).fillna("(none)"),
            "has_rules": jobs["rule_set"].notna().to_numpy(),
            "document": jobs["document"].astype(object),
            "created_at": jobs["created_at"],
            "id": jobs["id"].astype(object),
        },
        index=jobs.index,
    )


def close(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        actual, expected, check_dtype=False, check_index_type=False, check_names=False
    )


def test_the_mixed_frame_reaches_every_branch(report: AuditReport) -> None:
    assert len(report.by_configuration) == 3 and len(report.rule_changes) == 3
    assert len(report.unknown_types) and len(report.unused_rules)
    assert len(report.reclassified) == 1 and report.jobs["created_at"].isna().any()


def test_by_type_matches_a_groupby_of_the_type_names(report: AuditReport) -> None:
    rows = plain(report)
    grouped = rows["confidence"].groupby(rows["type"])
    below = (rows["confidence"] < THRESHOLD).where(rows["confidence"].notna())
    expected = pd.DataFrame(
        {
            "count": rows["type"].value_counts(),
            "share": rows["type"].value_counts() / len(rows),
            "confidence_mean": grouped.mean(),
            "confidence_median": grouped.median(),
            "confidence_p10": grouped.quantile(0.1),
            "confidence_p90": grouped.quantile(0.9),
            "below_threshold": below.groupby(rows["type"]).mean(),
        }
    ).reindex(report.by_type.index)
    expected[["count", "share"]] = expected[["count", "share"]].fillna(0)
    close(report.by_type[list(expected.columns)], expected)


def test_configuration_tables_match_groupbys_of_the_ids(report: AuditReport) -> None:
    rows = plain(report).assign(no_match=lambda r: r["type"] == NO_MATCH)
    rows["below"] = (rows["confidence"] < THRESHOLD).where(rows["confidence"].notna())
    grouped = rows.groupby(["configuration_id", "rule_set"], sort=False)  # ties: first seen
    expected = grouped.agg(
        jobs=("type", "size"),
        no_match=("no_match", "sum"),
        confidence_mean=("confidence", "mean"),
        confidence_median=("confidence", "median"),
        below_threshold=("below", "mean"),
        first_seen=("created_at", "min"),
        last_seen=("created_at", "max"),
    ).sort_values("first_seen", kind="stable")
    actual = report.by_configuration
    close(actual[list(expected.columns)], expected)
    mix = pd.crosstab(
        [rows["configuration_id"], rows["rule_set"]], rows["type"], normalize="index"
    ).reindex(columns=report.configuration_mix.columns, fill_value=0.0)
    close(report.configuration_mix, mix)


def test_rule_tables_match_loops_over_the_rule_sets(report: AuditReport) -> None:
    rows = plain(report)
    rows = rows[rows["has_rules"]]
    seen = rows.groupby("rule_set")["type"].agg(set)
    unused = {(rs, t) for rs in seen.index for t, _ in report.rules[rs] if t not in seen[rs]}
    assert set(report.unused_rules[["rule_set", "type"]].itertuples(index=False)) == unused
    counts = rows[rows["type"] != NO_MATCH].groupby(["rule_set", "type"]).size()
    unknown = {
        (rs, t, n)
        for rs, t, n in counts.reset_index().itertuples(index=False)
        if t not in {rule for rule, _ in report.rules[rs]}
    }
    assert set(report.unknown_types.itertuples(index=False)) == unknown
    config = rows.groupby("rule_set")["configuration_id"].first()
    changes = report.rule_changes
    assert changes["from_configuration"].tolist() == config[changes["from_rule_set"]].tolist()
    assert changes["to_configuration"].tolist() == config[changes["to_rule_set"]].tolist()


def test_reclassified_and_flips_match_the_latest_type_per_document(report: AuditReport) -> None:
    rows = plain(report)
    rows = rows[rows["has_rules"] & rows["document"].notna()]
    latest = rows.sort_values("created_at", kind="stable").drop_duplicates(
        ["document", "rule_set"], keep="last"
    )
    by_doc = latest.pivot(index="document", columns="rule_set", values="type")
    old, new = report.rule_changes[["from_rule_set", "to_rule_set"]].iloc[0]
    both = by_doc[[old, new]].dropna()
    table = report.reclassified
    assert table.index.tolist() == [(old, new)]
    assert table["documents"].iloc[0] == len(both)
    assert table["agree"].iloc[0] == int((both[old] == both[new]).sum())
    expected = pd.crosstab(both[old], both[new])
    flips = report.flips()
    close(flips, expected.reindex(index=flips.index, columns=flips.columns))
    assert int(flips.to_numpy().sum()) == len(both)


def test_drift_matches_monthly_crosstabs(report: AuditReport) -> None:
    table = report.drift("M")
    rows = plain(report).dropna(subset=["created_at"])
    period = rows["created_at"].dt.tz_convert(None).dt.to_period("M")
    counts = pd.crosstab(period, rows["type"])
    order = [c.removeprefix("share.") for c in table.columns if c.startswith("share.")]
    counts = counts.reindex(index=table.index, columns=order, fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares.columns = [f"share.{t}" for t in order]
    close(table[shares.columns], shares)
    assert table["jobs"].tolist() == counts.sum(axis=1).tolist()
    base = period.isin(table.index[table["baseline"]]).to_numpy()
    base_types = counts.loc[table["baseline"]].sum().to_numpy()
    values = rows["confidence"].to_numpy(float)
    has = ~np.isnan(values)
    strategy = resolve_bins(values[base & has], "auto")
    strategy = "quantile" if strategy == "uniform" else strategy
    ids = bin_index(values[has], strategy, 10, reference=values[base & has])[0]
    bins = pd.crosstab(period[has], ids).reindex(index=table.index, fill_value=0)
    base_bins = bins.loc[table["baseline"]].sum().to_numpy()
    for i, month in enumerate(table.index):
        row = table.iloc[i]
        mine = counts.iloc[i].to_numpy()
        assert row["psi_type"] == pytest.approx(psi(base_types, mine), nan_ok=True)
        assert row["p_type"] == pytest.approx(chi2_homogeneity(base_types, mine), nan_ok=True)
        binned = bins.iloc[i].to_numpy()
        assert row["psi_confidence"] == pytest.approx(psi(base_bins, binned), nan_ok=True)
        ks = ks_2samp(values[base & has], values[(period == month).to_numpy() & has])
        assert (row["ks_statistic"], row["ks_pvalue"]) == pytest.approx(ks, nan_ok=True)


def test_the_lowest_queue_sorts_confidence_then_no_match_then_id(report: AuditReport) -> None:
    rows = plain(report)
    key = rows.assign(
        conf=rows["confidence"].fillna(-1.0), match=rows["type"] != NO_MATCH
    ).sort_values(["conf", "match", "id"], kind="stable")
    queue = report.review_queue(30)
    assert queue["id"].tolist() == key["id"].head(30).tolist()
