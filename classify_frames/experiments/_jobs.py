"""Cancel or delete many jobs at once: one row per id saying what happened.

>>> cf.cancel_jobs(after["id"].dropna(), base_url=..., api_key=...)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack

import pandas as pd

from ..client import ClassifyClient, ClientOptions, borrow_or_make

__all__ = ["cancel_jobs", "delete_jobs"]


def cancel_jobs(
    job_ids: Iterable[str],
    *,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame:
    """Cancel PENDING/RUNNING jobs: ``id``, ``ok``, ``status`` (as the service now says) and
    ``error`` (``already COMPLETED``, ``not found`` …) per unique id, in order."""
    with borrow_or_make(client, client_options) as active:
        return active.cancel_jobs(job_ids, progress=client_options.get("progress"))


def delete_jobs(
    job_ids: Iterable[str],
    *,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame:
    """Delete jobs: ``id``, ``ok``, ``status`` (``DELETED``) and ``error`` per unique id."""
    with borrow_or_make(client, client_options) as active:
        return active.delete_jobs(job_ids, progress=client_options.get("progress"))
