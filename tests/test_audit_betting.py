"""The weighted tests of certified thresholds on cases small enough to enumerate: every null
allocation of right jobs over the cells, every outcome of the labels. The stratified betting
candidate of ``benchmarks/sim_betting.py`` (measured there, not used by ``certify``) and the
tests ``_certify`` uses for unequal weights (stratified Chernoff, least-favourable pooled
binomial) must all be valid p-values: ``P(p <= alpha) <= alpha`` under every null."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from sim_betting import betting_pvalue, log_evalue, oracle_bound

from classify_frames.auditing._certify import (
    binomial_tail,
    pooled_pvalue,
    stratified_pvalue,
)

ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.5)


def null_allocations(sizes: np.ndarray, target: float) -> list[tuple[int, ...]]:
    """Every split of right jobs over the cells with at most ``floor(target N)`` right: the
    boundary ones (exactly that many) and, as a check of monotonicity, one step below."""
    most = math.floor(target * sizes.sum() + 1e-9)
    return [
        a
        for a in itertools.product(*(range(int(s) + 1) for s in sizes))
        if most - 1 <= sum(a) <= most
    ]


def outcomes(
    sizes: np.ndarray, drawn: np.ndarray, right: tuple[int, ...]
) -> list[tuple[tuple[int, ...], float]]:
    """Every vector of right labels per cell with its exact probability (independent
    hypergeometric draws)."""
    pmfs = [
        stats.hypergeom.pmf(np.arange(n + 1), int(s), a, int(n))
        for s, n, a in zip(sizes, drawn, right, strict=True)
    ]
    return [
        (k, float(np.prod([pmf[j] for pmf, j in zip(pmfs, k, strict=True)])))
        for k in itertools.product(*(range(int(n) + 1) for n in drawn))
    ]


CASES = [
    # cells of jobs, labels per cell, target: unequal rates, a small cell sampled hard
    (np.array([12.0, 6.0]), np.array([4, 4]), 0.75),
    (np.array([10.0, 5.0, 3.0]), np.array([3, 3, 2]), 0.6),
    # a cell without labels may hold any accuracy (the null may make it all wrong)
    (np.array([8.0, 4.0, 3.0]), np.array([4, 3, 0]), 0.6),
]


@pytest.mark.parametrize(("sizes", "drawn", "target"), CASES)
def test_every_weighted_pvalue_is_valid_under_every_null(
    sizes: np.ndarray, drawn: np.ndarray, target: float
) -> None:
    weight = sizes / sizes.sum()
    tests: dict[str, Callable[[tuple[int, ...]], float]] = {
        "betting": lambda k: betting_pvalue(sizes, drawn, np.array(k), target),
        "betting, fixed bet": lambda k: betting_pvalue(sizes, drawn, np.array(k), target, math.inf),
        "Chernoff": lambda k: stratified_pvalue(weight, drawn, np.array(k), target),
        "pooled": lambda k: pooled_pvalue(sizes, drawn, np.array(k), target),
    }
    every_k = list(itertools.product(*(range(int(n) + 1) for n in drawn)))
    p = {name: {k: test(k) for k in every_k} for name, test in tests.items()}
    worst = dict.fromkeys(tests, 0.0)
    for right in null_allocations(sizes, target):
        for name in tests:
            for alpha in ALPHAS:
                size = sum(prob for k, prob in outcomes(sizes, drawn, right) if p[name][k] <= alpha)
                assert size <= alpha + 1e-12, (name, right, alpha, size)
                worst[name] = max(worst[name], size / alpha)
    # the tests can reject at all here (a test that never rejects would pass the loop)
    assert worst["Chernoff"] > 0 and worst["pooled"] > 0 and worst["betting, fixed bet"] > 0


def test_a_cell_e_value_has_mean_at_most_one() -> None:
    """The cell's e-value (exp of the mean log wealth over orders) averages at most 1 over
    the exact hypergeometric law of its right labels, for every null count."""
    size, n, target = 30, 8, 0.8
    for right in range(size + 1):
        k = np.arange(max(0, n - (size - right)), min(n, right) + 1)
        pmf = stats.hypergeom.pmf(k, size, right, n)
        for prior in (10.0, math.inf):
            e = np.array(
                [
                    math.exp(log_evalue(size, n, int(j), np.array([right]), target, prior)[0][0])
                    for j in k
                ]
            )
            assert float(np.sum(pmf * e)) <= 1 + 1e-9, (right, prior)


def test_the_duality_bound_is_a_conservative_and_tight_minimum() -> None:
    """The p-value's minimum over allocations (a duality bound) is never above the minimum
    found by trying every integer allocation, and close to it."""
    sizes, drawn, right, target = np.array([50.0, 30.0]), np.array([10, 8]), np.array([10, 7]), 0.8
    most = math.floor(target * sizes.sum())
    brute = math.inf
    for first in range(int(right[0]), int(sizes[0] - (drawn[0] - right[0])) + 1):
        second = min(most - first, int(sizes[1] - (drawn[1] - right[1])))
        if second < right[1]:
            continue
        brute = min(
            brute,
            sum(
                log_evalue(sizes[h], int(drawn[h]), int(right[h]), np.array([a]), target)[0][0]
                for h, a in enumerate((first, second))
            ),
        )
    p = betting_pvalue(sizes, drawn, right, target)
    assert math.exp(-brute) <= p <= 1.01 * math.exp(-brute)


def test_pvalues_stay_within_their_trivial_bounds() -> None:
    """Between 0 and 1; 0 when the right labels alone exceed the right jobs the null allows;
    1 when the labels are no better than the target; the ceiling of betting below 1 only when
    the weighted record beats the target."""
    sizes, drawn = np.array([40.0, 20.0]), np.array([10, 10])
    for k in itertools.product(range(11), range(11)):
        right = np.array(k)
        p = betting_pvalue(sizes, drawn, right, 0.7)
        assert 0.0 <= p <= 1.0
        record = float(np.sum(sizes / sizes.sum() * right / drawn))
        if record <= 0.7:
            assert p == 1.0 and oracle_bound(sizes / sizes.sum(), drawn, right, 0.7) == 1.0
    # every job labelled in a cell of 5 with all right, against 0.5 of 5 jobs: the null is empty
    assert betting_pvalue(np.array([5.0]), np.array([5]), np.array([5]), 0.5) == 0.0
    # one cell: never below the exact binomial tail, which is the exact p-value there
    for labels, good in ((60, 60), (100, 99), (200, 196)):
        one = betting_pvalue(np.array([1e6]), np.array([labels]), np.array([good]), 0.95)
        assert binomial_tail(good, labels, 0.95) <= one <= 1.0
