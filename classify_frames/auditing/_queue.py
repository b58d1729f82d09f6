"""Review queues: jobs to label, with the sampling design in columns (see :mod:`._design`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

from ._design import Allocation, allocate, design_columns, frame_fingerprint
from ._prepare import NO_MATCH
from ._sample import stratum_names

__all__ = [
    "QUEUE_COLUMNS",
    "Strategy",
    "check_options",
    "draw_stratified",
    "per_stratum",
    "queue_table",
    "review_queue",
    "stratum_spread",
]

Strategy = Literal["lowest", "stratified", "margin"]
QUEUE_COLUMNS = {
    "id": "id",
    "document": "file_input",
    "type": "result.type",
    "confidence": "result.confidence",
    "reasoning": "result.reasoning",
}


def review_queue(
    jobs: pd.DataFrame,
    threshold: float,
    n: int = 50,
    strategy: Strategy = "lowest",
    seed: int = 0,
    *,
    budget: int | None = None,
    allocation: Allocation | None = None,
    bands: tuple[float, ...] = (),
    labelled: np.ndarray | None = None,
    pilot: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The completed jobs most worth a human look, with an empty ``label`` column to fill in,
    and the design columns that let :func:`audit` use the labels correctly.

    - ``"stratified"``: a random sample (``seed``) in each stratum, the predicted type (and "no
      match"), split at the confidence ``bands`` if given. ``n`` per stratum by default
      (``allocation="equal"``); with ``budget=400`` the total is spread ``"proportional"`` to
      the strata's sizes or by ``"neyman"`` allocation (the default with a budget: more labels
      where correctness varies more, judged from earlier labels or else the stated
      confidence). Rows come in random order, so a queue labelled only from the top is still
      a random sample of every stratum. ``"proportional"`` gives every job the same chance
      (self-weighting): certified thresholds then use the exact binomial on pooled labels.
    - ``"lowest"``: the ``n`` lowest stated confidences (missing ones first), no-match jobs
      before others at equal confidence; ``"margin"``: the ``n`` jobs stated closest to
      ``threshold``. Both find errors; their labels are never used as a random sample.

    ``labelled`` marks completed jobs already labelled: a stratified queue does not draw them
    again (the rounds together stay a random sample of each stratum).
    """
    check_options(n, strategy, budget, allocation, bands)
    # only the columns a draw reads: the queue's own columns are taken for its rows alone
    completed = jobs.loc[jobs["completed"], ["type", "confidence"]]
    population = len(completed)
    pool = completed if labelled is None or strategy != "stratified" else completed[~labelled]
    conf = pool["confidence"].to_numpy(float)
    if strategy in ("lowest", "margin"):
        picked = _chosen(pool, conf, n, strategy, threshold, jobs["id"])
        strata = pd.Series("", index=picked, dtype=object)
        design = design_columns(strategy, strata, pd.Series(dtype="int64"), population)
    else:
        names = stratum_names(pool["type"], conf, tuple(bands))
        sizes = names.value_counts()
        allocation, wanted = per_stratum(
            sizes,
            n,
            budget,
            allocation,
            lambda: stratum_spread(names, pool, pilot).reindex(sizes.index).to_numpy(float),
        )
        counts = pd.Series(wanted, index=sizes.index)
        picked = draw_stratified(names, counts, seed)
        strata = names[picked]
        design = design_columns(
            f"stratified/{allocation}",
            strata,
            sizes,
            population,
            tuple(bands),
            frame_fingerprint(jobs),
        )
    return queue_table(jobs, picked, design)


def check_options(
    n: int,
    strategy: str,
    budget: int | None,
    allocation: Allocation | None,
    bands: tuple[float, ...],
) -> None:
    """Refuse a review queue's options that do not fit together, before anything is drawn."""
    if n < 1:
        msg = f"n must be at least 1, got {n!r}"
        raise ValueError(msg)
    if budget is not None and budget < 1:
        msg = f"budget must be at least 1, got {budget!r}"
        raise ValueError(msg)
    if strategy in ("lowest", "margin"):
        if budget is not None or allocation is not None or bands:
            msg = (
                f"budget=, allocation= and bands= apply to strategy='stratified', not {strategy!r}"
            )
            raise ValueError(msg)
    elif strategy != "stratified":
        msg = f"strategy must be 'lowest', 'stratified' or 'margin', got {strategy!r}"
        raise ValueError(msg)


def per_stratum(
    sizes: pd.Series,
    n: int,
    budget: int | None,
    allocation: Allocation | None,
    spread: Callable[[], np.ndarray],
) -> tuple[Allocation, np.ndarray]:
    """The allocation used and the labels it gives each stratum of ``sizes``: ``n`` each
    without a ``budget``, else the budget spread by ``allocation`` (``spread()``, each
    stratum's standard deviation of correctness, is read only by "proportional" and "neyman")."""
    if budget is None:
        if allocation not in (None, "equal"):
            msg = f"allocation={allocation!r} needs a total: pass budget=..."
            raise ValueError(msg)
        return "equal", np.minimum(sizes.to_numpy(), n)
    allocation = allocation or "neyman"
    if allocation not in ("equal", "proportional", "neyman"):
        msg = f"allocation must be 'equal', 'proportional' or 'neyman', got {allocation!r}"
        raise ValueError(msg)
    if allocation == "equal":
        return allocation, _equal(budget, sizes.to_numpy())
    # proportional: every job the same chance (no floor of 2 per stratum), so the labels
    # behind any threshold are self-weighting (the exact pooled test)
    floor = 0 if allocation == "proportional" else 2
    return allocation, allocate(budget, sizes.to_numpy(), spread(), allocation, floor)


def _equal(budget: int, sizes: np.ndarray) -> np.ndarray:
    """The same number per stratum (as far as each holds), ``budget`` in total."""
    out = np.zeros(len(sizes), np.int64)
    budget = int(min(budget, sizes.sum()))
    while out.sum() < budget:
        room = np.flatnonzero(out < sizes)
        out[room[: budget - int(out.sum())]] += 1
    return out


def stratum_spread(names: pd.Series, pool: pd.DataFrame, pilot: pd.DataFrame | None) -> pd.Series:
    """The expected standard deviation of correctness per stratum, for Neyman allocation: from
    earlier labels when there are some (``pilot``: ``correct`` and ``labels`` per stratum,
    shrunk as (k + 1) / (n + 2)), else from the stratum's mean stated confidence."""
    guess = pool["confidence"].groupby(names).mean().clip(0.05, 0.95).fillna(0.5)
    if pilot is not None and len(pilot):
        seen = (pilot["correct"] + 1) / (pilot["labels"] + 2)
        guess = seen.reindex(guess.index).fillna(guess)
    spread: pd.Series = (guess * (1 - guess)) ** 0.5
    return spread


def draw_stratified(names: pd.Series, counts: pd.Series, seed: int) -> pd.Index:
    """Index of a simple random sample of ``counts[s]`` jobs from each stratum ``s``, in random
    order (one shuffle, then the first jobs of each stratum)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    shuffled = names.iloc[order]
    rank = shuffled.groupby(shuffled, sort=False).cumcount().to_numpy()
    limit = shuffled.map(counts).fillna(0).to_numpy()
    return names.index[order[rank < limit]]


def _chosen(
    pool: pd.DataFrame, conf: np.ndarray, n: int, strategy: str, threshold: float, ids: pd.Series
) -> pd.Index:
    if strategy == "lowest":
        key = pd.DataFrame(
            {
                "conf": np.nan_to_num(conf, nan=-1.0),
                "match": (pool["type"] != NO_MATCH).to_numpy(bool),
            },
            index=pool.index,
        )
        return _smallest(key, n, ids)
    distance = np.abs(conf - threshold)
    key = pd.DataFrame({"d": distance}, index=pool.index)
    return _smallest(key[~np.isnan(distance)], n, ids)


def _smallest(key: pd.DataFrame, n: int, ids: pd.Series) -> pd.Index:
    """Index of the ``n`` first rows of ``key`` sorted by all its columns, then by ``ids``
    (the last tie-break); only the rows tied with or below the n-th first column value are
    sorted, and only their ids read."""
    first = key.iloc[:, 0].to_numpy(float)
    if len(first) > n:
        cutoff = np.partition(first, n - 1)[n - 1]
        key = key[first <= cutoff]
    key = key.assign(id=ids.loc[key.index])
    return key.sort_values(list(key.columns), kind="stable").index[:n]


def queue_table(jobs: pd.DataFrame, picked: pd.Index, design: pd.DataFrame) -> pd.DataFrame:
    """The queue's columns for the ``picked`` jobs: what a reviewer needs, an empty ``label``
    and the design columns."""
    rows = jobs.loc[picked]
    table = rows[list(QUEUE_COLUMNS)].rename(columns=QUEUE_COLUMNS)
    table["result.type"] = (
        table["result.type"]
        .astype(object)
        .where(table["result.type"].astype(object) != NO_MATCH)
        .astype(pd.StringDtype("pyarrow"))
    )
    table["label"] = pd.array([""] * len(table), dtype=pd.StringDtype("pyarrow"))
    table = pd.concat([table, design.loc[picked]], axis=1)
    return table.reset_index(drop=True)
