"""The empirical-Bayes posterior of every cell's accuracy (predicted type x stated confidence)
that ``plan_labels`` simulates from.

Three levels: the trend of accuracy in stated confidence (a logistic fit, drawn from its
approximate posterior), each confidence value around that trend, each cell around the
logit-additive centre of its value and its type (types shrunk towards the pooled accuracy);
each prior is worth as many labels as the groups' spread beyond binomial noise allows (method of
moments, within [``PRIOR_LABELS``, ``PRIOR_MOST``]). Independent uniform priors per cell pull
near-perfect cells down (16 right out of 16 has a posterior mean of 0.944); this one does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PRIOR_LABELS", "PRIOR_MOST", "Posterior", "cell_posterior"]

#: The empirical-Bayes prior of a cell's accuracy is worth at least this many labels.
PRIOR_LABELS = 4.0


def _strength(right: np.ndarray, labels: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """How many labels a Beta prior centred on ``centre`` is worth for groups with ``right``
    out of ``labels``: as much as their spread around it beyond binomial noise allows (method
    of moments; 10,000 when they differ from it no more than chance)."""
    seen = labels > 0
    total = float(labels.sum())
    if seen.sum() < 2:
        return np.full(len(labels), 1e4)
    share = right[seen] / labels[seen]
    noise = centre[seen] * (1 - centre[seen])
    between = max(float(np.sum(labels[seen] * (share - centre[seen]) ** 2 - noise)), 0.0) / total
    if between <= 0:
        return np.full(len(labels), 1e4)
    return np.asarray(np.clip(centre * (1 - centre) / between - 1, 0.0, 1e4))


def _trend(
    right: np.ndarray, labels: np.ndarray, stated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy by stated confidence, fitted as ``logit(acc) = a + b logit(stated)`` on the
    labels (Newton steps, lightly ridged): flat where confidence says nothing, steep where it
    tells right from wrong. Returns the design ``[1, logit(stated)]``, the coefficients and
    their approximate posterior covariance (the inverse Hessian)."""
    x = np.log(np.clip(stated, 0.01, 0.99) / (1 - np.clip(stated, 0.01, 0.99)))
    design = np.column_stack([np.ones_like(x), x])
    coef = np.zeros(2)
    hessian = np.eye(2)
    for _ in range(25):
        fit = 1 / (1 + np.exp(-(design @ coef)))
        gradient = design.T @ (right - labels * fit) - 1e-2 * coef
        hessian = (design.T * (labels * fit * (1 - fit))) @ design + 1e-2 * np.eye(2)
        coef = coef + np.linalg.solve(hessian, gradient)
    return design, coef, np.linalg.inv(hessian)


#: A prior is worth at most this many labels, however alike the groups look.
PRIOR_MOST = 1_000.0


def _logit(x: np.ndarray | float) -> np.ndarray:
    x = np.clip(x, 1e-3, 1 - 1e-3)
    return np.asarray(np.log(x / (1 - x)))


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


@dataclass(frozen=True)
class Posterior:
    """The posterior of every cell's accuracy (predicted type x stated confidence), drawn in
    three levels: the trend of accuracy in stated confidence (its logistic fit's approximate
    posterior), each confidence value's accuracy around that trend, then each cell's around
    the logit-additive centre that value and the type's shrunk accuracy give. ``stated``
    (no labels) centres the cells on the stated confidence instead."""

    cell: np.ndarray  # each job's cell
    right: np.ndarray  # per cell
    labels: np.ndarray
    worth: np.ndarray  # what each cell's prior is worth, in labels
    type_logit: np.ndarray
    pooled_logit: float
    design: np.ndarray  # per confidence value: [1, logit(stated)]
    coef: np.ndarray
    coef_cov: np.ndarray
    value_right: np.ndarray
    value_labels: np.ndarray
    value_worth: np.ndarray
    stated: np.ndarray | None

    def centre(self, value: np.ndarray) -> np.ndarray:
        if self.stated is not None:
            return self.stated
        score = self.type_logit[:, None] + _logit(value)[None, :] - self.pooled_logit
        return _expit(score).ravel()

    def _value(self, trend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        alpha = self.value_right + self.value_worth * trend
        beta = self.value_labels - self.value_right + self.value_worth * (1 - trend)
        return np.maximum(alpha, 1e-3), np.maximum(beta, 1e-3)

    def mean(self) -> np.ndarray:
        """Posterior mean of each cell at the trend's and the values' posterior means."""
        alpha, beta = self._value(_expit(self.design @ self.coef))
        centre = self.centre(alpha / (alpha + beta))
        return np.asarray((self.right + self.worth * centre) / (self.labels + self.worth))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        coef = rng.multivariate_normal(self.coef, self.coef_cov)
        centre = self.centre(rng.beta(*self._value(_expit(self.design @ coef))))
        alpha = self.right + self.worth * centre
        beta = self.labels - self.right + self.worth * (1 - centre)
        return np.asarray(rng.beta(np.maximum(alpha, 1e-3), np.maximum(beta, 1e-3)))


def cell_posterior(
    types: pd.Series,
    conf: np.ndarray,
    usable: np.ndarray,
    correct: np.ndarray,
    labelled: bool,
    weight: np.ndarray | None = None,
) -> Posterior:
    """The empirical-Bayes posterior of every cell's accuracy (see :class:`Posterior`): types
    shrunk towards the pooled accuracy, confidence values towards the fitted trend, cells
    towards both, each by a prior worth as many labels as the groups' spread beyond binomial
    noise allows, within [``PRIOR_LABELS``, ``PRIOR_MOST``]; the trend's own uncertainty is
    drawn too. Independent uniform priors pull near-perfect cells down (16 right out of 16
    has a posterior mean of 0.944); this one does not.

    ``weight`` (per job; used on the labelled ones) is each label's design weight, the jobs
    of its stratum per label. Groups wider than a cell (a type, a confidence value, all the
    labels) take their shares design-weighted, with as many labels as they hold: a pilot of
    so many per type samples rare types faster, and their plain share, pooled, pulled every
    common type towards them (the whole row 1.5 points low on average, uninformative
    population)."""
    type_codes, _ = pd.factorize(types.astype(object).to_numpy(object), sort=True)
    finite = np.isfinite(conf)
    values = np.unique(conf[finite])
    value_codes = np.where(
        finite, np.searchsorted(values, np.where(finite, conf, 0.0)), len(values)
    )
    width = len(values) + 1
    cell = type_codes.astype(np.int64) * width + value_codes
    size = int(type_codes.max() + 1) * width if len(cell) else 0
    rows = np.flatnonzero(usable)
    right = np.bincount(cell[rows], weights=correct[rows], minlength=size)
    labels = np.bincount(cell[rows], minlength=size).astype(float)
    w = np.ones(len(rows)) if weight is None else np.asarray(weight, float)[rows]
    mass = np.bincount(cell[rows], weights=w, minlength=size).reshape(-1, width)
    hits = np.bincount(cell[rows], weights=w * correct[rows], minlength=size).reshape(-1, width)

    def weighted(axis: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Design-weighted right labels and labels of the groups along ``axis``."""
        n = labels.reshape(-1, width).sum(axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n > 0, hits.sum(axis=axis) / mass.sum(axis=axis), 0.0)
        return np.asarray(n * share), np.asarray(n, dtype=float)

    value_right, value_labels = weighted(0)

    def worth(k: np.ndarray, n: np.ndarray, centre: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(_strength(k, n, centre), PRIOR_LABELS, PRIOR_MOST))

    design, coef, cov = _trend(value_right, value_labels, np.append(values, 0.5))
    if not labelled or labels.sum() == 0:
        stated = np.bincount(cell, weights=np.where(finite, conf, 0.5), minlength=size)
        stated = np.clip(stated / np.maximum(np.bincount(cell, minlength=size), 1), 0.05, 0.99)
        zero = np.zeros(width)
        return Posterior(cell, right, labels, np.full(size, PRIOR_LABELS), np.zeros(1), 0.0,
                      design, coef, cov, zero, zero, zero, stated)  # fmt: skip
    type_right, type_labels = weighted(1)
    all_right, all_labels = weighted(None)
    pooled = (float(all_right) + 1) / (float(all_labels) + 2)
    flat = np.full(len(type_labels), pooled)
    type_worth = worth(type_right, type_labels, flat)
    by_type = (type_right + type_worth * pooled) / (type_labels + type_worth)
    trend = _expit(design @ coef)
    prior = Posterior(
        cell, right, labels, np.full(size, PRIOR_LABELS), _logit(by_type), float(_logit(pooled)),
        design, coef, cov, value_right, value_labels, worth(value_right, value_labels, trend),
        None,
    )  # fmt: skip
    alpha, beta = prior._value(trend)
    centre = prior.centre(alpha / (alpha + beta))
    return Posterior(**{**prior.__dict__, "worth": worth(right, labels, centre)})
