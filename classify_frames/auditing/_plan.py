"""Label planning: how many more labels, from which strata, for a margin or a certificate.

- ``margin=0.02``: Neyman allocation over the strata, the total from the stratified variance
  ``(sum_h W_h S_h)^2 / n - sum_h W_h S_h^2 / N`` set to ``(margin / 1.96)^2`` (Cochran 5.9),
  ``S_h`` from the labels so far, shrunk as ``(k + 1) / (n + 2)``, or from the stated
  confidence where a stratum has none.
- ``target_accuracy=0.95``: none when no threshold's 95% upper bound reaches the target;
  otherwise a candidate threshold and the labels among the jobs it accepts, topped up towards
  one sampling rate (``n_h ~ N_h``, the labels in hand counting) so that the threshold
  questions stay self-weighting and get the exact pooled test.
  - The chance is ``recommend_threshold``'s own: 200 simulated rounds, each drawing every
    cell's accuracy (predicted type x stated confidence) from the empirical-Bayes posterior of
    :mod:`._posterior`, the planned jobs in their strata and their correctness, then running
    :func:`._certify.certify` on the whole frame (its tests, its delta split between the
    top-down sequence and the whole-row test, its skip rule). Stated and realised chances
    then differ only where the posterior misses the truth: a pilot of 120 labels leaves the
    accuracy uncertain by 2-3 points, so the sentence also gives the chance in the lower and
    the upper half of the posterior (of the candidate's accuracy).
  - The candidate (a heuristic; see :func:`_choose`): the largest coverage times the
    posterior chance that 1,000 labels would certify it, counting every threshold the
    sequence must pass first and the whole-row test. Aiming at the threshold with the
    highest estimate, as before, picked a noisy top value where confidence says little: its
    sequence had to pass the top values first (after one pilot it stated 15% where its 3,825
    labels certified 77% of the time), and over 12 pilots its plans certified 42% of the time
    where the plans now certify 77%.
  - The size: the fewest labels on a geometric grid (15% steps) whose chance reaches
    ``power``, by bisection on common random numbers (each round fixes the order in which
    each stratum's jobs would be drawn and whether each is right, so a larger plan extends a
    smaller one and the chance rises smoothly in the size; half the rounds search, all of
    them state the chance). Out of reach, the fewest with 90% of the chance at the cap
    (``max_labels``), and the sentence says to plan again with them; it suggests a lower
    target only when the best estimate is below the target.
  ``benchmarks/sim_audit.py`` prints the stated chance beside the rate observed when the plan
  is labelled from the truth, on four populations.

Labels already given count toward the plan; the queue's strata split each type at the
candidate threshold, so the rounds together stay a stratified random sample.

On an audit counted in cells (a row stands for its ``weight`` jobs) the plans count each
stratum's and threshold's jobs with the weights; a round draws its planned jobs from a
stratum's jobs (a row as often as it has jobs drawn, without replacement) and certifies on the
frame with each drawn job a position of its own; ``queue`` draws the plan's jobs in the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import Opt, Parts, Sentence
from ._certify import RULE_DELTA, WHOLE_SHARE, certify, min_labels_for
from ._data import AuditData
from ._design import design_columns, frame_fingerprint
from ._population import risk_coverage
from ._posterior import PRIOR_LABELS, Posterior, cell_posterior
from ._queue import draw_stratified, queue_table
from ._sample import LabelledSample, stratum_names
from ._stats import Z95
from ._weighted import weights_of

__all__ = ["QueueOf", "plan_labels"]

#: What draws the plan's queue from its per-stratum table (``more``), the strata's ``bands``
#: and a ``seed``; by default from the frame in memory.
QueueOf = Callable[[pd.DataFrame, tuple[float, ...], int], pd.DataFrame]

#: Simulated rounds behind the chance a target plan states.
ROUNDS = 200
#: Plan sizes tried for a target: a geometric grid this ratio apart.
STEP = 1.15
#: Out of reach of the power asked, a plan takes the fewest labels with this share of the
#: chance at the cap.
SHORT = 0.9


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
    queue: QueueOf | None = None,
) -> pd.DataFrame:
    """The next review queue; see the module's docstring and ``AuditReport.plan_labels``.
    ``queue`` draws it (see :data:`QueueOf`)."""
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
    weights = weights_of(jobs)
    each = None if weights is None else weights[jobs["completed"].to_numpy(bool)]
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
        plan, summary = _for_margin(names, conf, usable, correct, margin, max_labels, each)
    else:
        assert target_accuracy is not None
        plan, summary, bands, names = _for_target(
            data,
            memo,
            completed,
            conf,
            usable,
            correct,
            target_accuracy,
            delta,
            power,
            max_labels,
            each,
        )
    if queue is None:
        drawn = _queue_of(jobs, completed, names, labelled, plan, bands, seed)
    else:
        drawn = queue(plan, bands, seed)
    drawn.attrs["plan"] = plan
    drawn.attrs["summary"] = summary
    return drawn


def _pilot(
    names: pd.Series,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per stratum: jobs, labels, right labels, mean stated confidence and the accuracy to
    plan with; ``weights``: the jobs each row stands for (a frame counted in cells)."""
    frame = pd.DataFrame(
        {"s": names.to_numpy(object), "c": conf, "u": usable, "y": np.nan_to_num(correct)}
    )
    grouped = frame.groupby("s", sort=True)
    if weights is None:
        jobs, stated = grouped.size(), grouped["c"].mean()
    else:
        known = ~np.isnan(conf)
        w = np.where(known, weights, 0)
        frame = frame.assign(w=weights, cw=np.where(known, conf, 0.0) * w, kw=w)
        grouped = frame.groupby("s", sort=True)
        sums = grouped[["w", "cw", "kw"]].sum()
        jobs = sums["w"].astype("int64")
        stated = (sums["cw"] / sums["kw"]).where(sums["kw"] > 0)
    table = pd.DataFrame(
        {
            "jobs": jobs,
            "labelled": grouped["u"].sum().astype("int64"),
            "correct": frame[frame["u"]].groupby("s")["y"].sum(),
            "stated": stated,
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
    weights: np.ndarray | None = None,
) -> tuple[pd.DataFrame, str]:
    table = _pilot(names, conf, usable, correct, weights)
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
    jobs: np.ndarray | None = None,
) -> tuple[pd.DataFrame, str, tuple[float, ...], pd.Series]:
    unreachable, best, trusted = _reachable(data, target)
    old_bands = data.sample.bands if data.sample is not None else ()
    values = np.unique(conf[np.isfinite(conf)])
    if unreachable is not None or not len(values):
        names = stratum_names(completed["type"], conf, old_bands)
        table = _pilot(names, conf, usable, correct, jobs).assign(planned=0, more=0)
        summary = Sentence([
            f"No threshold can reach {target:.0%} accuracy: "
            f"{unreachable or 'no stated confidence'}. More labels will not certify one; "
            "a lower ", Opt("target_accuracy"), ", or better rules, may.",
        ])  # fmt: skip
        table.attrs["chance"] = 0.0
        return table, summary, old_bands, names
    key = ("target", target, delta, power, max_labels)
    if (*key, "n") not in memo:  # the same data plans the same way: it simulates once
        weight = np.ones(len(conf))
        if data.sample is not None and len(data.sample.rows):  # jobs per label, by stratum
            sample = data.sample
            per_label = sample.sizes / np.maximum(
                np.bincount(sample.strata, minlength=len(sample.names)), 1
            )
            weight[sample.rows] = per_label[sample.strata]
        found = _decide(
            completed,
            conf,
            usable,
            correct,
            weight,
            old_bands,
            target,
            delta,
            power,
            max_labels,
            jobs,
        )
        memo.update({(*key, name): value for name, value in found.items()})
    candidate, n = memo[(*key, "candidate")], int(memo[(*key, "n")])
    chance, low, high = memo[(*key, "chance")], memo[(*key, "low")], memo[(*key, "high")]
    expected, kept = memo[(*key, "expected")], memo[(*key, "coverage")]
    how = "estimated from the labels so far:" if trusted else "stated confidence, no labels yet:"
    bands = tuple(sorted({*old_bands, candidate}))
    names, table, cells = _strata(completed, conf, usable, correct, bands, candidate, jobs)
    have = table.loc[cells, "labelled"].to_numpy(float)
    table["planned"] = _planned(table, cells, n)
    table["more"] = np.maximum(table["planned"] - table["labelled"], 0).astype("int64")
    more = int(table["more"].sum())
    short: Parts = []
    if not memo[(*key, "reachable")]:
        short = [
            f" (short of the {power:.0%} asked: the labels so far leave open whether the jobs "
            f"at ≥ {candidate:g} reach {target:.0%} at all, and more labels add little, "
            f"{memo[(*key, 'top')]:.0%} at {int(memo[(*key, 'cap')]):,}; label these, then plan "
            "again with them"
        ]
        if math.isfinite(best) and best < target:  # never advise a lower target otherwise
            short += [f"; the best estimate is {best:.0%}, so a lower ", Opt("target_accuracy")]
            short += [" may be certifiable"]
        short += [")"]
    summary = Sentence([
        f"To certify ≥ {target:.0%} accuracy at threshold ≥ {candidate:g} (it keeps "
        f"{kept:.0%} of jobs; {how} {expected:.0%}), about {int(table['planned'].sum()):,} "
        f"labels are needed among the jobs it accepts, spread in proportion to their jobs; "
        f"{int(have.sum()):,} are in hand: label these {more:,} more. Estimated chance that "
        f"they certify a threshold: {chance:.0%}", *short, ", at ", Opt("delta", delta),
        f"; {low:.0%} if the accuracy at ≥ {candidate:g} is in the lower half of what the "
        f"labels so far allow, {high:.0%} if in the upper half (recommend_threshold run on "
        f"{ROUNDS} simulated rounds of these labels, over the accuracies the labels so far "
        f"allow under an empirical-Bayes prior worth at least {PRIOR_LABELS:g} labels per type "
        "and confidence value; a pilot of few labels makes this rough).",
    ])  # fmt: skip
    table.attrs.update(chance=chance, chance_range=(low, high), candidate=candidate)
    return table, summary, bands, names


def _strata(
    completed: pd.DataFrame,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    bands: tuple[float, ...],
    candidate: float,
    jobs: np.ndarray | None = None,
) -> tuple[pd.Series, pd.DataFrame, pd.Index]:
    """Each job's stratum (its type, split at ``bands``), the pilot table of the strata, and
    the strata the candidate threshold accepts (``jobs``: the jobs each row stands for)."""
    names = stratum_names(completed["type"], conf, bands)
    table = _pilot(names, conf, usable, correct, jobs)
    accepted = pd.Series(conf >= candidate, index=names.index).groupby(names.to_numpy(object)).all()
    cells = table.index[accepted.reindex(table.index).fillna(False).to_numpy(bool)]
    return names, table, cells


def _decide(
    completed: pd.DataFrame,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    weight: np.ndarray,
    old_bands: tuple[float, ...],
    target: float,
    delta: float,
    power: float,
    max_labels: int,
    jobs: np.ndarray | None = None,
) -> dict[str, float]:
    """The plan for a target: the candidate threshold (:func:`_choose`), the fewest labels
    among the jobs it accepts whose simulated chance reaches ``power`` (else ``SHORT`` of the
    chance at the cap), that chance and its halves (:func:`_halves`). ``weight``: each
    label's design weight (jobs per label in its stratum); ``jobs``: the jobs each row stands
    for (a frame counted in cells; one each by default)."""
    prior = cell_posterior(completed["type"], conf, usable, correct, bool(usable.any()), weight)
    values = np.unique(conf[np.isfinite(conf)])
    draws = _draws(prior)
    each = np.ones(len(conf), np.int64) if jobs is None else jobs
    by_value = _accuracy_by_threshold(draws, prior.cell, conf, values, each)
    total = int(each.sum())
    coverage = np.array([int(each[conf >= v].sum()) / total for v in values])
    at = _choose(by_value, coverage, target, delta, min(max_labels, COMPARED_AT))
    candidate = float(values[at])
    bands = tuple(sorted({*old_bands, candidate}))
    names, table, cells = _strata(completed, conf, usable, correct, bands, candidate, jobs)
    jobs_in = table.loc[cells, "jobs"].to_numpy(float)
    have = table.loc[cells, "labelled"].to_numpy(float)
    cap = int(min(jobs_in.sum(), max(max_labels, have.sum())))
    # the smallest size worth trying: a perfect record passes the sequence's test, and the
    # top-up reaches every accepted stratum's rate in hand (labels at unequal rates, a pilot
    # of so many per type, make a smaller plan's union weighted, and weighted tests are weak)
    floor = min_labels_for(target, min(delta, RULE_DELTA) * (1 - WHOLE_SHARE))
    floor = max(floor, math.ceil(float(np.max(have / jobs_in)) * jobs_in.sum()), int(have.sum()))
    sizes = _grid(min(floor, cap), cap)
    rounds = _Rounds.build(table, cells, cap, names, prior, draws, usable, jobs)
    searched: dict[int, float] = {}

    def chance_at(i: int) -> float:  # on the first half of the rounds
        if i not in searched:
            found = rounds.certified(sizes[i], conf, usable, correct, target, delta, ROUNDS // 2)
            searched[i] = float(found.mean())
        return searched[i]

    # the fewest labels reaching ``power`` (or, out of reach, SHORT of the chance at the cap:
    # the last labels there buy little, and the next plan reads what these show): a bisection
    # over the grid, the chance rising in the size on common random numbers
    top = chance_at(len(sizes) - 1)
    wanted = power if top >= power else SHORT * top
    lo, hi = 0, len(sizes) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if chance_at(mid) >= wanted else (mid + 1, hi)
    won = rounds.certified(sizes[hi], conf, usable, correct, target, delta, ROUNDS)
    low, high = _halves(won, by_value[:, at])
    return {
        "candidate": candidate,
        "n": float(sizes[hi]),
        "chance": float(won.mean()),
        "reachable": float(top >= power),
        "top": top,
        "cap": float(cap),
        "low": low,
        "high": high,
        "expected": float(by_value[:, at].mean()),
        "coverage": float(coverage[at]),
    }


def _reachable(data: AuditData, target: float) -> tuple[str | None, float, bool]:
    """Why no threshold can reach ``target`` (None when one may: some threshold's 95% upper
    bound reaches it), the best point estimate of any threshold's accuracy (NaN without
    labels), and whether the labels are a trusted random sample."""
    if data.sample is None or not data.sample.trusted:
        return None, math.nan, False
    curve = risk_coverage(data.sample, data.correct, data.confidence)[0].dropna(subset=["accuracy"])
    if not len(curve):
        return None, math.nan, True
    best = float(curve["accuracy"].max())
    top = float(curve["accuracy_hi"].max())
    if top < target:
        return f"no threshold's 95% upper bound reaches it (best {top:.1%})", best, True
    return None, best, True


def _draws(prior: Posterior) -> np.ndarray:
    """``ROUNDS`` draws of every cell's accuracy from the posterior, ``(ROUNDS, cells)``; the
    same data draws the same way (the plan does not change from call to call)."""
    rng = np.random.default_rng(0)
    return np.array([prior.draw(rng) for _ in range(ROUNDS)])


def _accuracy_by_threshold(
    draws: np.ndarray, cell: np.ndarray, conf: np.ndarray, values: np.ndarray, jobs: np.ndarray
) -> np.ndarray:
    """Accuracy of the jobs each threshold (``values``) accepts in each draw, ``(ROUNDS, V)``;
    ``jobs``: the jobs each row stands for."""
    finite = np.isfinite(conf)
    at = np.searchsorted(values, conf[finite])
    count = np.zeros((draws.shape[1], len(values)))
    np.add.at(count, (cell[finite], at), jobs[finite].astype(float))
    accepted = np.cumsum(count[:, ::-1], axis=1)[:, ::-1]  # cell x threshold: jobs at >= v
    return np.asarray(draws @ accepted / accepted.sum(axis=0))


def _choose(
    by_value: np.ndarray, coverage: np.ndarray, target: float, delta: float, labels: int
) -> int:
    """The threshold to plan for (a heuristic; the chance stated is simulated): the largest
    coverage times the posterior chance that ``labels`` among the jobs it accepts would
    certify it, each test passing where the accuracy clears the target by the one-sided
    critical value's worth of binomial noise (the normal approximation). The sequence reaches
    a threshold only when every one above with enough labels to be tested passes, with its
    share of the labels; the lowest threshold may also pass the whole-row test, which is what
    counts when confidence says little. Where no draw gets there: the most accurate one.
    ``by_value`` holds posterior draws of each threshold's accuracy, lowest threshold first."""
    from scipy.special import ndtri  # scipy loads slowly: only when needed

    level = min(delta, RULE_DELTA) * (1 - WHOLE_SHARE)
    noise = math.sqrt(target * (1 - target))
    score = np.zeros(len(coverage))
    for c in range(len(coverage)):
        share = labels * coverage[c:] / coverage[c]  # the labels of each set from c up
        need = target + float(ndtri(1 - level)) * noise / np.sqrt(share)
        tested = share >= min_labels_for(target, level)
        passed = np.all((by_value[:, c:] >= need) | ~tested, axis=1)
        if c == 0:
            whole = target + float(ndtri(1 - delta * WHOLE_SHARE)) * noise / math.sqrt(labels)
            passed |= by_value[:, 0] >= whole
        score[c] = coverage[c] * float(passed.mean())
    if score.max() <= 0:
        return int(np.argmax(by_value.mean(axis=0)))
    return int(np.argmax(score))


#: The plan size at which candidate thresholds are compared (see :func:`_choose`).
COMPARED_AT = 1_000


def _grid(lo: int, hi: int) -> list[int]:
    """Plan sizes from ``lo`` to ``hi``, ``STEP`` apart (both ends included)."""
    sizes = {hi}
    size = float(max(lo, 1))
    while size < hi:
        sizes.add(math.ceil(size))
        size *= STEP
    return sorted(sizes)


def _halves(won: np.ndarray, accuracy: np.ndarray) -> tuple[float, float]:
    """The chance among the rounds whose candidate accuracy is in the lower half of the
    posterior, and among those in the upper half."""
    order = np.argsort(accuracy, kind="stable")
    half = len(order) // 2
    return float(won[order[:half]].mean()), float(won[order[half:]].mean())


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


@dataclass(frozen=True)
class _Rounds:
    """Common random numbers of the plan's simulation. Each round holds every cell's accuracy
    drawn from the posterior and, in each accepted stratum, its unlabelled jobs in the order a
    queue would draw them (as many as the largest plan takes) with whether each is right. A
    plan of any size takes the first jobs of each stratum, so every size reads the same
    rounds: the chance rises smoothly in the size, and a search lands on the same size from
    call to call."""

    jobs: list[list[np.ndarray]]  # per round, per stratum (in the order of ``table``)
    right: list[list[np.ndarray]]
    table: pd.DataFrame  # the pilot table, strata sorted by name
    cells: pd.Index  # the accepted strata
    codes: np.ndarray  # each completed job's stratum, a position in ``table``
    weights: np.ndarray | None = None  # the jobs each row stands for (counted cells)

    @classmethod
    def build(
        cls,
        table: pd.DataFrame,
        cells: pd.Index,
        cap: int,
        names: pd.Series,
        prior: Posterior,
        draws: np.ndarray,
        usable: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> _Rounds:
        codes, uniques = pd.factorize(names.to_numpy(object), sort=True)
        table = table.reindex([str(u) for u in uniques])
        extra = np.maximum(_planned(table, cells, cap) - table["labelled"].to_numpy(), 0)
        pools = [np.flatnonzero((codes == h) & ~usable) for h in range(len(table))]
        jobs, right = [], []
        for r, accuracy in enumerate(draws):
            rng = np.random.default_rng([1, r])
            if weights is None:
                picked = [
                    rng.choice(pool, size=min(int(e), len(pool)), replace=False)
                    for pool, e in zip(pools, extra, strict=True)
                ]
            else:  # jobs without replacement: a row drawn as often as its jobs are
                picked = [
                    _jobs_of(rng, pool, weights[pool], int(e))
                    for pool, e in zip(pools, extra, strict=True)
                ]
            jobs.append(picked)
            right.append([rng.random(len(p)) < accuracy[prior.cell[p]] for p in picked])
        return cls(jobs, right, table, cells, codes.astype(np.int64), weights)

    def certified(
        self,
        n: int,
        conf: np.ndarray,
        usable: np.ndarray,
        correct: np.ndarray,
        target: float,
        delta: float,
        count: int,
    ) -> np.ndarray:
        """Per round (the first ``count``), whether the labels in hand plus a plan of ``n``
        certify a threshold under :func:`._certify.certify` (what ``recommend_threshold`` runs
        for the overall row)."""
        take = np.maximum(_planned(self.table, self.cells, n) - self.table["labelled"], 0)
        old_rows = np.flatnonzero(usable)
        names = [str(s) for s in self.table.index]
        every = np.ones(len(self.codes), bool)
        won = np.zeros(count, bool)
        for r, (jobs, right) in enumerate(zip(self.jobs[:count], self.right[:count], strict=True)):
            new = [j[:t] for j, t in zip(jobs, take, strict=True)]
            hits = [correct[old_rows], *(k[:t] for k, t in zip(right, take, strict=True))]
            if self.weights is None:
                rows = np.concatenate([old_rows, *new]).astype(np.int64)
                sample = LabelledSample(self.codes, rows, names, "stratified")
                at, on = conf, every
            else:  # each drawn job a position of its own, taken out of its row
                sample, at = _with_drawn(self.codes, self.weights, conf, old_rows, new, names)
                on = np.ones(len(at), bool)
            row = certify(sample, np.concatenate(hits).astype(float), at, on, target, delta)
            won[r] = math.isfinite(float(row["threshold"]))
        return won


def _jobs_of(rng: np.random.Generator, pool: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """``k`` jobs drawn without replacement from the rows ``pool`` standing for ``weights``
    jobs each, in the order drawn, as their rows (a row once for each of its jobs drawn)."""
    total = int(weights.sum())
    numbers = rng.choice(total, size=min(k, total), replace=False)
    found: np.ndarray = pool[np.searchsorted(np.cumsum(weights), numbers, side="right")]
    return found


def _with_drawn(
    codes: np.ndarray,
    weights: np.ndarray,
    conf: np.ndarray,
    old_rows: np.ndarray,
    new: list[np.ndarray],
    names: list[str],
) -> tuple[LabelledSample, np.ndarray]:
    """The sample of counted cells with the labels in hand (rows of weight 1) and the drawn
    jobs ``new`` (rows they are taken from), each drawn job a position of its own, and the
    stated confidence of every position."""
    drawn = np.concatenate(new).astype(np.int64) if new else np.zeros(0, np.int64)
    left = weights.astype(np.int64).copy()
    np.subtract.at(left, drawn, 1)
    size = len(codes)
    sample = LabelledSample(
        np.concatenate([codes, codes[drawn]]),
        np.concatenate([old_rows, size + np.arange(len(drawn))]).astype(np.int64),
        names,
        "stratified",
        weights=np.concatenate([left, np.ones(len(drawn), np.int64)]),
    )
    return sample, np.concatenate([conf, conf[drawn]])


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
