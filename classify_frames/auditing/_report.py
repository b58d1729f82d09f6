"""``audit()`` and :class:`AuditReport`: cached tables, figures and the HTML report."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .._atomic import atomic_path
from . import _document, _plots, _rulesets, _tables
from ._labels import LabelsInput, join_labels
from ._prepare import prepare
from ._recalibrate import Recalibrator
from ._stats import BinStrategy, calibration_table

__all__ = ["AuditReport", "audit"]


def audit(
    df: pd.DataFrame,
    labels: LabelsInput | None = None,
    *,
    threshold: float = 0.8,
    by: str = "result.type",
    label_col: str = "label",
    join_on: str = "id",
    bins: BinStrategy = "auto",
    n_bins: int = 10,
) -> AuditReport:
    """Audit how far the classifier's stated confidence can be trusted.

    ``labels`` (a DataFrame or a CSV / Parquet file with ``join_on`` and ``label_col`` columns;
    ``"none"`` for a document no rule describes) unlocks accuracy, the confusion matrix,
    calibration, risk-coverage and threshold recommendations. ``by`` is the column whose
    values are the predicted types (``result.type``).

    >>> report = audit(df, labels="labels.csv", threshold=0.9)   # doctest: +SKIP
    >>> report.by_type                                            # doctest: +SKIP
    >>> report.recommend_threshold(target_accuracy=0.95)          # doctest: +SKIP
    """
    if not 0 <= threshold <= 1:
        msg = f"threshold must be between 0 and 1, got {threshold!r}"
        raise ValueError(msg)
    if by != "result.type":
        if by not in df.columns:
            msg = f"by={by!r} is not a column of the frame"
            raise ValueError(msg)
        df = df.assign(**{"result.type": df[by]})
    return AuditReport(
        df,
        labels,
        threshold=threshold,
        label_col=label_col,
        join_on=join_on,
        bins=bins,
        n_bins=n_bins,
    )


class AuditReport:
    """Tables (plain DataFrames, computed on first use and cached), figures and an HTML report.

    Without labels: ``summary``, ``status``, ``errors``, ``by_type``, ``review_queue()``,
    ``drift()``, ``by_configuration``, ``configuration_mix``, ``rule_changes``,
    ``unused_rules``, ``unknown_types``, ``reclassified``, ``flips()``. With labels also
    ``accuracy``, ``confusion``, ``calibration()``, ``ece``, ``mce``, ``brier``,
    ``risk_coverage``, ``aurc``, ``recommend_threshold()``, ``disagreements``,
    ``recalibrate()``.
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
    ) -> None:
        self.threshold = threshold
        self.bins: BinStrategy = bins
        self.n_bins = n_bins
        self.jobs, self.rules = prepare(df)
        recorded = df.attrs.get("classify_frames")
        #: Where the jobs came from, as the fetch recorded it in ``df.attrs`` (base URL and
        #: fetch time; never the key), for the report's context line.
        self.provenance: dict[str, Any] = dict(recorded) if isinstance(recorded, dict) else {}
        #: Configuration names (and versions) where the frame knows them, by id.
        self.configuration_names = _document.configuration_names(df)
        self.truth: pd.Series | None = None
        if labels is not None:
            known = {t for pairs in self.rules.values() for t, _ in pairs}
            known |= {str(t) for t in self.jobs["type"].cat.categories}
            self.truth = join_labels(
                self.jobs,
                labels,
                label_col=label_col,
                join_on=join_on,
                known_types=known if self.rules else None,
            )

    def __repr__(self) -> str:
        labelled = "" if self.truth is None else f", {len(self._labelled[0])} labelled"
        return f"<AuditReport of {len(self.jobs)} jobs{labelled}, threshold {self.threshold:g}>"

    # -- without labels ----------------------------------------------------------------------

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Headline numbers (jobs, completed and failure rates, no-match rate, confidence
        quantiles, share below threshold; with labels accuracy, ECE, MCE, Brier, AURC)."""
        extra = self._label_metrics if self.truth is not None else None
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
        precision, recall, F1, support, accuracy, ECE, MCE, Brier and over-confidence."""
        labelled = self._labelled if self.truth is not None else None
        return _tables.by_type(self.jobs, self.threshold, labelled, self.bins, self.n_bins)

    def review_queue(
        self, n: int = 50, strategy: _tables.Strategy = "lowest", seed: int = 0
    ) -> pd.DataFrame:
        """Jobs most worth a human look, with an empty ``label`` column; save it, fill it in
        and pass it back as ``labels=`` (see :func:`._tables.review_queue`)."""
        return _tables.review_queue(self.jobs, self.threshold, n, strategy, seed)

    def drift(
        self, freq: str = "M", baseline: object = None, min_jobs: int = 200, alpha: float = 0.001
    ) -> pd.DataFrame:
        """Confidence, type mix, no-match rate (and accuracy) per period against a baseline,
        flagged where a shift is significant and large (see :func:`._tables.drift`)."""
        key = (freq, repr(baseline), min_jobs, alpha)
        if key not in self._drift_cache:
            self._drift_cache[key] = _tables.drift(
                self.jobs, self.threshold, freq, baseline, self.truth, min_jobs, alpha
            )
        return self._drift_cache[key]

    @cached_property
    def _drift_cache(self) -> dict[tuple[Any, ...], pd.DataFrame]:
        return {}

    @cached_property
    def by_configuration(self) -> pd.DataFrame:
        """Per configuration_id and rule-set fingerprint: jobs, no-match rate (Wilson interval),
        confidence, rules, first and last job."""
        return _rulesets.by_configuration(self.jobs, self.threshold, self.rules)

    @cached_property
    def configuration_mix(self) -> pd.DataFrame:
        """Share of each predicted type per configuration and rule set."""
        return _rulesets.configuration_mix(self.jobs)

    @cached_property
    def rule_changes(self) -> pd.DataFrame:
        """Rules added, removed or edited between rule-set versions."""
        return _rulesets.rule_changes(self.jobs, self.rules)

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
        return _rulesets.pairs_of(self.jobs, self.rules)

    def flips(
        self, from_rule_set: str | None = None, to_rule_set: str | None = None
    ) -> pd.DataFrame:
        """Flip matrix of reclassified documents (old type rows, new type columns)."""
        return _rulesets.flips(self._pairs, from_rule_set, to_rule_set)

    # -- with labels -------------------------------------------------------------------------

    def _need_labels(self, what: str) -> pd.Series:
        if self.truth is None:
            msg = f"{what} needs ground truth: audit(df, labels=...) with a DataFrame or CSV"
            raise ValueError(msg)
        return self.truth

    @cached_property
    def _labelled(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _tables.labelled(self.jobs, self._need_labels("this metric"))

    @cached_property
    def _label_metrics(self) -> dict[str, float]:
        y_true, y_pred, conf = self._labelled
        return _tables.label_metrics(y_true, y_pred, conf, self.bins, self.n_bins)

    @property
    def accuracy(self) -> float:
        """Share of labelled jobs whose type is the label ("no match" on "none" is right)."""
        self._need_labels("accuracy")
        return self._label_metrics["accuracy"]

    @property
    def ece(self) -> float:
        """Expected calibration error (top-label, default bins)."""
        self._need_labels("ece")
        return self._label_metrics["ece"]

    @property
    def mce(self) -> float:
        """Maximum calibration error (top-label, default bins)."""
        self._need_labels("mce")
        return self._label_metrics["mce"]

    @property
    def brier(self) -> float:
        """Top-label Brier score: mean of (confidence - correct)^2."""
        self._need_labels("brier")
        return self._label_metrics["brier"]

    @property
    def aurc(self) -> float:
        """Area under the risk-coverage curve (lower is better)."""
        self._need_labels("aurc")
        return self._label_metrics["aurc"]

    @cached_property
    def confusion(self) -> pd.DataFrame:
        """Confusion matrix (rows label, columns predicted), with a "no match" row and column."""
        self._need_labels("confusion")
        y_true, y_pred, _ = self._labelled
        return _tables.confusion(y_true, y_pred, _tables.type_order(y_pred, y_true))

    def calibration(
        self, bins: BinStrategy | None = None, n_bins: int | None = None
    ) -> pd.DataFrame:
        """Reliability table; ``bins`` "distinct" | "uniform" | "quantile" | "auto"."""
        self._need_labels("calibration")
        y_true, y_pred, conf = self._labelled
        return calibration_table(conf, y_true == y_pred, bins or self.bins, n_bins or self.n_bins)

    @cached_property
    def risk_coverage(self) -> pd.DataFrame:
        """At each distinct threshold: accepted, coverage, accuracy (Wilson interval), risk."""
        self._need_labels("risk_coverage")
        y_true, y_pred, conf = self._labelled
        return _tables.risk_coverage(conf, y_true == y_pred)[0]

    def recommend_threshold(self, target_accuracy: float = 0.95) -> pd.DataFrame:
        """Lowest threshold whose Wilson lower bound of accuracy meets the target, overall and
        per type, with how many jobs it keeps."""
        return _tables.recommend_threshold(
            self.jobs, self._need_labels("recommend_threshold"), target_accuracy
        )

    @cached_property
    def disagreements(self) -> pd.DataFrame:
        """Jobs stated at or above the threshold whose label differs (model or label errors)."""
        return _tables.disagreements(self.jobs, self._need_labels("disagreements"), self.threshold)

    def recalibrate(self) -> Recalibrator:
        """An isotonic map from stated to observed confidence per rule set, for new frames."""
        truth = self._need_labels("recalibrate")
        keep = self.jobs["completed"].to_numpy(bool) & truth.notna().to_numpy(bool)
        rows = self.jobs[keep]
        correct = (rows["type"].astype(object) == truth[keep].astype(object)).to_numpy(float)
        return Recalibrator(
            rows["confidence"].to_numpy(float), correct, rows["rule_set"].to_numpy(object)
        )

    # -- figures and HTML -------------------------------------------------------------------

    def plot_confidence(self) -> Figure:
        """Histograms of stated confidence per predicted type."""
        return _plots.confidence_histograms(self.jobs)

    def plot_reliability(self, bins: BinStrategy | None = None) -> Figure:
        """Reliability diagram (needs labels)."""
        return _plots.reliability(self.calibration(bins))

    def plot_risk_coverage(self) -> Figure:
        """Risk-coverage curve (needs labels)."""
        return _plots.risk_coverage_curve(self.risk_coverage, self.threshold)

    def plot_drift(self, freq: str = "M", baseline: object = None) -> Figure:
        """Confidence, no-match rate and PSI per period."""
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
        return bool((self.jobs["completed"] & self.jobs["created_at"].notna()).any())

    def sections(self, full: bool = True) -> list[tuple[str, pd.DataFrame]]:
        """The report's tables in order, by title (headline ones only if not ``full``)."""
        out = [("Summary", self.summary), ("By type", self.by_type)]
        if self.truth is not None:
            out.append(("Recommended thresholds", self.recommend_threshold()))
        if not full:
            return out
        out += [("Status", self.status), ("Errors", self.errors)]
        if self.truth is not None:
            out += [
                ("Confusion (rows: label)", self.confusion),
                ("Calibration", self.calibration()),
                ("Risk-coverage", self.risk_coverage),
                ("Disagreements (top 25)", self.disagreements.head(25)),
            ]
        if self._has_times:
            out.append(("Drift by month", self.drift()))
        out += [
            ("By configuration", self.by_configuration),
            ("Type mix by configuration", self.configuration_mix),
            ("Rule changes", self.rule_changes),
            ("Rules that never matched", self.unused_rules),
            ("Result types not in the rules", self.unknown_types),
            ("Reclassified documents", self.reclassified),
            ("Flips", self.flips()),
            ("Review queue (lowest confidence)", self.review_queue(25)),
        ]
        return out

    def _repr_html_(self) -> str:
        return _document.compact(self)

    def to_html(self, path: str | os.PathLike[str], *, target_accuracy: float = 0.95) -> Path:
        """Write the report as one self-contained HTML file (plots embedded), atomically:
        findings first, then one section per question, cells that miss ``target_accuracy``
        marked."""
        page = _document.document(self, target_accuracy)
        target = Path(path)
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        return target
