"""Label planning: how many more labels, from which strata, for a margin or a certificate.

- ``margin=0.02``: Neyman allocation over the strata, the total from the stratified variance
  ``(sum_h W_h S_h)^2 / n - sum_h W_h S_h^2 / N`` set to ``(margin / 1.96)^2`` (Cochran 5.9),
  ``S_h`` from the labels so far, shrunk as ``(k + 1) / (n + 2)``, or from the stated
  confidence where a stratum has none.
- ``target_accuracy=0.95``: a candidate threshold (the lowest whose estimated accuracy clears
  the target by half the distance to 1, else the most accurate one; none only when no
  threshold's 95% upper bound reaches the target), and the labels among its accepted jobs,
  topped up towards one sampling rate (``n_h ~ N_h``, the labels in hand counting) so that
  the threshold questions stay self-weighting and get the exact pooled test. The size starts
  from the normal approximation of the binomial test and moves by factors of 1.5: down while
  the chance stays at ``power``, up while it is short and still rising by 3 points or more.
  The chance is simulated (200 rounds: every cell's accuracy, predicted type x stated
  confidence, drawn from an empirical-Bayes posterior, the planned labels drawn and the whole
  certification run). The posterior has three levels: the trend of accuracy in stated
  confidence (a logistic fit, drawn from its approximate posterior), each confidence value
  around that trend, each cell around the logit-additive centre of its value and its type
  (types shrunk towards the pooled accuracy); each prior is worth as many labels as the
  groups' spread beyond binomial noise allows (method of moments, 4 to 1,000 labels).
  Independent uniform priors per stratum pulled near-perfect strata down (16 right out of 16
  has a posterior mean of 0.944) and understated the chance (3% stated, 75% realised on a
  calibrated population). ``queue.attrs["summary"]`` states the simulated chance, and says
  when labels cannot raise it further; it suggests a lower target only when the best
  estimate is below the target. ``benchmarks/sim_audit.py`` prints the stated chance beside
  the rate observed when the plan is labelled from the truth.

Labels already given count toward the plan; the queue's strata split each type at the
candidate threshold, so the rounds together stay a stratified random sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import Opt, Parts, Sentence
from ._certify import RULE_DELTA, certify, min_labels_for
from ._data import AuditData
from ._design import design_columns, frame_fingerprint
from ._population import risk_coverage
from ._queue import draw_stratified, queue_table
from ._sample import LabelledSample, stratum_names
from ._stats import Z95

__all__ = ["plan_labels"]

#: The empirical-Bayes prior of a stratum's accuracy is worth this many labels.
PRIOR_LABELS = 4.0
#: Simulated rounds behind the chance a target plan states.
SIMULATIONS = 200
#: A plan grows (x1.5) while that raises its chance by at least this much.
GAIN = 0.03


def plan_labels(
    data: AuditData,
    memo: dict[tuple[Any, ...], float],
    *,
    target_accuracy: float | None = None,
    margin: float | None = None,
    delta: float = 0.05,
    power: float = 0.8,
    seed: int = 0,
    max_labels: int = 5_000,
) -> pd.DataFrame:
    """The next review queue; see the module's docstring and ``AuditReport.plan_labels``."""
    if target_accuracy is not None and margin is not None:
        msg = "give target_accuracy= or margin=, not both"
        raise ValueError(msg)
    if target_accuracy is None and margin is None:
        margin = 0.02
    if margin is not None and not 0 < margin < 0.5:
        msg = f"margin must be between 0 and 0.5 (e.g. 0.02 for ±2 points), got {margin!r}"
        raise ValueError(msg)
    if target_accuracy is not None and not 0 < target_accuracy < 1:
        msg = f"target_accuracy must be in (0, 1), got {target_accuracy!r}"
        raise ValueError(msg)
    jobs = data.jobs
    completed = jobs.loc[jobs["completed"], ["type", "confidence"]]
    conf = completed["confidence"].to_numpy(float)
    labelled = data.labelled_mask
    if labelled is None:
        labelled = np.zeros(len(completed), bool)
    if data.sample is not None:  # labels that are not a random sample do not count
        usable = np.zeros(len(completed), bool)
        usable[data.sample.rows] = True
        correct = np.full(len(completed), np.nan)
        correct[data.sample.rows] = data.correct
    else:
        usable, correct = np.zeros(len(completed), bool), np.full(len(completed), np.nan)
    if margin is not None:
        bands = data.sample.bands if data.sample is not None else ()
        names = stratum_names(completed["type"], conf, bands)
        plan, summary = _for_margin(names, conf, usable, correct, margin, max_labels)
    else:
        assert target_accuracy is not None
        plan, summary, bands, names = _for_target(
            data, memo, completed, conf, usable, correct, target_accuracy, delta, power, max_labels
        )
    queue = _queue_of(jobs, completed, names, labelled, plan, bands, seed)
    queue.attrs["plan"] = plan
    queue.attrs["summary"] = summary
    return queue


def _pilot(
    names: pd.Series, conf: np.ndarray, usable: np.ndarray, correct: np.ndarray
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"s": names.to_numpy(object), "c": conf, "u": usable, "y": np.nan_to_num(correct)}
    )
    grouped = frame.groupby("s", sort=True)
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "labelled": grouped["u"].sum().astype("int64"),
            "correct": frame[frame["u"]].groupby("s")["y"].sum(),
            "stated": grouped["c"].mean(),
        }
    ).fillna({"correct": 0.0})
    guess = table["stated"].clip(0.05, 0.95).fillna(0.5)
    seen = (table["correct"] + 1) / (table["labelled"] + 2)
    table["expected_accuracy"] = np.where(table["labelled"] > 0, seen, guess)
    return table


def _for_margin(
    names: pd.Series,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    margin: float,
    max_labels: int,
) -> tuple[pd.DataFrame, str]:
    table = _pilot(names, conf, usable, correct)
    big_n = table["jobs"].to_numpy(float)
    total = big_n.sum()
    w = big_n / total
    p = table["expected_accuracy"].to_numpy(float)
    spread = np.sqrt(p * (1 - p))
    needed = (w @ spread) ** 2 / ((margin / Z95) ** 2 + (w @ spread**2) / total)
    needed = min(math.ceil(needed), int(total), max_labels)
    share = w * spread / max(float(w @ spread), 1e-12)
    wanted = np.minimum(np.ceil(share * needed), big_n).astype(np.int64)
    wanted = np.maximum(wanted, np.minimum(2, big_n).astype(np.int64))
    table["planned"] = wanted
    table["more"] = np.maximum(wanted - table["labelled"].to_numpy(), 0)
    have = int(table["labelled"].sum())
    more = int(table["more"].sum())
    summary = (
        f"To estimate accuracy to ±{margin * 100:g} points (95% confidence), about "
        f"{int(wanted.sum()):,} labels are needed over {len(table)} strata (Neyman "
        f"allocation); {have:,} usable labels are in hand: label these {more:,} more."
    )
    return table, summary


def _for_target(
    data: AuditData,
    memo: dict[tuple[Any, ...], float],
    completed: pd.DataFrame,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    target: float,
    delta: float,
    power: float,
    max_labels: int,
) -> tuple[pd.DataFrame, str, tuple[float, ...], pd.Series]:
    candidate, expected, how, best = _candidate(data, conf, target)
    old_bands = data.sample.bands if data.sample is not None else ()
    if candidate is None:
        names = stratum_names(completed["type"], conf, old_bands)
        table = _pilot(names, conf, usable, correct).assign(planned=0, more=0)
        summary = Sentence([
            f"No threshold can reach {target:.0%} accuracy: {how}. More labels will not "
            "certify one; a lower ", Opt("target_accuracy"), ", or better rules, may.",
        ])  # fmt: skip
        table.attrs["chance"] = 0.0
        return table, summary, old_bands, names
    bands = tuple(sorted({*old_bands, candidate}))
    names = stratum_names(completed["type"], conf, bands)
    table = _pilot(names, conf, usable, correct)
    accepted = pd.Series(conf >= candidate, index=names.index).groupby(names.to_numpy(object)).all()
    cells = table.index[accepted.reindex(table.index).fillna(False).to_numpy(bool)]
    prior = _cell_prior(completed["type"], conf, usable, correct, data.sample is not None)
    from scipy.special import ndtri  # scipy loads slowly: only when needed

    # a first size from the normal approximation of the binomial test, at the estimate (or a
    # quarter of the way from the target to 1, when the estimate leaves less margin than that)
    z_a, z_b = float(ndtri(1 - delta)), float(ndtri(power))
    p = min(max(expected, target + (1 - target) / 4), 0.999)
    n = (
        (z_a * math.sqrt(target * (1 - target)) + z_b * math.sqrt(p * (1 - p))) / (p - target)
    ) ** 2
    n = max(math.ceil(n), min_labels_for(target, min(delta, RULE_DELTA)))
    # labels in hand at unequal rates (a pilot of so many per type) make a small plan's union
    # weighted, and weighted tests are weak: start no lower than the size at which the plan's
    # top-up reaches every accepted stratum's rate in hand (self-weighting again)
    jobs_in = table.loc[cells, "jobs"].to_numpy(float)
    rate_in_hand = float(np.max(table.loc[cells, "labelled"].to_numpy(float) / jobs_in))
    n = max(n, math.ceil(rate_in_hand * jobs_in.sum()))
    room = int(jobs_in.sum())
    cap = min(room, max_labels)
    n = min(n, cap)
    # that formula trusts the pilot's accuracy: the chance is simulated (the whole
    # certification, over the accuracies the pilot allows) and the size moved by factors of
    # 1.5: down while the chance stays at ``power``, up while it is short and still rising by
    # GAIN or more
    # (memo: the same data plans the same way, so it simulates once)

    def chance_at(size: int) -> float:
        key = (candidate, size, target, delta)
        if key not in memo:
            memo[key] = _chance(
                table, cells, size, names, prior, conf, usable, correct, target, delta
            )
        return memo[key]

    chance = chance_at(n)
    tried = {n: chance}
    floor = min_labels_for(target, min(delta, RULE_DELTA))
    while chance >= power and n > floor:
        smaller = max(math.floor(n / 1.5), floor)
        then = chance_at(smaller)
        tried[smaller] = then
        if then < power:
            break
        n, chance = smaller, then
    while chance < power and n < cap:
        bigger = min(math.ceil(n * 1.5), cap)
        then = chance_at(bigger)
        tried[bigger] = then
        if then - chance < GAIN and then >= 0.1:  # what is left is doubt about the threshold
            break
        n, chance = bigger, then
    if chance < power:  # short of power: the fewest labels within GAIN of the best chance
        top = max(tried.values())
        n = min(size for size, c in tried.items() if c >= top - GAIN)
        chance = tried[n]
    table["planned"] = _planned(table, cells, n)
    table["more"] = np.maximum(table["planned"] - table["labelled"], 0).astype("int64")
    have = int(table.loc[cells, "labelled"].sum())
    more = int(table["more"].sum())
    coverage = float(np.mean(conf >= candidate))
    short: Parts = []
    if chance < power:
        short = [
            f" (short of the {power:.0%} asked; more labels add little: the labels so far "
            f"leave open whether the jobs at ≥ {candidate:g} reach {target:.0%} at all"
        ]
        if math.isfinite(best) and best < target:  # never advise a lower target otherwise
            short += [f"; the best estimate is {best:.0%}, so a lower ", Opt("target_accuracy")]
            short += [" may be certifiable"]
        short += [")"]
    summary = Sentence([
        f"To certify ≥ {target:.0%} accuracy at threshold ≥ {candidate:g} (it keeps "
        f"{coverage:.0%} of jobs; {how} {expected:.0%}), about {int(table['planned'].sum()):,} "
        f"labels are needed among the jobs it accepts, spread in proportion to their jobs; "
        f"{have:,} are in hand: label these {more:,} more. Estimated chance that they certify "
        f"a threshold: {chance:.0%}", *short, ", at ", Opt("delta", delta), " (simulated "
        f"{SIMULATIONS} times over the accuracies the labels so far allow, under an "
        f"empirical-Bayes prior worth at least {PRIOR_LABELS:g} labels per type and confidence "
        "value; a pilot of few labels makes this rough).",
    ])  # fmt: skip
    table.attrs["chance"] = chance
    return table, summary, bands, names


def _strength(right: np.ndarray, labels: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """How many labels a Beta prior centred on ``centre`` is worth for groups with ``right``
    out of ``labels``: as much as their spread around it beyond binomial noise allows (method
    of moments; 10,000 when they differ from it no more than chance)."""
    seen = labels > 0
    total = float(labels.sum())
    if seen.sum() < 2:
        return np.full(len(labels), 1e4)
    share = right[seen] / labels[seen]
    noise = centre[seen] * (1 - centre[seen])
    between = max(float(np.sum(labels[seen] * (share - centre[seen]) ** 2 - noise)), 0.0) / total
    if between <= 0:
        return np.full(len(labels), 1e4)
    return np.asarray(np.clip(centre * (1 - centre) / between - 1, 0.0, 1e4))


def _trend(
    right: np.ndarray, labels: np.ndarray, stated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy by stated confidence, fitted as ``logit(acc) = a + b logit(stated)`` on the
    labels (Newton steps, lightly ridged): flat where confidence says nothing, steep where it
    tells right from wrong. Returns the design ``[1, logit(stated)]``, the coefficients and
    their approximate posterior covariance (the inverse Hessian)."""
    x = np.log(np.clip(stated, 0.01, 0.99) / (1 - np.clip(stated, 0.01, 0.99)))
    design = np.column_stack([np.ones_like(x), x])
    coef = np.zeros(2)
    hessian = np.eye(2)
    for _ in range(25):
        fit = 1 / (1 + np.exp(-(design @ coef)))
        gradient = design.T @ (right - labels * fit) - 1e-2 * coef
        hessian = (design.T * (labels * fit * (1 - fit))) @ design + 1e-2 * np.eye(2)
        coef = coef + np.linalg.solve(hessian, gradient)
    return design, coef, np.linalg.inv(hessian)


#: A prior is worth at most this many labels, however alike the groups look.
PRIOR_MOST = 1_000.0


def _logit(x: np.ndarray | float) -> np.ndarray:
    x = np.clip(x, 1e-3, 1 - 1e-3)
    return np.asarray(np.log(x / (1 - x)))


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


@dataclass(frozen=True)
class _Prior:
    """The posterior of every cell's accuracy (predicted type x stated confidence), drawn in
    three levels: the trend of accuracy in stated confidence (its logistic fit's approximate
    posterior), each confidence value's accuracy around that trend, then each cell's around
    the logit-additive centre that value and the type's shrunk accuracy give. ``stated``
    (no labels) centres the cells on the stated confidence instead."""

    cell: np.ndarray  # each job's cell
    right: np.ndarray  # per cell
    labels: np.ndarray
    worth: np.ndarray  # what each cell's prior is worth, in labels
    type_logit: np.ndarray
    pooled_logit: float
    design: np.ndarray  # per confidence value: [1, logit(stated)]
    coef: np.ndarray
    coef_cov: np.ndarray
    value_right: np.ndarray
    value_labels: np.ndarray
    value_worth: np.ndarray
    stated: np.ndarray | None

    def centre(self, value: np.ndarray) -> np.ndarray:
        if self.stated is not None:
            return self.stated
        score = self.type_logit[:, None] + _logit(value)[None, :] - self.pooled_logit
        return _expit(score).ravel()

    def _value(self, trend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        alpha = self.value_right + self.value_worth * trend
        beta = self.value_labels - self.value_right + self.value_worth * (1 - trend)
        return np.maximum(alpha, 1e-3), np.maximum(beta, 1e-3)

    def mean(self) -> np.ndarray:
        """Posterior mean of each cell at the trend's and the values' posterior means."""
        alpha, beta = self._value(_expit(self.design @ self.coef))
        centre = self.centre(alpha / (alpha + beta))
        return np.asarray((self.right + self.worth * centre) / (self.labels + self.worth))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        coef = rng.multivariate_normal(self.coef, self.coef_cov)
        centre = self.centre(rng.beta(*self._value(_expit(self.design @ coef))))
        alpha = self.right + self.worth * centre
        beta = self.labels - self.right + self.worth * (1 - centre)
        return np.asarray(rng.beta(np.maximum(alpha, 1e-3), np.maximum(beta, 1e-3)))


def _cell_prior(
    types: pd.Series, conf: np.ndarray, usable: np.ndarray, correct: np.ndarray, labelled: bool
) -> _Prior:
    """The empirical-Bayes posterior of every cell's accuracy (see :class:`_Prior`): types
    shrunk towards the pooled accuracy, confidence values towards the fitted trend, cells
    towards both, each by a prior worth as many labels as the groups' spread beyond binomial
    noise allows, within [``PRIOR_LABELS``, ``PRIOR_MOST``]; the trend's own uncertainty is
    drawn too. Independent uniform priors pull near-perfect cells down (16 right out of 16
    has a posterior mean of 0.944); this one does not."""
    type_codes, _ = pd.factorize(types.astype(object).to_numpy(object), sort=True)
    finite = np.isfinite(conf)
    values = np.unique(conf[finite])
    value_codes = np.where(
        finite, np.searchsorted(values, np.where(finite, conf, 0.0)), len(values)
    )
    width = len(values) + 1
    cell = type_codes.astype(np.int64) * width + value_codes
    size = int(type_codes.max() + 1) * width if len(cell) else 0
    rows = np.flatnonzero(usable)
    right = np.bincount(cell[rows], weights=correct[rows], minlength=size)
    labels = np.bincount(cell[rows], minlength=size).astype(float)
    value_right = right.reshape(-1, width).sum(axis=0)
    value_labels = labels.reshape(-1, width).sum(axis=0)

    def worth(k: np.ndarray, n: np.ndarray, centre: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(_strength(k, n, centre), PRIOR_LABELS, PRIOR_MOST))

    design, coef, cov = _trend(value_right, value_labels, np.append(values, 0.5))
    if not labelled or labels.sum() == 0:
        stated = np.bincount(cell, weights=np.where(finite, conf, 0.5), minlength=size)
        stated = np.clip(stated / np.maximum(np.bincount(cell, minlength=size), 1), 0.05, 0.99)
        zero = np.zeros(width)
        return _Prior(cell, right, labels, np.full(size, PRIOR_LABELS), np.zeros(1), 0.0,
                      design, coef, cov, zero, zero, zero, stated)  # fmt: skip
    type_right = right.reshape(-1, width).sum(axis=1)
    type_labels = labels.reshape(-1, width).sum(axis=1)
    pooled = (float(right.sum()) + 1) / (float(labels.sum()) + 2)
    flat = np.full(len(type_labels), pooled)
    type_worth = worth(type_right, type_labels, flat)
    by_type = (type_right + type_worth * pooled) / (type_labels + type_worth)
    trend = _expit(design @ coef)
    prior = _Prior(
        cell, right, labels, np.full(size, PRIOR_LABELS), _logit(by_type), float(_logit(pooled)),
        design, coef, cov, value_right, value_labels, worth(value_right, value_labels, trend),
        None,
    )  # fmt: skip
    alpha, beta = prior._value(trend)
    centre = prior.centre(alpha / (alpha + beta))
    return _Prior(**{**prior.__dict__, "worth": worth(right, labels, centre)})


def _planned(table: pd.DataFrame, cells: pd.Index, n: int) -> np.ndarray:
    """Labels per stratum for ``n`` among the accepted strata ``cells``: topped up towards one
    sampling rate (``n_h ~ N_h``, the labels in hand counting), so that the threshold questions
    stay self-weighting as far as the labels in hand allow; never fewer than those in hand."""
    jobs_in = table.loc[cells, "jobs"].to_numpy(float)
    have = table.loc[cells, "labelled"].to_numpy(float)
    n = int(min(max(n, have.sum()), jobs_in.sum()))

    def total(rate: float) -> np.ndarray:
        wanted: np.ndarray = np.minimum(np.maximum(np.floor(rate * jobs_in + 0.5), have), jobs_in)
        return wanted

    lo, hi = 0.0, 1.0
    for _ in range(60):  # the lowest rate whose top-up reaches n
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if total(mid).sum() < n else (lo, mid)
    planned = pd.Series(0, index=table.index, dtype="int64")
    planned[cells] = total(hi).astype(np.int64)
    return planned.to_numpy()


def _chance(
    table: pd.DataFrame,
    cells: pd.Index,
    n: int,
    names: pd.Series,
    prior: _Prior,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    target: float,
    delta: float,
    sims: int = SIMULATIONS,
) -> float:
    """Share of ``sims`` simulated rounds in which the labels in hand plus ``n`` planned ones
    certify a threshold: each round draws every cell's accuracy from its posterior
    (:func:`_cell_prior`), the planned jobs at random in their strata, their correctness, and
    runs :func:`._certify.certify` on the whole frame."""
    rng = np.random.default_rng(0)  # the plan does not change from call to call
    codes, uniques = pd.factorize(names.to_numpy(object), sort=True)
    order = table.reindex([str(u) for u in uniques])
    extra = np.maximum(_planned(order, cells, n) - order["labelled"].to_numpy(), 0)
    cell = prior.cell
    pool = [np.flatnonzero((codes == h) & ~usable) for h in range(len(uniques))]
    old_rows = np.flatnonzero(usable)
    old_correct = correct[old_rows]
    every = np.ones(len(codes), bool)
    wins = 0
    for _ in range(sims):
        p = prior.draw(rng)
        new = [
            rng.choice(pool[h], size=min(int(e), len(pool[h])), replace=False)
            for h, e in enumerate(extra)
            if e > 0
        ]
        new_rows = np.concatenate(new) if new else np.zeros(0, np.int64)
        hits = (rng.random(len(new_rows)) < p[cell[new_rows]]).astype(float)
        rows = np.concatenate([old_rows, new_rows]).astype(np.int64)
        sample = LabelledSample(
            codes.astype(np.int64), rows, [str(u) for u in uniques], "stratified"
        )
        row = certify(sample, np.concatenate([old_correct, hits]), conf, every, target, delta)
        wins += math.isfinite(float(row["threshold"]))
    return wins / sims


def _candidate(
    data: AuditData, conf: np.ndarray, target: float
) -> tuple[float | None, float, str, float]:
    """The threshold to plan for, its expected accuracy, where that expectation comes from, and
    the best point estimate of any threshold's accuracy (NaN without labels)."""
    best = math.nan
    if data.sample is not None and data.sample.trusted:
        curve = risk_coverage(data.sample, data.correct, data.confidence)[0].dropna(
            subset=["accuracy"]
        )
        best = float(curve["accuracy"].max()) if len(curve) else math.nan
        expected = curve["accuracy"]
        how = "estimated from the labels so far:"
        if len(curve) and float(curve["accuracy_hi"].max()) < target:
            top = float(curve["accuracy_hi"].max())
            return None, best, f"no threshold's 95% upper bound reaches it (best {top:.1%})", best
    else:
        values = np.unique(conf[np.isfinite(conf)])
        expected = pd.Series(
            [float(np.mean(conf[conf >= v])) for v in values], index=values, dtype=float
        )
        how = "stated confidence, no labels yet:"
    expected = expected.dropna()
    if not len(expected):
        return None, math.nan, "no stated confidence", best
    good = expected[expected >= target + (1 - target) / 2]
    if len(good):
        t = float(good.index.min())
        return t, float(good[t]), how, best
    # otherwise the most promising one: its chance, simulated, says how likely it is
    t = float(expected.index[int(np.argmax(expected.to_numpy()))])
    return t, float(expected[t]), how, best


def _queue_of(
    jobs: pd.DataFrame,
    completed: pd.DataFrame,
    names: pd.Series,
    labelled: np.ndarray,
    plan: pd.DataFrame,
    bands: tuple[float, ...],
    seed: int,
) -> pd.DataFrame:
    pool_names = names[~labelled]
    sizes = pool_names.value_counts()
    counts = plan["more"].reindex(sizes.index).fillna(0).astype("int64")
    picked = draw_stratified(pool_names, counts, seed)
    design = design_columns(
        "stratified/plan", pool_names[picked], sizes, len(completed), bands, frame_fingerprint(jobs)
    )
    return queue_table(jobs, picked, design)
