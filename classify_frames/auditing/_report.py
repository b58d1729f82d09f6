"""The :class:`AuditReport` that :func:`~classify_frames.audit` returns: cached tables, figures and
the HTML report."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from .._exceptions import ConfigurationError
from . import _document, _findings, _plan, _population, _queue, _rulesets, _tables
from ._advice import LABELS, STRATIFIED
from ._certify import certify_table
from ._data import AuditData
from ._design import Allocation, labelled_sample, nonresponse
from ._labels import LabelsInput, join_labelled
from ._prepare import prepare
from ._recalibrate import Recalibrator, recalibrator_with_gain
from ._sample import LabelledSample, ShareEstimate, bounded, no_estimate, share
from ._stats import BinStrategy

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._compare import Comparison

__all__ = ["AuditReport"]

#: The columns of ``by_type`` that :func:`._population.per_type` design-weights.
_WEIGHTED = (
    "precision",
    "recall",
    "recall_lo",
    "recall_hi",
    "f1",
    "ece",
    "mce",
    "brier",
    "label_confidence",
    "label_gap",
)


class AuditReport:
    """Tables (plain DataFrames, computed on first use and cached), figures and an HTML report.

    Without labels: ``findings``, ``summary``, ``status``, ``errors``, ``by_type``,
    ``review_queue()``, ``drift()``, ``by_configuration``, ``configuration_mix``,
    ``rule_changes``, ``unused_rules``, ``unknown_types``, ``reclassified``, ``flips()``. With
    labels also ``accuracy`` and ``accuracy_ci``, ``confusion``, ``calibration()``, ``ece``
    (``ece_debiased``, ``ece_ci``), ``mce``, ``brier``, ``auroc``, ``risk_coverage``, ``aurc``,
    ``recommend_threshold()`` (certified), ``wilson_scan_threshold()`` (a heuristic),
    ``plan_labels()``, ``disagreements``, ``recalibrate()``; ``with_labels()`` for the next
    round of labels.

    Population figures (the completed jobs of the frame, not just the labelled ones) come from
    the labels that are a random sample (see ``sample``; drawn jobs left unlabelled are
    ``sample.missing``); counts such as the confusion matrix and precision / recall are of the
    labels themselves. ``data`` holds the audit's data as one plain value.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        labels: LabelsInput | None = None,
        *,
        threshold: float = 0.8,
        label_col: str = "label",
        join_on: str = "id",
        bins: BinStrategy = "auto",
        n_bins: int = 10,
        _prepared: tuple[pd.DataFrame, dict[str, list[tuple[str, str]]]] | None = None,
    ) -> None:
        self.threshold = threshold
        self.bins: BinStrategy = bins
        self.n_bins = n_bins
        self._options = {"label_col": label_col, "join_on": join_on}
        self.jobs, self.rules = prepare(df) if _prepared is None else _prepared
        recorded = df.attrs.get("classify_frames")
        #: Where the jobs came from, as the fetch recorded it in ``df.attrs`` (base URL and
        #: fetch time; never the key), for the report's context line.
        self.provenance: dict[str, Any] = dict(recorded) if isinstance(recorded, dict) else {}
        #: Configuration names (and versions) where the frame knows them, by id.
        self.configuration_names = _document.configuration_names(df)
        self.truth: pd.Series | None = None
        #: The labels usable as a random sample, with their strata (None without any).
        self.sample: LabelledSample | None = None
        self._labels_given = 0
        if labels is not None:
            known = {t for pairs in self.rules.values() for t, _ in pairs}
            known |= {str(t) for t in self.jobs["type"].cat.categories}
            self.truth, design = join_labelled(
                self.jobs,
                labels,
                label_col=label_col,
                join_on=join_on,
                known_types=known if self.rules else None,
            )
            sample = labelled_sample(self.jobs, self.truth, design)
            self.sample = nonresponse(
                self.jobs, labels, sample, label_col=label_col, join_on=join_on
            )

    def with_labels(self, labels: LabelsInput) -> AuditReport:
        """The same audit with other labels (the next round, say), reusing the prepared frame.

        >>> report = report.with_labels("labels_round2.csv")   # doctest: +SKIP
        """
        report = AuditReport(
            pd.DataFrame(),
            labels,
            threshold=self.threshold,
            bins=self.bins,
            n_bins=self.n_bins,
            _prepared=(self.jobs, self.rules),
            **self._options,
        )
        report.provenance, report.configuration_names = self.provenance, self.configuration_names
        return report

    @cached_property
    def data(self) -> AuditData:
        """The audit's data as one plain value: the prepared jobs, the labels, the random
        sample among them and its outcomes (what the findings, the HTML report and
        ``plan_labels`` read)."""
        return AuditData(
            jobs=self.jobs,
            rules=self.rules,
            threshold=self.threshold,
            truth=self.truth,
            sample=self.sample,
            correct=self._correct,
            labelled=0 if self.truth is None else len(self._labelled[0]),
            provenance=self.provenance,
            configuration_names=self.configuration_names,
        )

    def __repr__(self) -> str:
        labelled = "" if self.truth is None else f", {len(self._labelled[0])} labelled"
        return f"<AuditReport of {len(self.jobs)} jobs{labelled}, threshold {self.threshold:g}>"

    # -- without labels ----------------------------------------------------------------------

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Headline numbers (jobs, completed and failure rates, no-match rate, confidence
        quantiles, share below threshold; with labels accuracy, ECE, MCE, Brier, AURC)."""
        extra = dict(self._label_metrics) if self.truth is not None else None
        return _tables.summary(self.jobs, self.threshold, extra)

    @cached_property
    def status(self) -> pd.DataFrame:
        """Jobs and share per status."""
        return _tables.status_counts(self.jobs)

    @cached_property
    def errors(self) -> pd.DataFrame:
        """The most common error messages of failed jobs."""
        return _tables.top_errors(self.jobs)

    @cached_property
    def by_type(self) -> pd.DataFrame:
        """Per predicted type (and "no match"): count, share, confidence statistics; with labels
        the population figures, design-weighted from the random sample (see
        :func:`._population.per_type`): ``accuracy`` (= ``precision``) with its 95% interval
        and ``accuracy_labels``, ``recall`` with ``recall_lo`` / ``recall_hi``, F1, the type's
        ECE, MCE and Brier, ``gap`` (mean stated confidence minus accuracy), ``label_confidence``,
        ``label_gap`` and ``overconfident``; and counts of the labels themselves: ``labelled``
        (labelled predictions) and ``support`` (labels of the type). Labels that are no random
        sample (a "lowest" queue) give no population figure (NaN). On a fully labelled frame
        each is scikit-learn's."""
        labelled = self._labelled if self.truth is not None else None
        table = _tables.by_type(self.jobs, self.threshold, labelled, self.bins, self.n_bins)
        if self.truth is None:
            return table
        # population figures per type, design-weighted from the random sample; labels that
        # are no random sample (a "lowest" queue) give none
        weighted = [*_WEIGHTED, "accuracy", "accuracy_lo", "accuracy_hi", "gap"]
        table[weighted] = np.nan
        table["overconfident"] = False
        if self.sample is None:
            return table
        names = list(table.index)
        done = self.jobs["completed"].to_numpy(bool)
        codes = _tables._codes(self.jobs.loc[done, "type"], names)  # via the categories
        est = _population.by_group(self.sample, self._correct, codes, names)
        table["accuracy"] = est["accuracy"].to_numpy()
        table["accuracy_lo"] = est["accuracy_lo"].to_numpy()
        table["accuracy_hi"] = est["accuracy_hi"].to_numpy()
        table["accuracy_labels"] = est["labels"].to_numpy()
        truth = _tables._strings(self._need_labels("by_type"), done)[self.sample.rows]
        true_codes = pd.Index(names).get_indexer(pd.Index(truth.astype(object)))
        per = _population.per_type(
            self.sample,
            self._correct,
            true_codes,
            codes,
            self._completed_confidence,
            len(names),
            self.bins,
            self.n_bins,
        )
        for column in (*_WEIGHTED, "overconfident"):
            table[column] = per[column].to_numpy()
        table["gap"] = table["confidence_mean"] - table["accuracy"]
        return table

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
        """Jobs to label, with an empty ``label`` column and the sampling design in
        ``design.*`` columns; save it, fill it in and pass it back as ``labels=``.

        ``strategy="stratified"``: ``n`` random jobs per predicted type (and "no match"), or
        ``budget=400`` spread by ``allocation="neyman"`` (default) or ``"proportional"``;
        ``bands=(0.9,)`` also splits each type at those confidences. ``"lowest"`` and
        ``"margin"`` find errors but are not a random sample (see :func:`._queue.review_queue`).
        Jobs already labelled are not drawn again.

        >>> queue = report.review_queue(budget=400, strategy="stratified")   # doctest: +SKIP
        >>> queue.to_csv("labels.csv", index=False)                          # doctest: +SKIP
        """
        return _queue.review_queue(
            self.jobs,
            self.threshold,
            n,
            strategy,
            seed,
            budget=budget,
            allocation=allocation,
            bands=bands,
            labelled=self._labelled_mask,
            pilot=self._pilot,
        )

    @property
    def _labelled_mask(self) -> np.ndarray | None:
        """Which completed jobs hold a label of the random sample (None without one): the
        next random draw leaves them out. Jobs labelled from a "lowest" queue stay in, since
        leaving chosen jobs out of a draw would bias it."""
        return self.data.labelled_mask

    @cached_property
    def _pilot(self) -> pd.DataFrame | None:
        """Right and labelled counts per stratum of the sample (for Neyman allocation)."""
        if self.sample is None:
            return None
        codes = self.sample.strata
        right = np.bincount(codes, weights=self._correct, minlength=len(self.sample.names))
        count = np.bincount(codes, minlength=len(self.sample.names))
        return pd.DataFrame({"correct": right, "labels": count}, index=self.sample.names)

    def drift(
        self, freq: str = "M", baseline: object = None, min_jobs: int = 200, alpha: float = 0.001
    ) -> pd.DataFrame:
        """Confidence, type mix, no-match rate (and accuracy) per period against a baseline,
        flagged where a shift is significant and large (see :func:`._tables.drift`). With
        labels, each period's accuracy is design-weighted over its jobs, with its 95% interval
        and ``accuracy_labels``; NaN when the labels are no random sample."""
        key = (freq, repr(baseline), min_jobs, alpha)
        if key not in self._drift_cache:
            labelled = self.truth is not None and self.sample is not None
            self._drift_cache[key] = _tables.drift(
                self.jobs,
                self.threshold,
                freq,
                baseline,
                self.truth,
                min_jobs,
                alpha,
                sample=self.sample if labelled else None,
                correct=self._correct if labelled else None,
            )
        return self._drift_cache[key]

    @cached_property
    def _drift_cache(self) -> dict[tuple[Any, ...], pd.DataFrame]:
        return {}

    @cached_property
    def _plan_chances(self) -> dict[tuple[Any, ...], float]:
        """The plan's simulated decisions (threshold, size, chance), kept per target (see
        :func:`._plan._decide`)."""
        return {}

    @cached_property
    def by_configuration(self) -> pd.DataFrame:
        """Per configuration_id and rule-set fingerprint: jobs, no-match rate (Wilson interval),
        confidence, rules, first and last job."""
        return _rulesets.by_configuration(self._keyed, self.threshold, self.rules)

    @cached_property
    def configuration_mix(self) -> pd.DataFrame:
        """Share of each predicted type per configuration and rule set."""
        return _rulesets.configuration_mix(self._keyed)

    @cached_property
    def _keyed(self) -> pd.DataFrame:
        """The completed jobs' configuration, rule set, type, confidence and time, shared by
        ``by_configuration`` and ``configuration_mix``."""
        return _rulesets.keyed(self.jobs)

    @cached_property
    def _predecessors(self) -> dict[str, str]:
        """Each rule set's predecessor, shared by ``rule_changes`` and the reclassified pairs."""
        return _rulesets.predecessors(self.jobs, self.rules)

    @cached_property
    def rule_changes(self) -> pd.DataFrame:
        """Rules added, removed or edited between rule-set versions."""
        return _rulesets.rule_changes(self.jobs, self.rules, self._predecessors)

    @cached_property
    def unused_rules(self) -> pd.DataFrame:
        """Rules that never matched a job of their rule set."""
        return _rulesets.unused_rules(self.jobs, self.rules)

    @cached_property
    def unknown_types(self) -> pd.DataFrame:
        """Result types that are not among their job's rules."""
        return _rulesets.unknown_types(self.jobs, self.rules)

    @cached_property
    def reclassified(self) -> pd.DataFrame:
        """Documents classified under two rule-set versions: agreement with a Wilson interval."""
        return _rulesets.reclassified(self._pairs)

    @cached_property
    def _pairs(self) -> pd.DataFrame:
        return _rulesets.pairs_of(self.jobs, self._predecessors)

    def flips(
        self, from_rule_set: str | None = None, to_rule_set: str | None = None
    ) -> pd.DataFrame:
        """Flip matrix of reclassified documents (old type rows, new type columns)."""
        return _rulesets.flips(self._pairs, from_rule_set, to_rule_set)

    # -- with labels -------------------------------------------------------------------------

    def _need_labels(self, what: str) -> pd.Series:
        if self.truth is None:
            msg = f"{what} needs ground truth"
            raise ConfigurationError(msg, hint=["pass it: ", LABELS])
        return self.truth

    @cached_property
    def _labelled(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _tables.labelled(self.jobs, self._need_labels("this metric"))

    @cached_property
    def _completed_confidence(self) -> np.ndarray:
        values: np.ndarray = self.jobs.loc[self.jobs["completed"], "confidence"].to_numpy(float)
        return values

    @cached_property
    def _correct(self) -> np.ndarray:
        """1.0 / 0.0 per row of the sample: the predicted type is the label."""
        if self.sample is None:
            return np.zeros(0)
        done = self.jobs["completed"].to_numpy(bool)
        types = _tables._strings(self.jobs["type"], done)[self.sample.rows]
        truth = _tables._strings(self._need_labels("this metric"), done)[self.sample.rows]
        correct: np.ndarray = (types == truth).astype(float)
        return correct

    @cached_property
    def _label_metrics(self) -> dict[str, float | int | str]:
        y_true, y_pred, conf = self._labelled
        plain = _tables.label_metrics(y_true, y_pred, conf, self.bins, self.n_bins)
        est = self.accuracy_estimate
        ece = self._ece
        metrics: dict[str, float | int | str] = {
            "labelled": plain["labelled"],
            "sample": self.sample.kind if self.sample is not None else "not a random sample",
            "sample_labels": self.sample.labels if self.sample is not None else 0,
            "accuracy": est.estimate,
            "accuracy_lo": est.low,
            "accuracy_hi": est.high,
            "ece": ece["ece"],
            "ece_debiased": ece["ece_debiased"],
            "ece_lo": ece["ece_lo"],
            "ece_hi": ece["ece_hi"],
            "mce": ece["mce"],
            "brier": self._brier["brier"],
            "auroc": self._auroc["auroc"],
            "auroc_lo": self._auroc["auroc_lo"],
            "auroc_hi": self._auroc["auroc_hi"],
            "aurc": self.aurc,
        }
        if self.sample is None:
            metrics["labelled_accuracy"] = plain["accuracy"]
        return metrics

    @cached_property
    def accuracy_estimate(self) -> ShareEstimate:
        """Accuracy of the completed jobs as a :class:`._sample.ShareEstimate` (estimate,
        95% interval, labels it rests on)."""
        self._need_labels("accuracy")
        if self.sample is None:
            return no_estimate(0, int(self.jobs["completed"].sum()))
        return share(self.sample, self._correct)

    @property
    def accuracy(self) -> float:
        """Share of the completed jobs whose type is right ("no match" on "none" is right),
        estimated from the labels' random sample, design-weighted (NaN when the labels are
        not a random sample, e.g. a "lowest" queue). See ``accuracy_ci``."""
        return self.accuracy_estimate.estimate

    @property
    def accuracy_ci(self) -> tuple[float, float]:
        """95% interval ``(low, high)`` of ``accuracy``."""
        est = self.accuracy_estimate
        return est.low, est.high

    def _population_sample(self) -> LabelledSample:
        sample = self.sample
        if sample is None:
            self._need_labels("this metric")
            msg = (
                "no population figure: none of the labels is a random sample (a 'lowest' or "
                "'margin' queue is chosen, not drawn)"
            )
            raise ConfigurationError(msg, hint=["label ", STRATIFIED, " and pass that file"])
        return sample

    @cached_property
    def _ece(self) -> dict[str, float]:
        if self.sample is None:
            return _population.ece(self._empty_sample, np.array([]), self._completed_confidence)
        return _population.ece(
            self.sample, self._correct, self._completed_confidence, self.bins, self.n_bins
        )

    @cached_property
    def _empty_sample(self) -> LabelledSample:
        size = int(self.jobs["completed"].sum())
        return LabelledSample(np.zeros(size, np.int64), np.zeros(0, np.int64), ["all"], "none")

    @cached_property
    def _brier(self) -> dict[str, float]:
        sample = self.sample or self._empty_sample
        correct = self._correct if self.sample is not None else np.array([])
        return _population.brier(sample, correct, self._completed_confidence)

    @cached_property
    def _auroc(self) -> dict[str, float]:
        sample = self.sample or self._empty_sample
        correct = self._correct if self.sample is not None else np.array([])
        return _population.auroc(sample, correct, self._completed_confidence)

    @property
    def ece(self) -> float:
        """Expected calibration error over the completed jobs (top-label, default bins,
        plug-in); see ``ece_debiased`` and ``ece_ci`` for its small-sample bias."""
        self._need_labels("ece")
        return self._ece["ece"]

    @property
    def ece_debiased(self) -> float:
        """ECE with the plug-in's upward small-sample bias removed (bootstrap estimate)."""
        self._need_labels("ece")
        return self._ece["ece_debiased"]

    @property
    def ece_ci(self) -> tuple[float, float]:
        """95% bootstrap interval of the ECE (bias-corrected)."""
        self._need_labels("ece")
        return self._ece["ece_lo"], self._ece["ece_hi"]

    @property
    def mce(self) -> float:
        """Maximum calibration error (top-label, default bins)."""
        self._need_labels("mce")
        return self._ece["mce"]

    @property
    def brier(self) -> float:
        """Top-label Brier score: mean of (confidence - correct)^2 over the completed jobs."""
        self._need_labels("brier")
        return self._brier["brier"]

    @property
    def brier_ci(self) -> tuple[float, float]:
        """95% interval of the Brier score."""
        self._need_labels("brier")
        return self._brier["brier_lo"], self._brier["brier_hi"]

    @property
    def auroc(self) -> float:
        """AUROC of stated confidence for correctness (0.5: no separation; ties count 1/2)."""
        self._need_labels("auroc")
        return self._auroc["auroc"]

    @property
    def auroc_ci(self) -> tuple[float, float]:
        """95% stratified bootstrap interval of ``auroc``."""
        self._need_labels("auroc")
        return self._auroc["auroc_lo"], self._auroc["auroc_hi"]

    @property
    def aurc(self) -> float:
        """Area under the risk-coverage curve (lower is better)."""
        self._need_labels("aurc")
        return self._risk_coverage[1]

    @cached_property
    def confusion(self) -> pd.DataFrame:
        """Confusion matrix (rows label, columns predicted), with a "no match" row and column."""
        self._need_labels("confusion")
        y_true, y_pred, _ = self._labelled
        return _tables.confusion(y_true, y_pred, _tables.type_order(y_pred, y_true))

    def calibration(
        self, bins: BinStrategy | None = None, n_bins: int | None = None
    ) -> pd.DataFrame:
        """Reliability table over the completed jobs: per bin (one per distinct stated value
        by default; ``bins`` "distinct" | "uniform" | "quantile" | "auto") the jobs, their mean
        stated confidence, accuracy with its 95% interval, the gap, and the labels it rests on."""
        self._need_labels("calibration")
        sample = self.sample or self._empty_sample
        correct = self._correct if self.sample is not None else np.array([])
        return _population.calibration(
            sample,
            correct,
            self._completed_confidence,
            bins or self.bins,
            n_bins or self.n_bins,
        )

    @cached_property
    def _risk_coverage(self) -> tuple[pd.DataFrame, float]:
        self._need_labels("risk_coverage")
        sample = self.sample or self._empty_sample
        correct = self._correct if self.sample is not None else np.array([])
        return _population.risk_coverage(sample, correct, self._completed_confidence)

    @property
    def risk_coverage(self) -> pd.DataFrame:
        """At each distinct threshold: jobs accepted and coverage (exact counts), labels among
        them, accuracy with its 95% interval, and risk."""
        return self._risk_coverage[0]

    def recommend_threshold(
        self,
        target_accuracy: float = 0.95,
        delta: float = 0.05,
        min_labels: int | None = None,
        *,
        joint: bool = False,
    ) -> pd.DataFrame:
        """Certified auto-accept thresholds, overall and per predicted type: with probability
        at least ``1 - delta``, the jobs accepted at ``threshold`` are at least
        ``target_accuracy`` accurate in the population (Learn then Test: a fixed sequence from
        the highest threshold down beside a test of the whole row; see :mod:`._certify`).
        Each row holds on its own; ``joint=True`` makes the type rows hold together
        (Bonferroni over the types). ``table.attrs["guarantee"]`` says which, in words.

        Columns: ``threshold`` (NaN where nothing can be certified), ``coverage`` and
        ``accepted`` (jobs kept, exact), ``labelled`` (labels among them), the accepted jobs'
        estimated ``accuracy`` with its 95% interval, the ``p_value`` of the last test passed
        and the ``method``.
        """
        if not 0 < target_accuracy < 1:
            msg = f"target_accuracy must be in (0, 1), got {target_accuracy!r}"
            raise ValueError(msg)
        if not 0 < delta < 1:
            msg = f"delta must be in (0, 1), got {delta!r}"
            raise ValueError(msg)
        self._need_labels("recommend_threshold")
        types = self.jobs.loc[self.jobs["completed"], "type"]
        order = list(self.by_type.index[self.by_type["count"] > 0])
        sample = self.sample or self._empty_sample
        correct = self._correct if self.sample is not None else np.array([])
        if len(sample.missing):  # a guarantee may not assume the skipped jobs were right
            sample, correct = bounded(sample, correct, 0.0)
        table = certify_table(
            sample,
            correct,
            self._completed_confidence,
            types,
            order,
            target_accuracy,
            delta,
            min_labels,
            joint=joint,
        )
        if self.sample is not None and len(self.sample.missing):
            counted = f" ({len(self.sample.missing):,} unlabelled drawn jobs counted wrong)"
            table["method"] = table["method"].astype(str) + counted
        if self.sample is None or not self.sample.trusted:
            why = (
                "refused: the labels are not a random sample"
                if self.sample is None
                else "refused: the labels' queue was drawn on another frame"
                if self.sample.kind == "other frame"
                else "refused: labels without a design that do not match the frame's mix"
            )
            for column in ("threshold", "accuracy", "accuracy_lo", "accuracy_hi", "p_value"):
                table[column] = np.nan
            table["coverage"], table["accepted"], table["method"] = 0.0, 0, why
        return table

    def wilson_scan_threshold(self, target_accuracy: float = 0.95) -> pd.DataFrame:
        """A heuristic, not a guarantee: the lowest threshold whose Wilson lower bound of
        accuracy among the accepted labelled jobs meets the target, scanning every threshold
        (no multiple-testing control, and plain shares of the labelled jobs). Kept for
        comparison; use :meth:`recommend_threshold`."""
        return _tables.wilson_scan(
            self.jobs, self._need_labels("wilson_scan_threshold"), target_accuracy
        )

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
        """How many more labels, from which strata, to estimate accuracy to ``± margin`` or
        to certify a threshold at ``target_accuracy``: a review queue ready to label (labels
        already given count toward it). ``queue.attrs["plan"]`` is the per-stratum table and
        ``queue.attrs["summary"]`` says it in words (see :func:`._plan.plan_labels`).

        >>> queue = report.plan_labels(target_accuracy=0.95)   # doctest: +SKIP
        >>> queue.attrs["summary"]                             # doctest: +SKIP
        """
        return _plan.plan_labels(
            self.data,
            self._plan_chances,
            target_accuracy=target_accuracy,
            margin=margin,
            delta=delta,
            power=power,
            seed=seed,
            max_labels=max_labels,
        )

    @property
    def findings(self) -> _findings.Findings:
        """The answers in plain sentences with their numbers (accuracy with its interval and
        label count, the certified threshold, the types shown less accurate, calibration,
        stuck jobs, what the data lacks): a list of sentences, with a threshold certified at
        95% accuracy (else 90%); ``print(report.findings)`` prints one per line. Each kind of
        sentence follows a stated evidence rule (see :mod:`._evidence`: 20 labels per group
        compared, Holm's adjustment over types, Benjamini-Hochberg's over months, 100 labels
        for calibration, bounds when more than 5% of the drawn jobs are unlabelled). Call it
        for your own target: ``report.findings(target_accuracy=0.8, delta=0.05)``.

        >>> for sentence in report.findings(target_accuracy=0.9):   # doctest: +SKIP
        ...     print(sentence)
        """
        return _findings.Findings(self._findings_at(None, 0.05), self._findings_at)

    def _findings_at(self, target_accuracy: float | None, delta: float) -> list[str]:
        key = (target_accuracy, delta)
        if key not in self._findings_cache:
            self._findings_cache[key] = _findings.findings(self, target_accuracy, delta)
        return self._findings_cache[key]

    @cached_property
    def _findings_cache(self) -> dict[tuple[float | None, float], list[str]]:
        return {}

    @cached_property
    def disagreements(self) -> pd.DataFrame:
        """Jobs stated at or above the threshold whose label differs (model or label errors)."""
        return _tables.disagreements(self.jobs, self._need_labels("disagreements"), self.threshold)

    def recalibrate(self) -> Recalibrator:
        """An isotonic map from stated to observed confidence per rule set, for new frames.

        Isotonic regression overfits small samples: it warns below 1,000 labels per rule set,
        and ``recalibrator.gain`` reports the cross-validated change of the Brier score
        (5 folds; negative is better) so a gain is not claimed that the data cannot show."""
        truth = self._need_labels("recalibrate")
        keep = self.jobs["completed"].to_numpy(bool) & truth.notna().to_numpy(bool)
        rows = self.jobs.loc[keep, ["type", "confidence", "rule_set"]]
        correct = (rows["type"].astype(object) == truth[keep].astype(object)).to_numpy(float)
        return recalibrator_with_gain(
            rows["confidence"].to_numpy(float), correct, rows["rule_set"].to_numpy(object)
        )

    # -- figures and HTML -------------------------------------------------------------------

    def plot_confidence(self) -> Figure:
        """Histograms of stated confidence per predicted type."""
        from . import _plots  # matplotlib on the first figure, not with the audit

        return _plots.confidence_histograms(self.jobs)

    def plot_reliability(self, bins: BinStrategy | None = None) -> Figure:
        """Reliability diagram (needs labels)."""
        from . import _plots  # matplotlib on the first figure, not with the audit

        return _plots.reliability(self.calibration(bins))

    def plot_risk_coverage(self) -> Figure:
        """Risk-coverage curve (needs labels)."""
        from . import _plots  # matplotlib on the first figure, not with the audit

        return _plots.risk_coverage_curve(self.risk_coverage, self.threshold)

    def plot_drift(self, freq: str = "M", baseline: object = None) -> Figure:
        """Confidence, no-match rate and PSI per period."""
        from . import _plots  # matplotlib on the first figure, not with the audit

        return _plots.drift_lines(self.drift(freq, baseline))

    def figures(self) -> dict[str, Figure]:
        """Every figure that applies to this report, by title."""
        figures = {"Confidence per type": self.plot_confidence()}
        if self.truth is not None:
            figures["Reliability"] = self.plot_reliability()
            figures["Risk-coverage"] = self.plot_risk_coverage()
        if self._has_times:
            figures["Drift"] = self.plot_drift()
        return figures

    @property
    def _has_times(self) -> bool:
        return self.data.has_times

    def _repr_html_(self) -> str:
        return _document.compact(self)

    def to_html(
        self,
        path: str | os.PathLike[str],
        *,
        target_accuracy: float = 0.95,
        delta: float = 0.05,
        comparisons: Sequence[Comparison] = (),
    ) -> Path:
        """Write the report as one self-contained HTML file (plots embedded), atomically:
        findings first, then one section per question; thresholds certified at
        ``target_accuracy`` with probability ``1 - delta``, and cells that miss the target
        marked. Each of ``comparisons`` (from :func:`classify_frames.compare`) adds a section."""
        goal = _document.Goal(target_accuracy, delta)
        page = _document.document(self, goal, comparisons)
        target = Path(path)
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        return target
