"""Design-weighted tables beyond the headline accuracy: the drift table's accuracy per period
and the per-type precision / recall / calibration, checked against scikit-learn on a fully
labelled frame and by a small simulation on a stratified design where the plain mean is
biased (rare, much worse types drawn as often as common ones)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pytest
from audit_simulation import Population, population, skewed_population

import classify_frames as cf
from classify_frames.auditing import AuditReport, AuditWarning

MONTHS = np.array(["2026-01-15", "2026-02-15", "2026-03-15"], dtype="datetime64[ns]")


@pytest.fixture(scope="module")
def timed() -> Population:
    """The skewed mix over three months (the later months worse, so the periods differ)."""
    base = skewed_population(6_000, seed=11)
    rng = np.random.default_rng(11)
    month = rng.integers(0, 3, size=len(base.frame))
    frame = base.frame.assign(created_at=pd.to_datetime(MONTHS[month]).tz_localize("UTC"))
    return population(base.name, frame, base.labels)


def labelled(pop: Population, queue: pd.DataFrame, path: Path) -> AuditReport:
    truth = pop.labels.set_index("id")["label"]
    queue.assign(label=truth[queue["id"]].to_numpy()).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        return pop.report.with_labels(path)


def true_by_month(pop: Population) -> pd.Series:
    done = pop.report.jobs[pop.report.jobs["completed"]]
    month = done["created_at"].dt.tz_convert(None).dt.to_period("M").to_numpy()
    return pd.Series(pop.correct).groupby(month).mean()


# -- drift --------------------------------------------------------------------------------


def test_drift_accuracy_is_the_plain_one_on_a_fully_labelled_frame(timed: Population) -> None:
    report = cf.audit(timed.frame, timed.labels)
    table = report.drift("M")
    truth = true_by_month(timed)
    assert np.allclose(table["accuracy"], truth.reindex(table.index))
    assert (table["accuracy_labels"] == table["jobs"]).all()
    assert (table["accuracy_lo"] <= table["accuracy"]).all()
    assert (table["accuracy"] <= table["accuracy_hi"]).all()
    assert (table["labelled"] == table["jobs"]).all()


def test_drift_accuracy_is_unbiased_and_covers_on_a_stratified_queue(
    timed: Population, tmp_path: Path
) -> None:
    """The plain mean of a per-type queue is far too low here; the design-weighted per-month
    accuracy is right on average and its 95% interval covers the month's truth."""
    truth = true_by_month(timed)
    estimates, plains, covered = [], [], []
    for seed in range(30):
        queue = timed.report.review_queue(n=40, strategy="stratified", seed=seed)
        report = labelled(timed, queue, tmp_path / f"q{seed}.csv")
        table = report.drift("M")
        right = truth.reindex(table.index).to_numpy()
        estimates.append(table["accuracy"].to_numpy())
        covered.append((table["accuracy_lo"] <= right) & (right <= table["accuracy_hi"]))
        done = report.jobs[report.jobs["completed"]]
        assert report.truth is not None
        label = report.truth[done.index]
        hit = (done["type"].astype(object) == label.astype(object)).where(label.notna())
        month = done["created_at"].dt.tz_convert(None).dt.to_period("M")
        plains.append(hit.astype(float).groupby(month).mean().reindex(table.index).to_numpy())
        assert (table["accuracy_labels"] == table["labelled"]).all()
        assert (table["accuracy_sample"] == "stratified").all()
    bias = np.mean(estimates, axis=0) - truth.to_numpy()
    plain_bias = np.mean(plains, axis=0) - truth.to_numpy()
    assert np.all(np.abs(bias) < 0.02), bias
    assert np.all(plain_bias < -0.1), plain_bias  # what the old plain mean gave
    assert 0.88 <= np.mean(covered) <= 1.0, np.mean(covered)


def test_drift_refuses_accuracy_from_a_lowest_queue(timed: Population, tmp_path: Path) -> None:
    queue = timed.report.review_queue(n=60, strategy="lowest")
    table = labelled(timed, queue, tmp_path / "lowest.csv").drift("M")
    assert table["accuracy"].isna().all() and table["accuracy_change"].isna().all()
    assert (table["accuracy_labels"] == 0).all() and table["labelled"].sum() == 60
    assert (table["accuracy_sample"] == "not a random sample").all()
    assert not table["reasons"].str.contains("accuracy").any()


# -- by type ------------------------------------------------------------------------------

WEIGHTED = ["precision", "recall", "f1", "ece", "mce", "brier", "label_confidence", "label_gap"]


def true_by_type(pop: Population) -> pd.DataFrame:
    done = pop.report.jobs[pop.report.jobs["completed"]]
    predicted = done["type"].astype(object).to_numpy()
    truth = pop.labels.set_index("id")["label"].replace({"none": "no match"})[done["id"]]
    true = truth.to_numpy(object)
    right = predicted == true
    names = sorted(set(predicted))
    return pd.DataFrame(
        {
            "precision": [right[predicted == t].mean() for t in names],
            "recall": [right[true == t].mean() for t in names],
        },
        index=names,
    )


def test_weighted_by_type_is_the_plain_one_on_a_fully_labelled_frame(timed: Population) -> None:
    from classify_frames.auditing import _tables

    report = cf.audit(timed.frame, timed.labels)
    plain = _tables.by_type(report.jobs, report.threshold, report._labelled)
    weighted = report.by_type
    for column in WEIGHTED:
        np.testing.assert_allclose(weighted[column], plain[column], err_msg=column, atol=1e-12)
    assert (weighted["overconfident"] == plain["overconfident"]).all()
    assert (weighted["recall_lo"] == weighted["recall"]).all()  # every job labelled: exact


def test_weighted_precision_and_recall_are_unbiased_under_confidence_bands(
    timed: Population, tmp_path: Path
) -> None:
    """Strata split at confidence 0.9 and drawn equally: the low band is over-represented, so
    precision and recall among the labels are biased; the weighted ones are not, and recall's
    95% interval covers."""
    truth = true_by_type(timed)
    weighted, plain, covered = [], [], []
    for seed in range(25):
        queue = timed.report.review_queue(n=30, strategy="stratified", bands=(0.9,), seed=seed)
        report = labelled(timed, queue, tmp_path / f"b{seed}.csv")
        table = report.by_type.reindex(truth.index)
        weighted.append(table[["precision", "recall"]].to_numpy())
        y_true, y_pred, _ = report._labelled
        plain.append(
            [
                [(y_true == y_pred)[y_pred == t].mean(), (y_true == y_pred)[y_true == t].mean()]
                for t in truth.index
            ]
        )
        right = truth["recall"].to_numpy()
        covered.append((table["recall_lo"] <= right) & (right <= table["recall_hi"]))
    bias = np.mean(weighted, axis=0) - truth.to_numpy()
    plain_bias = np.mean(plain, axis=0) - truth.to_numpy()
    assert np.abs(bias[:, 0]).max() < 0.02, bias  # precision: a post-stratified share
    # recall is a ratio estimate: for the rarest true types (3-5% of jobs, mostly hidden in
    # big strata) it keeps a small-sample bias (+0.02 to +0.04 in 150 reps), far below the
    # plain one's
    assert np.abs(bias[:, 1]).max() < 0.06, bias
    assert np.abs(plain_bias).max() > 0.2, plain_bias  # what the labels alone said
    assert np.mean(covered) >= 0.85, np.mean(covered)


def test_by_type_has_no_population_figures_from_a_lowest_queue(
    timed: Population, tmp_path: Path
) -> None:
    queue = timed.report.review_queue(n=60, strategy="lowest")
    table = labelled(timed, queue, tmp_path / "lowest.csv").by_type
    assert table[WEIGHTED].isna().all().all() and not table["overconfident"].any()
    assert table["support"].sum() == 60  # the labels themselves are still counted


# -- planning -----------------------------------------------------------------------------


def test_a_target_plan_states_a_chance_it_keeps(timed: Population, tmp_path: Path) -> None:
    """The plan's stated chance of certifying is simulated, not the normal formula's power:
    labelled as planned from the truth, the plans certify at least about as often as stated
    (the old summary promised 80% where a small pilot certified in about half the plans)."""
    truth = timed.labels.set_index("id")["label"]
    pilot = timed.report.review_queue(n=20, strategy="stratified", seed=1)
    pilot = pilot.assign(label=truth[pilot["id"]].to_numpy())
    report = labelled(timed, pilot, tmp_path / "pilot.csv")
    certified = []
    for seed in range(15):
        more = report.plan_labels(target_accuracy=0.8, seed=seed)
        more = more.assign(label=truth[more["id"]].to_numpy())
        both = labelled(timed, pd.concat([pilot, more]), tmp_path / f"plan{seed}.csv")
        threshold = cast(float, both.recommend_threshold(0.8).loc["overall", "threshold"])
        certified.append(np.isfinite(threshold))
    chance = float(more.attrs["plan"].attrs["chance"])
    assert (
        f"Estimated chance that they certify a threshold: {chance:.0%}" in (more.attrs["summary"])
    )
    assert chance <= np.mean(certified) + 0.15, (chance, np.mean(certified))
