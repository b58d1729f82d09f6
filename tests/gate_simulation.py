"""How often ``audit --check`` passes a claim about accuracy, over many labelled queues drawn
from a population whose truth is known (``tests/test_audit_gate.py`` with few repetitions,
``benchmarks/sim_gate.py`` with many).

Each repetition draws a stratified review queue, labels it from the truth, audits it with
``with_labels`` (as the command does from the filled-in file) and judges the checks
``accuracy>=target`` and ``accuracy<=target`` overall and per type, the target set at the true
accuracy plus ``offset``. At ``offset=0`` a pass is the interval's bound lying beyond the
truth: nominally 2.5% for each side of a 95% interval.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from audit_simulation import Population

from classify_frames.auditing._checks import evaluate, parse_check


@dataclass
class GateRates:
    """Share of repetitions in which each check passed, by the check as written."""

    at_least: pd.Series  # accuracy>=truth+offset, overall and per type
    at_most: pd.Series  # accuracy<=truth-offset
    reps: int


def truths(pop: Population) -> dict[str | None, float]:
    """The true accuracy overall (None) and of each predicted type."""
    out: dict[str | None, float] = {None: pop.accuracy}
    for code, name in enumerate(pop.names):
        out[name] = float(pop.correct[pop.strata == code].mean())
    return out


def gate_rates(pop: Population, reps: int, per_type: int = 40, offset: float = 0.0) -> GateRates:
    """Pass rates of ``accuracy[type]>=truth+offset`` and ``accuracy[type]<=truth-offset``
    over ``reps`` stratified queues of ``per_type`` labels per type."""
    truth = pop.labels.set_index("id")["label"]
    names = list(truths(pop))
    checks = []
    for name, value in truths(pop).items():
        metric = "accuracy" if name is None else f"accuracy[{name}]"
        checks += [
            parse_check(f"{metric}>={value + offset!r}"),
            parse_check(f"{metric}<={value - offset!r}"),
        ]
    passes = np.zeros(len(checks))
    for seed in range(1, reps + 1):
        queue = pop.report.review_queue(per_type, "stratified", seed=seed)
        queue["label"] = truth[queue["id"]].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a clean design; nothing the rates depend on
            report = pop.report.with_labels(queue)
        passes += [result.passed for result in evaluate(report, checks)]
    index = ["overall" if n is None else n for n in names]
    return GateRates(
        pd.Series(passes[0::2] / reps, index=index),
        pd.Series(passes[1::2] / reps, index=index),
        reps,
    )
