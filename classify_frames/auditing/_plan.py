"""Label planning: how many more labels, from which strata, for a margin or a certificate.

- ``margin=0.02``: Neyman allocation over the strata, the total from the stratified variance
  ``(sum_h W_h S_h)^2 / n - sum_h W_h S_h^2 / N`` set to ``(margin / 1.96)^2`` (Cochran 5.9),
  ``S_h`` from the labels so far, shrunk as ``(k + 1) / (n + 2)``, or from the stated
  confidence where a stratum has none.
- ``target_accuracy=0.95``: a candidate threshold (the lowest whose expected accuracy clears
  the target by half the distance to 1, else the most accurate one; expected accuracy is
  halfway between the estimate and its 95% lower bound, since a small pilot flatters the
  best thresholds), and the labels among its
  accepted jobs for the test to pass with probability ``power`` at the estimated accuracy
  (normal approximation of the binomial test, times 1.3 when the accepted jobs span strata,
  for the looser stratified bound), spread over its types in proportion to their jobs. That
  formula trusts the pilot's accuracy, and a small pilot's is rough (from 20 labels per type
  it planned for 80% and certified in about half the rounds). So the plan's chance is then
  simulated (200 rounds: stratum accuracies drawn from their Beta posteriors, the planned
  labels drawn and the whole certification run) and the plan grows by half while that
  raises the chance by 3 points or more, up to ``power``; ``queue.attrs["summary"]`` states
  the simulated chance, and says when labels cannot raise it further (the pilot leaves open
  whether the threshold reaches the target at all). ``benchmarks/sim_audit.py`` prints the
  stated chance beside the rate observed when the plan is labelled from the truth.

Labels already given count toward the plan; the queue's strata split each type at the
candidate threshold, so the rounds together stay a stratified random sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._certify import MIN_TESTED, certify, min_labels_for
from ._data import AuditData
from ._design import design_columns, frame_fingerprint
from ._population import risk_coverage
from ._queue import draw_stratified, queue_table
from ._sample import LabelledSample, stratum_names
from ._stats import Z95

__all__ = ["plan_labels"]

SPREAD_INFLATION = 1.3
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
    """The next review queue; see the module's docstring and ``AuditReport.plan_labels``.
    ``memo`` keeps simulated chances between calls on the same data."""
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
    candidate, expected, how = _candidate(data, completed, conf, target)
    old_bands = data.sample.bands if data.sample is not None else ()
    if candidate is None:
        names = stratum_names(completed["type"], conf, old_bands)
        table = _pilot(names, conf, usable, correct).assign(planned=0, more=0)
        summary = (
            f"No threshold looks able to reach {target:.0%} accuracy ({how}); more labels "
            "will not certify one. Try a lower target_accuracy, or improve the rules."
        )
        return table, summary, old_bands, names
    bands = tuple(sorted({*old_bands, candidate}))
    names = stratum_names(completed["type"], conf, bands)
    table = _pilot(names, conf, usable, correct)
    accepted = pd.Series(conf >= candidate, index=names.index).groupby(names.to_numpy(object)).all()
    from scipy.special import ndtri  # scipy loads slowly: only when needed

    z_a, z_b = float(ndtri(1 - delta)), float(ndtri(power))
    p = min(expected, 0.999)
    n = (
        (z_a * math.sqrt(target * (1 - target)) + z_b * math.sqrt(p * (1 - p))) / (p - target)
    ) ** 2
    cells = table.index[accepted.reindex(table.index).fillna(False).to_numpy(bool)]
    if len(cells) > 1:
        n *= SPREAD_INFLATION
    n = max(math.ceil(n), min_labels_for(target, delta), MIN_TESTED)
    room = int(table.loc[cells, "jobs"].sum())
    cap = min(room, max_labels)
    n = min(n, cap)
    # the normal formula trusts the pilot's accuracy; the chance is re-checked by simulating
    # the whole certification with the accuracies the pilot allows, and n raised until it
    # reaches ``power`` (or the cap)
    # (memo: the same report plans the same way, so it simulates once)

    def chance_at(size: int) -> float:
        key = (candidate, size, target, delta)
        if key not in memo:
            memo[key] = _chance(table, cells, size, names, conf, usable, correct, target, delta)
        return memo[key]

    chance = chance_at(n)
    tried = {n: chance}
    while chance < power and n < cap:
        bigger = min(math.ceil(n * 1.5), cap)
        then = chance_at(bigger)
        tried[bigger] = then
        if then - chance < GAIN:  # what is left is doubt about the threshold itself
            break
        n, chance = bigger, then
    if chance < power:  # short of power: the fewest labels within GAIN of the best chance
        best = max(tried.values())
        n = min(size for size, c in tried.items() if c >= best - GAIN)
        chance = tried[n]
    table["planned"] = _planned(table, cells, n)
    table["more"] = np.maximum(table["planned"] - table["labelled"], 0).astype("int64")
    have = int(table.loc[cells, "labelled"].sum())
    more = int(table["more"].sum())
    coverage = float(np.mean(conf >= candidate))
    short = ""
    if chance < power:
        short = (
            f" (short of the {power:.0%} asked; more labels add little: the labels so far "
            f"leave open whether the jobs at ≥ {candidate:g} reach {target:.0%} at all"
            + ("; a lower target_accuracy may be certifiable)" if chance < 0.5 else ")")
        )
    summary = (
        f"To certify ≥ {target:.0%} accuracy at threshold ≥ {candidate:g} (it keeps "
        f"{coverage:.0%} of jobs; {how} {expected:.0%}), about {int(table['planned'].sum()):,} "
        f"labels are needed among the jobs it accepts; {have:,} are in hand: label these "
        f"{more:,} more. Estimated chance that they certify a threshold: {chance:.0%}{short}, "
        f"at delta={delta:g} (simulated {SIMULATIONS} times over the accuracies the labels "
        "so far allow; a pilot of few labels makes this rough)."
    )
    table.attrs["chance"] = chance
    return table, summary, bands, names


def _planned(table: pd.DataFrame, cells: pd.Index, n: int) -> np.ndarray:
    """Labels per stratum for ``n`` among the accepted strata ``cells`` (in proportion to
    their jobs), never fewer than those in hand."""
    jobs_in = table.loc[cells, "jobs"].to_numpy(float)
    wanted = np.minimum(np.ceil(jobs_in / jobs_in.sum() * n), jobs_in).astype(np.int64)
    planned = pd.Series(0, index=table.index, dtype="int64")
    planned[cells] = np.maximum(wanted, table.loc[cells, "labelled"].to_numpy())
    return planned.to_numpy()


def _chance(
    table: pd.DataFrame,
    cells: pd.Index,
    n: int,
    names: pd.Series,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    target: float,
    delta: float,
    sims: int = SIMULATIONS,
) -> float:
    """Share of ``sims`` simulated rounds in which the labels in hand plus ``n`` planned ones
    certify a threshold: each round draws every stratum's accuracy from its Beta posterior
    (labels so far, or the stated confidence as a prior worth 10 labels), the planned jobs at
    random, their correctness, and runs :func:`._certify.certify` on the whole frame."""
    rng = np.random.default_rng(0)  # the plan does not change from call to call
    codes, uniques = pd.factorize(names.to_numpy(object), sort=True)
    order = table.reindex([str(u) for u in uniques])
    extra = np.maximum(_planned(order, cells, n) - order["labelled"].to_numpy(), 0)
    have = order["labelled"].to_numpy(float)
    mean = order["expected_accuracy"].to_numpy(float)
    weight = np.where(have > 0, have + 2, 10.0)
    pool = [np.flatnonzero((codes == h) & ~usable) for h in range(len(uniques))]
    old_rows = np.flatnonzero(usable)
    old_correct = correct[old_rows]
    every = np.ones(len(codes), bool)
    wins = 0
    for _ in range(sims):
        p = rng.beta(np.maximum(mean * weight, 1e-3), np.maximum((1 - mean) * weight, 1e-3))
        new = [
            rng.choice(pool[h], size=min(int(e), len(pool[h])), replace=False)
            for h, e in enumerate(extra)
            if e > 0
        ]
        new_rows = np.concatenate(new) if new else np.zeros(0, np.int64)
        hits = (rng.random(len(new_rows)) < p[codes[new_rows]]).astype(float)
        rows = np.concatenate([old_rows, new_rows]).astype(np.int64)
        sample = LabelledSample(codes.astype(np.int64), rows, [str(u) for u in uniques], "plan")
        row = certify(sample, np.concatenate([old_correct, hits]), conf, every, target, delta)
        wins += math.isfinite(float(row["threshold"]))
    return wins / sims


def _candidate(
    data: AuditData, completed: pd.DataFrame, conf: np.ndarray, target: float
) -> tuple[float | None, float, str]:
    """The threshold to plan for, its expected accuracy, and where that expectation comes from."""
    if data.sample is not None and data.sample.trusted:
        curve = risk_coverage(data.sample, data.correct, data.confidence)[0]
        # a small pilot flatters the best thresholds: plan halfway to the 95% lower bound
        expected = (curve["accuracy"] + curve["accuracy_lo"]) / 2
        how = "a cautious estimate from the labels so far:"
    else:
        values = np.unique(conf[np.isfinite(conf)])
        expected = pd.Series(
            [float(np.mean(conf[conf >= v])) for v in values], index=values, dtype=float
        )
        how = "stated confidence, no labels yet:"
    expected = expected.dropna()
    good = expected[expected >= target + (1 - target) / 2]
    if len(good):
        t = float(good.index.min())
        return t, float(good[t]), how
    above = expected[expected > target]
    if len(above):
        t = float(above.index[int(np.argmax(above.to_numpy()))])
        return t, float(above[t]), how
    best = float(expected.max()) if len(expected) else math.nan
    return None, best, f"the best estimate is {best:.0%}" if math.isfinite(best) else "no data"


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
