"""Certified auto-accept thresholds: Learn then Test, a fixed sequence beside a whole-row test.

The guarantee (Angelopoulos, Bates, Candès, Jordan, Lei 2021, "Learn then Test"): with
probability at least ``1 - delta`` over the draw of the labels, the jobs accepted at the
certified threshold are at least ``target`` accurate in the population. It holds for one row
(all jobs, or one predicted type) at a time; ``joint=True`` splits delta over the type rows
(Bonferroni) so that all of them hold together.

- One null hypothesis per candidate threshold t (the distinct stated confidences),
  ``H_t: accuracy(c >= t) < target``.
- delta is split (Bonferroni over two procedures): ``WHOLE_SHARE * delta`` tests the whole row
  (every job with a stated confidence accepted) on its own, the rest runs a fixed sequence from
  the highest threshold down that stops at its first failure; a sequence that reaches the
  whole row tests it at the full delta (a graphical procedure: a rejected hypothesis passes its
  level on). When confidence carries little information, the top thresholds' small sets fail
  by chance and stop the sequence; the whole-row test still certifies the whole row. In
  ``benchmarks/sim_audit.py`` the split costs 0-4 points of certification rate where
  confidence is informative and adds 13-30 where it is not (400-800 labels). When the
  sequence's only candidate is the whole row, or a perfect record could not pass the
  whole-row test, the sequence gets all of delta.
- A threshold is tested only when a perfect record on its labels would pass *the test it gets*
  at level ``(1 - WHOLE_SHARE) * min(delta, 0.05)``. That reads label counts only (design facts),
  so the sequence is fixed before any label is read; and from delta = 0.05 up it does not change
  with delta, so a larger delta can only certify as much or more.
- p-values, the tightest valid one the labels' counts allow (the choice reads counts only):
  - every accepted job labelled: the accuracy is known (p = 0 or 1);
  - self-weighting labels (a simple random sample, or strata the set touches sampled at one
    rate, to within one label of rounding: proportional allocation): the exact binomial tail
    ``P(Bin(n, target) >= k)`` on the pooled labels. A sum of independent hypergeometric counts
    is a Poisson binomial, whose upper tail beyond its mean + 1 is no heavier than the binomial's
    with that mean (Hoeffding 1956); where the labels per stratum at a threshold are themselves
    random, validity is checked by simulation (``benchmarks/sim_audit.py``);
  - otherwise whichever of two valid tests has the smaller p-value on a record at the planning
    accuracy ``(1 + target) / 2`` (a design fact): the least-favourable pooled binomial (given
    the labels per stratum, the pooled count of right labels has mean ``sum_h f_h A_h``, with
    ``f_h`` the sampling rate and ``A_h`` the right jobs; under the null that is at most the
    greedy fill ``mu`` of the fastest-sampled strata with ``target * N`` right jobs, so
    ``P(Bin(n, mu / n) >= k)`` is valid once ``k >= mu + 1``), or a Chernoff bound on the
    weighted mean under the least favourable stratum accuracies (Hoeffding 1963, Theorem 4,
    covers sampling without replacement). A betting test with fixed labels is no tighter than
    this Chernoff bound (its best constant bet is the Chernoff exponent). A stratified one
    (ALPHA-style without-replacement martingales per cell, the union over how the null spreads
    right jobs across cells) was measured in ``benchmarks/sim_betting.py``: valid, but it
    certified less in every design there, and even betting with bets chosen after the labels
    (not a valid test) certified at most 4 points more than these tests with Neyman labels.
    Unequal weights cost power, which is why ``review_queue(allocation="proportional")`` and
    ``plan_labels`` keep thresholds self-weighting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._sample import LabelledSample, cell_counts, combine

__all__ = [
    "RULE_DELTA",
    "WHOLE_SHARE",
    "binomial_tail",
    "certify",
    "certify_table",
    "min_labels_for",
    "pooled_pvalue",
    "stratified_pvalue",
    "stratified_pvalues",
]

#: Share of delta given to the whole-row test (the rest goes to the top-down sequence).
WHOLE_SHARE = 0.1
#: The skip rule asks a perfect record to pass at ``min(delta, RULE_DELTA)`` (times the
#: sequence's share), so from RULE_DELTA up the tested thresholds do not depend on delta.
RULE_DELTA = 0.05


def min_labels_for(target: float, delta: float) -> int:
    """Fewest labels with which a perfect record rejects ``accuracy < target`` at ``delta``
    under the exact binomial test (self-weighting labels).

    >>> min_labels_for(0.95, 0.05)
    59
    """
    if target >= 1:
        return 10**9
    return max(1, math.ceil(math.log(delta) / math.log(target)))


def binomial_tail(k: float, n: float, p: float) -> float:
    """``P(Bin(n, p) >= k)``, with ``k`` real (the regularised incomplete beta, which
    ``scipy.stats.binom.sf(k - 1, n, p)`` is for whole ``k``).

    >>> round(binomial_tail(388, 400, 0.95), 4)
    0.0355
    """
    from scipy.special import betainc  # scipy loads slowly: only when needed

    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(betainc(k, n - k + 1, min(max(p, 0.0), 1.0)))


def pooled_pvalue(big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float) -> float:
    """Least-favourable pooled binomial p-value of ``accuracy < target`` from ``k_h`` right out
    of ``n_h`` labels in cells of ``N_h`` jobs (cells with no label may hold any accuracy): valid
    for any rates ``n_h / N_h``, and the exact binomial tail when they are equal.

    >>> jobs = np.array([800.0, 200.0])
    >>> round(pooled_pvalue(jobs, np.array([80, 20]), np.array([78, 20]), 0.9), 5)
    0.00194
    >>> round(pooled_pvalue(jobs, np.array([80, 40]), np.array([78, 40]), 0.9), 5)
    0.00207
    """
    big_n, n, k = (np.asarray(a, dtype=float) for a in (big_n, n, k))
    cells = (n > 0) & (big_n > 0)
    total, right = float(n[cells].sum()), float(k[cells].sum())
    if total == 0:
        return 1.0
    rate, size = n[cells] / big_n[cells], big_n[cells]
    order = np.argsort(-rate, kind="stable")
    before = np.concatenate([[0.0], np.cumsum(size[order])[:-1]])
    filled = np.clip(target * big_n.sum() - before, 0.0, size[order])
    mean = float(np.sum(rate[order] * filled))
    if mean >= total or right < mean + 1:
        return 1.0
    return binomial_tail(right, total, mean / total)


def stratified_pvalue(weight: np.ndarray, n: np.ndarray, k: np.ndarray, target: float) -> float:
    """A valid p-value for ``sum_h weight_h p_h < target`` from ``k_h`` successes in ``n_h``
    draws per stratum (``weight`` may sum to less than 1: the rest counts as wrong).

    Chernoff: ``P(T >= t) <= exp(-lam t) E exp(lam T)`` for ``T = sum_h weight_h / n_h * K_h``,
    maximised over the stratum accuracies the null allows (a concave problem solved exactly by
    water filling) and minimised over a grid of ``lam`` (any ``lam`` gives a valid bound).

    >>> round(stratified_pvalue(np.array([1.0]), np.array([100]), np.array([100]), 0.95), 4)
    0.0059
    """
    return float(stratified_pvalues(weight, n, k, target)[0])


def stratified_pvalues(
    weight: np.ndarray, n: np.ndarray, k: np.ndarray, target: float
) -> np.ndarray:
    """:func:`stratified_pvalue` of each row of ``(B, H)`` arrays at once."""
    w, n, k = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (weight, n, k))
    keep = (n > 0) & (w > 0)
    w, n, k = np.where(keep, w, 0.0), np.where(keep, n, 0.0), np.where(keep, k, 0.0)
    observed = (w * k / np.where(keep, n, 1.0)).sum(axis=1)
    out = np.ones(len(w))
    live = np.flatnonzero((observed > target) & (w.sum(axis=1) > target))
    step = max(1, int(2e6 // (LAMBDAS * 2 * w.shape[1])))  # bounded memory
    for at in range(0, len(live), step):
        rows = live[at : at + step]
        bound = _chernoff(w[rows], n[rows], keep[rows], observed[rows], target).min(axis=1)
        out[rows] = np.minimum(1.0, np.exp(np.minimum(bound, 0.0)))
    return out


#: Points of the grid of Chernoff's ``lam``.
LAMBDAS = 100


def _chernoff(
    w: np.ndarray, n: np.ndarray, keep: np.ndarray, observed: np.ndarray, target: float
) -> np.ndarray:
    """The log Chernoff bound of each row at each ``lam`` of a grid, ``(B, G)``, under the
    least favourable stratum accuracies."""
    ratio = np.where(keep, n / np.where(keep, w, 1.0), 0.0)  # labels per unit of weight
    a = np.where(keep, 1.0 / np.where(keep, ratio, 1.0), 0.0)  # each label's share of the mean
    lam = np.geomspace(1e-2, 5e3, LAMBDAS)[None, :] / a.max(axis=1, keepdims=True)
    x = lam[:, :, None] * a[:, None, :]  # (B, G, H)
    # the worst stratum accuracies under the null: p_h = clip(s n_h / w_h - 1 / expm1(x_h), 0, 1)
    # with s set so that sum_h w_h p_h = target; that sum is piecewise linear and increasing
    # in s, so s is found exactly between the breakpoints where some p_h reaches 0 or 1
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(keep[:, None, :], 1.0 / np.expm1(np.minimum(x, 700.0)), 0.0)
        r = np.where(keep, ratio, np.inf)[:, None, :]
        breaks = np.concatenate([inv / r, (1 + inv) / r], axis=2)  # (B, G, 2H)
    # the slope of the sum grows by n_h where p_h leaves 0 and falls by n_h where it reaches 1
    slope = np.broadcast_to(np.concatenate([n, -n], axis=1)[:, None, :], breaks.shape)
    order = np.argsort(breaks, axis=2)
    breaks = np.take_along_axis(breaks, order, 2)
    slope = np.cumsum(np.take_along_axis(slope, order, 2), axis=2)
    rise = slope[..., :-1] * np.diff(breaks, axis=2)
    at = np.concatenate([np.zeros((*breaks.shape[:2], 1)), np.cumsum(rise, axis=2)], axis=2)
    j = np.minimum(np.argmax(at >= target, axis=2), breaks.shape[2] - 1)[..., None]
    s_hi, g_hi = np.take_along_axis(breaks, j, 2), np.take_along_axis(at, j, 2)
    s_lo = np.take_along_axis(breaks, np.maximum(j - 1, 0), 2)
    g_lo = np.where(j > 0, np.take_along_axis(at, np.maximum(j - 1, 0), 2), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(g_hi > g_lo, (target - g_lo) / (g_hi - g_lo), 1.0)
    scale = s_lo + np.clip(frac, 0.0, 1.0) * (s_hi - s_lo)
    p = np.clip(scale * ratio[:, None, :] - inv, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        log_mgf = n[:, None, :] * np.logaddexp(np.log1p(-p), np.log(p) + x)
    bound: np.ndarray = -lam * observed[:, None] + log_mgf.sum(axis=2)
    return bound


@dataclass(frozen=True)
class _Design:
    """What the p-values may read of the design: jobs and labels per stratum, and whether the
    labels are one simple random sample of every stratum together."""

    sizes: np.ndarray
    labels: np.ndarray
    simple: bool

    def self_weighting(self, touched: np.ndarray) -> bool:
        """Whether the strata ``touched`` were sampled at one rate, to within one label."""
        if self.simple or touched.sum() <= 1:
            return True
        size, labels = self.sizes[touched], self.labels[touched]
        return bool(np.max((labels - 1) / size) <= np.min((labels + 1) / size))


EXACT = "exact binomial (self-weighting labels)"
POOLED = "least-favourable pooled binomial"
CHERNOFF = "stratified Chernoff"
KNOWN = "every accepted job labelled"


def _methods(big_n: np.ndarray, n: np.ndarray, target: float, design: _Design) -> list[str]:
    """The test each accepted set (a row of ``(V, H)`` cells) gets, from label counts alone."""
    has = big_n > 0
    methods = [
        KNOWN
        if np.all(n[v][has[v]] >= big_n[v][has[v]])
        else EXACT
        if design.self_weighting(has[v])
        else ""
        for v in range(len(big_n))
    ]
    rest = [v for v, m in enumerate(methods) if not m]
    if rest:
        planned = n[rest] * (1 + target) / 2  # a record at the planning accuracy
        weight = big_n[rest] / big_n[rest].sum(axis=1, keepdims=True)
        chernoff = stratified_pvalues(weight, n[rest], planned, target)
        for v, plan, bound in zip(rest, planned, chernoff, strict=True):
            pooled = pooled_pvalue(big_n[v], n[v], plan, target)
            methods[v] = POOLED if pooled <= bound else CHERNOFF
    return methods


def _pvalues(
    methods: list[str], big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float
) -> np.ndarray:
    """The p-value of each accepted set (rows of ``(V, H)`` cells) under its test."""
    out = np.ones(len(methods))
    chernoff = [v for v, m in enumerate(methods) if m == CHERNOFF]
    if chernoff:
        weight = big_n[chernoff] / big_n[chernoff].sum(axis=1, keepdims=True)
        out[chernoff] = stratified_pvalues(weight, n[chernoff], k[chernoff], target)
    for v, method in enumerate(methods):
        if method == KNOWN:
            labelled = (n[v] > 0) & (big_n[v] > 0)
            share = np.where(labelled, k[v] / np.maximum(n[v], 1), 0.0) * big_n[v]
            out[v] = 0.0 if float(share.sum()) >= target * big_n[v].sum() else 1.0
        elif method == EXACT:
            out[v] = binomial_tail(float(k[v].sum()), float(n[v].sum()), target)
        elif method == POOLED:
            out[v] = pooled_pvalue(big_n[v], n[v], k[v], target)
    return out


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
    ``confidence``; ``correct`` per labelled row) and what it keeps; see the module's docstring.
    ``min_labels`` replaces the skip rule by a plain count of labels."""
    usable = domain & np.isfinite(confidence)
    jobs = sample.jobs(domain)
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
    correct = np.asarray(correct, dtype=float)
    cells = cell_counts(sample, groups, len(values), correct)
    # accepted at the v-th value = every value from it up: cumulative sums from the top
    big_n, n, k, q = (np.cumsum(c[::-1], axis=0)[::-1] for c in cells)
    labels = n.sum(axis=1)
    row["labelled"] = int(labels[0])
    kept = ~np.isnan(correct)
    design = _Design(
        sizes=sample.sizes.astype(float),
        labels=np.bincount(sample.strata[kept], minlength=len(sample.names)).astype(float),
        simple=sample.kind == "random",
    )
    methods = _methods(big_n, n, target, design)
    # the skip rule: a perfect record would pass the test the set gets (counts only)
    rule = min(delta, RULE_DELTA)
    if min_labels is None:  # tested at a share s of the rule's level when ready <= s
        ready = np.where(labels > 0, _pvalues(methods, big_n, n, n, target) / rule, np.inf)
    else:
        ready = np.where(labels >= min_labels, 0.0, np.inf)
    tested = [v for v in range(len(values) - 1, -1, -1) if ready[v] <= 1 - WHOLE_SHARE]
    if not tested:
        row["method"] = (
            f"fewer than {min_labels} labels at every threshold"
            if min_labels is not None
            else "fewer than the labels a perfect record needs to pass, at every threshold"
        )
        return row
    split = tested != [0] and bool(ready[0] <= WHOLE_SHARE)
    level = delta * (1 - WHOLE_SHARE) if split else delta
    pvalues = _pvalues(methods, big_n, n, k, target)
    best, p_best, how = None, math.nan, ""
    for v in tested:
        # reached by the sequence, the whole row holds both shares of delta (a graphical
        # procedure, Bretz et al. 2009: a rejected hypothesis passes its level on)
        if pvalues[v] > (delta if v == 0 else level):
            break
        best, p_best, how = v, float(pvalues[v]), methods[v]
    procedure = (
        f"top-down at {level:g} and the whole row at {delta * WHOLE_SHARE:g}"
        if split
        else f"top-down at {level:g}"
    )
    if split and best != 0 and pvalues[0] <= delta * WHOLE_SHARE:
        best, p_best, how = 0, float(pvalues[0]), f"{methods[0]}, whole-row test"
    if best is None:
        first = tested[0]
        row["p_value"] = float(pvalues[first])
        row["method"] = f"not certified ({methods[first]}; {procedure})"
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
        p_value=p_best,
        method=f"{how}; {procedure}",
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
    *,
    joint: bool = False,
) -> pd.DataFrame:
    """:func:`certify` for "overall" and each predicted type in ``order``. Each row holds on
    its own (row by row); ``joint=True`` tests each type at ``delta / len(order)``
    (Bonferroni) so that the type rows hold together. ``table.attrs["guarantee"]`` says which,
    in words."""
    everything = np.ones(len(types), bool)
    rows = {"overall": certify(sample, correct, confidence, everything, target, delta, min_labels)}
    values = types.astype(object).to_numpy(object)
    each = delta / max(len(order), 1) if joint else delta
    for name in order:
        rows[name] = certify(sample, correct, confidence, values == name, target, each, min_labels)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("type")
    if joint:
        guarantee = (
            f"The {len(order)} type rows hold together: with probability at least "
            f"{1 - delta:.0%}, every type's certified threshold keeps {target:.0%} accuracy "
            f"(each type tested at delta {each:.3g}, Bonferroni). The overall row holds on its own."
        )
    else:
        guarantee = (
            f"Each row holds on its own: with probability at least {1 - delta:.0%}, that row's "
            f"certified threshold keeps {target:.0%} accuracy. Used together, the chance that "
            f"some type misses grows with the number of types (up to {len(order)} x {delta:g}); "
            "recommend_threshold(..., joint=True) makes the type rows hold together."
        )
    table.attrs["guarantee"] = guarantee
    return table.astype({"accepted": "int64", "labelled": "int64"})
