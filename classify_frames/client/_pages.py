"""Pages of jobs: what makes an answer usable, and which copy of a repeated job is kept."""

from __future__ import annotations

from collections import deque
from typing import Any

from ._json import body_problem
from ._precedence import newer_copy
from ._transport import Validator

__all__ = [
    "JOBS_PATH",
    "_new_items",
    "_newer",
    "damage_error",
    "job_problem",
    "page_problem",
    "split_damaged",
]

JOBS_PATH = "/api/v2/classify"


def job_problem(job_id: str) -> Validator:
    def problem(data: Any) -> str | None:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return f"the answer is not a job (a JSON {type(data).__name__})"
        if data["id"] != job_id:
            return f"the answer is job {data['id']!r}, not the one asked for"
        return None

    return problem


def page_problem(data: Any) -> str | None:
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return f"the answer is not a page of jobs (a JSON {type(data).__name__})"
    if not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in items):
        return "the page holds items that are not jobs"
    token = data.get("next_page_token")
    if token is not None and not isinstance(token, str):
        return "the page's next_page_token is not a string"
    return None


def split_damaged(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The sound jobs of a leniently parsed page, and what is wrong with each other one, by
    id (see :mod:`classify_frames._json`)."""
    sound: list[dict[str, Any]] = []
    damaged: dict[str, str] = {}
    for item in items:
        problem = body_problem(item)
        if problem is None:
            sound.append(item)
        else:
            damaged[item["id"]] = problem
    return sound, damaged


def damage_error(problem: str) -> str:
    """The ``fetch_error`` of a job the server sent as invalid JSON."""
    return f"the server sent this job as invalid JSON: {problem}"


def _new_items(items: list[dict[str, Any]], recent: deque[set[str]]) -> list[dict[str, Any]]:
    """The jobs of a page not seen in it already nor in the ``recent`` pages (then updated)."""
    seen: set[str] = set()
    new = []
    for item in items:
        job_id = item["id"]
        if job_id not in seen and not any(job_id in page for page in recent):
            seen.add(job_id)
            new.append(item)
    recent.append(seen)
    return new


def _newer(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Of two copies of a job, the one that wins by :mod:`classify_frames._precedence` (a tie:
    the one that came last)."""
    if old is None:
        return new
    return new if newer_copy(old, new) else old
