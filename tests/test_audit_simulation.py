"""The audit's statistics checked by simulation (few repetitions here; many in
``benchmarks/sim_audit.py``): design-weighted accuracy is unbiased and its 95% interval covers
the truth at close to 95%; certified thresholds fall below the target in at most about delta of
the repetitions, and are certified often when a threshold with margin exists. Labels travel
through a real review queue and a CSV file, and the audit reads the design back by itself."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from audit_simulation import (
    Population,
    emulator_population,
    sample_of,
    simulate,
    skewed_population,
)

from classify_frames.auditing._certify import certify
from classify_frames.auditing._sample import share

REPS = 200


@pytest.fixture(scope="module")
def skewed() -> Population:
    return skewed_population(20_000)


@pytest.fixture(scope="module")
def emulated() -> Population:
    return emulator_population(10_000, seed=3)


def label_from_truth(pop: Population, queue: pd.DataFrame, path: Path) -> Path:
    """A reviewer fills in the queue from the truth; it goes through a CSV file."""
    truth = pop.labels.set_index("id")["label"]
    queue = queue.assign(label=truth[queue["id"]].to_numpy())
    queue.to_csv(path, index=False)
    return path


def test_the_csv_round_trip_gives_the_simulated_estimates(
    skewed: Population, tmp_path: Path
) -> None:
    """What the study simulates is what a user gets from a labelled queue file."""
    ids = skewed.report.jobs.loc[skewed.report.jobs["completed"], "id"].to_numpy(object)
    position = pd.Series(np.arange(len(ids)), index=ids)
    for seed in range(2):
        queue = skewed.report.review_queue(
            strategy="stratified", budget=480, allocation="proportional", seed=seed
        )
        path = label_from_truth(skewed, queue, tmp_path / f"round{seed}.csv")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a clean design: nothing to warn about
            report = skewed.report.with_labels(path)
        assert report.sample is not None and report.sample.kind == "stratified"
        rows = np.sort(position[queue["id"]].to_numpy())
        expected = share(sample_of(skewed, rows), skewed.correct[rows])
        assert report.accuracy == pytest.approx(expected.estimate)
        assert report.accuracy_ci == pytest.approx((expected.low, expected.high))
        certified = report.recommend_threshold(0.85).loc["overall", "threshold"]
        every = np.ones(len(ids), bool)
        row = certify(
            sample_of(skewed, rows), skewed.correct[rows], skewed.confidence, every, 0.85, 0.05
        )
        assert certified == pytest.approx(row["threshold"], nan_ok=True)


@pytest.mark.parametrize("which", ["skewed", "emulated"])
def test_stratified_estimates_are_unbiased_and_cover(
    which: str, request: pytest.FixtureRequest
) -> None:
    pop: Population = request.getfixturevalue(which)
    out = simulate(pop, REPS, per_stratum=40, target=0.9)
    truth = pop.accuracy
    assert abs(out.estimate.mean() - truth) < 0.01
    coverage = np.mean((out.low <= truth) & (truth <= out.high))
    assert 0.91 <= coverage <= 0.99, coverage
    if which == "skewed":  # the old plain mean over a per-type queue is far off
        assert out.plain.mean() - truth < -0.15


def test_certified_thresholds_hold_where_none_is_valid(skewed: Population) -> None:
    """The target just above the best threshold's true accuracy: every certificate is wrong,
    so they must be rare (at most delta, plus simulation noise)."""
    best = max(skewed.accuracy_at(t) for t in np.unique(skewed.confidence))
    out = simulate(skewed, 150, per_stratum=150, target=best + 0.005, seed=1)
    assert out.violated.mean() <= 0.05 + 0.04, out.violated.mean()


def test_a_threshold_with_margin_is_certified_and_holds(skewed: Population) -> None:
    out = simulate(skewed, REPS // 2, per_stratum=150, target=0.8, seed=2)
    assert np.isfinite(out.certified).mean() >= 0.8
    assert out.violated.mean() <= 0.05 + 0.04


def test_per_type_row_on_the_emulator(emulated: Population) -> None:
    invoice = np.asarray(emulated.names)[emulated.strata] == "invoice"
    out = simulate(emulated, REPS, per_stratum=80, target=0.8, seed=3, mask=invoice)
    assert out.violated.mean() <= 0.05 + 0.04
    assert np.isfinite(out.certified).mean() >= 0.5
