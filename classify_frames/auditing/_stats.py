"""The statistics of the audit: numpy, and scipy's special functions and isotonic regression
where it has them (imported on first use: scipy loads slowly).

Stated LLM confidences take few distinct values (0.9, 0.95 ...), so every function here is written
for ties: bins can be the distinct values themselves, the KS statistic is evaluated at every
distinct value of the pooled sample, and isotonic regression pools tied scores before it fits.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "CALIBRATION_COLUMNS",
    "PSI_MAJOR",
    "PSI_MODERATE",
    "Z95",
    "BinStrategy",
    "bin_index",
    "calibration_errors",
    "calibration_table",
    "chi2_homogeneity",
    "chi2_sf",
    "isotonic_fit",
    "kolmogorov_sf",
    "ks_2samp",
    "psi",
    "resolve_bins",
    "two_proportion_pvalue",
    "wilson_interval",
    "wilson_share",
]

#: z for a two-sided 95% interval.
Z95 = 1.959963984540054
#: Standard PSI cut-offs: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a major one.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
#: With at most this many distinct confidences, ``bins="auto"`` bins by exact value.
DISTINCT_LIMIT = 20

BinStrategy = Literal["auto", "distinct", "uniform", "quantile"]

CALIBRATION_COLUMNS = [
    "lower",
    "upper",
    "count",
    "confidence",
    "accuracy",
    "gap",
    "accuracy_lo",
    "accuracy_hi",
]


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, vectorised; NaN where ``trials`` is 0.

    Unlike the normal interval it stays inside [0, 1] and is sound for 0 or n successes.

    >>> lo, hi = wilson_interval(95, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.8882, 0.9785)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = wilson_share(k / n, n, z)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def wilson_share(
    p: npt.ArrayLike, n: npt.ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson bounds of a share ``p`` at a (real, possibly infinite) sample size ``n``: the
    one Wilson formula of the audit (:func:`wilson_interval` is it for counts; a
    design-weighted share uses its effective sample size). An infinite ``n`` is an exact
    share: both bounds are ``p``.

    >>> [round(float(b), 4) for b in wilson_share(0.95, 100)]
    [0.8882, 0.9785]
    """
    share = np.asarray(p, dtype=float)
    size = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z2n = np.where(np.isinf(size), 0.0, z * z / size)
        center = (share + z2n / 2) / (1 + z2n)
        half = (
            z
            / (1 + z2n)
            * np.sqrt(np.maximum(share * (1 - share) * z2n / (z * z) + z2n**2 / (4 * z * z), 0))
        )
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index of two histograms over the same bins (counts or shares).

    ``sum((a - e) * ln(a / e))`` over bins, shares floored at ``eps`` so an empty bin counts as a
    large shift instead of an infinite one. Read it with the standard cut-offs: below 0.1 stable,
    0.1 to 0.25 moderate, above 0.25 major. Unlike KS it needs no continuous scores, so ties (LLM
    confidences of 0.9, 0.95 ...) do not bias it.

    >>> round(psi(np.array([50, 50]), np.array([70, 30])), 4)
    0.1695
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return math.nan
    e = np.maximum(e / e.sum(), eps)
    a = np.maximum(a / a.sum(), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def kolmogorov_sf(x: float) -> float:
    """Survival function of the Kolmogorov distribution (the limit of sqrt(n) * D_n):
    ``scipy.special.kolmogorov``.

    >>> round(kolmogorov_sf(1.36), 3)
    0.049
    """
    from scipy.special import kolmogorov  # scipy loads slowly: only when needed

    return 1.0 if x <= 0 else float(kolmogorov(x))


def chi2_sf(x: float, dof: int) -> float:
    """Survival function of the chi-squared distribution (``scipy.special.chdtrc``): the one
    chi-squared tail of the audit.

    >>> round(chi2_sf(3.841, 1), 4)
    0.05
    """
    if dof < 1 or math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    from scipy.special import chdtrc  # scipy loads slowly: only when needed

    return float(chdtrc(dof, x))


def chi2_homogeneity(expected: np.ndarray, actual: np.ndarray) -> float:
    """p-value of Pearson's chi-squared test that two histograms (counts over the same bins)
    come from one distribution; bins empty in both are ignored.

    >>> round(chi2_homogeneity(np.array([50, 50]), np.array([70, 30])), 4)
    0.0039
    """
    table = np.vstack([np.asarray(expected, float), np.asarray(actual, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return math.nan
    fitted = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - fitted) ** 2 / fitted))
    return chi2_sf(statistic, table.shape[1] - 1)


def two_proportion_pvalue(k1: float, n1: float, k2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (NaN when undefined).

    >>> round(two_proportion_pvalue(30, 200, 60, 200), 5)
    0.00033
    """
    if n1 == 0 or n2 == 0:
        return math.nan
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (k2 / n2 - k1 / n1) / se
    return math.erfc(abs(z) / math.sqrt(2))


def ks_2samp(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and asymptotic two-sided p-value.

    The statistic is the largest gap between the two empirical CDFs evaluated at every distinct
    pooled value (right-continuous), so tied scores are handled exactly. The p-value uses the
    Kolmogorov limit, which assumes continuous scores: with heavily tied confidences it is
    conservative (too large), which is why the audit flags drift on PSI and only reports KS.

    >>> round(ks_2samp(np.array([0.9, 0.9, 0.95]), np.array([0.8, 0.9, 0.9]))[0], 4)
    0.3333
    """
    a = np.sort(np.asarray(x, dtype=float))
    b = np.sort(np.asarray(y, dtype=float))
    a = a[~np.isnan(a)]
    b = b[~np.isnan(b)]
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return math.nan, math.nan
    values = np.unique(np.concatenate([a, b]))
    cdf_a = np.searchsorted(a, values, side="right") / n
    cdf_b = np.searchsorted(b, values, side="right") / m
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    en = math.sqrt(n * m / (n + m))
    return d, kolmogorov_sf(en * d)


def resolve_bins(values: np.ndarray, bins: BinStrategy) -> BinStrategy:
    """``"auto"`` becomes ``"distinct"`` for at most 20 distinct values, else ``"uniform"``."""
    if bins not in ("auto", "distinct", "uniform", "quantile"):
        msg = f"bins must be 'auto', 'distinct', 'uniform' or 'quantile', got {bins!r}"
        raise ValueError(msg)
    if bins != "auto":
        return bins
    return "distinct" if len(np.unique(values)) <= DISTINCT_LIMIT else "uniform"


def bin_index(
    values: np.ndarray, bins: BinStrategy, n_bins: int = 10, reference: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The bin of each value: ``(ids, lower, upper, names)``.

    ``"distinct"`` gives one bin per distinct value; ``"uniform"`` and ``"quantile"`` draw edges
    as scikit-learn's ``calibration_curve`` does (intervals closed on the right, quantile edges
    from ``reference`` or the values themselves). Values outside ``"distinct"`` reference bins
    fall in the nearest bin above.
    """
    base = values if reference is None else reference
    if bins == "distinct":
        edges = np.unique(base)
        ids = np.minimum(np.searchsorted(edges, values), max(len(edges) - 1, 0))
        return ids, edges, edges, [f"{v:g}" for v in edges]
    if bins == "quantile":
        edges = np.percentile(base, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], values)
    lower, upper = edges[:-1], edges[1:]
    names = [f"({lo:.3g}, {hi:.3g}]" for lo, hi in zip(lower, upper, strict=True)]
    return ids, lower, upper, names


def calibration_table(
    confidence: np.ndarray,
    correct: np.ndarray,
    bins: BinStrategy = "auto",
    n_bins: int = 10,
) -> pd.DataFrame:
    """Reliability table: per bin, count, mean confidence, accuracy, gap and a Wilson interval.

    ``bins="distinct"`` gives one bin per distinct confidence, the honest choice for LLM-stated
    scores: quantile edges collapse on ties (scikit-learn then returns fewer bins than asked) and
    uniform bins can merge values that behave differently. ``"auto"`` (the default) is
    ``"distinct"`` for at most 20 distinct values, else ``"uniform"``. Empty bins are dropped, as
    scikit-learn does. ``gap`` is confidence minus accuracy: positive means over-confident.

    >>> table = calibration_table(np.array([0.9, 0.9, 0.7]), np.array([1, 0, 1]))
    >>> table["count"].to_dict(), table["accuracy"].to_dict()
    ({'0.7': 1, '0.9': 2}, {'0.7': 1.0, '0.9': 0.5})
    """
    conf = np.asarray(confidence, dtype=float)
    hit = np.asarray(correct, dtype=float)
    keep = ~np.isnan(conf)
    conf, hit = conf[keep], hit[keep]
    strategy = resolve_bins(conf, bins)
    if len(conf) == 0:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS, index=pd.Index([], name="bin"))
    ids, lower, upper, names = bin_index(conf, strategy, n_bins)
    size = len(lower)
    count = np.bincount(ids, minlength=size)
    conf_sum = np.bincount(ids, weights=conf, minlength=size)
    hit_sum = np.bincount(ids, weights=hit, minlength=size)
    used = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = conf_sum / count
        accuracy = hit_sum / count
    lo, hi = wilson_interval(hit_sum, count)
    table = pd.DataFrame(
        {
            "lower": lower,
            "upper": upper,
            "count": count,
            "confidence": mean_conf,
            "accuracy": accuracy,
            "gap": mean_conf - accuracy,
            "accuracy_lo": lo,
            "accuracy_hi": hi,
        },
        index=pd.Index(names, name="bin"),
    )
    return table[used]


def calibration_errors(table: pd.DataFrame) -> tuple[float, float]:
    """Expected and maximum calibration error of a reliability table (count-weighted mean and
    maximum of ``|gap|``); NaN for an empty table."""
    if table.empty:
        return math.nan, math.nan
    weights = table["count"].to_numpy(dtype=float)
    gaps = np.abs(table["gap"].to_numpy(dtype=float))
    return float(np.sum(weights * gaps) / weights.sum()), float(gaps.max())


def isotonic_fit(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Increasing least-squares fit of ``y`` on ``x`` by pool-adjacent-violators.

    Tied ``x`` are pooled first (weighted mean of ``y``), so the result is one fitted value per
    distinct ``x``: returns ``(distinct_x, fitted)``, to be applied with ``np.interp`` (which clips
    outside the fitted range, like scikit-learn's ``out_of_bounds="clip"``).

    >>> isotonic_fit(np.array([0.7, 0.8, 0.9, 0.9]), np.array([1.0, 0.0, 1.0, 0.0]))[1]
    array([0.5, 0.5, 0.5])
    """
    xv = np.asarray(x, dtype=float)
    yv = np.asarray(y, dtype=float)
    w = np.ones_like(xv) if weights is None else np.asarray(weights, dtype=float)
    keep = ~(np.isnan(xv) | np.isnan(yv))
    xv, yv, w = xv[keep], yv[keep], w[keep]
    if len(xv) == 0:
        return np.array([]), np.array([])
    ux, inverse = np.unique(xv, return_inverse=True)
    wsum = np.bincount(inverse, weights=w)
    ysum = np.bincount(inverse, weights=w * yv)
    from scipy.optimize import isotonic_regression  # scipy loads slowly: only when needed

    fitted = isotonic_regression(ysum / wsum, weights=wsum, increasing=True).x
    return ux, np.asarray(fitted, dtype=float)
