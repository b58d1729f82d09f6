"""Rule-set experiments: re-run jobs under new rules, and name configurations.

>>> import classify_frames as cf
>>> after = cf.reclassify(sample, rules=better, experiment="receipts-v3")  # doctest: +SKIP
>>> cf.compare(sample, after, labels=labels)                               # doctest: +SKIP

``compare`` judges the two runs on the same labels, so it is the audit's
(:func:`classify_frames.auditing.compare`).
"""

from __future__ import annotations

from ._configurations import configurations, save_configuration, with_configuration_names
from ._jobs import cancel_jobs, delete_jobs
from ._reclassify import ReclassifyPlan, reclassify
from ._rules import check_rules, fingerprint, read_rules

__all__ = [
    "ReclassifyPlan",
    "cancel_jobs",
    "check_rules",
    "configurations",
    "delete_jobs",
    "fingerprint",
    "read_rules",
    "reclassify",
    "save_configuration",
    "with_configuration_names",
]
