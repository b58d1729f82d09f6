"""The audit's data as one plain value, and the view of a report that sentences and pages read.

:class:`AuditData` holds what an audit is made of (the prepared jobs, the labels, the random
sample among them and its outcomes); :class:`AuditView` names the report's public tables and
figures. The findings, the HTML document and the label plan take these, not ``AuditReport``,
so none of them imports the report (which imports them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from ._sample import LabelledSample

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._stats import BinStrategy

__all__ = ["AuditData", "AuditView"]


@dataclass(frozen=True)
class AuditData:
    """The data of one audit.

    ``jobs`` is the prepared frame (see :func:`._prepare.prepare`), ``truth`` each job's label
    (None without labels), ``sample`` the random sample among the labels (None when none is,
    see :mod:`._sample`), ``correct`` 1.0 / 0.0 per row of ``sample`` (the predicted type is
    the label), ``labelled`` the completed jobs with a label of any kind.
    """

    jobs: pd.DataFrame
    rules: dict[str, list[tuple[str, str]]]
    threshold: float
    truth: pd.Series | None = None
    sample: LabelledSample | None = None
    correct: np.ndarray = field(default_factory=lambda: np.zeros(0))
    labelled: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    configuration_names: dict[str, str] = field(default_factory=dict)

    @property
    def completed(self) -> np.ndarray:
        """Which rows of ``jobs`` completed."""
        done: np.ndarray = self.jobs["completed"].to_numpy(bool)
        return done

    @property
    def confidence(self) -> np.ndarray:
        """The stated confidence of each completed job (NaN where impossible or missing)."""
        values: np.ndarray = self.jobs.loc[self.completed, "confidence"].to_numpy(float)
        return values

    @property
    def labelled_mask(self) -> np.ndarray | None:
        """Which completed jobs hold a label of the random sample (None without one)."""
        if self.sample is None:
            return None
        mask = np.zeros(int(self.completed.sum()), bool)
        mask[self.sample.rows] = True
        return mask

    @property
    def has_times(self) -> bool:
        """Whether some completed job has a creation time (drift needs one)."""
        return bool((self.jobs["completed"] & self.jobs["created_at"].notna()).any())


class AuditView(Protocol):
    """The public tables and figures of an audit report that its sentences and pages read
    (``AuditReport`` is one), with its :class:`AuditData` as ``data``."""

    @property
    def data(self) -> AuditData: ...
    @property
    def threshold(self) -> float: ...
    @property
    def summary(self) -> pd.DataFrame: ...
    @property
    def status(self) -> pd.DataFrame: ...
    @property
    def errors(self) -> pd.DataFrame: ...
    @property
    def by_type(self) -> pd.DataFrame: ...
    @property
    def by_configuration(self) -> pd.DataFrame: ...
    @property
    def configuration_mix(self) -> pd.DataFrame: ...
    @property
    def rule_changes(self) -> pd.DataFrame: ...
    @property
    def unused_rules(self) -> pd.DataFrame: ...
    @property
    def unknown_types(self) -> pd.DataFrame: ...
    @property
    def reclassified(self) -> pd.DataFrame: ...
    @property
    def confusion(self) -> pd.DataFrame: ...
    @property
    def disagreements(self) -> pd.DataFrame: ...
    @property
    def risk_coverage(self) -> pd.DataFrame: ...
    @property
    def ece(self) -> float: ...
    @property
    def ece_debiased(self) -> float: ...
    @property
    def ece_ci(self) -> tuple[float, float]: ...
    @property
    def brier(self) -> float: ...
    @property
    def auroc(self) -> float: ...
    @property
    def auroc_ci(self) -> tuple[float, float]: ...
    @property
    def findings(self) -> Sequence[str]: ...
    def flips(
        self, from_rule_set: str | None = None, to_rule_set: str | None = None
    ) -> pd.DataFrame: ...
    def drift(
        self, freq: str = "M", baseline: object = None, min_jobs: int = 200, alpha: float = 0.001
    ) -> pd.DataFrame: ...
    def calibration(
        self, bins: BinStrategy | None = None, n_bins: int | None = None
    ) -> pd.DataFrame: ...
    def recommend_threshold(
        self, target_accuracy: float = 0.95, delta: float = 0.05, min_labels: int | None = None
    ) -> pd.DataFrame: ...
    def review_queue(self, n: int = 50) -> pd.DataFrame: ...
    def plot_confidence(self) -> Figure: ...
    def plot_reliability(self, bins: BinStrategy | None = None) -> Figure: ...
    def plot_risk_coverage(self) -> Figure: ...
    def plot_drift(self, freq: str = "M", baseline: object = None) -> Figure: ...
    def figures(self) -> dict[str, Figure]: ...
