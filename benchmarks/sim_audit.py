"""The audit's simulation study, with many repetitions (``tests/test_audit_simulation.py``
runs the same with few).

Populations with a known truth (the emulator's hidden labels; a skewed type mix where rare
types are much less accurate); many stratified samples; per design: the bias of the new
design-weighted accuracy beside the old plain mean's, the coverage and width of the 95%
interval, and for certified thresholds how often one is certified and how often its true
accuracy falls below the target (the guarantee: at most delta), beside the old Wilson scan;
and the labels ``plan_labels`` asks for, and what they achieve.

    .venv/bin/python benchmarks/sim_audit.py            # 1,000 repetitions
    .venv/bin/python benchmarks/sim_audit.py --reps 200
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from audit_simulation import (
    Population,
    emulator_population,
    sample_of,
    simulate,
    skewed_population,
    stratified_rows,
)

from classify_frames.auditing._design import allocate
from classify_frames.auditing._sample import share


def proportional(pop: Population, budget: int) -> np.ndarray:
    sizes = np.bincount(pop.strata, minlength=len(pop.names))
    return allocate(budget, sizes, np.ones(len(sizes)), "proportional")


def estimates(pop: Population, reps: int) -> None:
    print(f"\n{pop.name}: true accuracy {pop.accuracy:.4f}, {len(pop.names)} strata (types)")
    head = ("design", "labels", "new bias", "old bias", "coverage", "CI width")
    print(f"  {head[0]:<32} " + " ".join(f"{h:>9}" for h in head[1:]))
    for label, design in (
        ("40 per type (equal)", 40),
        ("400 proportional", proportional(pop, 400)),
    ):
        started = time.perf_counter()
        out = simulate(pop, reps, design, target=0.9, seed=11)
        cover = np.mean((out.low <= pop.accuracy) & (pop.accuracy <= out.high))
        print(
            f"  {label:<32} {out.labels.mean():9.0f} {out.estimate.mean() - pop.accuracy:+9.4f} "
            f"{out.plain.mean() - pop.accuracy:+9.4f} {cover:9.3f} "
            f"{np.mean(out.high - out.low):9.3f}"
            f"   ({time.perf_counter() - started:.0f} s)"
        )


def thresholds(
    pop: Population,
    reps: int,
    design: np.ndarray | int,
    label: str,
    targets: list[float],
    mask: np.ndarray | None = None,
) -> None:
    print(f"  {label}")
    print(
        f"    {'target':>7} {'valid from':>10} {'certified':>9} {'violations':>10} "
        f"{'median t':>8} | {'old scan: violations':>20} {'certified':>9}"
    )
    values = np.unique(pop.confidence[np.isfinite(pop.confidence)])
    for target in targets:
        valid = [v for v in values if pop.accuracy_at(v, mask) >= target]
        out = simulate(pop, reps, design, target=target, seed=23, mask=mask)
        found = np.isfinite(out.certified)
        median = np.median(out.certified[found]) if found.any() else float("nan")
        print(
            f"    {target:7.3f} {min(valid) if valid else float('nan'):10.2f} {found.mean():9.3f} "
            f"{out.violated.mean():10.3f} {median:8.2f} | {out.scan_violated.mean():20.3f} "
            f"{np.isfinite(out.scan).mean():9.3f}"
        )


def planning(pop: Population, reps: int) -> None:
    """plan_labels(margin=0.02) from a pilot of 20 per type; the planned labels then give
    intervals of what half-width?"""
    rng = np.random.default_rng(5)
    truth = pop.labels.set_index("id")["label"]
    pilot = pop.report.review_queue(n=20, strategy="stratified", seed=1)
    pilot["label"] = truth[pilot["id"]].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pop.report.with_labels(pilot)
        queue = report.plan_labels(margin=0.02)
    plan = queue.attrs["plan"]
    planned = plan["planned"].reindex(pop.names).fillna(0).to_numpy(int)
    # plan strata are the types here (no bands): simulate fresh samples of that allocation
    halves = []
    for _ in range(reps):
        rows = stratified_rows(pop, planned, rng)
        est = share(sample_of(pop, rows), pop.correct[rows])
        halves.append((est.high - est.low) / 2)
    print(
        f"  plan_labels(margin=0.02): {planned.sum():,} labels; achieved half-width "
        f"mean {np.mean(halves):.4f}, 95th percentile {np.quantile(halves, 0.95):.4f}"
    )
    print(f"    {queue.attrs['summary']}")
    target = 0.85
    rounds, certified, violated = min(reps, 100), [], []
    for seed in range(rounds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            more = report.plan_labels(target_accuracy=target, seed=seed)
            more["label"] = truth[more["id"]].to_numpy()
            both = report.with_labels(pd.concat([pilot, more], ignore_index=True))
            t = cast(float, both.recommend_threshold(target).loc["overall", "threshold"])
        certified.append(np.isfinite(t))
        violated.append(np.isfinite(t) and pop.accuracy_at(t) < target)
    print(f"  plan_labels(target_accuracy={target}): {more.attrs['summary']}")
    stated = float(more.attrs["plan"].attrs.get("chance", float("nan")))
    print(
        f"    labelled as planned ({rounds} plans, seeds 0..{rounds - 1}): certified in "
        f"{np.mean(certified):.0%} (the plan stated {stated:.0%}), below the target in "
        f"{np.mean(violated):.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    skewed = skewed_population(20_000)
    emulated = emulator_population(20_000, seed=3)
    for pop in (emulated, skewed):
        estimates(pop, args.reps)
    print(f"\ncertified thresholds (delta = 0.05), {args.reps} repetitions each")
    print(skewed.name)
    thresholds(
        skewed,
        args.reps,
        proportional(skewed, 800),
        "800 labels, proportional",
        [0.8, 0.85, 0.9, 0.915],
    )
    thresholds(skewed, args.reps, 150, "150 per type", [0.8, 0.85, 0.9, 0.915])
    print(emulated.name)
    thresholds(
        emulated,
        args.reps,
        proportional(emulated, 800),
        "800 labels, proportional, overall",
        [0.75, 0.78, 0.8, 0.82],
    )
    invoice = np.asarray(emulated.names)[emulated.strata] == "invoice"
    thresholds(
        emulated,
        args.reps,
        80,
        "80 per type, the invoice row",
        [0.85, 0.9, 0.93, 0.95],
        mask=invoice,
    )
    print("\nlabels needed")
    for pop in (skewed, emulated):
        print(pop.name)
        planning(pop, min(args.reps, 300))


if __name__ == "__main__":
    main()
