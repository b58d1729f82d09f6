"""Exact and score statistics for two classifiers judged on the same labelled documents.

With ``b`` documents right before and wrong after, and ``c`` wrong before and right after:

- McNemar's exact test: under "no difference" each discordant document is a fair coin, so the
  two-sided p-value is the binomial tail ``2 P(Bin(b + c, 1/2) <= min(b, c))``, at most 1
  (what ``scipy.stats.binomtest(b, b + c).pvalue`` gives; the tests check that).
- Tango's score interval (Tango 1998) for the paired difference ``(c - b) / n`` of the two
  accuracies: the differences ``d`` not rejected by the score test with the cell probabilities
  fitted under ``d`` (restricted maximum likelihood, a quadratic). Unlike an unpaired
  interval it uses the pairing, and unlike the Wald interval it behaves at small ``n`` and near
  ±1; its coverage is checked by simulation in the tests.

Design weights plug in through ``weights``: a weighted difference, and the counts scaled to the
effective sample size ``(Σw)² / Σw²`` for the interval and the test (an approximation: say so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ._stats import wilson_interval

__all__ = ["PairedResult", "mcnemar_exact", "paired_accuracy", "tango_interval", "wilson"]


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``: twice the
    binomial tail ``scipy.special.bdtr(min(b, c), b + c, 1/2)``, at most 1."""
    n = b + c
    if n == 0:
        return 1.0
    from scipy.special import bdtr  # scipy loads slowly: only when needed

    return float(min(1.0, 2 * bdtr(min(b, c), n, 0.5)))


def _tango_z(delta: float, b: float, c: float, n: float) -> float:
    """Tango's score statistic for the difference ``delta`` (after minus before)."""
    m = n - b - c
    # p21 (right before, wrong after) maximising the likelihood given p12 - p21 = delta:
    # the positive root of -2n q^2 + B q + C = 0
    big_b = c * (1 - delta) + b * (1 - 3 * delta) - 2 * m * delta
    small_c = b * delta * (1 - delta)
    q = (big_b + math.sqrt(max(0.0, big_b * big_b + 8 * n * small_c))) / (4 * n)
    variance = n * (2 * q + delta * (1 - delta))
    if variance <= 0:
        return math.copysign(math.inf, c - b - n * delta) if c - b - n * delta else 0.0
    return (c - b - n * delta) / math.sqrt(variance)


def tango_interval(b: float, c: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Tango's score interval for ``(c - b) / n``, the paired difference of two proportions."""
    if n <= 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    point = (c - b) / n
    eps = 1e-12

    def root(low: float, high: float, target: float) -> float:
        # the statistic falls as delta rises: where it crosses target (Brent's method)
        from scipy.optimize import brentq  # scipy loads slowly: only when needed

        found = brentq(lambda d: _tango_z(d, b, c, n) - target, low, high, xtol=1e-14)
        return float(found)

    lower = -1.0 if _tango_z(-1 + eps, b, c, n) <= z else root(-1 + eps, point, z)
    upper = 1.0 if _tango_z(1 - eps, b, c, n) >= -z else root(point, 1 - eps, -z)
    return (lower, upper)


def wilson(k: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``k / n`` (the audit's one Wilson formula)."""
    if n <= 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    low, high = wilson_interval(k, n, z)
    return (float(low), float(high))


@dataclass(frozen=True)
class PairedResult:
    """Two accuracies on the same labelled documents, and their paired difference."""

    n: int
    n_effective: float
    before: float
    before_ci: tuple[float, float]
    after: float
    after_ci: tuple[float, float]
    difference: float
    difference_ci: tuple[float, float]
    right_before_only: int
    right_after_only: int
    mcnemar_p: float
    weighted: bool


def paired_accuracy(
    before: np.ndarray, after: np.ndarray, weights: np.ndarray | None = None
) -> PairedResult:
    """Accuracy before and after, their difference with Tango's interval, McNemar's test.

    ``before`` and ``after`` say per labelled document whether each side was right.
    """
    right_before = np.asarray(before, dtype=bool)
    right_after = np.asarray(after, dtype=bool)
    n = len(right_before)
    b_only = int((right_before & ~right_after).sum())
    c_only = int((~right_before & right_after).sum())
    if weights is None:
        w = np.ones(n)
        n_eff = float(n)
    else:
        w = np.asarray(weights, dtype=float)
        n_eff = float(w.sum() ** 2 / (w * w).sum()) if n else 0.0
    total = float(w.sum())
    acc_before = float((w * right_before).sum() / total) if n else math.nan
    acc_after = float((w * right_after).sum() / total) if n else math.nan
    share_b = float((w * (right_before & ~right_after)).sum() / total) if n else 0.0
    share_c = float((w * (~right_before & right_after)).sum() / total) if n else 0.0
    eff_b, eff_c = share_b * n_eff, share_c * n_eff
    p = mcnemar_exact(b_only, c_only) if weights is None else _mcnemar_scaled(eff_b, eff_c)
    return PairedResult(
        n=n,
        n_effective=n_eff,
        before=acc_before,
        before_ci=wilson(acc_before * n_eff, n_eff),
        after=acc_after,
        after_ci=wilson(acc_after * n_eff, n_eff),
        difference=acc_after - acc_before,
        difference_ci=tango_interval(eff_b, eff_c, n_eff),
        right_before_only=b_only,
        right_after_only=c_only,
        mcnemar_p=p,
        weighted=weights is not None,
    )


def _mcnemar_scaled(b: float, c: float) -> float:
    return mcnemar_exact(round(b), round(c))
