"""Audit classification confidence: without labels, and against ground truth.

>>> import classify_frames as cf
>>> report = cf.audit(df, labels="labels.csv", threshold=0.9)   # doctest: +SKIP
>>> report.by_type, report.calibration(), report.recommend_threshold(0.95)  # doctest: +SKIP
>>> report.to_html("audit.html")                                 # doctest: +SKIP
"""

from __future__ import annotations

from .._exceptions import AuditWarning
from ._prepare import NO_MATCH
from ._recalibrate import Recalibrator
from ._report import AuditReport, audit

__all__ = ["NO_MATCH", "AuditReport", "AuditWarning", "Recalibrator", "audit"]
