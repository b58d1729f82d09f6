"""The audit's simulation study, shared by ``tests/test_audit_simulation.py`` (few repetitions)
and ``benchmarks/sim_audit.py`` (many): populations with a known truth, stratified samples
drawn from them, and what the estimates and certified thresholds do over the repetitions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

import classify_frames as cf
from classify_frames.auditing import AuditReport
from classify_frames.auditing._certify import certify
from classify_frames.auditing._sample import LabelledSample, share

SCORES = np.array([0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
TYPES = np.array(["invoice", "receipt", "contract", "claim", "permit", "none"])


@dataclass
class Population:
    """A frame whose every job's truth is known."""

    name: str
    frame: pd.DataFrame
    labels: pd.DataFrame  # id, label
    report: AuditReport  # the audit without labels (the prepared frame, reused)
    strata: np.ndarray  # stratum (type) code of each completed job
    names: list[str]
    correct: np.ndarray  # truth per completed job
    confidence: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    def accuracy_at(self, threshold: float, mask: np.ndarray | None = None) -> float:
        keep = self.confidence >= threshold
        if mask is not None:
            keep &= mask
        return float(self.correct[keep].mean())


def population(name: str, frame: pd.DataFrame, labels: pd.DataFrame) -> Population:
    report = cf.audit(frame)
    done = report.jobs[report.jobs["completed"]]
    truth = labels.set_index("id")["label"].replace({"none": "no match"})
    codes, uniques = pd.factorize(done["type"].astype(object).astype(str), sort=True)
    correct = (done["type"].astype(object).to_numpy() == truth[done["id"]].to_numpy()).astype(float)
    return Population(
        name=name,
        frame=frame,
        labels=labels,
        report=report,
        strata=codes.astype(np.int64),
        names=[str(u) for u in uniques],
        correct=correct,
        confidence=done["confidence"].to_numpy(float),
    )


def emulator_population(jobs: int = 20_000, seed: int = 3) -> Population:
    """The emulator's jobs and hidden truth (the issue's example: 20,000 jobs, seed 3)."""
    from classify_frames.emulator import Dataset

    ds = Dataset.generate(jobs, seed=seed)
    return population(
        f"emulator ({jobs:,} jobs, seed {seed})", cf.jobs_to_frame(ds.jobs()), ds.labels()
    )


def _records(predicted: np.ndarray, conf: np.ndarray) -> list[dict[str, object]]:
    return [
        {
            "id": f"job-{i:06d}",
            "status": "COMPLETED",
            "result": {"type": None if p == "none" else str(p), "confidence": float(c)},
        }
        for i, (p, c) in enumerate(zip(predicted, conf, strict=True))
    ]


def _made(
    name: str,
    kind: np.ndarray,
    right: np.ndarray,
    conf: np.ndarray,
    rng: np.random.Generator,
    types: np.ndarray = TYPES,
) -> Population:
    """A population from each job's true type (``kind``), whether the classifier got it right
    and its stated confidence: wrong jobs are predicted as another type at random."""
    truth = types[kind]
    wrong_as = types[(kind + 1 + rng.integers(0, len(types) - 1, size=len(kind))) % len(types)]
    predicted = np.where(right, truth, wrong_as)
    records = _records(predicted, conf)
    labels = pd.DataFrame({"id": [r["id"] for r in records], "label": truth})
    return population(name, cf.jobs_to_frame(records), labels)


def skewed_population(jobs: int = 20_000, seed: int = 0) -> Population:
    """Common types mostly right and sure of it, rare ones much worse: a plain mean over a
    per-type sample overstates how bad the population is, a threshold with margin exists."""
    rng = np.random.default_rng(seed)
    shares = np.array([0.5, 0.25, 0.12, 0.05, 0.03, 0.05])
    base = np.array([0.995, 0.98, 0.95, 0.4, 0.3, 0.6])  # accuracy at the top score
    kind = rng.choice(len(TYPES), size=jobs, p=shares)
    conf = rng.choice(SCORES, size=jobs, p=[0.04, 0.06, 0.1, 0.2, 0.3, 0.3])
    right = rng.random(jobs) < np.clip(base[kind] - (0.99 - conf) * 1.2, 0.02, 0.995)
    return _made(f"skewed mix ({jobs:,} jobs)", kind, right, conf, rng)


def calibrated_population(jobs: int = 20_000, seed: int = 0) -> Population:
    """Stated confidence is the chance of being right, in every type; most jobs are stated
    0.95 or 0.99, so a 95% threshold exists with little margin (0.975 at >= 0.95)."""
    rng = np.random.default_rng(seed)
    shares = np.array([0.35, 0.25, 0.15, 0.1, 0.05, 0.1])
    kind = rng.choice(len(TYPES), size=jobs, p=shares)
    conf = rng.choice(SCORES, size=jobs, p=[0.03, 0.05, 0.07, 0.15, 0.35, 0.35])
    right = rng.random(jobs) < conf
    return _made(f"calibrated ({jobs:,} jobs)", kind, right, conf, rng)


def uninformative_population(jobs: int = 20_000, seed: int = 0) -> Population:
    """Confidence says nothing about correctness: each type is right at its own rate whatever
    it states, so every threshold keeps about the whole population's accuracy (0.91)."""
    rng = np.random.default_rng(seed)
    shares = np.array([0.35, 0.25, 0.15, 0.1, 0.05, 0.1])
    rate = np.array([0.93, 0.92, 0.9, 0.88, 0.85, 0.88])
    kind = rng.choice(len(TYPES), size=jobs, p=shares)
    conf = rng.choice(SCORES, size=jobs, p=[0.05, 0.1, 0.15, 0.25, 0.25, 0.2])
    right = rng.random(jobs) < rate[kind]
    return _made(f"uninformative ({jobs:,} jobs)", kind, right, conf, rng)


def near_perfect_population(jobs: int = 20_000, seed: int = 0) -> Population:
    """Sure jobs are all right: every type is 100% right at 0.95 and 0.99 (70% of jobs), 97% at
    0.9, 80% below. A pilot sees strata with every label right, which a uniform prior per
    stratum pulls down (16 right out of 16 has a posterior mean of 0.944)."""
    rng = np.random.default_rng(seed)
    shares = np.array([0.35, 0.25, 0.15, 0.1, 0.05, 0.1])
    kind = rng.choice(len(TYPES), size=jobs, p=shares)
    conf = rng.choice(SCORES, size=jobs, p=[0.03, 0.05, 0.07, 0.15, 0.35, 0.35])
    rate = np.select([conf >= 0.95, conf >= 0.9], [1.0, 0.97], 0.8)
    right = rng.random(jobs) < rate
    return _made(f"near-perfect ({jobs:,} jobs)", kind, right, conf, rng)


def stratified_rows(
    pop: Population, per_stratum: int | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Positions of a simple random sample of ``per_stratum`` jobs from each type (a number,
    or one per stratum)."""
    order = rng.permutation(len(pop.strata))
    ranked = pd.Series(pop.strata[order]).groupby(pop.strata[order]).cumcount().to_numpy()
    limit = np.broadcast_to(np.asarray(per_stratum), (len(pop.names),))[pop.strata[order]]
    return np.sort(order[ranked < limit])


def wilson_scan(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The old heuristic on plain labelled shares: the lowest threshold whose Wilson lower
    bound meets the target (NaN if none)."""
    from classify_frames.auditing._stats import wilson_interval

    values = np.unique(conf)
    accepted = np.array([(conf >= v).sum() for v in values])
    right = np.array([correct[conf >= v].sum() for v in values])
    lo, _ = wilson_interval(right, accepted)
    ok = values[lo >= target]
    return float(ok.min()) if len(ok) else float("nan")


def sample_of(pop: Population, rows: np.ndarray) -> LabelledSample:
    return LabelledSample(pop.strata, rows.astype(np.int64), pop.names, "stratified")


@dataclass
class Outcome:
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    plain: np.ndarray  # the old plain mean over the labelled jobs
    certified: np.ndarray  # threshold (NaN: none)
    violated: np.ndarray  # the certified threshold's true accuracy is below the target
    labels: np.ndarray
    scan: np.ndarray  # the old Wilson scan's threshold on the same labels
    scan_violated: np.ndarray


def simulate(
    pop: Population,
    reps: int,
    per_stratum: int | np.ndarray,
    target: float,
    delta: float = 0.05,
    seed: int = 0,
    mask: np.ndarray | None = None,
) -> Outcome:
    """``reps`` stratified samples of ``per_stratum`` labels per type: accuracy with its
    interval, the old plain mean, and the certified threshold of the row ``mask`` (overall by
    default) with whether its true accuracy falls below ``target``."""
    rng = np.random.default_rng(seed)
    domain = np.ones(len(pop.strata), bool) if mask is None else mask
    out: dict[str, list[float]] = {k: [] for k in Outcome.__dataclass_fields__}
    for _ in range(reps):
        rows = stratified_rows(pop, per_stratum, rng)
        sample = sample_of(pop, rows)
        est = share(sample, pop.correct[rows])
        row = certify(sample, pop.correct[rows], pop.confidence, domain, target, delta)
        t = float(row["threshold"])
        out["estimate"].append(est.estimate)
        out["low"].append(est.low)
        out["high"].append(est.high)
        out["plain"].append(float(pop.correct[rows].mean()))
        out["certified"].append(t)
        out["violated"].append(float(np.isfinite(t) and pop.accuracy_at(t, domain) < target))
        out["labels"].append(float(len(rows)))
        inside = domain[rows]
        old = wilson_scan(pop.confidence[rows][inside], pop.correct[rows][inside], target)
        out["scan"].append(old)
        out["scan_violated"].append(
            float(np.isfinite(old) and pop.accuracy_at(old, domain) < target)
        )
    return Outcome(**{k: np.array(v) for k, v in out.items()})


def allocation(pop: Population, budget: int, how: str) -> np.ndarray:
    """Labels per type for ``budget``, as ``review_queue(budget=..., allocation=how)`` spreads
    them: ``"proportional"`` (self-weighting) or ``"neyman"`` (spread from stated confidence)."""
    from classify_frames.auditing._design import allocate

    sizes = np.bincount(pop.strata, minlength=len(pop.names))
    guess = np.clip(
        np.bincount(pop.strata, weights=pop.confidence, minlength=len(sizes)) / sizes, 0.05, 0.95
    )
    minimum = 0 if how == "proportional" else 2
    return allocate(budget, sizes, np.sqrt(guess * (1 - guess)), how, minimum)  # type: ignore[arg-type]


def draw_rows(
    pop: Population, per_stratum: int | np.ndarray, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """``reps`` stratified samples at once, ``(reps, labels)`` positions: in each, a simple
    random sample of ``per_stratum`` jobs of each type (one sort of random keys per chunk)."""
    sizes = np.bincount(pop.strata, minlength=len(pop.names))
    wanted = np.minimum(np.broadcast_to(np.asarray(per_stratum), sizes.shape), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    take = np.concatenate([s + np.arange(w) for s, w in zip(starts, wanted, strict=True)])
    out = []
    for chunk in range(0, reps, 100):
        size = min(100, reps - chunk)
        keys = rng.random((size, len(pop.strata))) + pop.strata  # stratum blocks, shuffled
        out.append(np.sort(np.argsort(keys, axis=1)[:, take], axis=1))
    return np.concatenate(out).astype(np.int64)


@dataclass
class Certified:
    """Per repetition: the certified threshold (NaN: none), the true accuracy and coverage of
    what it accepts, and whether that accuracy is below the target."""

    threshold: np.ndarray
    accuracy: np.ndarray
    coverage: np.ndarray
    violated: np.ndarray

    @property
    def rate(self) -> float:
        return float(np.isfinite(self.threshold).mean())

    @property
    def mean_coverage(self) -> float:
        """Mean coverage of the certified thresholds (NaN where none is)."""
        found = np.isfinite(self.threshold)
        return float(self.coverage[found].mean()) if found.any() else float("nan")


def _outcome(pop: Population, thresholds: np.ndarray, target: float, mask: np.ndarray) -> Certified:
    values = np.unique(pop.confidence[mask & np.isfinite(pop.confidence)])
    acc = np.array([pop.accuracy_at(v, mask) for v in values])
    cover = np.array([np.mean(pop.confidence[mask] >= v) for v in values])
    found = np.isfinite(thresholds)
    at = np.searchsorted(values, np.where(found, thresholds, values[0]))
    accuracy = np.where(found, acc[at], np.nan)
    return Certified(
        thresholds,
        accuracy,
        np.where(found, cover[at], 0.0),
        (found & (np.nan_to_num(accuracy, nan=1.0) < target)).astype(float),
    )


def certified_by_package(
    pop: Population,
    rows: np.ndarray,
    target: float,
    delta: float,
    mask: np.ndarray | None = None,
    **options: object,
) -> Certified:
    """:func:`certify` (the package's) on each sample of ``rows``."""
    domain = np.ones(len(pop.strata), bool) if mask is None else mask
    found = np.array(
        [
            float(
                certify(
                    sample_of(pop, r),
                    pop.correct[r],
                    pop.confidence,
                    domain,
                    target,
                    delta,
                    **options,  # type: ignore[arg-type]
                )["threshold"]
            )
            for r in rows
        ]
    )
    return _outcome(pop, found, target, domain)


def certified_by_reference(
    pop: Population, rows: np.ndarray, target: float, delta: float, mask: np.ndarray | None = None
) -> Certified:
    """The reference: the exact binomial tail on the pooled labels, a fixed sequence from the
    top at level delta, thresholds with fewer labels than a perfect record needs skipped;
    vectorised over the repetitions (right under proportional allocation)."""
    from scipy.special import betainc

    from classify_frames.auditing._certify import min_labels_for

    domain = np.ones(len(pop.strata), bool) if mask is None else mask
    values = np.unique(pop.confidence[domain & np.isfinite(pop.confidence)])
    index = np.where(
        domain & np.isfinite(pop.confidence), np.searchsorted(values, pop.confidence), -1
    )
    vi, hit = index[rows], pop.correct[rows]
    reps, count = rows.shape[0], len(values)
    onehot = (vi[:, :, None] == np.arange(count)).astype(float)  # (R, n, V)
    n = np.cumsum(onehot.sum(axis=1)[:, ::-1], axis=1)[:, ::-1]
    k = np.cumsum((onehot * hit[:, :, None]).sum(axis=1)[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore"):
        p = np.where(k >= 1, betainc(np.maximum(k, 1), n - k + 1, target), 1.0)
    tested = n >= min_labels_for(target, delta)
    fail = tested & (p > delta)
    top_fail = np.where(fail.any(axis=1), count - 1 - np.argmax(fail[:, ::-1], axis=1), -1)
    ok = tested & (p <= delta) & (np.arange(count) > top_fail[:, None])
    best = np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1)
    thresholds = np.where(best >= 0, values[np.maximum(best, 0)], np.nan)
    del reps
    return _outcome(pop, thresholds, target, domain)
