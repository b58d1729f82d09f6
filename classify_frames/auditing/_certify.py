"""Certified auto-accept thresholds: Learn then Test with fixed-sequence testing.

The guarantee (Angelopoulos, Bates, Candès, Jordan, Lei 2021, "Learn then Test"): with
probability at least ``1 - delta`` over the draw of the labels, the jobs accepted at the
certified threshold are at least ``target`` accurate in the population.

- One null hypothesis per candidate threshold t, ``H_t: accuracy(c >= t) < target``.
- The candidates are the distinct stated confidences, tested from the highest down, each at
  level ``delta``; the sequence stops at the first one not rejected and the last rejected one is
  certified (fixed-sequence testing controls the family-wise error at ``delta``).
- Candidates whose accepted set holds fewer than ``min_labels`` labels are skipped. That count
  is a fact of the design (how many labels fall there), not of their correctness, so the
  sequence is fixed before any label is read. The default is 30, or more where a perfect
  record of fewer labels could not pass (``ceil(log(delta) / log(target))``, 59 at 95%): a
  first test on a handful of labels would fail too easily and stop the sequence (in the
  simulation, 30 rather than the bare minimum raises how often a type is certified from 46%
  to 77%, with no violation either way).
- p-values: when the accepted jobs' labels all come from one stratum (a simple random sample of
  it), the exact binomial tail ``P(Bin(n, target') >= k)`` (scipy), with ``target'`` raised to
  cover the accepted jobs of strata with no label as if they were all wrong. When they span
  several strata, a Chernoff bound on the weighted sum ``sum_h W_h mean_h`` under the least
  favourable stratum accuracies allowed by the null (the bound holds for sampling without
  replacement too: Hoeffding 1963, Theorem 4). When every accepted job is labelled the accuracy
  is known: 0 or 1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._sample import LabelledSample, cell_counts, combine

__all__ = ["MIN_TESTED", "certify", "certify_table", "min_labels_for", "stratified_pvalue"]

#: Thresholds whose accepted jobs hold fewer labels than this are not tested (by default).
MIN_TESTED = 30


def min_labels_for(target: float, delta: float) -> int:
    """Fewest labels with which a perfect record rejects ``accuracy < target`` at ``delta``.

    >>> min_labels_for(0.95, 0.05)
    59
    """
    if target >= 1:
        return 10**9
    return max(1, math.ceil(math.log(delta) / math.log(target)))


def stratified_pvalue(weight: np.ndarray, n: np.ndarray, k: np.ndarray, target: float) -> float:
    """A valid p-value for ``sum_h weight_h p_h < target`` from ``k_h`` successes in ``n_h``
    draws per stratum (``weight`` may sum to less than 1: the rest counts as wrong).

    Chernoff: ``P(T >= t) <= exp(-lam t) E exp(lam T)`` for ``T = sum_h weight_h / n_h * K_h``,
    maximised over the stratum accuracies the null allows (a concave problem solved by water
    filling) and minimised over a grid of ``lam`` (any ``lam`` gives a valid bound).

    >>> round(stratified_pvalue(np.array([1.0]), np.array([100]), np.array([100]), 0.95), 4)
    0.0059
    """
    w, n, k = (np.asarray(a, dtype=float) for a in (weight, n, k))
    keep = n > 0
    w, n, k = w[keep], n[keep], k[keep]
    observed = float(np.sum(w * k / n))
    if observed <= target or w.sum() <= target:
        return 1.0
    a = w / n  # each label's share of the weighted mean
    lam = np.geomspace(1e-2, 5e3, 160)[:, None] / a.max()
    x = lam * a  # (G, H)
    # the worst stratum accuracies under the null: p_h = n_h / (mu w_h) - 1 / expm1(x_h),
    # clipped to [0, 1], with mu set (bisection in log space) so that sum_h w_h p_h = target
    inv = 1.0 / np.expm1(np.minimum(x, 700.0))
    lo = np.full((len(lam), 1), -60.0)
    hi = np.full((len(lam), 1), 60.0)
    for _ in range(40):
        mid = (lo + hi) / 2
        p = np.clip(n / (np.exp(mid) * w) - inv, 0.0, 1.0)
        over = (p * w).sum(axis=1, keepdims=True) > target
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    p = np.clip(n / (np.exp(hi) * w) - inv, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        log_mgf = n * np.logaddexp(np.log1p(-p), np.log(p) + x)
    log_bound = -lam[:, 0] * observed + log_mgf.sum(axis=1)
    return float(min(1.0, math.exp(min(float(log_bound.min()), 0.0))))


def _pvalue(big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float) -> tuple[float, str]:
    """p-value of ``accuracy < target`` for one accepted set, from its (stratum) cells."""
    jobs = big_n.sum()
    weight = big_n / jobs
    labelled = (n > 0) & (big_n > 0)
    if np.all(n[big_n > 0] >= big_n[big_n > 0]):
        exact = float(np.sum(weight * np.where(labelled, k / np.maximum(n, 1), 0.0)))
        return (0.0 if exact >= target else 1.0), "every accepted job labelled"
    if labelled.sum() == 1:
        h = int(np.flatnonzero(labelled)[0])
        needed = target / weight[h]
        if needed > 1:
            return 1.0, "exact binomial"
        from scipy.special import bdtrc  # scipy loads slowly: only when needed

        # P(Bin(n, needed) >= k), scipy.stats.binom.sf(k - 1, n, needed) without its import
        return float(bdtrc(int(k[h]) - 1, int(n[h]), needed)), "exact binomial"
    return (
        stratified_pvalue(weight[labelled], n[labelled], k[labelled], target),
        "stratified Chernoff",
    )


def certify(
    sample: LabelledSample,
    correct: np.ndarray,
    confidence: np.ndarray,
    domain: np.ndarray,
    target: float,
    delta: float,
    min_labels: int | None = None,
) -> dict[str, float | int | str]:
    """The certified threshold of one row (``domain``: a mask over the completed jobs; their
    ``confidence``; ``correct`` per labelled row) and what it keeps; see the module's docstring."""
    m = max(min_labels_for(target, delta), MIN_TESTED) if min_labels is None else int(min_labels)
    usable = domain & np.isfinite(confidence)
    jobs = int(domain.sum())
    values = np.unique(confidence[usable])
    row: dict[str, float | int | str] = {
        "threshold": math.nan,
        "coverage": 0.0 if jobs else math.nan,
        "accepted": 0,
        "labelled": 0,
        "accuracy": math.nan,
        "accuracy_lo": math.nan,
        "accuracy_hi": math.nan,
        "p_value": math.nan,
        "method": "",
    }
    if not len(values):
        row["method"] = "no stated confidence"
        return row
    groups = np.where(usable, np.searchsorted(values, confidence), -1)
    cells = cell_counts(sample, groups, len(values), correct)
    # accepted at the v-th value = every value from it up: cumulative sums from the top
    big_n, n, k, q = (np.cumsum(c[::-1], axis=0)[::-1] for c in cells)
    labels = n.sum(axis=1)
    row["labelled"] = int(labels[0])
    best = None
    tested = False
    for v in range(len(values) - 1, -1, -1):
        if labels[v] < m:
            continue
        tested = True
        p, method = _pvalue(big_n[v], n[v], k[v], target)
        if p > delta:
            row["p_value"] = p if best is None else row["p_value"]
            row["method"] = method if best is None else row["method"]
            break
        best = v
        row["p_value"], row["method"] = p, method
    if best is None:
        if not tested:
            row["method"] = f"fewer than {m} labels at every threshold"
        else:
            row["method"] = f"not certified ({row['method']})"
        return row
    est = combine(
        big_n[best : best + 1], n[best : best + 1], k[best : best + 1], q[best : best + 1]
    )
    accepted = int(big_n[best].sum())
    row.update(
        threshold=float(values[best]),
        coverage=accepted / jobs,
        accepted=accepted,
        labelled=int(labels[best]),
        accuracy=float(est["estimate"][0]),
        accuracy_lo=float(est["low"][0]),
        accuracy_hi=float(est["high"][0]),
    )
    return row


def certify_table(
    sample: LabelledSample,
    correct: np.ndarray,
    confidence: np.ndarray,
    types: pd.Series,
    order: list[str],
    target: float,
    delta: float,
    min_labels: int | None = None,
) -> pd.DataFrame:
    """:func:`certify` for "overall" and each predicted type in ``order``."""
    everything = np.ones(len(types), bool)
    rows = {"overall": certify(sample, correct, confidence, everything, target, delta, min_labels)}
    values = types.astype(object).to_numpy(object)
    for name in order:
        rows[name] = certify(sample, correct, confidence, values == name, target, delta, min_labels)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("type")
    return table.astype({"accepted": "int64", "labelled": "int64"})
