"""Labels from a sample: designs read back from the queue file, clear answers on edge cases,
and the statistics against scipy / scikit-learn or a simulation."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pytest
from audit_simulation import Population, skewed_population
from scipy import stats
from sklearn.metrics import roc_auc_score

import classify_frames as cf
from classify_frames.auditing import AuditWarning
from classify_frames.auditing._certify import stratified_pvalue
from classify_frames.auditing._design import _mix_pvalue
from classify_frames.auditing._sample import LabelledSample, share
from classify_frames.auditing._stats import wilson_interval


@pytest.fixture(scope="module")
def pop() -> Population:
    return skewed_population(6_000, seed=5)


def filled(pop: Population, queue: pd.DataFrame) -> pd.DataFrame:
    truth = pop.labels.set_index("id")["label"]
    return queue.assign(label=truth[queue["id"]].to_numpy())


def round_trip(table: pd.DataFrame, path: Path) -> Path:
    table.to_csv(path, index=False)
    return path


# -- designs ------------------------------------------------------------------------------


def test_queue_carries_its_design(pop: Population) -> None:
    queue = pop.report.review_queue(n=25, strategy="stratified")
    counts = queue.groupby("design.stratum").size()
    assert (counts == 25).all() and len(counts) == len(pop.names)  # today's meaning: n per type
    assert queue["design.strategy"].eq("stratified/equal").all()
    sizes = pd.Series(np.bincount(pop.strata), index=pop.names)
    assert (queue["design.stratum_size"] == queue["design.stratum"].map(sizes)).all()
    assert np.allclose(queue["design.weight"], queue["design.stratum_size"] / 25)
    assert queue["design.population"].eq(len(pop.strata)).all()
    budget = pop.report.review_queue(strategy="stratified", budget=300)
    assert len(budget) == 300 and budget["design.strategy"].eq("stratified/neyman").all()
    proportional = pop.report.review_queue(
        strategy="stratified", budget=300, allocation="proportional"
    )
    share_drawn = proportional.groupby("design.stratum").size() / 300
    assert np.allclose(share_drawn, (sizes / sizes.sum()).reindex(share_drawn.index), atol=0.02)
    with pytest.raises(ValueError, match="budget"):
        pop.report.review_queue(strategy="stratified", allocation="neyman")
    with pytest.raises(ValueError, match="apply to strategy='stratified'"):
        pop.report.review_queue(strategy="lowest", budget=10)


def test_partial_labelling_and_no_warning_for_a_clean_design(
    pop: Population, tmp_path: Path
) -> None:
    queue = filled(pop, pop.report.review_queue(n=40, strategy="stratified", seed=1))
    queue.loc[100:, "label"] = ""  # labelled from the top only: still random within strata
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = pop.report.with_labels(round_trip(queue, tmp_path / "q.csv"))
    assert report.sample is not None and report.sample.kind == "stratified"
    assert report.accuracy_estimate.labels == 100
    assert report.accuracy_ci[0] < pop.accuracy < report.accuracy_ci[1]


def test_a_hand_edited_design_is_detected(pop: Population, tmp_path: Path) -> None:
    queue = filled(pop, pop.report.review_queue(n=40, strategy="stratified"))
    queue.loc[0, "design.weight"] = 1.0  # someone "fixed" a weight in a spreadsheet
    with pytest.warns(AuditWarning, match="edited by hand"):
        report = pop.report.with_labels(round_trip(queue, tmp_path / "edited.csv"))
    # treated as labels without a design: an equal-per-type queue's mix is not the frame's
    assert report.sample is not None and report.sample.kind == "unchecked"
    assert np.isnan(report.recommend_threshold(0.8)["threshold"]).all()
    assert report.recommend_threshold(0.8)["method"].str.startswith("refused").all()
    assert any("not shown to be random" in f for f in report.findings)


def test_lowest_queue_labels_give_no_population_figure(pop: Population, tmp_path: Path) -> None:
    queue = filled(pop, pop.report.review_queue(n=60))
    with pytest.warns(AuditWarning, match="chosen, not drawn"):
        report = pop.report.with_labels(round_trip(queue, tmp_path / "lowest.csv"))
    assert report.sample is None and math.isnan(report.accuracy)
    assert cast(float, report.summary.loc["labelled_accuracy", "value"]) < pop.accuracy - 0.2  # why
    table = report.recommend_threshold()
    assert table["threshold"].isna().all() and table["method"].str.startswith("refused").all()
    assert "not drawn at random" in " ".join(report.findings)
    assert len(report.confusion)  # the labels still show the errors
    # chosen jobs stay in the next random draw (leaving them out would bias it)
    assert len(report.review_queue(n=10**6, strategy="stratified")) == len(pop.strata)


def test_design_less_labels_are_checked(pop: Population) -> None:
    rng = np.random.default_rng(1)
    random_ids = rng.choice(pop.labels["id"].to_numpy(), 400, replace=False)
    report = pop.report.with_labels(pop.labels[pop.labels["id"].isin(random_ids)])
    assert report.sample is not None and report.sample.kind == "random"
    assert report.accuracy_ci[0] < pop.accuracy < report.accuracy_ci[1]
    done = pop.report.jobs[pop.report.jobs["completed"]]
    sure = done.loc[done["confidence"] >= 0.95, "id"].head(400)
    with pytest.warns(AuditWarning, match=r"do not look like a random sample.*review_queue"):
        biased = pop.report.with_labels(pop.labels[pop.labels["id"].isin(sure)])
    assert biased.sample is not None and biased.sample.kind == "unchecked"


def test_edge_cases_answer_clearly(pop: Population, tmp_path: Path) -> None:
    one = pop.report.with_labels(pop.labels.head(1))
    low, high = one.accuracy_ci
    assert 0 <= low < high <= 1 and high - low > 0.5  # one label says little, and says so
    assert one.recommend_threshold(0.9)["method"].str.contains("fewer than").all()
    assert one.findings and "From 1 label (" in one.findings[1]

    queue = filled(pop, pop.report.review_queue(n=30, strategy="stratified"))
    missing = queue[queue["design.stratum"] != "claim"]  # a stratum with no labels
    report = pop.report.with_labels(round_trip(missing, tmp_path / "missing.csv"))
    est = report.accuracy_estimate
    claim_share = float(np.mean(np.asarray(pop.names)[pop.strata] == "claim"))
    assert est.unlabelled == pytest.approx(claim_share)
    assert est.high - est.low > claim_share  # widened to allow any accuracy there
    assert "strata with no label" in " ".join(report.findings)
    assert np.isnan(cast(float, report.by_type.loc["claim", "accuracy"]))

    right = queue.copy()
    right["label"] = right["result.type"].fillna("none")  # every label agrees
    perfect = pop.report.with_labels(round_trip(right, tmp_path / "right.csv"))
    assert perfect.accuracy == 1.0 and perfect.accuracy_ci[0] < 1.0

    ghosts = pd.concat([queue, queue.head(3).assign(id=["x1", "x2", "x3"])])
    with pytest.warns(AuditWarning, match="3 of .* labels match no job"):
        report = pop.report.with_labels(round_trip(ghosts, tmp_path / "ghosts.csv"))
    assert report.accuracy_estimate.labels == len(queue)


def test_rounds_of_labels_combine(pop: Population, tmp_path: Path) -> None:
    first = filled(pop, pop.report.review_queue(n=30, strategy="stratified"))
    report = pop.report.with_labels(round_trip(first, tmp_path / "r1.csv"))
    plan = report.plan_labels(target_accuracy=0.8)
    assert "label these" in plan.attrs["summary"] and len(plan) == plan.attrs["plan"]["more"].sum()
    assert not set(plan["id"]) & set(first["id"])  # labels already given count, not redrawn
    both = pd.concat([first, filled(pop, plan)], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = report.with_labels(round_trip(both, tmp_path / "r2.csv"))
    assert second.sample is not None and second.sample.bands  # strata split at the threshold
    assert second.accuracy_estimate.labels == len(both)
    assert second.accuracy_ci[0] < pop.accuracy < second.accuracy_ci[1]
    margin = report.plan_labels(margin=0.03)
    assert "±3 points" in margin.attrs["summary"]
    planned = int(margin.attrs["plan"]["planned"].sum())
    assert 200 < planned < 1.1 * 1.96**2 * 0.25 / 0.03**2


def test_findings_are_sentences_with_numbers(pop: Population, tmp_path: Path) -> None:
    queue = filled(pop, pop.report.review_queue(strategy="stratified", budget=500))
    report = pop.report.with_labels(round_trip(queue, tmp_path / "q.csv"))
    text = " ".join(report.findings)
    assert "From 500 labels" in text and "95% CI" in text and "AUROC" in text
    assert "certified" in text
    assert report.findings[0] in report._repr_html_()
    assert not any("labels" in f for f in pop.report.findings[:1])  # no labels: frame only


def test_recalibrate_warns_on_few_labels_and_reports_its_gain(pop: Population) -> None:
    small = pop.report.with_labels(pop.labels.head(300))
    with pytest.warns(AuditWarning, match="fewer than 1,000 labels"):
        calibrator = small.recalibrate()
    assert math.isfinite(calibrator.gain["(all)"])


# -- issue 16 item 7 -----------------------------------------------------------------------


def test_impossible_confidences_are_excluded_with_a_warning() -> None:
    rows = [
        {"id": f"j{i}", "status": "COMPLETED", "result": {"type": "a", "confidence": c}}
        for i, c in enumerate([0.9, 0.8, 1.7, -0.3, math.inf, 0.9])
    ]
    df = cf.jobs_to_frame(rows)
    labels = pd.DataFrame({"id": [r["id"] for r in rows], "label": "a"})
    with pytest.warns(AuditWarning, match="3 completed job.*impossible confidence"):
        report = cf.audit(df, labels)
    assert report.summary.loc["confidence_impossible", "value"] == 3
    assert list(report.calibration().index) == ["0.8", "0.9"]
    assert report.brier == pytest.approx(np.mean([0.1**2, 0.2**2, 0.1**2]))
    assert report.accuracy == 1.0  # their types still count


def test_rows_that_could_not_be_fetched_are_counted() -> None:
    df = cf.jobs_to_frame([{"id": f"j{i}", "status": "COMPLETED"} for i in range(4)])
    df["fetch_error"] = pd.array(["timed out"] * 4, dtype="string[pyarrow]")
    report = cf.audit(df)
    summary = report.summary["value"]
    assert summary["not_fetched"] == 4 and summary["failed"] == 0
    assert "4 could not be fetched" in report.findings[0]


# -- the statistics against references ----------------------------------------------------


def test_binomial_and_chernoff_pvalues() -> None:
    # one stratum: the Chernoff bound is valid (never below the exact binomial tail)
    for n, k in [(50, 50), (100, 97), (200, 185), (80, 70)]:
        exact = stats.binom.sf(k - 1, n, 0.9)
        bound = stratified_pvalue(np.array([1.0]), np.array([n]), np.array([k]), 0.9)
        assert bound >= exact * (1 - 1e-6)
    # strata: under the null at its boundary, p <= alpha happens at most alpha of the time
    rng = np.random.default_rng(0)
    w, sizes = np.array([0.6, 0.3, 0.1]), np.array([60, 40, 40])
    p = np.array([0.95, 0.85, 0.55])  # sum w p = 0.88
    hits = rng.binomial(sizes, p, size=(800, 3))
    pvalues = np.array([stratified_pvalue(w, sizes, row, 0.88) for row in hits])
    assert np.mean(pvalues <= 0.05) <= 0.05
    assert np.mean(pvalues <= 0.2) <= 0.2


def test_mix_check_is_scipys_chisquare() -> None:
    codes = np.repeat([0, 1, 2], [500, 300, 200])
    rows = np.concatenate([np.arange(0, 60), np.arange(500, 530), np.arange(800, 810)])
    expected = np.array([0.5, 0.3, 0.2]) * len(rows)
    observed = np.array([60, 30, 10])
    assert _mix_pvalue(codes, rows) == pytest.approx(stats.chisquare(observed, expected).pvalue)


def test_fully_labelled_figures_are_scikit_learns(pop: Population) -> None:
    report = pop.report.with_labels(pop.labels)
    assert report.auroc == pytest.approx(roc_auc_score(pop.correct, pop.confidence))
    assert report.accuracy == pytest.approx(pop.correct.mean())
    assert report.accuracy_ci == pytest.approx((pop.correct.mean(), pop.correct.mean()))
    assert report.ece_debiased == pytest.approx(report.ece)  # no sampling error left


def test_share_is_the_stratified_estimator() -> None:
    population = np.repeat([0, 1], [900, 100])
    rows = np.concatenate([np.arange(0, 30), np.arange(900, 930)])
    y = np.concatenate([np.ones(27), np.zeros(3), np.ones(15), np.zeros(15)])
    est = share(LabelledSample(population, rows, ["a", "b"], "stratified"), y)
    assert est.estimate == pytest.approx(0.9 * 0.9 + 0.1 * 0.5)
    var = 0.9**2 * (0.09 * 30 / 29) / 30 * (1 - 30 / 900) + 0.1**2 * (0.25 * 30 / 29) / 30 * (
        1 - 30 / 100
    )
    n_eff = est.estimate * (1 - est.estimate) / var
    low, high = wilson_interval(est.estimate * n_eff, n_eff)  # checked against scipy elsewhere
    assert (est.low, est.high) == pytest.approx((float(low), float(high)), rel=1e-3)


def test_debiased_ece_is_closer_to_the_truth_than_the_plug_in() -> None:
    """A calibrated classifier, 100 labels drawn at random out of 3,000 jobs: the plug-in ECE
    is biased upward (about 0.1 at n = 100), the debiased one much less."""
    rng = np.random.default_rng(4)
    conf = rng.choice([0.6, 0.7, 0.8, 0.9, 0.95], size=3000)
    rows = [
        {"id": f"j{i}", "status": "COMPLETED", "result": {"type": "a", "confidence": float(c)}}
        for i, c in enumerate(conf)
    ]
    right = rng.random(3000) < conf
    labels = pd.DataFrame({"id": [r["id"] for r in rows], "label": np.where(right, "a", "b")})
    base = cf.audit(cf.jobs_to_frame(rows))
    truth = base.with_labels(labels).ece
    plug, debiased, covered = [], [], []
    for _ in range(40):
        picked = labels.iloc[rng.choice(3000, 100, replace=False)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AuditWarning)
            report = base.with_labels(picked)
        plug.append(report.ece)
        debiased.append(report.ece_debiased)
        low, high = report.ece_ci
        covered.append(low <= truth <= high)
    assert np.mean(plug) - truth > 0.04
    assert abs(np.mean(debiased) - truth) < 0.7 * (np.mean(plug) - truth)
    assert np.mean(covered) >= 0.8
