"""The paired statistics of ``compare``: checked against SciPy, the likelihood, by simulation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import classify_frames as cf
from classify_frames.auditing import AuditWarning
from classify_frames.auditing._paired import (
    _tango_z,
    mcnemar_exact,
    paired_accuracy,
    tango_interval,
    wilson,
)

Z = stats.norm.ppf(0.975)


@pytest.mark.parametrize("b", [0, 1, 3, 10, 29])
@pytest.mark.parametrize("c", [0, 2, 7, 30, 120])
def test_mcnemar_exact_is_scipys_binomial_test(b: int, c: int) -> None:
    expected = stats.binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (97, 100), (500, 1000)])
def test_wilson_is_scipys(k: int, n: int) -> None:
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.mark.parametrize(
    ("b", "c", "n", "delta"),
    [(5, 15, 100, 0.02), (0, 9, 30, -0.1), (40, 20, 160, 0.2), (3, 3, 12, 0.4)],
)
def test_tango_uses_the_restricted_maximum_likelihood(b: int, c: int, n: int, delta: float) -> None:
    """The closed-form p21 under p12 - p21 = delta is where the likelihood peaks."""

    def minus_loglik(q: float) -> float:
        return -(
            c * math.log(q + delta) + b * math.log(q) + (n - b - c) * math.log(1 - 2 * q - delta)
        )

    low, high = max(0.0, -delta) + 1e-9, (1 - delta) / 2 - 1e-9
    q_best = optimize.minimize_scalar(minus_loglik, bounds=(low, high), method="bounded").x
    variance_best = n * (2 * q_best + delta * (1 - delta))
    expected = (c - b - n * delta) / math.sqrt(variance_best)
    assert _tango_z(delta, b, c, n) == pytest.approx(expected, rel=1e-4)


def test_tango_bounds_invert_the_score_test() -> None:
    for b, c, n in [(5, 15, 100), (40, 20, 160), (0, 4, 25), (12, 2, 44)]:
        lo, hi = tango_interval(b, c, n)
        assert lo < (c - b) / n < hi
        assert _tango_z(lo, b, c, n) == pytest.approx(Z, abs=1e-6)
        assert _tango_z(hi, b, c, n) == pytest.approx(-Z, abs=1e-6)
    # no discordant pair: the known closed form, +-z^2 / (n + z^2)
    lo, hi = tango_interval(0, 0, 50)
    assert (lo, hi) == pytest.approx((-(Z**2) / (50 + Z**2), Z**2 / (50 + Z**2)), abs=1e-9)
    assert tango_interval(0, 50, 50)[1] == 1.0 and tango_interval(50, 0, 50)[0] == -1.0


@pytest.mark.parametrize(
    ("n", "cells"),
    [(40, (0.6, 0.05, 0.15, 0.2)), (150, (0.7, 0.08, 0.12, 0.1)), (300, (0.85, 0.02, 0.03, 0.1))],
)
def test_tango_interval_covers_at_close_to_95_percent(n: int, cells: tuple[float, ...]) -> None:
    """Multinomial pairs (both right, right before only, right after only, both wrong)."""
    rng = np.random.default_rng(7)
    draws = rng.multinomial(n, cells, size=1_000)
    truth = cells[2] - cells[1]
    hits = 0
    for _, b, c, _ in draws:
        lo, hi = tango_interval(int(b), int(c), n)
        hits += lo <= truth <= hi
    assert 0.93 <= hits / len(draws) <= 0.975, hits / len(draws)


def test_paired_accuracy_counts_and_the_weight_seam() -> None:
    before = np.array([1, 1, 0, 0, 1, 0, 1, 1], dtype=bool)
    after = np.array([1, 0, 1, 1, 1, 1, 1, 1], dtype=bool)
    plain = paired_accuracy(before, after)
    assert (plain.right_before_only, plain.right_after_only) == (1, 3)
    assert plain.difference == pytest.approx(2 / 8)
    assert plain.difference_ci == pytest.approx(tango_interval(1, 3, 8))
    assert plain.mcnemar_p == pytest.approx(stats.binomtest(1, 4).pvalue)
    same = paired_accuracy(before, after, weights=np.full(8, 3.0))
    assert same.difference == pytest.approx(plain.difference) and same.weighted
    assert same.difference_ci == pytest.approx(plain.difference_ci)
    skewed = paired_accuracy(before, after, weights=np.array([1, 9, 1, 1, 1, 1, 1, 1.0]))
    assert skewed.n_effective < 8 and skewed.difference < plain.difference


def _frame(
    ids: list[str], types: list[str | None], conf: list[float], **extra: object
) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": ids, "status": ["COMPLETED"] * len(ids), "result.type": types,
         "result.confidence": conf, "fetch_error": [None] * len(ids), **extra}
    )  # fmt: skip


def test_compare_counts_flips_gains_losses_and_no_match_changes() -> None:
    before = _frame(["a", "b", "c", "d", "e"], ["invoice", "invoice", None, "receipt", "receipt"],
                    [0.9, 0.8, 0.5, 0.95, 0.9])  # fmt: skip
    after = _frame(["n1", "n2", "n3", "n4", "n5"],
                   ["invoice", "receipt", "receipt", None, "receipt"],
                   [0.95, 0.9, 0.7, 0.6, 0.9], source_id=["a", "b", "c", "d", "e"])  # fmt: skip
    labels = pd.DataFrame(
        {"id": list("abcde"), "label": ["invoice", "receipt", "receipt", "none", "invoice"]}
    )
    result = cf.compare(before, after, labels=labels)
    assert result.n == 5 and result.agreement == pytest.approx(2 / 5)
    assert (
        result.flips.loc["invoice", "receipt"] == 1 and result.flips.loc["no match", "receipt"] == 1
    )
    counts = result.by_type.loc["receipt", ["before", "after", "gained", "lost"]]
    assert list(counts) == [2, 3, 2, 1]
    assert result.no_match["pairs"].tolist() == [1, 1, 0]
    acc = result.accuracy
    assert acc is not None and acc.before == pytest.approx(0.2)
    assert acc.after == pytest.approx(0.8)
    assert result.by_type.loc["receipt", "recall_after"] == 1.0
    cal = result.calibration
    assert cal is not None and cal.loc["before", "brier"] == pytest.approx(
        np.mean((np.array([0.9, 0.8, 0.5, 0.95, 0.9]) - np.array([1, 0, 0, 0, 0])) ** 2)
    )
    assert "accuracy 20.0% before, 80.0% after" in " ".join(result.findings)


def test_compare_says_what_is_wrong_with_its_inputs() -> None:
    jobs = _frame(["a"], ["invoice"], [0.9])
    with pytest.raises(ValueError, match="source_id"):
        cf.compare(jobs, jobs)
    with pytest.raises(TypeError, match="DataFrame"):
        cf.compare(jobs, ["a"])  # type: ignore[arg-type]
    failed = _frame(["n"], [None], [float("nan")], source_id=["a"])
    failed["status"] = "FAILED"
    result = cf.compare(jobs, failed)
    assert result.n == 0 and result.incomplete == 1 and "No pair" in result.findings[0]


def test_rules_docstring_examples_run() -> None:
    import doctest

    from classify_frames.experiments import _rules

    assert doctest.testmod(_rules).failed == 0


def test_compare_takes_design_weights_from_the_labels() -> None:
    before = _frame(list("abcd"), ["invoice", "invoice", "receipt", "receipt"], [0.9] * 4)
    after = _frame(["n1", "n2", "n3", "n4"], ["invoice", "receipt", "receipt", "receipt"],
                   [0.9] * 4, source_id=list("abcd"))  # fmt: skip
    labels = pd.DataFrame({"id": list("abcd"),
                           "label": ["invoice", "receipt", "invoice", "receipt"],
                           "design.weight": [1.0, 3.0, 1.0, 1.0]})  # fmt: skip
    acc = cf.compare(before, after, labels=labels).accuracy
    assert acc is not None and acc.weighted and acc.n_effective < 4
    assert acc.before == pytest.approx(2 / 6) and acc.after == pytest.approx(5 / 6)


def test_compare_counts_each_document_once() -> None:
    before = _frame(list("abcd"), ["invoice", "invoice", "receipt", "receipt"], [0.9] * 4)
    after = _frame(["n1", "n2", "n3", "n4"], ["receipt", "invoice", "invoice", "receipt"],
                   [0.9] * 4, source_id=list("abcd"))  # fmt: skip
    labels = pd.DataFrame({"id": list("abcd"), "label": ["receipt", "invoice", "invoice", "x"]})
    once = cf.compare(before, after, labels=labels)
    twice = pd.concat([after, after], ignore_index=True)  # a run concatenated with itself
    with pytest.warns(AuditWarning, match=r"4 row\(s\) of after repeat a source_id"):
        again = cf.compare(before, twice, labels=labels)
    assert again.n == once.n == 4
    assert again.accuracy == once.accuracy
    assert "4 documents compared" in again.findings[0]


def _designed_population(
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """2,000 jobs of two types, a stratified queue of 120 labelled from a hidden truth, and an
    'after' run on the queue's jobs that fixes some of them."""
    rng = np.random.default_rng(seed)
    n = 2_000
    kinds = np.where(rng.random(n) < 0.7, "invoice", "receipt")
    right = rng.random(n) < np.where(kinds == "invoice", 0.9, 0.6)
    truth = np.where(right, kinds, np.where(kinds == "invoice", "receipt", "invoice"))
    ids = [f"j{i}" for i in range(n)]
    population = _frame(ids, list(kinds), [0.9] * n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        queue = cf.audit(population).review_queue(budget=120, strategy="stratified")
    label_of = dict(zip(ids, truth, strict=True))
    queue["label"] = queue["id"].map(label_of)
    sample = population[population["id"].isin(queue["id"])].reset_index(drop=True)
    fixed = np.where(
        rng.random(len(sample)) < 0.5, sample["id"].map(label_of), sample["result.type"]
    )
    after = _frame([f"n{i}" for i in range(len(sample))], list(fixed), [0.9] * len(sample),
                   source_id=list(sample["id"]))  # fmt: skip
    return population, sample, queue, after


def test_compare_takes_stratum_sizes_from_the_population_not_from_before() -> None:
    population, sample, queue, after = _designed_population()
    whole = cf.compare(population, after, labels=queue)
    from_sample = cf.compare(sample, after, labels=queue)  # the README's call
    given = cf.compare(sample, after, labels=queue, population=population)
    intervals = [r.designed.difference_ci for r in (whole, from_sample, given) if r.designed]
    assert len(intervals) == 3
    low, high = intervals[0]
    assert intervals[1] == pytest.approx((low, high)) and intervals[2] == pytest.approx((low, high))
    assert high - low > 0.05  # a sample's interval, not the near-zero one of a "full" frame
    assert "stratum sizes from the review queue's design, 2,000 jobs" in " ".join(
        from_sample.findings
    )
    assert "stratum sizes from population=, 2,000 completed jobs" in " ".join(given.findings)


def test_reclassify_refuses_a_sample_of_several_configurations() -> None:
    jobs = _frame(["a", "b", "c"], ["invoice"] * 3, [0.9] * 3,
                  configuration_id=["cfg-1", "cfg-2", "cfg-1"],
                  document_input_value=["f1", "f2", "f3"])  # fmt: skip
    rules = [{"type": "invoice", "description": "A bill asking for payment."}]
    with pytest.raises(ValueError, match=r"span 2 source configurations.*cfg-1 \(2 jobs\)"):
        cf.reclassify(jobs, rules=rules, experiment="mixed", dry_run=True)
    plan = cf.reclassify(jobs[jobs["configuration_id"] == "cfg-1"], rules=rules,
                         experiment="one", dry_run=True)  # fmt: skip
    assert plan.jobs == 2


def test_compare_bounds_the_difference_when_drawn_documents_have_no_label() -> None:
    _, sample, queue, after = _designed_population(seed=1)
    full = cf.compare(sample, after, labels=queue)
    skipped = queue.copy()
    said = skipped["result.type"]
    hard = skipped.index[(said != skipped["label"]).to_numpy(bool)][:12]
    skipped.loc[hard, "label"] = ""
    skipped.loc[len(skipped) - 1, "label"] = queue["label"].iloc[-1]  # the last row is labelled
    with pytest.warns(AuditWarning, match=r"12 of the 120 documents the queue drew have no label"):
        partial = cf.compare(sample, after, labels=skipped)
    gone = partial.unlabelled
    assert gone is not None and gone.documents == 12 and gone.drawn == 120
    assert full.designed is not None
    assert gone.low <= full.designed.difference <= gone.high  # whatever the 12 labels are
    assert gone.range_95[0] <= gone.low <= gone.high <= gone.range_95[1]
    assert "Manski bounds" in " ".join(partial.findings)
    deleted = skipped.drop(index=hard)  # deleting the rows hides nothing: the design counts them
    with pytest.warns(AuditWarning, match=r"12 of the 120 documents"):
        assert cf.compare(sample, after, labels=deleted).unlabelled == gone
