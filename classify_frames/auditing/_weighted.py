"""Order statistics of weighted rows, as the in-memory audit computes them on every job.

An audit counted in cells (:mod:`._sources`) holds one row per cell with a ``weight``, the
jobs it stands for. Its quantiles are those of the expanded jobs, found from cumulative
weights without expanding them: numpy's linear ``percentile`` and pandas' grouped ``median``
and ``quantile`` (the same order statistics, interpolated as each library does).
"""

from __future__ import annotations

import numpy as np

__all__ = ["median", "numpy_percentiles", "pandas_quantile", "weights_of"]


def weights_of(rows: object) -> np.ndarray | None:
    """The ``weight`` column of a frame counted in cells, None for one of jobs."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame) and "weight" in rows.columns:
        weights: np.ndarray = rows["weight"].to_numpy(np.int64)
        return weights
    return None


def _sorted(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(values) & (weights > 0)
    order = np.argsort(values[keep], kind="stable")
    return values[keep][order], np.cumsum(weights[keep][order])


def _at(values: np.ndarray, cumulative: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The ``index``-th (0-based) of the expanded sorted values."""
    found: np.ndarray = values[np.searchsorted(cumulative, index, side="right")]
    return found


def numpy_percentiles(
    values: np.ndarray, weights: np.ndarray, percents: list[float]
) -> list[float]:
    """``np.percentile`` of the expanded non-NaN values (linear), NaN when there are none."""
    ordered, cumulative = _sorted(values, weights)
    if not len(ordered):
        return [float("nan")] * len(percents)
    n = int(cumulative[-1])
    q = np.true_divide(np.asarray(percents, float), 100)
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    gamma = virtual - previous
    low = previous.astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    a, b = _at(ordered, cumulative, low), _at(ordered, cumulative, high)
    diff = b - a
    out = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return [float(v) for v in out]


def pandas_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """pandas' ``quantile(q)`` (linear) of the expanded non-NaN values."""
    ordered, cumulative = _sorted(values, weights)
    if not len(ordered):
        return float("nan")
    n = int(cumulative[-1])
    index = q * (n - 1)
    low = int(np.floor(index))
    frac = index - low
    a = float(_at(ordered, cumulative, np.array([low]))[0])
    if frac == 0:
        return a
    b = float(_at(ordered, cumulative, np.array([min(low + 1, n - 1)]))[0])
    return a + (b - a) * frac


def median(values: np.ndarray, weights: np.ndarray) -> float:
    """pandas' grouped ``median`` of the expanded non-NaN values."""
    ordered, cumulative = _sorted(values, weights)
    if not len(ordered):
        return float("nan")
    n = int(cumulative[-1])
    if n % 2:
        return float(_at(ordered, cumulative, np.array([n // 2]))[0])
    pair = _at(ordered, cumulative, np.array([n // 2 - 1, n // 2]))
    return float((pair[0] + pair[1]) / 2)
