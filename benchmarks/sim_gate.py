"""How often ``classify-frames audit --check "accuracy>=x"`` passes a claim it should not:
the gate judges an estimate by the far bound of its 95% interval (nominally wrong 2.5% of the
time on each side). Populations as in ``benchmarks/sim_audit.py``; stratified queues of 40
labels per type; the target at the true accuracy (``offset 0``: a pass is an error of the
bound) and 5 points inside it (power: the claim holds with margin).

    .venv/bin/python benchmarks/sim_gate.py --reps 300
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from audit_simulation import Population, emulator_population, skewed_population
from gate_simulation import gate_rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--per-type", type=int, default=40)
    args = parser.parse_args()
    populations: dict[str, Callable[[], Population]] = {
        "emulator (10,000 jobs, seed 3)": lambda: emulator_population(10_000, seed=3),
        "skewed mix (20,000 jobs)": lambda: skewed_population(20_000),
    }
    for name, make in populations.items():
        pop = make()
        for offset in (0.0, -0.05):
            start = time.perf_counter()
            rates = gate_rates(pop, args.reps, args.per_type, offset)
            per_type = rates.at_least.drop("overall")
            per_type_most = rates.at_most.drop("overall")
            print(
                f"{name}, target = truth {offset:+.2f}, {args.reps} queues of "
                f"{args.per_type} per type ({time.perf_counter() - start:.0f} s): "
                f"overall >= passes {rates.at_least['overall']:.1%}, "
                f"<= passes {rates.at_most['overall']:.1%}; per type (>=, <=) "
                f"max {per_type.max():.1%} / {per_type_most.max():.1%}, "
                f"mean {per_type.mean():.1%} / {per_type_most.mean():.1%}"
            )


if __name__ == "__main__":
    main()
