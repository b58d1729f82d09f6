"""A listing's filters as query parameters of the list endpoint."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .._exceptions import ConfigurationError, Opt, Parts
from ..frame import STATUSES
from ._options import Status, When

__all__ = ["list_queries"]


def list_queries(
    status: Status | Sequence[Status] | None = None,
    configuration_id: str | None = None,
    created_after: When | None = None,
    created_before: When | None = None,
) -> list[list[tuple[str, str]]]:
    """One query per status asked for (the API filters on one status at a time)."""
    base: list[tuple[str, str]] = []
    if configuration_id:
        base.append(("configuration_id", configuration_id))
    if created_after is not None:
        base.append(("created_at_on_or_after", _iso(created_after, "created_after")))
    if created_before is not None:
        base.append(("created_at_on_or_before", _iso(created_before, "created_before")))
    if status is None:
        return [base]
    statuses = [status] if isinstance(status, str) else list(dict.fromkeys(status))
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        msg: Parts = ["unknown ", Opt("status"), f" {unknown}"]
        hint = f"use one or more of {list(STATUSES)}"
        raise ConfigurationError(msg, option="status", hint=hint)
    return [[*base, ("status", s)] for s in statuses]


def _iso(value: When, name: str) -> str:
    got = f" must be a date or time (ISO 8601 like 2026-05-01), got {value!r}"
    problem: Parts = [Opt(name), got]
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigurationError(problem, option=name) from None
    if pd.isna(stamp):  # None, "", "NaT"
        raise ConfigurationError(problem, option=name)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").isoformat().replace("+00:00", "Z")
