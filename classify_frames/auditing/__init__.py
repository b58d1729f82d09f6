"""Audit classification confidence: without labels, and against ground truth.

>>> import classify_frames as cf
>>> report = cf.audit(df, labels="labels.csv", threshold=0.9)   # doctest: +SKIP
>>> report.by_type, report.calibration(), report.recommend_threshold(0.95)  # doctest: +SKIP
>>> report.to_html("audit.html")                                 # doctest: +SKIP

What other packages of classify_frames use, besides :func:`audit`:

- :func:`compare` and :class:`Comparison`: two classifications of the same documents (before
  and after new rules), judged on the same labels;
- :func:`rule_set_ids`: the audit's fingerprint of each row's rule set;
- the gate of a CI job: :func:`parse_check` makes a :class:`Check`, :func:`evaluate` judges it
  into a :class:`CheckResult` (:class:`CheckError` when it cannot be asked);
- :func:`report_json` and :func:`write_json`: the whole report as one JSON document;
- :func:`terminal_tables`: the headline tables as a terminal shows them, and :func:`glance`
  the same as HTML (the explorer's "Audit this selection").
"""

from __future__ import annotations

from .._exceptions import AuditWarning
from ._audit import audit
from ._checks import Check, CheckError, CheckResult, evaluate, parse_check
from ._compare import Comparison, compare
from ._document import glance
from ._prepare import NO_MATCH, rule_set_ids
from ._recalibrate import Recalibrator
from ._report import AuditReport
from ._report_json import report_json, write_json
from ._terminal import terminal_tables

__all__ = [
    "NO_MATCH",
    "AuditReport",
    "AuditWarning",
    "Check",
    "CheckError",
    "CheckResult",
    "Comparison",
    "Recalibrator",
    "audit",
    "compare",
    "evaluate",
    "glance",
    "parse_check",
    "report_json",
    "rule_set_ids",
    "terminal_tables",
    "write_json",
]
