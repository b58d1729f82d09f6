"""A stratified betting test for weighted accepted sets, against the tests ``_certify`` uses now
(issue 20, "Certification with power that stays valid"): is it valid, and does it certify more?

The candidate (``betting_pvalue``): H0 is "at most ``floor(target * N)`` of the ``N`` accepted
jobs are right", with ``k_h`` right out of ``n_h`` labels drawn without replacement from each
cell of ``N_h`` jobs (cell weights ``N_h / N``; a cell without labels may hold any accuracy, so
it is taken as all wrong).

- Per cell and per null count ``A_h`` of right jobs, a without-replacement betting martingale
  (Stark's ALPHA; Waudby-Smith & Ramdas 2020): ``prod_i L_i`` with ``L_i = eta_i / m_i`` for a
  right label and ``(1 - eta_i) / (1 - m_i)`` for a wrong one, ``m_i`` the null mean of the
  next draw (``(A_h - right so far) / (N_h - labels so far)``) and ``eta_i`` the running
  accuracy shrunk towards the planning one ``(1 + target) / 2`` by ``PRIOR_LABELS`` labels
  (predictable; ``prior=inf`` keeps it at the planning accuracy). Its mean is 1 under ``A_h``
  in a random order of the labels.
- Labels come in no random order, so the cell's e-value is ``exp`` of the mean log wealth over
  every order of its ``k_h`` right and ``n_h - k_h`` wrong labels (a lattice sum, no drawing).
  It is below the mean wealth over the orders (AM-GM), whose mean is 1: still an e-value, and a
  function of the counts only.
- Cells are independent given their label counts: the product is an e-value for each
  allocation ``(A_h)``. H0 is the union over allocations with ``sum_h A_h <= floor(target N)``
  (a stratified union-intersection test; Spertus & Stark 2022, "Sweeter than SUITE"), so the
  p-value is ``1 / min`` of the product over them. Each cell's log e-value is convex in
  ``A_h`` (``-log m`` and ``-log(1 - m)`` are convex, ``m`` is affine in ``A_h``), so weak
  duality gives a lower bound on that minimum that is tight: for each Lagrange multiplier
  ``nu``, ``sum_h min_A (g_h(A) + nu A) - nu floor(target N)``, each inner minimum bounded
  below from values and slopes on a grid (a convex function lies above its tangents). A lower
  bound on the minimum is a larger p-value: conservative, never anti-conservative.

The ceiling of the whole betting family (``oracle_bound``): betting with each cell's bet set
after seeing its labels, at the least favourable allocation (``exp(-min sum_h n_h KL)``, the
stratified likelihood ratio), is more than any valid betting test can reach: predictable bets
pay for learning, and the mean wealth over orders is no more than the best one. Where even
that ceiling is above the current p-value, no betting variant can beat the current test.

Four tables:

1. Validity at the boundary (``--validity-reps``, 2,000 by default): small cells, truths at
   exactly the target spread across the cells adversarially (even, all errors in one cell,
   errors where labels are densest or sparsest), rejection rates at delta of the candidate
   and of the current tests (stratified Chernoff, least-favourable pooled binomial, and the
   current design-only choice between them). The guarantee: at most delta, within Monte Carlo
   error.
2. p-values of one cell: exact binomial, Chernoff, the candidate (learning and fixed bets) and
   the ceiling.
3. p-values on the same labels: the same on accepted sets of the simulated populations.
4. Certification (``--reps``, 100 by default): ``certify`` as it is, with the candidate in
   place of the stratified Chernoff bound (the same design-only choice against the pooled
   binomial), and with the ceiling there (not valid: what no betting test can pass), on a
   calibrated population with Neyman labels (100-800) and a skewed one with 25 and 50 labels
   per type.

    .venv/bin/python benchmarks/sim_betting.py                # about 6 minutes on one core
    .venv/bin/python benchmarks/sim_betting.py --reps 30 --validity-reps 500
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from scipy.special import gammaln

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from audit_simulation import (
    Population,
    allocation,
    calibrated_population,
    certified_by_package,
    draw_rows,
    sample_of,
    skewed_population,
)

import classify_frames.auditing._certify as certify_module
from classify_frames.auditing._sample import cell_counts

DELTA = 0.05
#: Prior weight, in labels, of the planning accuracy in each cell's running estimate.
PRIOR_LABELS = 10
#: Points per cell at which the log e-value and its slope are computed (for the bound on the
#: minimum over allocations).
GRID = 96
#: Lagrange multipliers tried for that bound.
MULTIPLIERS = 200


def _order_shares(n: int, k: int) -> np.ndarray:
    """``P(S_i = s)``, ``(n, k + 1)``: the chance that the first ``i`` labels of a uniformly
    random order of ``k`` right and ``n - k`` wrong ones hold ``s`` right ones."""
    i = np.arange(n)[:, None]
    s = np.arange(k + 1)[None, :]

    def log_choose(a: np.ndarray | int, b: np.ndarray) -> np.ndarray:
        out: np.ndarray = gammaln(np.asarray(a) + 1) - gammaln(b + 1) - gammaln(a - b + 1)
        return out

    ok = (s <= i) & (i - s <= n - k)
    log_p = (
        log_choose(k, np.where(ok, s, 0))
        + log_choose(n - k, np.where(ok, i - s, 0))
        - log_choose(n, i)
    )
    shares: np.ndarray = np.where(ok, np.exp(np.where(ok, log_p, 0.0)), 0.0)
    return shares


def log_evalue(
    size: float, n: int, k: int, right: np.ndarray, target: float, prior: float = PRIOR_LABELS
) -> tuple[np.ndarray, np.ndarray]:
    """The cell's log e-value at each null count of right jobs in ``right`` (within
    ``[k, size - (n - k)]``, the counts its labels allow), and its slope in that count.

    The mean over every order of the labels of the log wealth of the without-replacement
    martingale ``prod_i L_i``, ``L_i = eta_i / m_i`` for a right label and
    ``(1 - eta_i) / (1 - m_i)`` for a wrong one (ALPHA's bet: the likelihood ratio of the next
    label), ``m_i`` the null mean of the next draw and ``eta_i`` the running accuracy shrunk to
    the planning one (predictable). Both logs are convex in ``m_i``, which is affine in the
    null count: the log e-value is convex in it."""
    right = np.asarray(right, dtype=float)[:, None, None]
    shares = _order_shares(n, k)
    i = np.arange(n)[:, None]
    s = np.arange(k + 1)[None, :]
    planned = (1 + target) / 2
    eta = np.clip(
        (prior * planned + s) / (prior + i) if math.isfinite(prior) else np.full(s.shape, planned),
        1e-3,
        1 - 1e-3,
    )
    up = (k - s) / np.maximum(n - i, 1)  # the next label is right
    down = 1.0 - up
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (right - s) / (size - i)
        # a step the labels cannot take (up or down 0) carries no weight
        gain = np.where(up > 0, up * (np.log(eta) - np.log(np.where(up > 0, m, 1.0))), 0.0)
        loss = np.where(
            down > 0, down * (np.log1p(-eta) - np.log1p(-np.where(down > 0, m, 0.0))), 0.0
        )
        slope = np.where(up > 0, -up / np.where(up > 0, m, 1.0), 0.0) + np.where(
            down > 0, down / (1 - np.where(down > 0, m, 0.0)), 0.0
        )
    value: np.ndarray = np.sum(shares * (gain + loss), axis=(1, 2))
    rate: np.ndarray = np.sum(shares * slope / (size - i), axis=(1, 2))
    return value, rate


def _lowest(value: np.ndarray, rate: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """For each multiplier (rows of ``rate``, ``value`` + multiplier * count), a lower bound
    on the minimum over the whole interval of a convex function known at ``grid``: on each
    span it lies above both end tangents, whose maximum is lowest where they cross."""
    a, b = grid[:-1], grid[1:]
    fa, fb, da, db = value[:, :-1], value[:, 1:], rate[:, :-1], rate[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.where(db > da, (fb - fa + da * a - db * b) / (db - da), a)
    x = np.clip(np.nan_to_num(cross, nan=0.0, posinf=0.0, neginf=0.0), a, b)
    low = np.maximum(fa + da * (x - a), fb + db * (x - b))
    low = np.minimum(low, np.minimum(fa, fb))  # never above a known value
    out: np.ndarray = low.min(axis=1)
    return out


@functools.lru_cache(maxsize=4096)
def _cell(
    size: float, n: int, k: int, target: float, prior: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cell's grid of null counts from the lowest to the highest its labels allow, with the
    log e-value and its slope there (cached: simulations meet the same counts again)."""
    low, high = float(k), size - (n - k)
    grid = np.linspace(low, high, GRID) if high > low else np.array([low, low])
    value, rate = log_evalue(size, n, k, grid, target, prior)
    return grid, value, rate


def betting_pvalue(
    big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float, prior: float = PRIOR_LABELS
) -> float:
    """The stratified betting p-value of ``accuracy <= target`` (see the module docstring)."""
    big_n, n, k = (np.asarray(a, dtype=float) for a in (big_n, n, k))
    cells = [h for h in range(len(big_n)) if n[h] > 0 and big_n[h] > 0]
    if not cells:
        return 1.0
    capacity = math.floor(target * big_n.sum() + 1e-9)  # cells without labels: all wrong
    lo = np.array([k[h] for h in cells])
    hi = np.array([big_n[h] - (n[h] - k[h]) for h in cells])
    if lo.sum() > capacity:
        return 0.0  # more right labels than the null allows right jobs
    if hi.sum() <= capacity:
        capacity = float(hi.sum())  # the constraint is slack: every cell may be all right
    grids, values, rates = zip(
        *(_cell(float(big_n[h]), int(n[h]), int(k[h]), target, prior) for h in cells), strict=True
    )
    # weak duality: for every multiplier nu >= 0, sum_h min_A (g_h(A) + nu A) - nu * capacity
    # is below the minimum over allocations with sum_h A_h <= capacity
    steep = np.concatenate([-r[np.isfinite(r)] for r in rates])
    steep = steep[steep > 0]
    nus = (
        np.concatenate([[0.0], np.geomspace(steep.min(), steep.max(), MULTIPLIERS)])
        if len(steep)
        else np.zeros(1)
    )
    total = -nus * capacity
    for grid, value, rate in zip(grids, values, rates, strict=True):
        total = total + _lowest(
            value[None, :] + nus[:, None] * grid[None, :], rate[None, :] + nus[:, None], grid
        )
    best = float(np.max(total))
    return float(min(1.0, math.exp(-best))) if best > 0 else 1.0


def oracle_bound(weight: np.ndarray, n: np.ndarray, k: np.ndarray, target: float) -> float:
    """``exp(-min_mu sum_h n_h KL(k_h / n_h || mu_h))`` over ``sum_h weight_h mu_h = target``:
    the wealth of betting with bets chosen after the labels, at the least favourable stratum
    accuracies. Not a valid p-value: a ceiling for every betting test."""
    keep = (np.asarray(n) > 0) & (np.asarray(weight) > 0)
    w, m = np.asarray(weight, float)[keep], np.asarray(n, float)[keep]
    p = np.asarray(k, float)[keep] / m
    if float(np.sum(w * p)) <= target:
        return 1.0

    def stratum_means(nu: float) -> np.ndarray:
        # stationarity of the Lagrangian: m (mu - p) + nu w mu (1 - mu) = 0, the root in [0, p]
        a = nu * w
        roots: np.ndarray = ((a + m) - np.sqrt((a + m) ** 2 - 4 * a * m * p)) / (2 * a)
        return roots

    low, high = 1e-9, 1e12
    for _ in range(200):  # bisection in log nu: the weighted mean falls as nu grows
        mid = math.sqrt(low * high)
        low, high = (mid, high) if float(np.sum(w * stratum_means(mid))) > target else (low, mid)
    mu = np.clip(stratum_means(high), 1e-300, 1 - 1e-16)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * np.log(p / mu), 0.0) + np.where(
            p < 1, (1 - p) * np.log((1 - p) / (1 - mu)), 0.0
        )
    return float(math.exp(-float(np.sum(m * kl))))


# --- 1. validity at the boundary -----------------------------------------------------------


def current_pvalues(
    big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float
) -> dict[str, np.ndarray]:
    """The current weighted tests on ``(B, H)`` label counts of one design: the stratified
    Chernoff bound, the least-favourable pooled binomial, and the one ``_certify`` picks."""
    weight = big_n / big_n.sum()
    chernoff = certify_module.stratified_pvalues(
        np.broadcast_to(weight, k.shape), np.broadcast_to(n, k.shape), k, target
    )
    pooled = np.array([certify_module.pooled_pvalue(big_n, n, row, target) for row in k])
    planned = n * (1 + target) / 2
    pick_pooled = certify_module.pooled_pvalue(big_n, n, planned, target) <= float(
        certify_module.stratified_pvalue(weight, n, planned, target)
    )
    return {
        "Chernoff": chernoff,
        "pooled LF": pooled,
        "current": pooled if pick_pooled else chernoff,
    }


def boundary_truths(
    big_n: np.ndarray, n: np.ndarray, target: float
) -> Iterator[tuple[str, np.ndarray]]:
    """Right jobs per cell with exactly ``floor(target N)`` right in all: spread evenly, all
    errors in one cell (each cell that can hold them), errors where labels are densest, and
    where they are sparsest (the pooled test's least favourable)."""
    right = math.floor(target * big_n.sum() + 1e-9)
    errors = big_n.sum() - right

    def fill(order: np.ndarray) -> np.ndarray:
        wrong = np.zeros_like(big_n)
        left = errors
        for h in order:
            wrong[h] = min(big_n[h], left)
            left -= wrong[h]
        out: np.ndarray = big_n - wrong
        return out

    even = np.floor(big_n * right / big_n.sum())
    even[np.argmax(big_n)] += right - even.sum()
    yield "even", even
    for h in range(len(big_n)):
        if big_n[h] >= errors:
            yield f"all errors in cell {h}", fill(np.array([h]))
    rate = n / big_n
    yield "errors densest-labelled first", fill(np.argsort(-rate, kind="stable"))
    yield "errors sparsest-labelled first", fill(np.argsort(rate, kind="stable"))


def validity(reps: int) -> None:
    designs = [
        ("per-type, 25 each", np.array([600.0, 300.0, 100.0]), np.array([25, 25, 25]), 0.9),
        ("Neyman-like", np.array([600.0, 300.0, 100.0]), np.array([40, 20, 15]), 0.9),
        ("skewed sizes", np.array([1500.0, 300.0, 60.0, 40.0]), np.array([30, 20, 15, 15]), 0.85),
    ]
    rng = np.random.default_rng(20)
    se = 2 * math.sqrt(DELTA * (1 - DELTA) / reps)
    print(
        f"1. validity at the boundary: rejection rate at delta {DELTA}, {reps} repetitions per "
        f"truth (above {DELTA + se:.3f} would exceed delta beyond 2 Monte Carlo SE)"
    )
    print(f"   {'truth':<34} {'betting':>8} {'Chernoff':>8} {'pooled LF':>9} {'current':>8}")
    for name, big_n, n, target in designs:
        print(f"   {name}: N_h {big_n.astype(int).tolist()}, n_h {n.tolist()}, target {target}")
        worst = dict.fromkeys(("betting", "Chernoff", "pooled LF", "current"), 0.0)
        for truth, right in boundary_truths(big_n, n, target):
            k = np.stack(
                [
                    rng.hypergeometric(right[h], big_n[h] - right[h], n[h], reps)
                    for h in range(len(n))
                ],
                axis=1,
            ).astype(float)
            rates = {
                key: float(np.mean(p <= DELTA))
                for key, p in current_pvalues(big_n, n, k, target).items()
            }
            seen: dict[tuple[float, ...], float] = {}
            bets = np.array(
                [seen.setdefault(tuple(row), betting_pvalue(big_n, n, row, target)) for row in k]
            )
            rates["betting"] = float(np.mean(bets <= DELTA))
            worst = {key: max(worst[key], rates[key]) for key in worst}
            print(
                f"   {truth:<34} {rates['betting']:8.4f} {rates['Chernoff']:8.4f} "
                f"{rates['pooled LF']:9.4f} {rates['current']:8.4f}",
                flush=True,
            )
        print(
            f"   {'worst':<34} {worst['betting']:8.4f} {worst['Chernoff']:8.4f} "
            f"{worst['pooled LF']:9.4f} {worst['current']:8.4f}"
        )


# --- 2. p-values on the same labels -------------------------------------------------------


def one_cell() -> None:
    """One cell of 20,000 jobs against 0.95: the betting family's cost is there already."""
    print("\n2. p-values of one cell (20,000 jobs, target 0.95)")
    print(
        f"   {'right/labels':<14} {'exact':>8} {'Chernoff':>8} {'betting':>8} {'fixed':>8} "
        f"{'ceiling':>8}"
    )
    size, target = np.array([20_000.0]), 0.95
    for n, k in ((60, 60), (100, 99), (200, 196), (400, 388), (800, 772)):
        one = (np.array([n]), np.array([k]))
        print(
            f"   {f'{k}/{n}':<14} {certify_module.binomial_tail(k, n, target):8.4f} "
            f"{certify_module.stratified_pvalue(np.ones(1), *one, target):8.4f} "
            f"{betting_pvalue(size, *one, target):8.4f} "
            f"{betting_pvalue(size, *one, target, math.inf):8.4f} "
            f"{oracle_bound(np.ones(1), *one, target):8.4f}"
        )


def pvalues_on_populations(samples: int) -> None:
    print(
        "\n3. p-values on the same labels (accepted sets at the three top thresholds; "
        "medians over the sets where the current test's p-value is below 0.5)"
    )
    cases: list[tuple[Population, float, str | int, int]] = [
        (calibrated_population(20_000), 0.95, "neyman", 400),
        (skewed_population(20_000), 0.85, 25, 150),
    ]
    print(
        f"   {'population, design':<40} {'sets':>4} {'current':>8} {'betting':>8} "
        f"{'fixed':>8} {'ceiling':>8} {'exact*':>8}"
    )
    for pop, target, design, budget in cases:
        per: np.ndarray | int = (
            allocation(pop, budget, design) if isinstance(design, str) else design
        )
        rows = draw_rows(pop, per, samples, np.random.default_rng(5))
        values = np.unique(pop.confidence)
        groups = np.searchsorted(values, pop.confidence)
        out: dict[str, list[float]] = {
            "current": [],
            "betting": [],
            "fixed bet": [],
            "ceiling": [],
            "exact": [],
        }
        for r in rows:
            cells = cell_counts(
                sample_of(pop, r), groups, len(values), pop.correct[r].astype(float)
            )
            big_n, n, k, _ = (np.cumsum(c[::-1], axis=0)[::-1] for c in cells)
            for v in range(len(values) - 3, len(values)):
                now = current_pvalues(big_n[v], n[v], k[v][None, :], target)["current"][0]
                if now >= 0.5:
                    continue
                out["current"].append(now)
                out["betting"].append(betting_pvalue(big_n[v], n[v], k[v], target))
                out["fixed bet"].append(betting_pvalue(big_n[v], n[v], k[v], target, math.inf))
                out["ceiling"].append(oracle_bound(big_n[v] / big_n[v].sum(), n[v], k[v], target))
                out["exact"].append(certify_module.binomial_tail(k[v].sum(), n[v].sum(), target))
        med = {key: float(np.median(val)) for key, val in out.items()}
        now = np.array(out["current"])
        below = np.mean(np.minimum(out["betting"], out["fixed bet"]) < now)
        ceiling_below = np.mean(np.array(out["ceiling"]) < now)
        label = f"{pop.name.split(' (')[0]}, {design} ({budget} labels)"
        print(
            f"   {label:<40} {len(out['current']):4d} {med['current']:8.4f} {med['betting']:8.4f} "
            f"{med['fixed bet']:8.4f} {med['ceiling']:8.4f} {med['exact']:8.4f}   either betting "
            f"variant below current in {below:.0%} of sets, the ceiling in {ceiling_below:.0%}"
        )
    print("   * the exact binomial on the pooled labels: not valid with unequal weights, for scale")


# --- 3. certification ----------------------------------------------------------------------

WEIGHTED = "candidate for unequal weights"
#: A p-value of ``accuracy <= target`` from the cells' jobs, labels and right labels.
Test = Callable[[np.ndarray, np.ndarray, np.ndarray, float], float]


def ceiling(big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float) -> float:
    """:func:`oracle_bound` of the cells (not a valid p-value: what no betting test passes)."""
    return oracle_bound(big_n / big_n.sum(), n, k, target)


@contextmanager
def in_place_of_chernoff(test: Test) -> Iterator[None]:
    """``certify`` with ``test`` wherever it now uses the stratified Chernoff bound (the same
    design-only choice, on a record at the planning accuracy, against the pooled test)."""
    methods, pvalues = certify_module._methods, certify_module._pvalues

    def new_methods(big_n: np.ndarray, n: np.ndarray, target: float, design: object) -> list[str]:
        out = methods(big_n, n, target, design)  # type: ignore[arg-type]
        for v, method in enumerate(out):
            if method in (certify_module.CHERNOFF, certify_module.POOLED):
                planned = np.floor(n[v] * (1 + target) / 2)
                pooled = certify_module.pooled_pvalue(big_n[v], n[v], planned, target)
                other = test(big_n[v], n[v], planned, target)
                out[v] = certify_module.POOLED if pooled <= other else WEIGHTED
        return out

    def new_pvalues(
        chosen: list[str], big_n: np.ndarray, n: np.ndarray, k: np.ndarray, target: float
    ) -> np.ndarray:
        out: np.ndarray = pvalues(chosen, big_n, n, k, target)
        for v, method in enumerate(chosen):
            if method == WEIGHTED:
                out[v] = test(big_n[v], n[v], k[v], target)
        return out

    certify_module._methods = new_methods  # type: ignore[assignment]
    certify_module._pvalues = new_pvalues  # type: ignore[assignment]
    try:
        yield
    finally:
        certify_module._methods, certify_module._pvalues = methods, pvalues


def certification(reps: int) -> None:
    print(f"\n4. certification, delta {DELTA}, {reps} repetitions: certified share (violations)")
    cases: list[tuple[Population, float, str, np.ndarray]] = []
    calibrated = calibrated_population(20_000)
    skewed = skewed_population(20_000)
    for budget in (100, 200, 400, 800):
        cases.append(
            (calibrated, 0.95, f"Neyman {budget}", allocation(calibrated, budget, "neyman"))
        )
    for per in (25, 50):
        cases.append((skewed, 0.85, f"{per} per type", np.full(len(skewed.names), per)))
    print(
        f"   {'population':<12} {'design':<14} {'current':>16} {'with betting':>16} "
        f"{'ceiling*':>16}   time"
    )
    for pop, target, name, design in cases:
        started = time.perf_counter()
        rows = draw_rows(pop, design, reps, np.random.default_rng(7))
        old = certified_by_package(pop, rows, target, DELTA)
        with in_place_of_chernoff(betting_pvalue):
            new = certified_by_package(pop, rows, target, DELTA)
        with in_place_of_chernoff(ceiling):
            top = certified_by_package(pop, rows, target, DELTA)
        print(
            f"   {pop.name.split(' (')[0]:<12} {name:<14} "
            f"{old.rate:9.3f} ({old.violated.mean():.3f}) "
            f"{new.rate:9.3f} ({new.violated.mean():.3f}) "
            f"{top.rate:9.3f} ({top.violated.mean():.3f})"
            f"   {time.perf_counter() - started:4.0f} s",
            flush=True,
        )
    print(
        "   * betting with bets chosen after the labels in place of the Chernoff bound: not a "
        "valid test, an upper bound on what any betting test could certify"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reps", type=int, default=100, help="certification repetitions")
    parser.add_argument("--validity-reps", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=40, help="samples for the p-value table")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    validity(args.validity_reps)
    one_cell()
    pvalues_on_populations(args.samples)
    certification(args.reps)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
