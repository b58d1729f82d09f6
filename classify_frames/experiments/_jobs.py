"""Cancel or delete many jobs at once: one row per id saying what happened.

>>> cf.cancel_jobs(after["id"].dropna(), base_url=..., api_key=...)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Unpack

import pandas as pd

from .._options import ClientOptions
from .._progress import progress_bar
from ..fetch import ClassifyClient
from ._create import cancel_or_delete

__all__ = ["cancel_jobs", "delete_jobs"]


def _act(
    job_ids: Iterable[str],
    action: Literal["cancel", "delete"],
    client: ClassifyClient | None,
    options: ClientOptions,
) -> pd.DataFrame:
    if isinstance(job_ids, str | bytes):
        msg = "job_ids must be a list of ids, not one string (wrap it: [job_id])"
        raise TypeError(msg)
    ids = [str(i) for i in job_ids]
    active = client if client is not None else ClassifyClient(**options)
    progress = active._show(options.get("progress"))

    async def run() -> pd.DataFrame:
        label = "Cancelling jobs" if action == "cancel" else "Deleting jobs"
        with progress_bar(len(ids), label, progress) as bar:
            return await cancel_or_delete(active._here().transport, ids, action, bar.update)

    try:
        return active._run(run(), [])
    finally:
        if client is None:
            active.close()


def cancel_jobs(
    job_ids: Iterable[str],
    *,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame:
    """Cancel PENDING/RUNNING jobs: ``id``, ``ok``, ``status`` (as the service now says) and
    ``error`` (``already COMPLETED``, ``not found`` …) per unique id, in order."""
    return _act(job_ids, "cancel", client, client_options)


def delete_jobs(
    job_ids: Iterable[str],
    *,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame:
    """Delete jobs: ``id``, ``ok``, ``status`` (``DELETED``) and ``error`` per unique id."""
    return _act(job_ids, "delete", client, client_options)
