"""Which requests a fetch or a listing makes, over a client's one transport.

Known ids go through the list endpoint's ``job_ids`` filter, up to 100 a request; ids it does
not return are asked for one by one to learn why; a server that ignores ``job_ids`` is detected
(it returns jobs nobody asked for) and the rest is fetched per id. Listings follow the cursor,
survive repeated tokens and duplicate items, and fail with an error carrying what they got.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from .._exceptions import APIError, Opt, RateLimitError
from ._collect import Collected
from ._ids import BATCH, batches, quote_id
from ._pages import (
    JOBS_PATH,
    _new_items,
    _newer,
    damage_error,
    job_problem,
    page_problem,
    split_damaged,
)
from ._tasks import pool
from ._transport import Reply, Transport

__all__ = ["Fetcher"]

_DEDUP_WINDOW = 20  # pages of ids remembered to drop jobs a listing repeats
_TOKEN_REPEATS = 5  # times in a row a repeated page token is asked for again
_MISSING_WIDTH = 4  # per-id requests in flight for the ids one batch did not return
# How credits are asked for, only when the caller wants them: documented for GET (SDK 2.19:
# "Use expand=usage for credits billed against the job"); not for listings, where a server that
# honours it answers them at no extra request (else add_usage asks per job).
_EXPAND = ("expand", "usage")
_UNBILLED = frozenset({"PENDING", "RUNNING"})  # usage is null until billing records it

OnDone = Callable[[int], object]


class Fetcher:
    """Fetches and listings over ``transport``, ``width`` requests in flight per call.

    It remembers, for the client's life, whether the server ignores ``job_ids``.
    """

    def __init__(self, transport: Transport, width: int) -> None:
        self.transport = transport
        self.width = width
        self.ignores_job_ids = False

    async def fetch_into(
        self, state: Collected, ids: Sequence[str], *, per_id: bool, on_done: OnDone
    ) -> None:
        """Fetch ``ids`` into ``state``: every id ends as a job or a failure there."""
        if per_id or self.ignores_job_ids:
            await pool(ids, lambda i: self._fetch_one(state, i, on_done), self.width)
            self._hint_at_base_path(state, ids)
        else:
            await pool(batches(ids), lambda b: self._fetch_batch(state, b, on_done), self.width)

    async def wait(self, state: Collected, timeout: float, *, per_id: bool) -> None:
        """Poll the PENDING/RUNNING jobs of ``state`` until they end or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        delay = 1.0
        while pending := state.unfinished():
            left = deadline - time.monotonic()
            if left <= 0:
                msg = f"{len(pending)} job(s) still PENDING/RUNNING after {timeout:g} s of waiting"
                warnings.warn(msg, stacklevel=3)
                return
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 30.0)
            await self.fetch_into(state, pending, per_id=per_id, on_done=lambda _: None)

    def _listing_error(self, reply: Reply) -> APIError:
        """Why a listing stopped, with the option to change when there is one."""
        error = RateLimitError if reply.status == 429 else APIError
        problem: list[str | Opt] = [f"listing jobs failed: {reply.error}"]
        option = None
        if reply.status == 429:
            option = "max_requests_per_second"
            problem += [" (lower ", Opt(option, 20 / 60), ", 20 a minute on the free tier)"]
        elif reply.status == 404:  # the collection always exists: the base URL is wrong
            option = "base_url"
            problem += [
                f" (no {JOBS_PATH} under {self.transport.settings.base_url}: check ",
                Opt(option), ", which is the host only, e.g. https://api.cloud.llamaindex.ai)",
            ]  # fmt: skip
        hint = "the jobs listed so far are in this error's .partial (and in client.partial)"
        return error(problem, status_code=reply.status, path=JOBS_PATH, option=option, hint=hint)

    async def pages(
        self,
        queries: list[list[tuple[str, str]]],
        limit: int | None,
        bar: Any,
        *,
        credits: bool = False,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The jobs of every page of every query, duplicates dropped, at most ``limit``
        (``credits``: asking for ``usage`` with ``expand=usage``).

        A page token seen before is asked for again up to ``_TOKEN_REPEATS`` times in a row (a
        flaky cursor), then the listing stops with a warning, so a looping server cannot hold
        us. Raises :class:`RateLimitError` (429s outlasted every retry) or :class:`APIError`.
        """
        left = limit if limit is not None else -1
        for query in queries:
            token: str | None = None
            seen_tokens: set[str] = set()
            repeats = 0
            recent: deque[set[str]] = deque(maxlen=_DEDUP_WINDOW)
            while left != 0:
                params = [*query, ("page_size", str(BATCH)), *([_EXPAND] if credits else [])]
                if token:
                    params.append(("page_token", token))
                reply = await self.transport.get_json(JOBS_PATH, params, validate=page_problem)
                if reply.data is None:
                    raise self._listing_error(reply)
                page = reply.data["items"]
                if reply.lenient:
                    page = _sound_listed(page)
                items = _new_items(page, recent)
                if left > 0:
                    items = items[:left]
                    left -= len(items)
                total = reply.data.get("total_size")
                if isinstance(total, int) and total >= 0 and bar.total is None:
                    bar.total = min(total, limit) if limit is not None else total
                bar.update(len(items))
                yield items
                token = reply.data.get("next_page_token")
                if not token:
                    break
                if token not in seen_tokens:
                    seen_tokens.add(token)
                    repeats = 0
                    continue
                repeats += 1
                if repeats > _TOKEN_REPEATS:
                    msg = (
                        f"the server repeated a page token {repeats} times in a row; stopped "
                        "this listing to avoid a loop"
                    )
                    warnings.warn(msg, stacklevel=2)
                    break

    async def _fetch_one(self, state: Collected, job_id: str, on_done: OnDone) -> None:
        reply = await self.transport.get_json(
            f"{JOBS_PATH}/{quote_id(job_id)}",
            [_EXPAND] if state.credits else None,
            validate=job_problem(job_id),
        )
        damaged = split_damaged([reply.data])[1] if reply.lenient else {}
        if damaged:
            state.fail(job_id, damage_error(next(iter(damaged.values()))), reply.status)
        elif reply.data is not None:
            state.add(reply.data)
        else:
            state.fail(job_id, reply.error, reply.status)
        on_done(1)

    async def _fetch_batch(self, state: Collected, batch: list[str], on_done: OnDone) -> None:
        if self.ignores_job_ids:
            await pool(batch, lambda i: self._fetch_one(state, i, on_done), _MISSING_WIDTH)
            return
        wanted = set(batch)
        found: dict[str, dict[str, Any]] = {}
        damaged: set[str] = set()  # ids whose job the server sent as invalid JSON
        params = [("job_ids", i) for i in batch] + [("page_size", str(BATCH))]
        if state.credits:
            params.append(_EXPAND)
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            page = params + ([("page_token", token)] if token else [])
            reply = await self.transport.get_json(JOBS_PATH, page, validate=page_problem)
            if reply.data is None:
                break  # the batch request failed for good: see below
            items: list[dict[str, Any]] = reply.data["items"]
            if reply.lenient:
                items, problems = split_damaged(items)
                # A damaged job nobody asked for is dropped, never taken for a sign that the
                # server ignores job_ids.
                for job_id, problem in problems.items():
                    if job_id in wanted:
                        damaged.add(job_id)
                        state.fail(job_id, damage_error(problem), reply.status)
            if any(item["id"] not in wanted for item in items):
                self._server_ignores_job_ids()
                break
            for item in items:
                found[item["id"]] = _newer(found.get(item["id"]), item)
            token = reply.data.get("next_page_token")
            if not token or token in seen_tokens or len(found) + len(damaged) == len(wanted):
                break
            seen_tokens.add(token)
        for job in found.values():
            state.add(job)
        missing = [i for i in batch if i not in found and i not in damaged]
        if reply.gave_up:
            # The service is failing, not this query: asking for each id would send it 100
            # times the requests (and wait out 100 times the backoff) to learn the same.
            for job_id in missing:
                state.fail(job_id, reply.error, reply.status)
            on_done(len(batch))
            return
        on_done(len(found) + len(damaged))
        await pool(missing, lambda i: self._fetch_one(state, i, on_done), _MISSING_WIDTH)
        self._hint_at_base_path(state, batch)

    async def add_usage(self, jobs: dict[str, dict[str, Any]]) -> None:
        """Credits for the jobs that came without ``usage`` (a listing that does not expand it),
        one GET with ``expand=usage`` each, in place; jobs still PENDING or RUNNING are skipped
        (nothing is billed yet). A job whose GET fails keeps no usage; a warning says how many."""
        wanted = [
            i
            for i, job in jobs.items()
            if "usage" not in job and job.get("status") not in _UNBILLED
        ]
        failed: list[str] = []

        async def one(job_id: str) -> None:
            reply = await self.transport.get_json(
                f"{JOBS_PATH}/{quote_id(job_id)}", [_EXPAND], validate=job_problem(job_id)
            )
            data = reply.data
            if isinstance(data, dict) and "usage" in data:
                jobs[job_id] = {**jobs[job_id], "usage": data["usage"]}
            else:
                failed.append(reply.error or "the server sent no usage")

        await pool(wanted, one, self.width)
        if failed:
            msg = f"credits unknown for {len(failed)} job(s): {failed[0]}"
            warnings.warn(msg, stacklevel=3)

    def _hint_at_base_path(self, state: Collected, ids: Sequence[str]) -> None:
        """A 404 for every id of a batch, under a base URL with a path: say the path is the
        likely cause (a per-id 404 alone reads as "this job does not exist")."""
        base = self.transport.settings.base_url or ""
        path = urlsplit(base).path
        if not ids or not path.strip("/"):
            return
        if not all(state.errors.get(i, ("", None))[1] == 404 for i in ids):
            return
        hint = (
            f"; every id of this batch got 404 under {base}, whose path {path!r} may be why: "
            f"the base URL is the host only, e.g. https://api.cloud.llamaindex.ai"
        )
        for job_id in dict.fromkeys(ids):
            error, status = state.errors[job_id]
            state.errors[job_id] = (error + hint, status)

    def _server_ignores_job_ids(self) -> None:
        if not self.ignores_job_ids:
            self.ignores_job_ids = True
            msg = (
                "the server ignored the job_ids filter (it returned jobs that were not asked "
                "for); fetching the remaining jobs one by one"
            )
            warnings.warn(msg, stacklevel=2)


def _sound_listed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A listed page's sound jobs; the damaged ones are named in a warning."""
    sound, problems = split_damaged(items)
    if problems:
        shown = "; ".join(f"{k!a}: {v}" for k, v in list(problems.items())[:3])
        msg = (
            f"{len(problems)} listed job(s) were sent as invalid JSON and left out ({shown}); "
            "fetch them by id for a row each that says why"
        )
        warnings.warn(msg, stacklevel=2)
    return sound
