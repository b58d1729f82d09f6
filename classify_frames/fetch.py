"""Fetch many Classify jobs at once: batched, concurrent, polite, and with nothing lost.

Known ids go through the list endpoint's ``job_ids`` filter, up to 100 a request; ids it does
not return are asked for one by one to learn why; a server that ignores ``job_ids`` is detected
and the rest is fetched per id. Every unique requested id ends up as exactly one row, in input
order: the job, or a ``fetch_error`` saying why not.

>>> import classify_frames as cf
>>> with cf.Emulator(jobs=1_000, seed=0) as emu:                      # doctest: +SKIP
...     df = cf.fetch_jobs(["cls-00000001", "nope"], base_url=emu.base_url, api_key=emu.api_key)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
import pandas as pd

from ._exceptions import APIError, ClassifyFramesError, FetchError
from ._http import Stats, Transport, Validator
from ._json import body_problem
from ._precedence import newer_copy
from ._progress import progress_bar
from ._schema import FINAL_STATUSES, STATUSES
from ._settings import Settings
from ._sync import iterate_sync, run_sync
from .frame import build_frame

__all__ = ["ClassifyClient", "afetch_jobs", "alist_jobs", "fetch_jobs", "last_partial", "list_jobs"]

T = TypeVar("T")

_JOBS_PATH = "/api/v2/classify"
_BATCH = 100  # the list endpoint's largest page
_QUERY_BUDGET = 6_000  # characters of job_ids per request, well under common URL limits
_MAX_ID_LENGTH = 512
_FORBIDDEN_IN_ID = re.compile(r"[\s/\\?#%]")
_DEDUP_WINDOW = 20  # pages of ids remembered to drop jobs a listing repeats
_TOKEN_REPEATS = 5  # times in a row a repeated page token is asked for again
_CLIENT_OPTIONS = frozenset(
    {
        "api_key", "base_url", "region", "project_id", "organization_id", "timeout",
        "connect_timeout", "concurrency", "max_requests_per_second", "retries",
        "allow_insecure_http", "proxy", "progress", "transport",
    }
)  # fmt: skip

Status = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]
When = str | dt.date | dt.datetime | pd.Timestamp

_last_partial: pd.DataFrame | None = None


class ClassifyClient:
    """Settings plus a connection pool, for many fetches.

    >>> client = ClassifyClient(base_url="http://127.0.0.1:8000", api_key="llx-")  # doctest: +SKIP
    >>> df = client.fetch_jobs(ids)                                               # doctest: +SKIP
    >>> client.stats()                                                             # doctest: +SKIP
    {'requests': 101, 'retries': 0, 'by_status': {'200': 101}}

    Sync methods work in scripts and inside Jupyter; the ``a``-prefixed ones are awaitable.
    ``proxy`` is an http(s) proxy URL (by default the environment's ``HTTPS_PROXY`` and
    friends; ``""`` for none). ``transport`` replaces the network (an ``httpx.MockTransport``
    in unit tests).
    When a call is interrupted (Ctrl-C, kernel interrupt, task cancel) the jobs fetched so far
    are kept in :attr:`partial`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        region: Literal["na", "eu"] = "na",
        project_id: str | None = None,
        organization_id: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        concurrency: int = 32,
        max_requests_per_second: float | None = None,
        retries: int = 5,
        allow_insecure_http: bool = False,
        proxy: str | None = None,
        progress: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = Settings(
            api_key=api_key,
            base_url=base_url,
            region=region,
            project_id=project_id,
            organization_id=organization_id,
            timeout=timeout,
            connect_timeout=connect_timeout,
            concurrency=concurrency,
            max_requests_per_second=max_requests_per_second,
            retries=retries,
            allow_insecure_http=allow_insecure_http,
            proxy=proxy,
        )
        self.settings.require_key()
        self.progress = progress
        self.partial: pd.DataFrame | None = None
        self._stats = Stats()
        self._transports: dict[asyncio.AbstractEventLoop, Transport] = {}
        self._ignores_job_ids = False
        self._http = transport

    def __repr__(self) -> str:
        s = self.__dict__.get("settings")
        if s is None:  # __init__ refused its settings: a traceback may still show this object
            return "ClassifyClient(<not configured>)"
        return (
            f"ClassifyClient(base_url={s.base_url!r}, project_id={s.project_id!r}, "
            f"concurrency={s.concurrency}, max_requests_per_second={s.max_requests_per_second})"
        )

    def stats(self) -> dict[str, Any]:
        """Requests sent, retries and answers by status, over the client's life."""
        return self._stats.as_dict()

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ClassifyClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    async def __aenter__(self) -> ClassifyClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def close(self) -> None:
        """Close connection pools left open by async use (sync calls close their own)."""
        for loop, transport in list(self._transports.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(transport.aclose())
        self._transports.clear()

    async def aclose(self) -> None:
        """Close this event loop's connection pool."""
        transport = self._transports.pop(asyncio.get_running_loop(), None)
        if transport is not None:
            await transport.aclose()

    def _transport(self) -> Transport:
        loop = asyncio.get_running_loop()
        transport = self._transports.get(loop)
        if transport is None:
            transport = self._transports[loop] = Transport(self.settings, self._stats, self._http)
        return transport

    def _run(self, coro: Awaitable[T]) -> T:
        async def once() -> T:
            try:
                return await coro
            finally:
                await self.aclose()

        return run_sync(once())

    # -- fetching known ids ------------------------------------------------------------------

    def fetch_jobs(
        self,
        job_ids: Iterable[str],
        *,
        nested: bool = False,
        strict: bool = False,
        wait: bool = False,
        wait_timeout: float = 600.0,
        per_id: bool = False,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Fetch jobs by id: one row per unique id, in input order.

        Args:
            job_ids: the ids; duplicates are fetched once.
            nested: ``configuration``, ``result`` and ``usage`` as struct columns.
            strict: raise :class:`FetchError` listing the jobs that failed instead of
                returning them as rows with ``fetch_error``.
            wait: poll PENDING/RUNNING jobs until they end or ``wait_timeout`` seconds pass.
            per_id: skip the batched list path and GET each job (slower; for servers or
                proxies that mishandle ``job_ids``).
            progress: show a progress bar (default: the client's setting).
        """
        return self._run(
            self.afetch_jobs(
                job_ids, nested=nested, strict=strict, wait=wait, wait_timeout=wait_timeout,
                per_id=per_id, progress=progress,
            )
        )  # fmt: skip

    async def afetch_jobs(
        self,
        job_ids: Iterable[str],
        *,
        nested: bool = False,
        strict: bool = False,
        wait: bool = False,
        wait_timeout: float = 600.0,
        per_id: bool = False,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Awaitable :meth:`fetch_jobs`."""
        ids = _unique_ids(job_ids)
        state = _Collected(ids)
        bar = progress_bar(len(ids), "Fetching jobs", self._show(progress))
        try:
            with bar:
                await self._fetch_into(state, ids, per_id=per_id, on_done=bar.update)
                if wait:
                    await self._wait(state, wait_timeout, per_id=per_id)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._keep_partial(state.frame(nested, self._attrs(), unfinished="interrupted"))
            raise
        frame = state.frame(nested, self._attrs())
        if strict and state.errors:
            raise FetchError({k: v[0] for k, v in state.errors.items()}, frame=frame)
        return frame

    async def _fetch_into(
        self,
        state: _Collected,
        ids: Sequence[str],
        *,
        per_id: bool,
        on_done: Callable[[int], object],
    ) -> None:
        transport = self._transport()
        if per_id or self._ignores_job_ids:
            await _pool(ids, lambda i: self._fetch_one(transport, state, i, on_done), self._width)
        else:
            batches = _batches(ids)
            await _pool(
                batches, lambda b: self._fetch_batch(transport, state, b, on_done), self._width
            )

    @property
    def _width(self) -> int:
        return self.settings.concurrency

    async def _fetch_one(
        self, transport: Transport, state: _Collected, job_id: str, on_done: Callable[[int], object]
    ) -> None:
        reply = await transport.get_json(
            f"{_JOBS_PATH}/{_quote(job_id)}", validate=_job_problem(job_id)
        )
        damage = body_problem(reply.data) if reply.lenient else None
        if damage is not None:
            state.fail(job_id, _damaged(damage), reply.status)
        elif reply.data is not None:
            state.add(reply.data)
        else:
            state.fail(job_id, reply.error, reply.status)
        on_done(1)

    async def _fetch_batch(
        self,
        transport: Transport,
        state: _Collected,
        batch: list[str],
        on_done: Callable[[int], object],
    ) -> None:
        if self._ignores_job_ids:
            await _pool(batch, lambda i: self._fetch_one(transport, state, i, on_done), 4)
            return
        wanted = set(batch)
        found: dict[str, dict[str, Any]] = {}
        damaged: set[str] = set()  # ids whose job the server sent as invalid JSON
        params = [("job_ids", i) for i in batch] + [("page_size", str(_BATCH))]
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            page = params + ([("page_token", token)] if token else [])
            reply = await transport.get_json(_JOBS_PATH, page, validate=_page_problem)
            if reply.data is None:
                break  # the batch request failed for good: see below
            items: list[dict[str, Any]] = reply.data["items"]
            if reply.lenient:
                items = _undamaged(items, wanted, damaged, state, reply.status)
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
        await _pool(missing, lambda i: self._fetch_one(transport, state, i, on_done), 4)

    def _server_ignores_job_ids(self) -> None:
        if not self._ignores_job_ids:
            self._ignores_job_ids = True
            msg = (
                "the server ignored the job_ids filter (it returned jobs that were not asked "
                "for); fetching the remaining jobs one by one"
            )
            warnings.warn(msg, stacklevel=2)

    async def _wait(self, state: _Collected, timeout: float, *, per_id: bool) -> None:
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
            await self._fetch_into(state, pending, per_id=per_id, on_done=lambda _: None)

    # -- listing -----------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        status: Status | Sequence[Status] | None = None,
        configuration_id: str | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        limit: int | None = None,
        nested: bool = False,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Every job matching the filters (both date bounds inclusive), newest pages first.

        ``status`` may be one status or several; ``limit`` caps the number of rows.
        """
        return self._run(
            self.alist_jobs(
                status=status, configuration_id=configuration_id, created_after=created_after,
                created_before=created_before, limit=limit, nested=nested, progress=progress,
            )
        )  # fmt: skip

    async def alist_jobs(
        self,
        *,
        status: Status | Sequence[Status] | None = None,
        configuration_id: str | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        limit: int | None = None,
        nested: bool = False,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Awaitable :meth:`list_jobs`."""
        queries = _list_queries(status, configuration_id, created_after, created_before)
        jobs: dict[str, dict[str, Any]] = {}
        bar = progress_bar(None, "Listing jobs", self._show(progress))
        try:
            with bar:
                async for page in self._pages(queries, limit, bar):
                    for job in page:
                        jobs[job["id"]] = _newer(jobs.get(job["id"]), job)
        except (asyncio.CancelledError, KeyboardInterrupt, ClassifyFramesError):
            self._keep_partial(build_frame(list(jobs.values()), nested=nested))
            raise
        frame = build_frame(list(jobs.values()), nested=nested)
        frame.attrs.update(self._attrs())
        return frame

    async def _pages(
        self, queries: list[list[tuple[str, str]]], limit: int | None, bar: Any
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of jobs for each query, following cursors, never past ``limit`` jobs.

        A job a page repeats from the last ones is dropped before it counts toward ``limit``.
        A repeated page token is asked for again (a server's hiccup), up to a few times in a
        row before the listing is left with a warning, so a looping server cannot hold us.
        """
        transport = self._transport()
        left = limit if limit is not None else -1
        for query in queries:
            token: str | None = None
            seen_tokens: set[str] = set()
            repeats = 0
            recent: deque[set[str]] = deque(maxlen=_DEDUP_WINDOW)
            while left != 0:
                params = [*query, ("page_size", str(_BATCH))]
                if token:
                    params.append(("page_token", token))
                reply = await transport.get_json(_JOBS_PATH, params, validate=_page_problem)
                if reply.data is None:
                    msg = (
                        f"listing jobs failed: {reply.error}; the jobs listed so far are in "
                        "client.partial (or classify_frames.fetch.last_partial())"
                    )
                    raise APIError(msg, status_code=reply.status, path=_JOBS_PATH)
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

    # -- streaming ---------------------------------------------------------------------------

    def iter_frames(
        self,
        job_ids: Iterable[str] | None = None,
        *,
        batch_size: int = 1_000,
        nested: bool = False,
        progress: bool | None = None,
        **filters: Any,
    ) -> Iterator[pd.DataFrame]:
        """Frames of ``batch_size`` rows (the last may hold fewer) as jobs arrive; flat memory.

        With ``job_ids`` every unique id is exactly one row across all frames; otherwise the
        listing's jobs for ``filters`` (status, configuration_id, created_after,
        created_before, limit).
        """
        return iterate_sync(
            self._closing(
                self.aiter_frames(
                    job_ids, batch_size=batch_size, nested=nested, progress=progress, **filters
                )
            )
        )

    async def _closing(self, frames: AsyncIterator[pd.DataFrame]) -> AsyncIterator[pd.DataFrame]:
        try:
            async for frame in frames:
                yield frame
        finally:
            await self.aclose()

    async def aiter_frames(
        self,
        job_ids: Iterable[str] | None = None,
        *,
        batch_size: int = 1_000,
        nested: bool = False,
        progress: bool | None = None,
        **filters: Any,
    ) -> AsyncIterator[pd.DataFrame]:
        """Awaitable-iterator form of :meth:`iter_frames`."""
        if batch_size < 1:
            msg = f"batch_size must be >= 1, got {batch_size!r}"
            raise ValueError(msg)
        if job_ids is not None:
            if filters:
                msg = f"give job_ids or list filters, not both (got {sorted(filters)})"
                raise ValueError(msg)
            ids = _unique_ids(job_ids)
            with progress_bar(len(ids), "Fetching jobs", self._show(progress)) as bar:
                for start in range(0, len(ids), batch_size):
                    chunk = ids[start : start + batch_size]
                    state = _Collected(chunk)
                    await self._fetch_into(state, chunk, per_id=False, on_done=bar.update)
                    yield state.frame(nested, self._attrs())
            return
        limit = filters.pop("limit", None)
        queries = _list_queries(**filters)
        buffer: list[dict[str, Any]] = []
        with progress_bar(None, "Listing jobs", self._show(progress)) as bar:
            async for page in self._pages(queries, limit, bar):
                buffer.extend(page)
                while len(buffer) >= batch_size:
                    yield _frame_with(buffer[:batch_size], nested, self._attrs())
                    del buffer[:batch_size]
            if buffer:
                yield _frame_with(buffer, nested, self._attrs())

    # -- helpers -----------------------------------------------------------------------------

    def _show(self, progress: bool | None) -> bool:
        return self.progress if progress is None else progress

    def _attrs(self) -> dict[str, Any]:
        fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return {"classify_frames": {"base_url": self.settings.base_url, "fetched_at": fetched_at}}

    def _keep_partial(self, frame: pd.DataFrame) -> None:
        global _last_partial
        self.partial = _last_partial = frame


# -- module-level one-shot functions -----------------------------------------------------------


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    client = {k: v for k, v in options.items() if k in _CLIENT_OPTIONS and k != "progress"}
    call = {k: v for k, v in options.items() if k not in client}
    return client, call


def fetch_jobs(job_ids: Iterable[str], **options: Any) -> pd.DataFrame:
    """Fetch jobs by id into one typed frame with a one-shot :class:`ClassifyClient`.

    ``options`` are the client's settings (``api_key``, ``base_url``, ``concurrency`` …) and
    :meth:`ClassifyClient.fetch_jobs`'s options (``strict``, ``wait``, ``nested`` …).
    """
    client_options, call_options = _split(options)
    with ClassifyClient(**client_options) as client:
        return client.fetch_jobs(job_ids, **call_options)


async def afetch_jobs(job_ids: Iterable[str], **options: Any) -> pd.DataFrame:
    """Awaitable :func:`fetch_jobs`."""
    client_options, call_options = _split(options)
    async with ClassifyClient(**client_options) as client:
        return await client.afetch_jobs(job_ids, **call_options)


def list_jobs(**options: Any) -> pd.DataFrame:
    """List jobs by filter into one typed frame with a one-shot :class:`ClassifyClient`."""
    client_options, call_options = _split(options)
    with ClassifyClient(**client_options) as client:
        return client.list_jobs(**call_options)


async def alist_jobs(**options: Any) -> pd.DataFrame:
    """Awaitable :func:`list_jobs`."""
    client_options, call_options = _split(options)
    async with ClassifyClient(**client_options) as client:
        return await client.alist_jobs(**call_options)


def last_partial() -> pd.DataFrame | None:
    """The jobs fetched so far by the last interrupted call, rows for the rest included."""
    return _last_partial


# -- pieces ------------------------------------------------------------------------------------


class _Collected:
    """Jobs and failures gathered for a list of ids; builds the frame in input order."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = ids
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


def _damaged(problem: str) -> str:
    return f"the server sent this job as invalid JSON: {problem}"


def _undamaged(
    items: list[dict[str, Any]],
    wanted: set[str],
    damaged: set[str],
    state: _Collected,
    status: int | None,
) -> list[dict[str, Any]]:
    """The items of a leniently parsed page that are sound; each asked-for damaged one
    becomes its id's failure (one asked for by nobody is dropped, and never taken for a sign
    that the server ignores ``job_ids``)."""
    sound = []
    for item in items:
        problem = body_problem(item)
        if problem is None:
            sound.append(item)
        elif item["id"] in wanted:
            damaged.add(item["id"])
            state.fail(item["id"], _damaged(problem), status)
    return sound


def _sound_listed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A listed page's sound jobs; the damaged ones are named in a warning."""
    problems = {item["id"]: p for item in items if (p := body_problem(item)) is not None}
    if problems:
        shown = "; ".join(f"{k!a}: {v}" for k, v in list(problems.items())[:3])
        msg = (
            f"{len(problems)} listed job(s) were sent as invalid JSON and left out ({shown}); "
            "fetch them by id for a row each that says why"
        )
        warnings.warn(msg, stacklevel=2)
    return [item for item in items if item["id"] not in problems]


def _frame_with(jobs: list[dict[str, Any]], nested: bool, attrs: dict[str, Any]) -> pd.DataFrame:
    frame = build_frame(jobs, nested=nested)
    frame.attrs.update(attrs)
    return frame


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


def _unique_ids(job_ids: Iterable[str]) -> list[str]:
    if isinstance(job_ids, str | bytes):
        msg = "job_ids must be a list of ids, not one string (wrap it: [job_id])"
        raise TypeError(msg)
    ids = list(dict.fromkeys(job_ids))
    bad = [i for i in ids if not _valid_id(i)]
    if bad:
        shown = ", ".join(repr(i)[:60] for i in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        msg = (
            f"invalid job id(s): {shown}{more}. Ids must be non-empty strings of at most "
            f"{_MAX_ID_LENGTH} characters, without whitespace or any of / \\ ? # %"
        )
        raise ValueError(msg)
    return ids


def _valid_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_ID_LENGTH
        and value not in (".", "..")
        and value.isprintable()
        and _FORBIDDEN_IN_ID.search(value) is None
    )


def _quote(job_id: str) -> str:
    return quote(job_id, safe="")


def _batches(ids: Sequence[str]) -> list[list[str]]:
    """Ids in groups of at most 100 whose ``job_ids=`` query stays within the URL budget."""
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for job_id in ids:
        cost = len(_quote(job_id)) + len("&job_ids=")
        if current and (len(current) == _BATCH or size + cost > _QUERY_BUDGET):
            batches.append(current)
            current, size = [], 0
        current.append(job_id)
        size += cost
    if current:
        batches.append(current)
    return batches


def _job_problem(job_id: str) -> Validator:
    def problem(data: Any) -> str | None:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return f"the answer is not a job (a JSON {type(data).__name__})"
        if data["id"] != job_id:
            return f"the answer is job {data['id']!r}, not the one asked for"
        return None

    return problem


def _page_problem(data: Any) -> str | None:
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return f"the answer is not a page of jobs (a JSON {type(data).__name__})"
    if not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in items):
        return "the page holds items that are not jobs"
    token = data.get("next_page_token")
    if token is not None and not isinstance(token, str):
        return "the page's next_page_token is not a string"
    return None


def _iso(value: When, name: str) -> str:
    msg = f"{name} must be a date or time (ISO 8601 like 2026-05-01), got {value!r}"
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    if pd.isna(stamp):  # None, "", "NaT"
        raise ValueError(msg)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _list_queries(
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
        msg = f"unknown status {unknown}; use one or more of {list(STATUSES)}"
        raise ValueError(msg)
    return [[*base, ("status", s)] for s in statuses]


async def _pool(items: Iterable[T], work: Callable[[T], Awaitable[object]], width: int) -> None:
    """Run ``work`` over ``items`` with at most ``width`` in flight; the first error stops all."""
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(width):
                group.create_task(worker())
    except BaseExceptionGroup as grouped:
        error = _first(grouped)
    else:
        return
    # Raised outside the handler: ``from None`` would only hide the group, and IPython still
    # finds it in ``__context__`` and prints a bare stderr traceback instead of the error.
    raise error


def _first(grouped: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = grouped
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
