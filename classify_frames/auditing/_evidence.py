"""The evidence rules behind the audit's sentences, fixed before any label is read.

- A group's accuracy (a type's, a month's) is compared only from at least
  :data:`MIN_GROUP_LABELS` labels in each group compared.
- A difference is called one only when its 95% interval excludes no change and its p-value,
  adjusted for the other groups tested with it, is below the level: across the types for
  "less accurate than the rest" by Holm's step-down method (family-wise error at most the
  level: each type named is a claim), and across the months of ``drift`` by
  Benjamini-Hochberg (false discovery rate at most the level: a list of months to look at,
  where Holm would drop the later months of one long drift).
- Calibration (ECE) and separation (AUROC) are stated from at least
  :data:`MIN_CALIBRATION_LABELS` labels, with at least :data:`MIN_EACH_OUTCOME` right and as
  many wrong: the binned ECE is biased upward at small n, and an AUROC needs both outcomes.
- Nonresponse (drawn, not labelled) above :data:`NONRESPONSE_LIMIT` of the drawn jobs: the
  findings lead with bounds that hold whatever the missing labels are (Manski), compare types
  with the missing labels set against the claim, and judge no calibration; a certified
  threshold always counts the missing labels as wrong.
- A figure from a sample always has an interval of some width; a figure over a fully
  labelled frame is exact, and says so.

The false-alarm rates of these rules are checked by simulation in
``tests/test_audit_evidence.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ._stats import Z95

__all__ = [
    "FAMILY_ALPHA",
    "MIN_CALIBRATION_LABELS",
    "MIN_EACH_OUTCOME",
    "MIN_GROUP_LABELS",
    "NONRESPONSE_LIMIT",
    "benjamini_hochberg",
    "difference",
    "holm",
]

#: Labels each group needs before its accuracy is compared with another's.
MIN_GROUP_LABELS = 20
#: Labels the calibration and separation sentences need.
MIN_CALIBRATION_LABELS = 100
#: Right and wrong labels each that an AUROC needs.
MIN_EACH_OUTCOME = 10
#: Share of the drawn jobs left unlabelled above which the findings use the bounds.
NONRESPONSE_LIMIT = 0.05
#: Family-wise error of the "less accurate than the rest" sentences.
FAMILY_ALPHA = 0.05


def holm(p_values: npt.ArrayLike) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted as a test): a
    hypothesis is rejected at family-wise level alpha when its adjusted p is below alpha.
    (scipy has Benjamini-Hochberg, ``scipy.stats.false_discovery_control``, but not Holm.)

    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """

    def step_down(ranked: np.ndarray) -> np.ndarray:
        m = len(ranked)
        return np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked))

    return _adjusted(p_values, step_down)


def benjamini_hochberg(p_values: npt.ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted as a test), as
    ``scipy.stats.false_discovery_control`` gives them (scipy.stats loads slowly: this is its
    step-up rule in a few lines, checked against it in the tests).

    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """

    def step_up(ranked: np.ndarray) -> np.ndarray:
        m = len(ranked)
        scaled = ranked * m / np.arange(1, m + 1)
        return np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])

    return _adjusted(p_values, step_up)


def _adjusted(p_values: npt.ArrayLike, rule: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``rule`` applied to the finite p-values sorted ascending (ties in their given order),
    put back in place; NaN stays NaN and is not counted as a test."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    if len(tested):
        order = tested[np.argsort(p[tested], kind="stable")]
        out[order] = rule(p[order])
    return out


def difference(
    estimate_a: float,
    var_a: float,
    n_a: float,
    estimate_b: float,
    var_b: float,
    n_b: float,
    z: float = Z95,
) -> tuple[float, float, float, float]:
    """``a - b`` of two independent design-weighted shares, with its 95% interval and the
    two-sided p-value of "no difference": ``(difference, low, high, p)``.

    The standard error is the larger of the unpooled one (the two stratified variances) and
    the pooled one under "no difference" at the effective sizes ``n_a``, ``n_b``: a group
    whose labels are all right has a stratified variance of 0, which alone would call any
    gap certain. Two exact figures (infinite sizes, no variance) give an exact difference
    (p 0 or 1, a zero-width interval).

    >>> d, lo, hi, p = difference(0.6, 0.0, 20, 0.9, 0.0, 200)
    >>> round(d, 2), round(p, 4) < 0.001
    (-0.3, True)
    """
    diff = estimate_a - estimate_b
    if not (math.isfinite(diff) and math.isfinite(var_a) and math.isfinite(var_b)):
        return math.nan, math.nan, math.nan, math.nan
    pooled = (
        (estimate_a * n_a + estimate_b * n_b) / (n_a + n_b)
        if math.isfinite(n_a + n_b) and n_a + n_b > 0
        else (estimate_a + estimate_b) / 2
    )
    inverse = sum(1.0 / n for n in (n_a, n_b) if n > 0 and math.isfinite(n))
    floor = pooled * (1 - pooled) * inverse
    se = math.sqrt(max(var_a + var_b, floor, 0.0))
    if se == 0:
        return diff, diff, diff, 0.0 if diff else 1.0
    p = math.erfc(abs(diff) / se / math.sqrt(2))
    return diff, max(-1.0, diff - z * se), min(1.0, diff + z * se), p
