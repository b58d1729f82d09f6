"""The audit's simulation study: certified thresholds and label plans on populations with a known
truth (``tests/test_audit_simulation.py`` runs a small version of the same).

Populations (20,000 jobs each, six predicted types, stated confidences 0.6-0.99):
- skewed: common types right and sure of it, rare ones much worse (target 85%);
- calibrated: stated confidence is the chance of being right (target 95%);
- uninformative: confidence says nothing, each type right at its own rate (target 88%);
each also at an "edge" target just above the accuracy of some accepted set, where certifying
that set is a violation.

For each population, design (proportional: self-weighting; Neyman: unequal weights) and
budget (100-800 labels), over ``--reps`` samples: violations (the certified threshold's true
accuracy below the target; the guarantee is at most delta, within Monte Carlo error), the
certification rate and mean coverage of certified thresholds, beside the top-down sequence
alone (no whole-row test) and the reference, the exact binomial on pooled labels in a
top-down sequence (valid under proportional allocation only). Then ``plan_labels``: over
``--pilots`` pilots of 20 labels per type, the chance each plan states beside the share of
plans that certify once labelled from the truth.

    .venv/bin/python benchmarks/sim_audit.py                    # 500 repetitions, 16 pilots
    .venv/bin/python benchmarks/sim_audit.py --reps 100 --pilots 8
    .venv/bin/python benchmarks/sim_audit.py --estimates        # accuracy's bias and coverage
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from audit_simulation import (
    Population,
    allocation,
    calibrated_population,
    certified_by_package,
    certified_by_reference,
    draw_rows,
    emulator_population,
    simulate,
    skewed_population,
    uninformative_population,
)

import classify_frames.auditing._certify as certify_module

DELTA = 0.05
BUDGETS = (100, 200, 400, 800)


def estimates(pop: Population, reps: int) -> None:
    """Bias and 95% interval coverage of the design-weighted accuracy (``--estimates``)."""
    print(f"\n{pop.name}: true accuracy {pop.accuracy:.4f}, {len(pop.names)} strata (types)")
    head = ("design", "labels", "new bias", "old bias", "coverage", "CI width")
    print(f"  {head[0]:<32} " + " ".join(f"{h:>9}" for h in head[1:]))
    for label, design in (
        ("40 per type (equal)", 40),
        ("400 proportional", allocation(pop, 400, "proportional")),
    ):
        out = simulate(pop, reps, design, target=0.9, seed=11)
        cover = np.mean((out.low <= pop.accuracy) & (pop.accuracy <= out.high))
        print(
            f"  {label:<32} {out.labels.mean():9.0f} {out.estimate.mean() - pop.accuracy:+9.4f} "
            f"{out.plain.mean() - pop.accuracy:+9.4f} {cover:9.3f} "
            f"{np.mean(out.high - out.low):9.3f}"
        )


def thresholds(pop: Population, target: float, reps: int, designs: tuple[str, ...]) -> None:
    values = np.unique(pop.confidence)
    valid = [v for v in values if pop.accuracy_at(v) >= target]
    print(
        f"\n{pop.name}, target {target:.3f} (valid from {min(valid) if valid else math.nan:g}; "
        f"whole row {pop.accuracy:.3f}), delta {DELTA}, {reps} repetitions; "
        f"violations above {DELTA + 2 * math.sqrt(DELTA * (1 - DELTA) / reps):.3f} "
        "would exceed delta beyond 2 Monte Carlo standard errors"
    )
    print(
        f"  {'design':<13} {'labels':>6} | {'violations':>10} {'certified':>9} {'coverage':>8} "
        f"| {'top-down only':>13} {'coverage':>8} | {'reference':>9} {'violations':>10} "
        f"{'coverage':>8}   time"
    )
    for design in designs:
        for budget in BUDGETS:
            started = time.perf_counter()
            rows = draw_rows(pop, allocation(pop, budget, design), reps, np.random.default_rng(7))
            ours = certified_by_package(pop, rows, target, DELTA)
            share = certify_module.WHOLE_SHARE
            certify_module.WHOLE_SHARE = 0.0  # the top-down sequence alone, for comparison
            try:
                alone = certified_by_package(pop, rows, target, DELTA)
            finally:
                certify_module.WHOLE_SHARE = share
            reference = ""
            if design == "proportional":
                ref = certified_by_reference(pop, rows, target, DELTA)
                reference = f"{ref.rate:9.3f} {ref.violated.mean():10.3f} {ref.mean_coverage:8.3f}"
            print(
                f"  {design:<13} {budget:6d} | {ours.violated.mean():10.3f} {ours.rate:9.3f} "
                f"{ours.mean_coverage:8.3f} | {alone.rate:13.3f} {alone.mean_coverage:8.3f} | "
                f"{reference:<30}  {time.perf_counter() - started:4.0f} s",
                flush=True,
            )


def plans(pop: Population, target: float, pilots: int, first_seed: int = 1000) -> None:
    """``plan_labels(target_accuracy=target)`` after pilots of 20 labels per type: the chance
    it states against how often the planned labels certify a threshold."""
    truth = pop.labels.set_index("id")["label"]
    stated, realised, sizes, violated = [], [], [], []
    started = time.perf_counter()
    summary = ""
    for i in range(pilots):
        pilot = pop.report.review_queue(n=20, strategy="stratified", seed=first_seed + i)
        pilot["label"] = truth[pilot["id"]].to_numpy()
        report = pop.report.with_labels(pilot)
        more = report.plan_labels(target_accuracy=target, seed=i)
        stated.append(float(more.attrs["plan"].attrs.get("chance", math.nan)))
        more["label"] = truth[more["id"]].to_numpy()
        both = report.with_labels(pd.concat([pilot, more], ignore_index=True))
        t = float(both.recommend_threshold(target, DELTA)["threshold"].to_numpy(float)[0])
        realised.append(math.isfinite(t))
        violated.append(math.isfinite(t) and pop.accuracy_at(t) < target)
        sizes.append(len(more))
        summary = summary or str(more.attrs["summary"])
    stated_mean, rate = float(np.mean(stated)), float(np.mean(realised))
    se = math.sqrt(max(rate * (1 - rate), 0.01) / pilots)
    print(
        f"  {pop.name}, target {target}: stated {stated_mean:.3f}, realised {rate:.3f} "
        f"(± {2 * se:.3f}, {pilots} pilots), gap {stated_mean - rate:+.3f}; violations "
        f"{np.mean(violated):.3f}; plan sizes min {min(sizes)}, median "
        f"{int(np.median(sizes))}, max {max(sizes)}   ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    # calibration within the pilots: those stating less than a half, and the rest
    low = np.asarray(stated) < 0.5
    for name, part in (("stated < 50%", low), ("stated >= 50%", ~low)):
        if part.any():
            said, done = np.asarray(stated)[part], np.asarray(realised)[part]
            print(
                f"    {name}: {int(part.sum())} pilots, stated {said.mean():.3f}, "
                f"realised {done.mean():.3f}"
            )
    print(f"    first plan: {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--pilots", type=int, default=16)
    parser.add_argument("--skip-plans", action="store_true")
    parser.add_argument("--only-plans", action="store_true")
    parser.add_argument("--pilot-seed", type=int, default=1000, help="seed of the first pilot")
    parser.add_argument(
        "--estimates", action="store_true", help="only the accuracy estimates' bias and coverage"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    if args.estimates:
        for pop in (emulator_population(20_000, seed=3), skewed_population(20_000)):
            estimates(pop, args.reps)
        return
    populations = [
        (skewed_population(20_000), 0.85, 0.852),
        (calibrated_population(20_000), 0.95, 0.947),
        (uninformative_population(20_000), 0.88, 0.9075),
    ]
    print(f"certified thresholds (WHOLE_SHARE = {certify_module.WHOLE_SHARE})")
    for pop, target, edge in [] if args.only_plans else populations:
        thresholds(pop, target, args.reps, ("proportional", "neyman"))
        thresholds(pop, edge, args.reps, ("proportional", "neyman"))
    if not args.skip_plans:
        print(f"\nplan_labels(target_accuracy=...), delta {DELTA}: stated chance vs realised")
        for pop, target, _ in populations:
            plans(pop, target, args.pilots, args.pilot_seed)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
