"""Audit classification confidence: without labels, and against ground truth.

>>> import classify_frames as cf
>>> report = cf.audit(df, labels="labels.csv", threshold=0.9)   # doctest: +SKIP
>>> report.by_type, report.calibration(), report.recommend_threshold(0.95)  # doctest: +SKIP
>>> report.to_html("audit.html")                                 # doctest: +SKIP
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ._labels import AuditWarning
from ._prepare import NO_MATCH
from ._recalibrate import Recalibrator
from ._report import AuditReport, audit

__all__ = ["NO_MATCH", "AuditReport", "AuditWarning", "Recalibrator", "audit"]


class _CallableModule(types.ModuleType):
    """Importing this subpackage binds ``classify_frames.audit`` to the module, shadowing the
    ``audit`` function that ``classify_frames`` exports under the same name; calling the module
    calls the function, so ``cf.audit(df)`` works whichever of the two the name holds."""

    def __call__(self, *args: Any, **kwargs: Any) -> AuditReport:
        return audit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
