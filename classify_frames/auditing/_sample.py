"""A labelled sample with its design, and design-weighted estimates with 95% intervals.

This is the small internal API every population figure of the audit goes through, and the one
for other code that needs "the same design-aware handling of a labelled sample" (``cf.compare``):

>>> from classify_frames.auditing._design import sample_from_labels      # doctest: +SKIP
>>> from classify_frames.auditing._prepare import prepare                # doctest: +SKIP
>>> jobs, _ = prepare(df)                                                # doctest: +SKIP
>>> truth, sample = sample_from_labels(jobs, "labels.csv")               # doctest: +SKIP
>>> done = jobs[jobs["completed"]]                                       # doctest: +SKIP
>>> right = (done["type"].astype(object).to_numpy()[sample.rows]
...          == truth[jobs["completed"]].astype(object).to_numpy()[sample.rows])  # doctest: +SKIP
>>> est = share(sample, right.astype(float))  # one per sample row     # doctest: +SKIP
>>> est.estimate, est.low, est.high, est.labels                          # doctest: +SKIP

``sample`` is None when no label is a random sample (a "lowest" queue); ``sample.trusted`` is
False for design-less labels that fail the mix check (mark or refuse figures then). ``share``
takes an optional ``domain`` mask over the completed jobs (one type, the accepted jobs ...).
For an outcome in [-1, 1] (a paired difference) use :func:`cell_counts` and :func:`combine`
and read ``estimate`` and ``var`` (a normal interval), not the Wilson bounds.

The population is the completed jobs of the frame. Labelled rows are grouped in strata (the
predicted type, split at the design's confidence bands); within a stratum they are a simple
random sample of it, so a share over any domain (a type, the jobs accepted at a threshold, one
confidence value) is the post-stratified mean ``sum_h N_hD / N_D * mean_hD`` with the stratum
sizes ``N_hD`` known exactly from the frame (Cochran, *Sampling Techniques*, 5.A).

Intervals are Wilson intervals at the effective sample size ``p(1-p)/var`` (the stratified
variance with finite-population correction), or Kish's ``(sum w)^2 / sum w^2`` where that
variance is 0 (every label in each cell right, or every one wrong). A stratum cell with
one label gets the largest variance a share can have (1/4); a cell with jobs but no label is
left out of the estimate, and the interval is widened to hold any accuracy of those jobs
(``unlabelled`` says what share of the domain that is). Coverage is checked by simulation in
``tests/test_audit_simulation.py`` and ``benchmarks/sim_audit.py``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._stats import Z95, wilson_share

__all__ = [
    "LabelledSample",
    "ShareEstimate",
    "bounded",
    "bounds",
    "cell_counts",
    "combine",
    "share",
    "stratum_names",
]


@dataclass(frozen=True)
class LabelledSample:
    """Which completed jobs were labelled, and how: the input of every population estimate.

    ``population`` is the stratum code of each completed job (positions ``0..N-1`` in the order
    of ``jobs[jobs["completed"]]``), ``rows`` the positions of the labelled jobs usable as a
    random sample, ``names`` the strata. ``kind`` is ``"stratified"`` (a design read from the
    labels), ``"random"`` (labels without a design whose mix matches the population) or
    ``"unchecked"`` (labels without a design that fail that check: figures are marked) or
    ``"other frame"`` (a stratified design drawn on another frame: figures are marked).
    ``missing`` holds the positions of jobs a stratified queue drew that came back without a
    label (nonresponse; see :func:`bounds`). ``weights`` counts the jobs each position stands
    for where the audit was counted in cells (:mod:`._sources`; a labelled or drawn job is a
    position of its own, weight 1); None: one job each.
    """

    population: np.ndarray
    rows: np.ndarray
    names: list[str]
    kind: str
    bands: tuple[float, ...] = ()
    notes: list[str] = field(default_factory=list)
    missing: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    weights: np.ndarray | None = None

    @property
    def sizes(self) -> np.ndarray:
        """Jobs per stratum (N_h)."""
        if self.weights is None:
            return np.bincount(self.population, minlength=len(self.names))
        counts = np.bincount(self.population, weights=self.weights, minlength=len(self.names))
        return counts.astype(np.int64)

    def jobs(self, mask: np.ndarray | None = None) -> int:
        """Jobs at the positions of ``mask`` (all of them by default), weights counted."""
        if self.weights is None:
            return len(self.population) if mask is None else int(np.count_nonzero(mask))
        return int(self.weights.sum() if mask is None else self.weights[mask].sum())

    @property
    def strata(self) -> np.ndarray:
        """The stratum of each labelled row."""
        picked: np.ndarray = self.population[self.rows]
        return picked

    @property
    def labels(self) -> int:
        return len(self.rows)

    @property
    def drawn(self) -> int:
        """Jobs drawn for labelling: the labelled rows and the nonresponse."""
        return len(self.rows) + len(self.missing)

    @property
    def nonresponse(self) -> float:
        """Share of the drawn jobs without a label (0 when there is none)."""
        return len(self.missing) / self.drawn if self.drawn else 0.0

    @property
    def exact(self) -> bool:
        """Whether every completed job is labelled: figures are then exact, not estimates."""
        return len(self.rows) >= len(self.population) and not len(self.missing)

    @property
    def trusted(self) -> bool:
        """Whether the labels are known to be a random sample (a design, or a passed check)."""
        return self.kind in ("stratified", "random")


@dataclass(frozen=True)
class ShareEstimate:
    """A share of a population domain from a labelled sample, with its 95% interval."""

    estimate: float
    low: float
    high: float
    labels: int
    jobs: int
    unlabelled: float  # share of the domain's jobs in strata without a label

    def __str__(self) -> str:
        return f"{self.estimate:.1%} (95% CI {self.low:.1%}-{self.high:.1%}, {self.labels} labels)"


def stratum_names(types: pd.Series, confidence: np.ndarray, bands: tuple[float, ...]) -> pd.Series:
    """The stratum of each job: its predicted type, and its confidence band when ``bands`` are
    given (``"invoice | c >= 0.9"``); a missing confidence falls in the lowest band."""
    names = types.astype(object).astype(str)
    if not bands:
        return names
    edges = np.asarray(sorted(bands), dtype=float)
    band = np.searchsorted(edges, np.nan_to_num(confidence, nan=-1.0), side="right")
    labels = [f"c < {edges[0]:g}"]
    labels += [f"{lo:g} <= c < {hi:g}" for lo, hi in itertools.pairwise(edges)]
    labels += [f"c >= {edges[-1]:g}"]
    suffix = np.array(labels, dtype=object)[band]
    return pd.Series(names.to_numpy(object) + " | " + suffix, index=types.index)


def cell_counts(
    sample: LabelledSample, groups: np.ndarray, n_groups: int, outcome: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per (group, stratum) cell: jobs ``N``, labels ``n``, outcome sum ``k`` and sum of squares
    ``q`` (all ``(n_groups, H)``). ``groups`` gives each population job's group (-1: none);
    ``outcome`` is one value in [0, 1] per labelled row (NaN: left out)."""
    h = len(sample.names)
    inside = groups >= 0
    pop_cells = groups[inside] * h + sample.population[inside]
    weights = None if sample.weights is None else sample.weights[inside]
    big_n = np.bincount(pop_cells, weights=weights, minlength=n_groups * h).reshape(n_groups, h)
    row_groups = groups[sample.rows]
    y = np.asarray(outcome, dtype=float)
    keep = (row_groups >= 0) & ~np.isnan(y)
    cells = row_groups[keep] * h + sample.strata[keep]
    size = n_groups * h
    n = np.bincount(cells, minlength=size).reshape(n_groups, h)
    k = np.bincount(cells, weights=y[keep], minlength=size).reshape(n_groups, h)
    q = np.bincount(cells, weights=y[keep] ** 2, minlength=size).reshape(n_groups, h)
    return big_n.astype(float), n.astype(float), k, q


def combine(
    big_n: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    q: np.ndarray | None = None,
    z: float = Z95,
    *,
    finite: bool = True,
) -> dict[str, np.ndarray]:
    """Post-stratified means of each row of ``(G, H)`` cell counts, with Wilson intervals at the
    effective sample size (see the module's docstring). ``q`` (sums of squares) defaults to
    ``k``, right for 0/1 outcomes. ``finite=False`` drops the finite-population correction:
    the variance of the process that made the jobs rather than of these jobs (for tests of a
    change, e.g. drift). Returns arrays of length G: estimate, low, high, var, labels, jobs,
    unlabelled, n_eff."""
    q = k if q is None else q
    jobs = big_n.sum(axis=1)
    labelled = (n > 0) & (big_n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(big_n > 0, big_n / jobs[:, None], 0.0)
        covered = np.where(labelled, weight, 0.0).sum(axis=1)
        w = np.where(labelled, weight / covered[:, None], 0.0)
        mean = np.where(labelled, k / n, 0.0)
        var_cell = np.where(n > 1, (q - n * mean**2) / (n - 1), 0.25)
        var_cell = np.clip(var_cell, 0.0, 0.25)
        fpc = np.clip(1.0 - n / np.where(big_n > 0, big_n, 1.0), 0.0, 1.0) if finite else 1.0
        estimate = (w * mean).sum(axis=1)
        var = np.where(labelled, w**2 * var_cell / np.maximum(n, 1) * fpc, 0.0).sum(axis=1)
        kish = 1.0 / np.where(labelled, w**2 / np.maximum(n, 1) * fpc, 0.0).sum(axis=1)
        spread = estimate * (1 - estimate)
        n_eff = np.where((var > 0) & (spread > 0), spread / var, kish)
        lo, hi = wilson_share(estimate, n_eff, z)
    # (sums of shares can miss 1 by a rounding error: that is no unlabelled share)
    unlabelled = np.where(jobs > 0, np.where(covered > 1 - 1e-9, 0.0, 1.0 - covered), np.nan)
    none = ~labelled.any(axis=1)
    estimate = np.where(none, np.nan, estimate)
    # jobs in cells without a label could be all right or all wrong: the interval holds both
    lo = np.where(none, np.nan, np.minimum(lo * (1 - unlabelled), estimate))
    hi = np.where(none, np.nan, np.maximum(hi * (1 - unlabelled) + unlabelled, estimate))
    return {
        "estimate": estimate,
        "low": lo,
        "high": hi,
        "var": np.where(none, np.nan, var),
        "labels": n.sum(axis=1).astype(np.int64),
        "jobs": jobs.astype(np.int64),
        "unlabelled": unlabelled,
        "n_eff": np.where(none, 0.0, n_eff),
    }


def share(
    sample: LabelledSample, outcome: np.ndarray, domain: np.ndarray | None = None
) -> ShareEstimate:
    """The population share of a 0/1 ``outcome`` (one per labelled row, NaN: left out) over
    ``domain`` (a mask over the completed jobs; all of them by default), with its 95% interval.

    >>> s = LabelledSample(np.array([0, 0, 0, 0]), np.array([0, 1]), ["a"], "random")
    >>> str(share(s, np.array([1.0, 1.0])))
    '100.0% (95% CI 51.0%-100.0%, 2 labels)'
    """
    groups = np.zeros(len(sample.population), np.int64)
    if domain is not None:
        groups = np.where(np.asarray(domain, bool), 0, -1)
    out = combine(*cell_counts(sample, groups, 1, outcome))
    return ShareEstimate(
        estimate=float(out["estimate"][0]),
        low=float(out["low"][0]),
        high=float(out["high"][0]),
        labels=int(out["labels"][0]),
        jobs=int(out["jobs"][0]),
        unlabelled=float(out["unlabelled"][0]),
    )


def no_estimate(labels: int = 0, jobs: int = 0) -> ShareEstimate:
    """What a population figure is when the labels cannot support one."""
    return ShareEstimate(math.nan, math.nan, math.nan, labels, jobs, math.nan)


def bounded(
    sample: LabelledSample, correct: np.ndarray, missing_value: np.ndarray | float
) -> tuple[LabelledSample, np.ndarray]:
    """The sample with its nonresponse (``sample.missing``) taken in as labelled rows whose
    outcome is ``missing_value`` (a number, or one per missing row), and the outcomes."""
    rows = np.concatenate([sample.rows, sample.missing]).astype(np.int64)
    filled = np.broadcast_to(np.asarray(missing_value, float), (len(sample.missing),))
    widened = LabelledSample(
        sample.population,
        rows,
        sample.names,
        sample.kind,
        sample.bands,
        sample.notes,
        weights=sample.weights,
    )
    return widened, np.concatenate([np.asarray(correct, float), filled])


def bounds(
    sample: LabelledSample, correct: np.ndarray, domain: np.ndarray | None = None
) -> tuple[ShareEstimate, ShareEstimate]:
    """Bounds that hold whatever the missing labels are (Manski 1989, "Anatomy of the
    selection problem"): the share with every drawn but unlabelled job wrong, and with every
    one right. The 95% range is the first's ``low`` to the second's ``high``.

    >>> s = LabelledSample(np.zeros(100, np.int64), np.arange(8), ["a"], "random",
    ...                    missing=np.array([8, 9]))
    >>> low, high = bounds(s, np.ones(8))
    >>> low.estimate, high.estimate, low.labels
    (0.8, 1.0, 10)
    """
    lowest = share(*bounded(sample, correct, 0.0), domain)
    highest = share(*bounded(sample, correct, 1.0), domain)
    return lowest, highest
