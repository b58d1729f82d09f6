"""``cf.audit`` of jobs where they lie: a dataset path or glob (DuckDB), a DuckDB relation, a
Polars LazyFrame or DataFrame, or a PySpark DataFrame.

The engine counts the jobs in cells (:func:`._cells.count_cells`) and reads the few jobs the
labels name (:func:`._cells.labelled_rows`); classify_frames builds from them the frame the
in-memory audit prepares, with one row per cell and a ``weight`` column (the jobs it stands
for), and one row of weight 1 for each job a label or a queue names. Every table below is then
the in-memory audit's own code on that frame, and equals its result on the jobs (integers
exactly, means to the last bits of a sum taken in another order):

- without labels: ``summary``, ``status``, ``errors``, ``by_type``, ``drift()`` (periods of
  a day or more, a baseline period), ``by_configuration``, ``configuration_mix``,
  ``rule_changes``, ``unused_rules``, ``unknown_types``;
  ``review_queue()``, drawn in the engine (a different draw from the in-memory one, equally
  random, reproducible from ``seed``; see :func:`._cells.stratified_draw`);
- with labels: accuracy and its interval, ``by_type``'s population figures, ``confusion``,
  ``calibration()`` (``bins="distinct"`` or ``"uniform"``), ``ece``, ``brier``, ``auroc``,
  ``risk_coverage``, ``recommend_threshold()``, ``disagreements``, ``recalibrate()``;
- ``findings`` (the stuck jobs from one engine query, :func:`._cells.waiting_jobs`),
  ``to_html()``, the figures and the notebook view (the histograms count the ``weight``
  column; the HTML page says why the reclassified documents are missing), and
  ``plan_labels()`` (simulated over the cells, see :mod:`._plan`; its queue drawn in the
  engine: a target plan's size and chance are the in-memory ones within the simulation's
  noise, its rounds drawing other jobs).

Three tie-breaks follow time or name, not row order, since an engine has none: ``rule_changes``
names a rule set's configuration by its earliest job (in memory: its first row; the same on a
frame in time order), ``errors`` orders messages of equal count by name, and the findings name
the smallest id among equally old stuck jobs (both in memory too).

Refused, naming why: ``reclassified``, ``flips()`` and ``wilson_scan_threshold()`` (see
:data:`REFUSED`).

The in-memory audit keeps its own prepared frame rather than count a pandas frame through the
same narwhals expression: that counting took 5.4 s at 2,000,000 jobs against 1.0 s for every
in-memory table (its categoricals are grouped by their codes, no string hashed). Both run the
same statistics; this path only hands them weighted rows.

>>> report = cf.audit("jobs/", labels="labels.csv")        # doctest: +SKIP
>>> report.recommend_threshold(0.95)                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from . import _findings, _plan, _queue
from ._cells import (
    Cells,
    chosen_rows,
    count_cells,
    frame_of,
    labelled_rows,
    stratified_draw,
    waiting_jobs,
)
from ._design import FRAME_ATTR, Allocation, _checksum, design_columns
from ._labels import LabelsInput, _read
from ._prepare import NO_MATCH, _categories
from ._report import AuditReport
from ._sample import LabelledSample, ShareEstimate, no_estimate, stratum_names
from ._stats import BinStrategy

__all__ = ["REFUSED", "CellsReport", "audit_source", "is_engine_source"]

#: What an audit counted in cells refuses, and why.
REFUSED = {
    "reclassified": "it pairs each document's jobs under two rule sets: a join over every job",
    "flips": "it pairs each document's jobs under two rule sets: a join over every job",
    "wilson_scan_threshold": "a heuristic kept for comparison on in-memory frames",
}
_STRING = pd.StringDtype("pyarrow")


def is_engine_source(source: object) -> bool:
    """Whether ``source`` is one :func:`audit_source` takes (not a pandas frame)."""
    if isinstance(source, str | os.PathLike):
        return True
    module = type(source).__module__
    return module.startswith(("duckdb", "polars", "pyspark", "narwhals"))


def audit_source(
    source: Any,
    labels: LabelsInput | None = None,
    *,
    threshold: float = 0.8,
    label_col: str = "label",
    join_on: str = "id",
    bins: BinStrategy = "auto",
    n_bins: int = 10,
) -> CellsReport:
    """The audit of the jobs in ``source``, counted by its engine (see the module docstring)."""
    if join_on != "id":
        msg = (
            f"join_on={join_on!r}: an audit counted in cells joins labels on the job id (a "
            "document's label would apply to all of its jobs, which the engine does not list)"
        )
        raise ValueError(msg)
    report = CellsReport(
        source,
        count_cells(source),
        labels,
        threshold=threshold,
        label_col=label_col,
        bins=bins,
        n_bins=n_bins,
    )
    report.provenance = _provenance(source)
    return report


def _provenance(source: Any) -> dict[str, Any]:
    """What the fetch recorded about the jobs of a Parquet file written by ``cf.to_parquet``
    (base URL, fetch time), as ``cf.read_parquet`` puts it in the frame's ``attrs`` for the
    in-memory audit (the stuck jobs are judged at the fetch time); none for other sources."""
    if not isinstance(source, str | os.PathLike) or not Path(source).is_file():
        return {}
    from ..parquet import read_metadata

    recorded = read_metadata(source).get("attrs", {}).get("classify_frames")
    return dict(recorded) if isinstance(recorded, dict) else {}


class CellsReport(AuditReport):
    """An :class:`AuditReport` whose jobs were counted in cells by an engine (see
    :mod:`._sources`): the same tables from a frame of weighted rows."""

    def __init__(
        self,
        source: Any,
        cells: Cells,
        labels: LabelsInput | None = None,
        *,
        threshold: float = 0.8,
        label_col: str = "label",
        bins: BinStrategy = "auto",
        n_bins: int = 10,
        frame: str | None = None,
        read: pd.DataFrame | None = None,
    ) -> None:
        self.source, self.cells = source, cells
        #: jobs read from the engine so far (a queue's): labels of those need no scan
        self._read = read
        rows = None
        if labels is not None:  # every job the labels name, labelled or left blank
            table = _read(labels)
            if "id" not in table.columns:
                msg = "the labels have no 'id' column: an audit counted in cells joins on it"
                raise ValueError(msg)
            ids = table["id"].dropna().astype(str)
            if read is not None and ids.isin(read["id"].astype(str)).all():
                rows = read[read["id"].astype(str).isin(ids)].drop(columns=["stratum", "pool"])
            else:
                rows = labelled_rows(source, ids)
            stored = table.get("design.frame", pd.Series(dtype=object)).dropna()
            if frame is None and len(stored.astype(str).str.strip().replace("", None).dropna()):
                frame = _fingerprint(*frame_of(source))  # to tell a queue of another frame
        jobs = weighted_jobs(cells, rows)
        #: the frame fingerprint of the completed jobs, once an engine query gave it
        self._known_frame = frame
        if frame is not None:
            jobs.attrs[FRAME_ATTR] = frame
        super().__init__(
            pd.DataFrame(),
            labels,
            threshold=threshold,
            label_col=label_col,
            bins=bins,
            n_bins=n_bins,
            _prepared=(jobs, cells.rules),
        )

    def with_labels(self, labels: LabelsInput) -> CellsReport:
        """The same audit with other labels, the cells counted once."""
        report = CellsReport(
            self.source,
            self.cells,
            labels,
            threshold=self.threshold,
            label_col=self._options["label_col"],
            bins=self.bins,
            n_bins=self.n_bins,
            frame=self._known_frame,
            read=self._read,
        )
        report.provenance = self.provenance
        return report

    def __repr__(self) -> str:
        labelled = "" if self.truth is None else f", {len(self._labelled[0])} labelled"
        jobs = int(self.jobs["weight"].sum())
        return (
            f"<AuditReport of {jobs} jobs counted in {len(self.cells.cells)} cells by "
            f"{self.cells.engine}{labelled}, threshold {self.threshold:g}>"
        )

    @cached_property
    def _weights(self) -> np.ndarray:
        """The jobs each completed row stands for."""
        done = self.jobs["completed"].to_numpy(bool)
        weights: np.ndarray = self.jobs["weight"].to_numpy(np.int64)[done]
        return weights

    @cached_property
    def _empty_sample(self) -> LabelledSample:
        size = len(self._weights)
        empty = np.zeros(0, np.int64)
        return LabelledSample(
            np.zeros(size, np.int64), empty, ["all"], "none", weights=self._weights
        )

    @cached_property
    def accuracy_estimate(self) -> ShareEstimate:
        self._need_labels("accuracy")
        if self.sample is None:
            return no_estimate(0, int(self._weights.sum()))
        return super().accuracy_estimate

    def review_queue(
        self,
        n: int = 50,
        strategy: _queue.Strategy = "lowest",
        seed: int = 0,
        *,
        budget: int | None = None,
        allocation: Allocation | None = None,
        bands: tuple[float, ...] = (),
    ) -> pd.DataFrame:
        """:meth:`AuditReport.review_queue`, drawn or sorted in the engine."""
        _queue.check_options(n, strategy, budget, allocation, bands)
        population = int(self._weights.sum())
        if strategy in ("lowest", "margin"):
            rows = chosen_rows(self.source, n, strategy, self.threshold)
            strata = pd.Series("", index=rows.index, dtype=object)
            design = design_columns(strategy, strata, pd.Series(dtype="int64"), population)
            return _queue_table(rows, design)
        pool, names, sizes = self._pool(tuple(bands))
        allocation, wanted = _queue.per_stratum(
            sizes, n, budget, allocation, lambda: self._spread(sizes, pool, names)
        )
        counts = pd.Series(wanted, index=sizes.index)
        return self._draw(f"stratified/{allocation}", counts, seed, tuple(bands))

    def _pool(self, bands: tuple[float, ...]) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        """The completed rows a random draw takes from (the random sample's labelled jobs
        left out), their strata, and the strata's sizes in jobs (largest first)."""
        done = self.jobs["completed"].to_numpy(bool)
        pool = self.jobs.loc[done, ["type", "confidence", "weight", "id", "created_at"]]
        mask = self._labelled_mask
        if mask is not None:
            pool = pool[~mask]
        names = stratum_names(pool["type"], pool["confidence"].to_numpy(float), bands)
        sizes = pool["weight"].groupby(names.to_numpy()).sum().astype("int64")
        sizes = sizes[sizes > 0].sort_values(ascending=False, kind="stable")
        return pool, names, sizes

    def _draw(
        self, strategy: str, counts: pd.Series, seed: int, bands: tuple[float, ...]
    ) -> pd.DataFrame:
        """A queue of ``counts[s]`` jobs of each stratum ``s`` of :meth:`_pool`, drawn in the
        engine (:func:`._cells.stratified_draw`), with its design columns."""
        pool, names, sizes = self._pool(bands)
        done = self.jobs["completed"].to_numpy(bool)
        mask = self._labelled_mask
        left_out = [] if mask is None else list(self.jobs.loc[done, "id"][mask].dropna())
        wanted = counts.reindex(sizes.index).fillna(0).astype("int64")
        rows = stratified_draw(
            self.source,
            {str(k): int(v) for k, v in wanted.items()},
            seed,
            bands=bands,
            exclude=left_out,
            days=_days(pool, names),
        )
        self._read = rows if self._read is None else pd.concat([self._read, rows])
        if self._known_frame is None:
            self._known_frame = _fingerprint(*frame_of(self.source))
        population = int(self._weights.sum())
        design = design_columns(
            strategy, rows["stratum"], sizes, population, bands, self._known_frame
        )
        return _queue_table(rows, design)

    def plan_labels(
        self,
        target_accuracy: float | None = None,
        *,
        margin: float | None = None,
        delta: float = 0.05,
        power: float = 0.8,
        seed: int = 0,
        max_labels: int = 5_000,
    ) -> pd.DataFrame:
        """:meth:`AuditReport.plan_labels`, simulated over the cells (a round draws jobs from
        a cell's jobs) and the queue drawn in the engine."""
        return _plan.plan_labels(
            self.data,
            self._plan_chances,
            target_accuracy=target_accuracy,
            margin=margin,
            delta=delta,
            power=power,
            seed=seed,
            max_labels=max_labels,
            queue=lambda plan, bands, at: self._draw("stratified/plan", plan["more"], at, bands),
        )

    def _spread(self, sizes: pd.Series, pool: pd.DataFrame, names: pd.Series) -> np.ndarray:
        """Each stratum's standard deviation of correctness, as :func:`._queue.stratum_spread`
        judges it (earlier labels, else the stated confidence), from weighted rows."""
        conf = pool["confidence"].to_numpy(float)
        weight = pool["weight"].to_numpy(float)
        known = ~np.isnan(conf)
        key = names.to_numpy()[known]
        total = pd.Series(conf[known] * weight[known]).groupby(key).sum()
        count = pd.Series(weight[known]).groupby(key).sum()
        guess = (total / count).clip(0.05, 0.95).reindex(sizes.index).fillna(0.5)
        pilot = self._pilot
        if pilot is not None and len(pilot):
            seen = (pilot["correct"] + 1) / (pilot["labels"] + 2)
            guess = seen.reindex(guess.index).fillna(guess)
        spread: np.ndarray = ((guess * (1 - guess)) ** 0.5).to_numpy(float)
        return spread

    def _findings_at(self, target_accuracy: float | None, delta: float) -> list[str]:
        key = (target_accuracy, delta)
        if key not in self._findings_cache:
            self._findings_cache[key] = _findings.findings(
                self, target_accuracy, delta, stuck=self._stuck
            )
        return self._findings_cache[key]

    def _stuck(self, before: pd.Timestamp) -> _findings.Stuck | None:
        """The findings' stuck jobs, from one engine query (skipped when no waiting cell
        began by ``before``)."""
        jobs = self.jobs
        waiting = jobs["status"].astype(str).isin(["PENDING", "RUNNING"]).to_numpy(bool)
        if not (jobs.loc[waiting, "created_at"] <= before).any():
            return None
        count, oldest, first = waiting_jobs(self.source, before)
        return None if oldest is None else _findings.Stuck(count, oldest, first)

    # -- what needs every job -----------------------------------------------------------------

    @property
    def reclassified(self) -> pd.DataFrame:  # type: ignore[override]
        _refuse("reclassified")

    def flips(
        self, from_rule_set: str | None = None, to_rule_set: str | None = None
    ) -> pd.DataFrame:
        _refuse("flips")

    def wilson_scan_threshold(self, target_accuracy: float = 0.95) -> pd.DataFrame:
        _refuse("wilson_scan_threshold")


def _days(pool: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """The pool's jobs per stratum and UTC day (what :func:`._cells.stratified_draw` numbers
    its jobs by), from the weighted rows."""
    day = pool["created_at"].dt.tz_convert(None).dt.floor("D")
    table = pd.DataFrame(
        {"stratum": names.to_numpy(), "day": day.to_numpy(), "jobs": pool["weight"].to_numpy()}
    )
    return table.groupby(["stratum", "day"], dropna=False, sort=True)["jobs"].sum().reset_index()


def _refuse(what: str) -> NoReturn:
    msg = (
        f"{what} is not available for jobs counted in cells: {REFUSED[what]}. Load the jobs "
        "it needs with cf.read_parquet(path, columns=..., filters=...) (one month, one "
        "configuration) and audit that frame"
    )
    raise NotImplementedError(msg)


def _fingerprint(jobs: int, low: str | None, high: str | None) -> str:
    """:func:`._design.frame_fingerprint` from the engine's count and smallest and largest id."""
    return f"{jobs:x}-{_checksum(low, high)}"


def _queue_table(rows: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """:func:`._queue.queue_table` for rows read by the engine (an impossible confidence
    shown as missing, as the prepared frame holds it)."""
    conf = rows["confidence"].astype("float64")
    table = pd.DataFrame(
        {
            "id": rows["id"].astype(_STRING).to_numpy(),
            "file_input": rows["document"].astype(_STRING).to_numpy(),
            "result.type": rows["type"].astype(_STRING).to_numpy(),
            "result.confidence": conf.where(conf.between(0, 1)).to_numpy(),
            "result.reasoning": rows["reasoning"].astype(_STRING).to_numpy(),
        }
    )
    table["label"] = pd.array([""] * len(table), dtype=_STRING)
    return pd.concat([table, design.reset_index(drop=True)], axis=1)


def weighted_jobs(cells: Cells, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The prepared frame (:func:`._prepare.prepare`'s columns) of the counted jobs: a row per
    cell with its ``weight``, ``created_at`` its first job and ``last_seen`` its last; and a
    row of weight 1 for each job of ``rows`` (:func:`._cells.labelled_rows`), taken out of its
    cell."""
    table = cells.cells.copy()
    table["weight"] = table.pop("jobs").astype(np.int64)
    table = table.rename(columns={"first_seen": "created_at"})
    if rows is not None and len(rows):
        single = _single(rows.drop_duplicates("id"))
        table = _take_out(table, single)
        table = pd.concat([table, single], ignore_index=True)
    return _prepared(table)


def _single(rows: pd.DataFrame) -> pd.DataFrame:
    """Jobs read by the engine as rows of the cells' shape."""
    status = rows["status"].astype(object)
    done = (status == "COMPLETED").to_numpy(bool)
    kind = rows["type"].astype(object).where(rows["type"].notna(), NO_MATCH)
    created = rows["created_at"]
    return pd.DataFrame(
        {
            "status": status.to_numpy(),
            "type": kind.where(done, None).to_numpy(),
            "confidence": rows["confidence"].astype("float64").where(done).to_numpy(),
            "period": created.dt.tz_convert(None).dt.floor("D").where(done).to_numpy(),
            "configuration_id": rows["configuration_id"].astype(object).to_numpy(),
            "rule_set": rows["rule_set"].astype(object).to_numpy(),
            "error_message": rows["error_message"]
            .astype(object)
            .where(status == "FAILED", None)
            .to_numpy(),
            "weight": np.ones(len(rows), np.int64),
            "created_at": created.to_numpy(),
            "last_seen": created.to_numpy(),
            "id": rows["id"].astype(object).to_numpy(),
            "document": rows["document"].astype(object).to_numpy(),
            "reasoning": rows["reasoning"].astype(object).to_numpy(),
        }
    )


_KEYS = ["status", "type", "confidence", "period", "configuration_id", "rule_set", "error_message"]


def _key_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The cell keys as comparable values (missing as one sentinel, times as integers)."""
    out = pd.DataFrame(index=frame.index)
    for name in _KEYS:
        values = frame[name]
        if name == "confidence":
            out[name] = values.astype("float64").fillna(-np.inf).to_numpy()
        elif name == "period":
            stamps = pd.to_datetime(values).astype("datetime64[us]")
            out[name] = stamps.to_numpy().view(np.int64)
        else:
            out[name] = values.astype(object).where(values.notna(), "\0none").to_numpy()
    return out


def _take_out(table: pd.DataFrame, single: pd.DataFrame) -> pd.DataFrame:
    """The cells with each single job subtracted from its own (cells left empty dropped)."""
    keys = _key_frame(table)
    index = pd.MultiIndex.from_frame(keys)
    taken = pd.MultiIndex.from_frame(_key_frame(single))
    where = index.get_indexer(taken)
    if (where < 0).any():
        msg = "a labelled job matches no counted cell: the dataset changed between two reads"
        raise RuntimeError(msg)
    weights = table["weight"].to_numpy(np.int64).copy()
    np.subtract.at(weights, where, 1)
    out = table.assign(weight=weights)
    return out[out["weight"] > 0]


def _prepared(table: pd.DataFrame) -> pd.DataFrame:
    """The prepared frame's columns and dtypes (see :func:`._prepare.prepare`)."""
    status = table["status"].astype(object)
    done = (status == "COMPLETED").to_numpy(bool)
    conf = table["confidence"].astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        possible = np.isfinite(conf) & (conf >= 0) & (conf <= 1)
    impossible = done & ~np.isnan(conf) & ~possible
    kinds = pd.Series(table["type"].astype(object).where(done, None).to_numpy())
    used = sorted({str(t) for t in kinds.dropna()})
    n = len(table)

    def text(name: str) -> pd.Series:
        if name in table.columns:
            return pd.Series(table[name].astype(object).to_numpy(), dtype=_STRING)
        return pd.Series(pd.array([None] * n, dtype=_STRING))

    created = pd.to_datetime(table["created_at"], utc=True).astype("datetime64[us, UTC]")
    last = pd.to_datetime(table["last_seen"], utc=True).astype("datetime64[us, UTC]")
    out = pd.DataFrame(
        {
            "id": text("id"),
            "status": pd.Categorical(status.to_numpy()),
            "completed": done,
            "type": pd.Categorical(kinds, categories=used),
            "confidence": np.where(done & possible, conf, np.nan),
            "created_at": created.reset_index(drop=True),
            "configuration_id": _categories(text("configuration_id")),
            "rule_set": _categories(text("rule_set")),
            "configuration_name": text("configuration_name"),
            "configuration_version": text("configuration_version"),
            "document": text("document"),
            "reasoning": text("reasoning"),
            "error_message": text("error_message"),
            "confidence_impossible": impossible,
            "weight": table["weight"].to_numpy(np.int64),
            "last_seen": last.reset_index(drop=True),
        }
    )
    # the earliest cells first: "the first job" of a rule set is its earliest one
    order = np.argsort(out["created_at"].to_numpy("datetime64[us]").view(np.int64), kind="stable")
    missing = out["created_at"].isna().to_numpy()[order]
    order = np.concatenate([order[~missing], order[missing]])
    return out.iloc[order].reset_index(drop=True)
