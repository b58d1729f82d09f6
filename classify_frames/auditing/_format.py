"""How the audit report writes a value: shares as percentages, counts with thousands
separators, intervals as ranges, short ids, a dash for what is missing.

Pure functions of one value each, so the document and its tests agree on every cell.

>>> percent(0.05835), count(17918), interval(0.721, 0.834), short_id("3f2a9c1e-77aa-4c1d")
('5.8%', '17,918', '72.1–83.4%', '3f2a9c1e…')
"""

from __future__ import annotations

import datetime as dt
import math
import re
from numbers import Real

import pandas as pd

__all__ = [
    "MISSING",
    "confidence",
    "count",
    "estimate",
    "goal",
    "interval",
    "is_missing",
    "number",
    "percent",
    "points",
    "short_id",
    "timestamp",
]

#: What a cell shows when there is no value (NaN, None, NA, NaT).
MISSING = "—"

_HEX_ID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F-]{4,}$")


def is_missing(value: object) -> bool:
    """True for None, NaN, ``pd.NA`` and ``NaT`` (never raises, unlike ``pd.isna`` on lists)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, Real) and math.isnan(float(value))


def percent(value: object, digits: int = 1) -> str:
    """A share in 0..1 as a percentage; a value that is not exactly 0 or 1 never reads as
    ``0%`` or ``100%``.

    >>> percent(0.8959), percent(1.0), percent(0.0004), percent(0.99996), percent(float("nan"))
    ('89.6%', '100%', '<0.1%', '>99.9%', '—')
    """
    if is_missing(value):
        return MISSING
    share = float(value)  # type: ignore[arg-type]
    if share in (0.0, 1.0):
        return f"{share * 100:.0f}%"
    step = 10.0**-digits
    scaled = share * 100
    if 0 < scaled < step:
        return f"<{step:.{digits}f}%"
    if 100 - step < scaled < 100:
        return f">{100 - step:.{digits}f}%"
    return f"{scaled:.{digits}f}%"


def goal(value: float) -> str:
    """A target share as people say it: ``95%``, ``97.5%``.

    >>> goal(0.95), goal(0.975)
    ('95%', '97.5%')
    """
    return f"{value * 100:g}%"


def count(value: object) -> str:
    """A count with thousands separators.

    >>> count(20000), count(3.0), count(None)
    ('20,000', '3', '—')
    """
    if is_missing(value):
        return MISSING
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def number(value: object, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits (ECE, Brier, PSI …).

    >>> number(0.041234), number(12345.6), number(float("nan"))
    ('0.0412', '1.23e+04', '—')
    """
    if is_missing(value):
        return MISSING
    return f"{float(value):.{digits}g}"  # type: ignore[arg-type]


def confidence(value: object) -> str:
    """A stated confidence or threshold as the API states it (``0.95``, not ``95%``).

    >>> confidence(0.95), confidence(0.9), confidence(0.123456)
    ('0.95', '0.9', '0.1235')
    """
    if is_missing(value):
        return MISSING
    return f"{float(value):.4g}"  # type: ignore[arg-type]


def points(value: object) -> str:
    """A change of a share, in percentage points with its sign.

    >>> points(0.052), points(-0.0049), points(0.0)
    ('+5.2 pts', '−0.5 pts', '±0.0 pts')
    """
    if is_missing(value):
        return MISSING
    change = round(float(value) * 100, 1)  # type: ignore[arg-type]
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{abs(change):.1f} pts"


def interval(low: object, high: object, digits: int = 1) -> str:
    """A 95% interval of a share as a range of percentages.

    >>> interval(0.72, 0.834), interval(0.9, 1.0), interval(float("nan"), 0.5)
    ('72.0–83.4%', '90.0–100%', '—')
    """
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{percent(low, digits).rstrip('%')}–{percent(high, digits)}"


def estimate(value: object, low: object, high: object, digits: int = 1) -> str:
    """A share with its interval: ``78.0% (72.0–83.4%)``; just the share without one."""
    if is_missing(low) or is_missing(high):
        return percent(value, digits)
    return f"{percent(value, digits)} ({interval(low, high, digits)})"


def short_id(value: object, width: int = 8) -> str:
    """A UUID-like id cut to its first ``width`` characters and an ellipsis; anything else
    (a name, a 10-digit rule-set fingerprint, ``(none)``) as it is.

    >>> short_id("9b1d6f1e-2f6c-4f43-9c55-5a0b1f3e9d21"), short_id("a3f09c21be")
    ('9b1d6f1e…', 'a3f09c21be')
    """
    if is_missing(value):
        return MISSING
    text = str(value)
    if len(text) > width + 4 and _HEX_ID.match(text):
        return text[:width] + "…"
    return text


def timestamp(value: object) -> str:
    """A point in time in UTC, to the minute: ``2026-03-01 14:05 UTC``.

    >>> timestamp("2026-03-01T14:05:09+00:00"), timestamp(None)
    ('2026-03-01 14:05 UTC', '—')
    """
    if is_missing(value):
        return MISSING
    try:
        moment = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.tz_convert(dt.UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"
