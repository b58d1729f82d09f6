"""Rule-set experiments: re-run jobs under new rules, compare, and name configurations.

>>> import classify_frames as cf
>>> after = cf.reclassify(sample, rules=better, experiment="receipts-v3")  # doctest: +SKIP
>>> cf.compare(sample, after, labels=labels)                               # doctest: +SKIP
"""

from __future__ import annotations

from ._compare import Comparison, compare
from ._configurations import configurations, save_configuration, with_configuration_names
from ._jobs import cancel_jobs, delete_jobs
from ._reclassify import ReclassifyPlan, reclassify
from ._rules import check_rules, fingerprint, read_rules

__all__ = [
    "Comparison",
    "ReclassifyPlan",
    "cancel_jobs",
    "check_rules",
    "compare",
    "configurations",
    "delete_jobs",
    "fingerprint",
    "read_rules",
    "reclassify",
    "save_configuration",
    "with_configuration_names",
]
