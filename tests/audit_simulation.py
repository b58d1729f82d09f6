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


def skewed_population(jobs: int = 20_000, seed: int = 0) -> Population:
    """Common types mostly right and sure of it, rare ones much worse: a plain mean over a
    per-type sample overstates how bad the population is, a threshold with margin exists."""
    rng = np.random.default_rng(seed)
    types = np.array(["invoice", "receipt", "contract", "claim", "permit", "none"])
    shares = np.array([0.5, 0.25, 0.12, 0.05, 0.03, 0.05])
    base = np.array([0.995, 0.98, 0.95, 0.4, 0.3, 0.6])  # accuracy at the top score
    kind = rng.choice(len(types), size=jobs, p=shares)
    conf = rng.choice(SCORES, size=jobs, p=[0.04, 0.06, 0.1, 0.2, 0.3, 0.3])
    right = rng.random(jobs) < np.clip(base[kind] - (0.99 - conf) * 1.2, 0.02, 0.995)
    truth = types[kind]
    wrong_as = types[(kind + 1 + rng.integers(0, len(types) - 1, size=jobs)) % len(types)]
    predicted = np.where(right, truth, wrong_as)
    records = [
        {
            "id": f"job-{i:06d}",
            "status": "COMPLETED",
            "result": {
                "type": None if p == "none" else str(p),
                "confidence": float(c),
            },
        }
        for i, (p, c) in enumerate(zip(predicted, conf, strict=True))
    ]
    labels = pd.DataFrame({"id": [r["id"] for r in records], "label": truth})
    return population(f"skewed mix ({jobs:,} jobs)", cf.jobs_to_frame(records), labels)


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
