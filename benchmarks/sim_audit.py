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
top-down sequence (valid under proportional allocation only). Then ``plan_labels`` on those
three and a near-perfect population (every type 100% right at 0.95 and up, target 97%): over
``--pilots`` pilots of 20 labels per type (12 by default: each plan simulates recommend_threshold
200 times), the chance each plan states, with its lower and upper halves, beside the share of
``--queues`` review queues of the plan (4) that certify once labelled from the truth; the gap
with its Monte Carlo standard error (over pilots, paired), violations, and the spread of plan
sizes.

    .venv/bin/python benchmarks/sim_audit.py                    # 500 repetitions, 12 pilots
    .venv/bin/python benchmarks/sim_audit.py --reps 100 --pilots 8
    .venv/bin/python benchmarks/sim_audit.py --only-plans --pilots 12 --queues 4   # ~15 min
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
    near_perfect_population,
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


def plans(pop: Population, target: float, pilots: int, draws: int, first_seed: int) -> None:
    """``plan_labels(target_accuracy=target)`` after ``pilots`` pilots of 20 labels per type:
    the chance each plan states (and its range) against how often the planned labels certify
    a threshold, labelled from the truth, over ``draws`` review queues of each plan."""
    truth = pop.labels.set_index("id")["label"]
    rows: list[dict[str, float]] = []
    started = time.perf_counter()
    summary, lower_advised = "", 0
    for i in range(pilots):
        pilot = pop.report.review_queue(n=20, strategy="stratified", seed=first_seed + i)
        pilot["label"] = truth[pilot["id"]].to_numpy()
        report = pop.report.with_labels(pilot)
        best = float(report.risk_coverage["accuracy"].max())
        won, violated = [], []
        for s in range(draws):  # the same plan (simulated once), another queue of it
            more = report.plan_labels(target_accuracy=target, seed=s)
            more["label"] = truth[more["id"]].to_numpy()
            both = report.with_labels(pd.concat([pilot, more], ignore_index=True))
            t = float(both.recommend_threshold(target, DELTA)["threshold"].to_numpy(float)[0])
            won.append(math.isfinite(t))
            violated.append(math.isfinite(t) and pop.accuracy_at(t) < target)
        plan = more.attrs["plan"]
        low, high = plan.attrs.get("chance_range", (math.nan, math.nan))
        said = str(more.attrs["summary"])
        lower_advised += best >= target and "lower target" in said
        rows.append(
            {
                "stated": float(plan.attrs.get("chance", math.nan)),
                "low": low,
                "high": high,
                "realised": float(np.mean(won)),
                "brier": float(
                    np.mean(
                        (np.asarray(won, float) - float(plan.attrs.get("chance", math.nan))) ** 2
                    )
                ),
                "violated": float(np.mean(violated)),
                "size": float(len(more)),
            }
        )
        summary = summary or said
    out = pd.DataFrame(rows)
    gap = out["stated"] - out["realised"]
    se = float(gap.std(ddof=1) / math.sqrt(pilots)) if pilots > 1 else math.nan
    rate_se = float(out["realised"].std(ddof=1) / math.sqrt(pilots)) if pilots > 1 else math.nan
    inside = (
        (out["low"] - 0.15 <= out["realised"]) & (out["realised"] <= out["high"] + 0.15)
    ).mean()
    sizes = out["size"]
    print(
        f"  {pop.name}, target {target}: stated {out['stated'].mean():.3f} "
        f"(range {out['low'].mean():.3f}-{out['high'].mean():.3f}), realised "
        f"{out['realised'].mean():.3f} ± {rate_se:.3f}, gap {gap.mean():+.3f} ± {se:.3f} "
        f"(standard errors over {pilots} pilots x {draws} queues); violations "
        f"{out['violated'].mean():.3f}; plan sizes min {sizes.min():.0f}, median "
        f"{sizes.median():.0f}, max {sizes.max():.0f} (quartiles {sizes.quantile(0.25):.0f}-"
        f"{sizes.quantile(0.75):.0f}); realised within the range ± 0.15 in {inside:.0%} of "
        f"pilots; Brier score of the stated chance against each queue {out['brier'].mean():.3f}; "
        f"lower target advised above the estimate: {lower_advised}   "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    for name, part in (
        ("stated < 50%", out["stated"] < 0.5),
        ("stated >= 50%", out["stated"] >= 0.5),
    ):
        if part.any():
            print(
                f"    {name}: {int(part.sum())} pilots, stated {out['stated'][part].mean():.3f}, "
                f"realised {out['realised'][part].mean():.3f}"
            )
    print(f"    first plan: {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--pilots", type=int, default=12)
    parser.add_argument("--queues", type=int, default=8, help="review queues drawn per plan")
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
    planned = [
        *((pop, target) for pop, target, _ in populations),
        (near_perfect_population(), 0.97),
    ]
    print(f"certified thresholds (WHOLE_SHARE = {certify_module.WHOLE_SHARE})")
    for pop, target, edge in [] if args.only_plans else populations:
        thresholds(pop, target, args.reps, ("proportional", "neyman"))
        thresholds(pop, edge, args.reps, ("proportional", "neyman"))
    if not args.skip_plans:
        print(f"\nplan_labels(target_accuracy=...), delta {DELTA}: stated chance vs realised")
        for pop, target in planned:
            plans(pop, target, args.pilots, args.queues, args.pilot_seed)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
