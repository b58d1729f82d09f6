"""``plan_labels(target_accuracy=...)``: the plan aims where a certificate can come from, its
size holds steady from pilot to pilot, and it states the chance of the procedure
``recommend_threshold`` runs, with a range (stated against realised, over many pilots, in
``benchmarks/sim_audit.py``)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from audit_simulation import Population, uninformative_population

from classify_frames.auditing._plan import _choose, _grid
from classify_frames.auditing._posterior import cell_posterior


@pytest.fixture(scope="module")
def flat() -> Population:
    return uninformative_population(6_000, seed=1)


def test_where_confidence_says_nothing_the_plan_aims_at_the_whole_row(flat: Population) -> None:
    """Every threshold keeps about 90.5% (target 88%). After this pilot the old plan aimed at
    the threshold with the highest estimate (0.95, 91% on 58 labels), a noisy maximum whose
    sequence must first pass the top value: it asked for 1,851 labels there, stated 1.5%, and
    none of 4 queues certified. The plan now aims at the whole row, which the whole-row test
    and every threshold's exact test share; the sentence states the chance with its halves."""
    truth = flat.labels.set_index("id")["label"]
    pilot = flat.report.review_queue(n=20, strategy="stratified", seed=0)
    pilot["label"] = truth[pilot["id"]].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        more = flat.report.with_labels(pilot).plan_labels(target_accuracy=0.88)
    summary = str(more.attrs["summary"])
    assert "at threshold ≥ 0.6 (it keeps 100% of jobs" in summary, summary
    plan = more.attrs["plan"]
    chance, (low, high) = float(plan.attrs["chance"]), plan.attrs["chance_range"]
    assert f"Estimated chance that they certify a threshold: {chance:.0%}" in summary
    assert low <= chance <= high
    assert f"{low:.0%} if the accuracy at ≥ 0.6 is in the lower half" in summary, summary
    assert f"{high:.0%} if in the upper half" in summary


def test_the_candidate_is_reached_by_the_sequence_or_the_whole_row_test() -> None:
    """Posterior draws of each threshold's accuracy (columns: thresholds, lowest first)."""
    rng = np.random.default_rng(0)
    coverage = np.array([1.0, 0.8, 0.6, 0.3])
    # confidence says nothing: every set about as accurate, the whole row keeps the most
    flat = 0.93 + 0.01 * rng.standard_normal((200, 4))
    assert _choose(flat, coverage, 0.88, 0.05, 1_000) == 0
    # the top sets clear the target, the lower ones do not: the lowest the sequence reaches
    rising = np.array([0.80, 0.84, 0.95, 0.97]) + 0.005 * rng.standard_normal((200, 4))
    assert _choose(rising, coverage, 0.88, 0.05, 1_000) == 2
    # a dip at the top stops the sequence before the accurate middle, and the whole row is
    # below: no draw reaches a certificate, so the most accurate threshold
    dip = np.array([0.85, 0.96, 0.95, 0.70]) + 0.005 * rng.standard_normal((200, 4))
    assert _choose(dip, coverage, 0.88, 0.05, 1_000) == 1


def test_the_sizes_tried_are_a_steady_grid() -> None:
    sizes = _grid(59, 5_000)
    assert sizes[0] == 59 and sizes[-1] == 5_000
    assert all(1 < b / a <= 1.17 for a, b in itertools.pairwise(sizes))
    assert _grid(300, 300) == [300]


def test_the_posterior_weighs_labels_by_the_jobs_they_stand_for() -> None:
    """A pilot of 20 labels per type: the common type (9,000 jobs) 19 right, the rare one
    (1,000 jobs) 16 right, too close for the types to be told apart. The accuracy of all jobs
    is about 0.9 x 0.95 + 0.1 x 0.8 = 0.935; the labels' plain share is 35 / 40 = 0.875.
    Pooled towards that plain share, as the posterior was, every common-type cell was pulled
    down by the rare type's labels."""
    types = pd.Series(["common"] * 9_000 + ["rare"] * 1_000)
    conf = np.full(10_000, 0.9)
    usable = np.zeros(10_000, bool)
    usable[:20] = usable[9_000:9_020] = True
    correct = np.full(10_000, np.nan)
    correct[:20] = np.r_[np.ones(19), 0.0]
    correct[9_000:9_020] = np.r_[np.ones(16), np.zeros(4)]
    weight = np.where(np.arange(10_000) < 9_000, 9_000 / 20, 1_000 / 20)
    weighted = cell_posterior(types, conf, usable, correct, True, weight)
    plain = cell_posterior(types, conf, usable, correct, True)
    assert abs(float(weighted.mean()[weighted.cell].mean()) - 0.935) < 0.02
    assert float(plain.mean()[plain.cell].mean()) < 0.9  # the old pull
