"""The endpoints besides fetching: create, cancel and delete jobs; list and save configurations.

Creation is paced under the service's documented limit (40 requests per second; the free tier
allows 20 per minute: ``rate=20 / 60``) by a pacer the client keeps for its life, so the limit
holds across calls too. Every creation must carry a ``transaction_id``: a retried request, a
re-run cell or a process killed mid-way then never makes a job twice, since the service
answers a known ``transaction_id`` with the job it made the first time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import orjson
import pandas as pd

from .._exceptions import APIError, ConfigurationError
from ._limits import Pacer
from ._pages import JOBS_PATH
from ._tasks import pool
from ._transport import Reply, Transport

__all__ = ["CONFIGURATIONS_PATH", "CREATE_RATE", "Creation", "Jobs", "Outcome"]

#: Creations per second: the documented limit of ``POST /api/v2/classify``.
CREATE_RATE = 40.0
CONFIGURATIONS_PATH = "/api/v1/beta/configurations"
_PRODUCT = "classify_v2"
_ABSENT = frozenset({404, 405, 501})  # a server without the configurations API
_PASSES = 3  # rounds over creations still given up on, each at half the rate
#: Answers after which the service has certainly not made the job: it refused the request
#: itself (a 408 or 429 says nothing of an earlier attempt that may have got through).
_REFUSED = frozenset(range(400, 500)) - {408, 429}

#: ``"created"``; ``"not created"`` (the service refused it, or it was never sent);
#: ``"unknown"`` (no clear answer: the job may exist, and be billed).
Outcome = Literal["created", "not created", "unknown"]


@dataclass(frozen=True)
class Creation:
    """What one creation ended with.

    ``outcome`` is ``"unknown"`` when no answer settled it (a timeout, a 5xx, a 500 with
    ``x-should-retry: false``): the job may exist and be billed. Sending the same body again
    (the same ``transaction_id``) then returns that job if it was made, and makes it if not.
    """

    outcome: Outcome
    transaction_id: str
    job: dict[str, Any] | None = None
    status: int | None = None
    error: str | None = None


def _outcome(reply: Reply) -> Outcome:
    if reply.data is not None:
        return "created"
    if reply.attempts == 0 or (reply.status in _REFUSED and not reply.gave_up):
        return "not created"
    return "unknown"


def _is_job(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return f"the answer is not a job (a JSON {type(data).__name__})"
    return None


def _page_problem(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return f"the answer is not a page of configurations (a JSON {type(data).__name__})"
    return None


def check_bodies(bodies: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """The bodies as JSON, or a ``ValueError`` naming one without a ``transaction_id``."""
    encoded = []
    for i, body in enumerate(bodies):
        if not isinstance(body, Mapping):
            msg = f"body {i} must be a mapping (a JSON object), got {type(body).__name__}"
            raise TypeError(msg)
        key = body.get("transaction_id")
        if not isinstance(key, str) or not key:
            msg = (
                f"body {i} has no transaction_id: every creation carries one, so that a "
                "retry or a re-run never makes (and bills) a job twice"
            )
            raise ValueError(msg)
        encoded.append(orjson.dumps(dict(body)))
    return encoded


class Jobs:
    """Creation, cancellation, deletion and configurations, over a client's one transport.

    Made on the client's loop, with the creation pacer the client keeps for its life.
    """

    def __init__(self, transport: Transport, pacer: Pacer | None = None) -> None:
        self.transport = transport
        self._creations = pacer if pacer is not None else Pacer(CREATE_RATE)

    async def create(
        self,
        bodies: Sequence[Mapping[str, Any]],
        rate: float,
        on_done: Callable[[Creation], object] = lambda _: None,
    ) -> list[Creation]:
        """Create every job (in parallel, paced), one :class:`Creation` per body, in order.

        Creations the service kept failing (429s, 5xx) go round again up to twice more,
        slower: they carry their transaction id, so a retry can only find the job, never make
        a second one. ``on_done`` is called with each creation once it is settled.
        """
        encoded = check_bodies(bodies)
        keys = [str(b["transaction_id"]) for b in bodies]
        replies: list[Reply | None] = [None] * len(bodies)
        todo = list(range(len(bodies)))
        for round_ in range(_PASSES):
            last = round_ == _PASSES - 1
            self._creations.set_rate(rate / 2**round_)

            async def send(i: int, last: bool = last) -> None:
                await self._creations.wait()
                reply = await self.transport.request_json(
                    "POST", JOBS_PATH, content=encoded[i], validate=_is_job
                )
                replies[i] = reply
                if reply.data is not None or not reply.gave_up or last:
                    on_done(_creation(reply, keys[i]))  # one given up on goes round again

            width = max(1, min(self.transport.settings.concurrency, len(todo)))
            await pool(todo, send, width)
            todo = [i for i, r in enumerate(replies) if r is not None and r.gave_up]
            if not todo:
                break
        return [
            _creation(r if r is not None else Reply(None, error="not sent", attempts=0), key)
            for r, key in zip(replies, keys, strict=True)
        ]

    async def cancel_or_delete(
        self,
        job_ids: Sequence[str],
        action: Literal["cancel", "delete"],
        on_done: Callable[[int], object] = lambda _: None,
    ) -> pd.DataFrame:
        """Cancel or delete each job: one row per id (``id``, ``ok``, ``status``, ``error``)."""

        async def one(job_id: str) -> tuple[str, bool, str | None, str | None]:
            path = f"{JOBS_PATH}/{quote(job_id, safe='')}"
            if action == "cancel":
                reply = await self.transport.request_json("POST", path + "/cancel")
            else:
                reply = await self.transport.request_json("DELETE", path)
            on_done(1)
            if reply.data is None:
                return job_id, False, None, reply.error
            status = reply.data.get("status") if action == "cancel" else "DELETED"
            return job_id, True, status, None

        ids = list(dict.fromkeys(job_ids))
        limit = asyncio.Semaphore(self.transport.settings.concurrency)

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

    async def configurations(self) -> list[dict[str, Any]] | None:
        """Every ``classify_v2`` configuration, or None when the server has no such API."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            params = [("product_type", _PRODUCT), ("page_size", "100")]
            if token:
                params.append(("page_token", token))
            reply = await self.transport.request_json(
                "GET", CONFIGURATIONS_PATH, params=params, validate=_page_problem
            )
            if reply.data is None:
                if reply.status in _ABSENT:
                    return None
                msg = f"listing configurations failed: {reply.error}"
                raise APIError(msg, status_code=reply.status, path=CONFIGURATIONS_PATH)
            items.extend(i for i in reply.data["items"] if isinstance(i, dict))
            token = reply.data.get("next_page_token")
            if not token or token in seen:
                return items
            seen.add(token)

    async def save_configuration(self, name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Save ``parameters`` under ``name`` (the service upserts by name)."""
        body = {"name": name, "parameters": {"product_type": _PRODUCT, **parameters}}
        reply = await self.transport.request_json(
            "POST", CONFIGURATIONS_PATH, content=orjson.dumps(body)
        )
        if reply.data is None:
            if reply.status in _ABSENT:
                msg = (
                    f"this server has no configurations API (it answered {reply.status}); "
                    "give the rules themselves instead of a saved configuration"
                )
                raise ConfigurationError(msg)
            msg = f"saving configuration {name!r} failed: {reply.error}"
            raise APIError(msg, status_code=reply.status, path=CONFIGURATIONS_PATH)
        data: dict[str, Any] = reply.data
        return data


def _creation(reply: Reply, key: str) -> Creation:
    return Creation(_outcome(reply), key, reply.data, reply.status, reply.error)
