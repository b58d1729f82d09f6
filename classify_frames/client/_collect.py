"""What a fetch gathers for the ids it was asked for, and the frame made of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..frame import FINAL_STATUSES, build_frame
from ._pages import _newer

__all__ = ["Collected", "frame_of"]


class Collected:
    """Jobs and failures gathered for a list of ids; builds the frame in input order.
    ``credits``: the requests ask for each job's ``usage`` (``expand=usage``)."""

    def __init__(self, ids: Sequence[str], *, credits: bool = False) -> None:
        self.ids = ids
        self.credits = credits
        self.jobs: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, tuple[str, int | None]] = {}

    def add(self, job: dict[str, Any]) -> None:
        self.jobs[job["id"]] = _newer(self.jobs.get(job["id"]), job)
        self.errors.pop(job["id"], None)

    def fail(self, job_id: str, error: str | None, status: int | None) -> None:
        if job_id not in self.jobs:  # a failed re-poll keeps the last state we saw
            self.errors[job_id] = (error or "unknown error", status)

    def unfinished(self) -> list[str]:
        return [i for i, job in self.jobs.items() if job.get("status") not in FINAL_STATUSES]

    def frame(
        self, nested: bool, attrs: dict[str, Any], unfinished: str | None = None
    ) -> pd.DataFrame:
        records: list[dict[str, Any]] = []
        errors: list[str | None] = []
        statuses: list[int | None] = []
        for job_id in self.ids:
            job = self.jobs.get(job_id)
            error, status = self.errors.get(job_id, (None, None))
            if job is None and error is None:
                error = f"not fetched: {unfinished or 'no answer'}"
            records.append(job if job is not None else {"id": job_id})
            errors.append(error)
            statuses.append(status)
        frame = build_frame(records, fetch_errors=errors, http_status=statuses, nested=nested)
        frame.attrs.update(attrs)
        return frame


def frame_of(jobs: list[dict[str, Any]], nested: bool, attrs: dict[str, Any]) -> pd.DataFrame:
    """A listing's jobs as a frame carrying ``attrs``."""
    frame = build_frame(jobs, nested=nested)
    frame.attrs.update(attrs)
    return frame
