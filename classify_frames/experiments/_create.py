"""Creating, cancelling and deleting Classify jobs in bulk, with a clear result per job.

Creation is paced under the service's documented limit (40 requests per second; the free tier
allows 20 per minute: ``rate=20 / 60``) and every create carries a ``transaction_id``, so a
retried request, a re-run cell or a process killed mid-way never makes a job twice: the
service answers a known ``transaction_id`` with the job it made the first time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import orjson
import pandas as pd

from ..client._tasks import pool
from ..client._transport import Reply, Transport
from ._rules import Rule, rule_from_422

__all__ = [
    "DEFAULT_CREATE_RATE",
    "InputStyle",
    "JobRequest",
    "cancel_or_delete",
    "create_jobs",
    "creation_error",
]

JOBS_PATH = "/api/v2/classify"
#: Creations per second: the documented limit of ``POST /api/v2/classify``.
DEFAULT_CREATE_RATE = 40.0
#: ``"file_input"`` (current servers) or ``"legacy"`` (``file_id`` / ``parse_job_id`` bodies).
InputStyle = Literal["file_input", "legacy"]
_PASSES = 3  # rounds over creations still given up on, each at half the rate
_WINDOW = 1.02  # seconds: the service's one-second window, with a margin for network jitter


@dataclass(frozen=True)
class JobRequest:
    """One job to create: its input, its rules (or saved configuration) and transaction id."""

    input_type: str  # url, file_id or parse_job_id
    input_value: str
    transaction_id: str
    configuration: dict[str, Any] | None = None
    configuration_id: str | None = None

    def body(self, style: InputStyle) -> dict[str, Any]:
        """The JSON body of ``POST /api/v2/classify``."""
        if self.input_type == "parse_job_id":
            field = "parse_job_id"  # a file_input is read as a file or a URL
        elif style == "legacy" and self.input_type == "file_id":
            field = "file_id"
        else:
            field = "file_input"
        body: dict[str, Any] = {field: self.input_value, "transaction_id": self.transaction_id}
        if self.configuration is not None:
            body["configuration"] = self.configuration
        if self.configuration_id is not None:
            body["configuration_id"] = self.configuration_id
        return body


class _Spacing:
    """At most ``rate`` requests a second, evenly spread, and never more than ``rate`` in any
    second (the service counts a sliding window): a waiter woken late is not made to lose its
    slot (up to one interval is caught up), but the window check keeps that from bursting."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._sent: deque[float] = deque(maxlen=max(1, math.floor(rate)))

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            slot = max(self._next, now - self.interval)
            if len(self._sent) == self._sent.maxlen:
                slot = max(slot, self._sent[0] + _WINDOW)
            if slot > now:
                await asyncio.sleep(slot - now)
            self._sent.append(time.monotonic())
            self._next = slot + self.interval


def _is_job(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return f"the answer is not a job (a JSON {type(data).__name__})"
    return None


async def create_jobs(
    transport: Transport,
    requests: Sequence[JobRequest],
    *,
    rate: float = DEFAULT_CREATE_RATE,
    style: InputStyle = "file_input",
    on_done: Callable[[Reply], object] = lambda _: None,
) -> list[Reply]:
    """Create every job (in parallel, paced), one :class:`Reply` per request, in order.

    ``on_done`` is called with each reply once it is settled (a job, or a final error).

    Requests the service kept failing (429s, 5xx) go round again up to twice more, slower: they
    carry their transaction id, so a retry can only find the job, never make a second one.
    """
    if not rate > 0:
        msg = f"rate must be a positive number of creations per second, got {rate!r}"
        raise ValueError(msg)
    replies: list[Reply | None] = [None] * len(requests)
    todo = list(range(len(requests)))
    for round_ in range(_PASSES):
        last = round_ == _PASSES - 1
        await _round(transport, requests, todo, replies, _Spacing(rate / 2**round_), style,
                     on_done, last)  # fmt: skip
        todo = [i for i, r in enumerate(replies) if r is not None and r.gave_up]
        if not todo:
            break
    return [r if r is not None else Reply(None, error="not sent") for r in replies]


async def _round(
    transport: Transport,
    requests: Sequence[JobRequest],
    todo: list[int],
    replies: list[Reply | None],
    spacing: _Spacing,
    style: InputStyle,
    on_done: Callable[[Reply], object],
    last: bool,
) -> None:
    """One pass over the requests ``todo``, ``concurrency`` at a time, paced by ``spacing``."""

    async def send(i: int) -> None:
        await spacing.wait()
        body = orjson.dumps(requests[i].body(style))
        reply = await transport.request_json("POST", JOBS_PATH, content=body, validate=_is_job)
        replies[i] = reply
        if reply.data is not None or not reply.gave_up or last:
            on_done(reply)  # settled; one given up on now goes round again

    await pool(todo, send, max(1, min(transport.settings.concurrency, len(todo))))


def creation_error(reply: Reply, rules: list[Rule] | None) -> str:
    """Why a job was not created, in words (a 422 names the rule the server refused)."""
    error = reply.error or "no answer"
    if reply.status == 422:
        error = rule_from_422(error, rules)
    return f"not created: {error}"


async def cancel_or_delete(
    transport: Transport,
    job_ids: Sequence[str],
    action: Literal["cancel", "delete"],
    on_done: Callable[[int], object] = lambda _: None,
) -> pd.DataFrame:
    """Cancel or delete each job: one row per id (``id``, ``ok``, ``status``, ``error``)."""

    async def one(job_id: str) -> tuple[str, bool, str | None, str | None]:
        path = f"{JOBS_PATH}/{quote(job_id, safe='')}"
        if action == "cancel":
            reply = await transport.request_json("POST", path + "/cancel")
        else:
            reply = await transport.request_json("DELETE", path)
        on_done(1)
        if reply.data is None:
            return job_id, False, None, reply.error
        status = reply.data.get("status") if action == "cancel" else "DELETED"
        return job_id, True, status, None

    ids = list(dict.fromkeys(job_ids))
    limit = asyncio.Semaphore(transport.settings.concurrency)

    async def bounded(job_id: str) -> tuple[str, bool, str | None, str | None]:
        async with limit:
            return await one(job_id)

    rows = await asyncio.gather(*(bounded(i) for i in ids))
    return pd.DataFrame(
        {
            "id": pd.array([r[0] for r in rows], dtype="string[pyarrow]"),
            "ok": [r[1] for r in rows],
            "status": pd.array([r[2] for r in rows], dtype="string[pyarrow]"),
            "error": pd.array([r[3] for r in rows], dtype="string[pyarrow]"),
        }
    )
