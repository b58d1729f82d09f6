"""Fetch many Classify jobs at once: batched, concurrent, polite, and with nothing lost.

Every unique requested id ends up as exactly one row, in input order: the job, or a
``fetch_error`` saying why not. A :class:`ClassifyClient` keeps one event loop, its connection
pools, rate pacer and breaker from construction to :meth:`~ClassifyClient.close`, so the rate
limit and an open breaker hold across calls and threads, and connections are reused. The
module-level functions are one-shot conveniences that make and close a client per call.

>>> import classify_frames as cf
>>> with cf.Emulator(jobs=1_000, seed=0) as emu:                      # doctest: +SKIP
...     df = cf.fetch_jobs(["cls-00000001", "nope"], base_url=emu.base_url, api_key=emu.api_key)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import time
import weakref
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar, Unpack

import pandas as pd

from .._exceptions import ClassifyFramesError, ClientClosedError, FetchError
from ..frame import FINAL_STATUSES
from ._collect import Collected, frame_of
from ._fetcher import Fetcher
from ._files import FileURL, check_expires_in, check_file_id, file_url
from ._ids import unique_ids
from ._jobs import CREATE_RATE, Creation, Jobs, check_bodies
from ._limits import Pacer
from ._loop import LoopThread
from ._options import (
    CLIENT_DEFAULTS,
    FETCH_DEFAULTS,
    ITER_DEFAULTS,
    LIST_DEFAULTS,
    ClientOptions,
    FetchOptions,
    IterOptions,
    ListFilters,
    ListOptions,
    checked,
    names,
    settings_from,
    with_signature,
)
from ._pages import _newer
from ._progress import progress_bar
from ._queries import list_queries
from ._transport import Stats, Transport

__all__ = ["ClassifyClient"]

T = TypeVar("T")

_POLL_FIRST, _POLL_MAX = 0.5, 15.0  # seconds between wait_jobs' polls: first, and at most
_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
_JOB_IDS = inspect.Parameter("job_ids", inspect.Parameter.POSITIONAL_OR_KEYWORD)
_OPTIONAL_IDS = inspect.Parameter("job_ids", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)


@with_signature(ClientOptions, defaults=CLIENT_DEFAULTS)
class ClassifyClient:
    """Settings, one event loop, connection pools, a rate pacer and a breaker, for many calls.

    >>> client = ClassifyClient(base_url="http://127.0.0.1:8000", api_key="llx-")  # doctest: +SKIP
    >>> df = client.fetch_jobs(ids)                                               # doctest: +SKIP
    >>> client.stats()                                                             # doctest: +SKIP
    {'requests': 101, 'retries': 0, 'by_status': {'200': 101}}

    Options are :class:`~classify_frames.client.ClientOptions` (``api_key``, ``base_url``,
    ``concurrency``, ``max_requests_per_second`` …; see README's "Settings"); a misspelt one is
    a ``TypeError``. ``verify``, ``cert``, ``proxy`` and ``trust_env`` mean what they mean to
    httpx, whose own transport carries every request (``proxy`` by default the environment's
    ``HTTPS_PROXY`` and friends; ``""`` for none). ``transport`` replaces the network (an
    ``httpx.MockTransport`` in unit tests).

    Besides fetching and listing, the client creates (:meth:`create_jobs`), cancels and
    deletes jobs, lists and saves configurations, and gets a link to open a job's input file
    (:meth:`file_url`).

    Every request runs on the client's own event loop, in a background thread: sync methods
    work in scripts, inside Jupyter's running loop and from several threads at once (each call
    gets its own complete frame; the rate limit and the breaker are shared), and the
    ``a``-prefixed methods can be awaited from any event loop, their work running on the
    client's loop so that they share the same pools and limits. Close the client (or use it in
    a ``with`` / ``async with`` block) to close its connections and thread; a closed client
    opens new ones if it is used again.

    When a call is interrupted (Ctrl-C, kernel interrupt, task cancel), cut short by
    :meth:`close` (:class:`~classify_frames.ClientClosedError`) or a listing fails, the jobs
    fetched so far are kept in :attr:`partial` (and, for an error, on its ``partial``).
    """

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        checked("ClassifyClient", options, ClientOptions)
        self.settings = settings_from(options)
        self.settings.require_key()
        self.progress: bool = options.get("progress") is not False
        self.partial: pd.DataFrame | None = None
        self._stats = Stats()
        self._network = options.get("transport")
        self._clock = options.get("clock") or time.monotonic
        self._loop = LoopThread("classify-frames")
        # The pacers outlive the pools: a client closed and used again still holds its rates.
        self._pacer = Pacer(self.settings.max_requests_per_second)
        self._creations = Pacer(CREATE_RATE)
        self._fetcher: Fetcher | None = None  # made on the loop at first use
        self._jobs: Jobs | None = None  # with it
        weakref.finalize(self, self._loop.stop)  # a client never closed still ends its thread

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
        """Close the connection pools and stop the client's event loop thread."""
        self._loop.stop(self._close_pools)

    async def aclose(self) -> None:
        """Awaitable :meth:`close`."""
        await asyncio.to_thread(self.close)

    async def _close_pools(self) -> None:
        fetcher, self._fetcher, self._jobs = self._fetcher, None, None
        if fetcher is not None:
            await fetcher.transport.aclose()

    def _here(self) -> Fetcher:
        """The client's fetcher; called on its loop, where the transport must be made."""
        if self._fetcher is None:
            transport = Transport(
                self.settings, self._stats, self._network, self._clock, self._pacer
            )
            self._fetcher = Fetcher(transport, self.settings.concurrency)
            self._jobs = Jobs(transport, self._creations)
        return self._fetcher

    def _endpoints(self) -> Jobs:
        """The client's other endpoints (creation with its pacer); called on its loop."""
        self._here()
        if self._jobs is None:  # pragma: no cover - made with the fetcher
            msg = "the client's endpoints were not made with its fetcher"
            raise RuntimeError(msg)
        return self._jobs

    def _run(self, coro: Coroutine[Any, Any, T], kept: list[pd.DataFrame]) -> T:
        try:
            return self._loop.run(coro)
        except KeyboardInterrupt as exc:
            if kept:
                exc.partial = kept[0]  # type: ignore[attr-defined]
            raise
        except ClientClosedError as exc:
            if kept:
                exc.partial = kept[0]
            raise

    # -- fetching known ids ------------------------------------------------------------------

    @with_signature(FetchOptions, defaults=FETCH_DEFAULTS, leading=[_SELF, _JOB_IDS])
    def fetch_jobs(self, job_ids: Iterable[str], **options: Unpack[FetchOptions]) -> pd.DataFrame:
        """Fetch jobs by id: one row per unique id, in input order.

        Options (:class:`~classify_frames.client.FetchOptions`):
            nested: ``configuration``, ``result`` and ``usage`` as struct columns.
            strict: raise :class:`FetchError` listing the jobs that failed instead of
                returning them as rows with ``fetch_error``.
            wait: poll PENDING/RUNNING jobs until they end or ``wait_timeout`` seconds pass.
            per_id: skip the batched list path and GET each job (slower; for servers or
                proxies that mishandle ``job_ids``).
            credits: make sure ``usage.credits`` is asked for: every request already sends
                ``expand=usage``, but a listing may not honour it, and then each finished job
                that came without ``usage`` costs one more GET.
            progress: show a progress bar (default: the client's setting).
        """
        checked("fetch_jobs", options, FetchOptions)
        ids = unique_ids(job_ids)
        kept: list[pd.DataFrame] = []
        return self._run(self._fetch(ids, options, kept), kept)

    @with_signature(FetchOptions, defaults=FETCH_DEFAULTS, leading=[_SELF, _JOB_IDS])
    async def afetch_jobs(
        self, job_ids: Iterable[str], **options: Unpack[FetchOptions]
    ) -> pd.DataFrame:
        """Awaitable :meth:`fetch_jobs` (its work runs on the client's loop)."""
        checked("afetch_jobs", options, FetchOptions)
        ids = unique_ids(job_ids)
        return await self._loop.run_async(self._fetch(ids, options, []))

    async def _fetch(
        self, ids: list[str], given: FetchOptions, kept: list[pd.DataFrame]
    ) -> pd.DataFrame:
        o: FetchOptions = {**FETCH_DEFAULTS, **given}
        fetcher = self._here()
        state = Collected(ids, credits=o["credits"])
        bar = progress_bar(len(ids), "Fetching jobs", self._show(o.get("progress")))
        try:
            with bar:
                await fetcher.fetch_into(state, ids, per_id=o["per_id"], on_done=bar.update)
                if o["wait"]:
                    await fetcher.wait(state, o["wait_timeout"], per_id=o["per_id"])
                if o["credits"]:
                    await fetcher.add_usage(state.jobs)
        except (asyncio.CancelledError, KeyboardInterrupt):
            self._keep(state.frame(o["nested"], self.frame_attrs(), unfinished="interrupted"), kept)
            raise
        frame = state.frame(o["nested"], self.frame_attrs())
        if o["strict"] and state.errors:
            raise FetchError({k: v[0] for k, v in state.errors.items()}, frame=frame)
        return frame

    # -- listing -----------------------------------------------------------------------------

    @with_signature(ListOptions, defaults=LIST_DEFAULTS, leading=[_SELF])
    def list_jobs(self, **options: Unpack[ListOptions]) -> pd.DataFrame:
        """Every job matching the filters (both date bounds inclusive), newest pages first.

        Options (:class:`~classify_frames.client.ListOptions`): ``status`` (one status or
        several), ``configuration_id``, ``created_after``, ``created_before``, ``limit`` (a
        cap on the rows), ``nested``, ``credits`` (as for :meth:`fetch_jobs`: one more GET per
        finished job when the listing carried no ``usage``), ``progress``. Raises
        :class:`RateLimitError` when 429s outlast every retry, :class:`APIError` for other
        failures; both carry ``partial``.
        """
        checked("list_jobs", options, ListOptions)
        kept: list[pd.DataFrame] = []
        return self._run(self._list(options, kept), kept)

    @with_signature(ListOptions, defaults=LIST_DEFAULTS, leading=[_SELF])
    async def alist_jobs(self, **options: Unpack[ListOptions]) -> pd.DataFrame:
        """Awaitable :meth:`list_jobs` (its work runs on the client's loop)."""
        checked("alist_jobs", options, ListOptions)
        return await self._loop.run_async(self._list(options, []))

    async def _list(self, given: ListOptions, kept: list[pd.DataFrame]) -> pd.DataFrame:
        o: ListOptions = {**LIST_DEFAULTS, **given}
        queries = list_queries(
            o.get("status"), o.get("configuration_id"), o.get("created_after"),
            o.get("created_before"),
        )  # fmt: skip
        jobs: dict[str, dict[str, Any]] = {}
        bar = progress_bar(None, "Listing jobs", self._show(o.get("progress")))
        try:
            with bar:
                pages = self._here().pages(queries, o.get("limit"), bar, credits=o["credits"])
                async for page in pages:
                    for job in page:
                        jobs[job["id"]] = _newer(jobs.get(job["id"]), job)
                if o["credits"]:
                    await self._here().add_usage(jobs)
        except (asyncio.CancelledError, KeyboardInterrupt, ClassifyFramesError) as exc:
            partial = frame_of(list(jobs.values()), o["nested"], self.frame_attrs())
            self._keep(partial, kept)
            if isinstance(exc, ClassifyFramesError):
                exc.partial = partial
            raise
        return frame_of(list(jobs.values()), o["nested"], self.frame_attrs())

    # -- streaming ---------------------------------------------------------------------------

    @with_signature(IterOptions, defaults=ITER_DEFAULTS, leading=[_SELF, _OPTIONAL_IDS])
    def iter_frames(
        self, job_ids: Iterable[str] | None = None, **options: Unpack[IterOptions]
    ) -> Iterator[pd.DataFrame]:
        """Frames of ``batch_size`` rows (the last may hold fewer) as jobs arrive; flat memory.

        With ``job_ids`` every unique id is exactly one row across all frames; otherwise the
        listing's jobs for the filters (status, configuration_id, created_after,
        created_before, limit). The next frame is fetched while the caller works on this one.
        """
        return self._loop.iterate(self._frames(*self._iter_args(job_ids, options)))

    @with_signature(IterOptions, defaults=ITER_DEFAULTS, leading=[_SELF, _OPTIONAL_IDS])
    def aiter_frames(
        self, job_ids: Iterable[str] | None = None, **options: Unpack[IterOptions]
    ) -> AsyncIterator[pd.DataFrame]:
        """Async-iterator form of :meth:`iter_frames` (its work runs on the client's loop)."""
        return self._loop.aiterate(self._frames(*self._iter_args(job_ids, options)))

    def _iter_args(
        self, job_ids: Iterable[str] | None, given: IterOptions
    ) -> tuple[list[str] | None, IterOptions]:
        checked("iter_frames", given, IterOptions)
        o: IterOptions = {**ITER_DEFAULTS, **given}
        if o["batch_size"] < 1:
            msg = f"batch_size must be >= 1, got {o['batch_size']!r}"
            raise ValueError(msg)
        filters = sorted(k for k in given if k in names(ListFilters))
        if job_ids is not None and filters:
            msg = f"give job_ids or list filters, not both (got {filters})"
            raise ValueError(msg)
        return (None if job_ids is None else unique_ids(job_ids)), o

    async def _frames(self, ids: list[str] | None, o: IterOptions) -> AsyncIterator[pd.DataFrame]:
        fetcher, size, nested = self._here(), o["batch_size"], o["nested"]
        show = self._show(o.get("progress"))
        if ids is not None:
            with progress_bar(len(ids), "Fetching jobs", show) as bar:
                for start in range(0, len(ids), size):
                    chunk = ids[start : start + size]
                    state = Collected(chunk)
                    await fetcher.fetch_into(state, chunk, per_id=False, on_done=bar.update)
                    yield state.frame(nested, self.frame_attrs())
            return
        queries = list_queries(
            o.get("status"), o.get("configuration_id"), o.get("created_after"),
            o.get("created_before"),
        )  # fmt: skip
        buffer: list[dict[str, Any]] = []
        with progress_bar(None, "Listing jobs", show) as bar:
            async for page in fetcher.pages(queries, o.get("limit"), bar):
                buffer.extend(page)
                while len(buffer) >= size:
                    yield frame_of(buffer[:size], nested, self.frame_attrs())
                    del buffer[:size]
            if buffer:
                yield frame_of(buffer, nested, self.frame_attrs())

    # -- waiting for jobs to end ------------------------------------------------------------

    def wait_jobs(
        self, job_ids: Iterable[str], *, timeout: float = 1800.0, progress: bool | None = None
    ) -> pd.DataFrame:
        """Poll jobs (the list endpoint's ``job_ids`` filter, 100 a request) until each one
        is final (COMPLETED, FAILED, CANCELLED) or gone (404), or ``timeout`` seconds pass.

        One row per unique id, in input order, as last seen: a row still PENDING or RUNNING
        says the timeout came first. Polls every 0.5 s, backing off to 15 s while no job
        ends, so jobs that finish early are seen early.
        """
        ids = unique_ids(job_ids)
        pending = list(ids)
        seen: list[pd.DataFrame] = []
        delay, deadline = _POLL_FIRST, time.monotonic() + timeout
        with progress_bar(len(ids), "Waiting for jobs", self._show(progress)) as bar:
            while pending:
                frame = self.fetch_jobs(pending, progress=False)
                final = frame["status"].isin(FINAL_STATUSES).to_numpy(bool)
                gone = (frame["http_status"] == 404).fillna(False).to_numpy(bool)
                ended = final | gone
                seen.append(frame[ended])
                bar.update(int(ended.sum()))
                pending = frame.loc[~ended, "id"].tolist()
                if pending and time.monotonic() >= deadline:
                    seen.append(frame[~ended])
                    break
                if pending:
                    if not ended.any():
                        delay = min(delay * 1.5, _POLL_MAX)  # nothing moved: back off
                    time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        if not seen:
            return frame_of([], False, self.frame_attrs())
        rows = pd.concat(seen, ignore_index=True)
        order = {job_id: k for k, job_id in enumerate(ids)}
        rows = rows.iloc[rows["id"].map(order).argsort(kind="stable")].reset_index(drop=True)
        rows.attrs.update(self.frame_attrs())
        return rows

    # -- creating, cancelling, deleting; configurations -------------------------------------

    def create_jobs(
        self,
        bodies: Sequence[Mapping[str, Any]],
        *,
        rate: float = CREATE_RATE,
        progress: bool | None = None,
    ) -> list[Creation]:
        """Create one job per body of ``POST /api/v2/classify``, in parallel and paced; one
        :class:`Creation` per body, in order.

        Every body needs a ``transaction_id`` (checked before anything is sent): a retry, a
        re-run or a second call with the same bodies then never makes a job twice. ``rate``
        is creations per second (the service allows 40, the free tier ``20 / 60``); the
        client keeps its creation pace for its life, across calls. A creation whose outcome
        is ``"unknown"`` (no clear answer) may exist and be billed: send the same body again
        to find it, or make it if it was not made.
        """
        check_bodies(bodies)
        _check_rate(rate)
        return self._run(self._create(bodies, rate, progress), [])

    async def acreate_jobs(
        self,
        bodies: Sequence[Mapping[str, Any]],
        *,
        rate: float = CREATE_RATE,
        progress: bool | None = None,
    ) -> list[Creation]:
        """Awaitable :meth:`create_jobs` (its work runs on the client's loop)."""
        check_bodies(bodies)
        _check_rate(rate)
        return await self._loop.run_async(self._create(bodies, rate, progress))

    async def _create(
        self, bodies: Sequence[Mapping[str, Any]], rate: float, progress: bool | None
    ) -> list[Creation]:
        with progress_bar(len(bodies), "Creating jobs", self._show(progress)) as bar:
            return await self._endpoints().create(bodies, rate, lambda _: bar.update(1))

    def cancel_jobs(self, job_ids: Iterable[str], *, progress: bool | None = None) -> pd.DataFrame:
        """Cancel PENDING/RUNNING jobs: ``id``, ``ok``, ``status`` (as the service now says)
        and ``error`` (``already COMPLETED``, ``not found`` …) per unique id, in order."""
        return self._run(self._act(unique_ids(job_ids), "cancel", progress), [])

    def delete_jobs(self, job_ids: Iterable[str], *, progress: bool | None = None) -> pd.DataFrame:
        """Delete jobs: ``id``, ``ok``, ``status`` (``DELETED``) and ``error`` per unique id."""
        return self._run(self._act(unique_ids(job_ids), "delete", progress), [])

    async def _act(
        self, ids: list[str], action: Literal["cancel", "delete"], progress: bool | None
    ) -> pd.DataFrame:
        label = "Cancelling jobs" if action == "cancel" else "Deleting jobs"
        with progress_bar(len(ids), label, self._show(progress)) as bar:
            return await self._endpoints().cancel_or_delete(ids, action, bar.update)

    def configurations(self) -> list[dict[str, Any]] | None:
        """The project's saved ``classify_v2`` configurations as the service lists them, or
        None when the server has no configurations API."""
        return self._run(self._configurations(), [])

    async def _configurations(self) -> list[dict[str, Any]] | None:
        return await self._endpoints().configurations()

    def save_configuration(self, name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Save a ``classify_v2`` configuration (``rules``, ``mode`` …) under ``name``; the
        service upserts by name. Returns the saved configuration as the service answers."""
        return self._run(self._save(name, parameters), [])

    async def _save(self, name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return await self._endpoints().save_configuration(name, parameters)

    # -- files -------------------------------------------------------------------------------

    def file_url(self, file_id: str, *, expires_in: int | None = None) -> FileURL:
        """A presigned link that opens ``file_id`` (a job's ``file_input`` when its
        ``document_input_type`` is ``file_id``) without the API key, until it expires
        (``expires_in`` seconds if given, else the service's default): ask for a fresh one
        each time, rather than keeping it. An unknown id is an :class:`APIError` (404) naming
        it; a parse job's id has no file.

        >>> link = client.file_url("dfl-…")                      # doctest: +SKIP
        >>> link.url, link.expires_at                            # doctest: +SKIP
        """
        ident, seconds = check_file_id(file_id), check_expires_in(expires_in)
        return self._run(self._file_url(ident, seconds), [])

    async def afile_url(self, file_id: str, *, expires_in: int | None = None) -> FileURL:
        """Awaitable :meth:`file_url` (its work runs on the client's loop)."""
        ident, seconds = check_file_id(file_id), check_expires_in(expires_in)
        return await self._loop.run_async(self._file_url(ident, seconds))

    async def _file_url(self, file_id: str, expires_in: int | None) -> FileURL:
        return await file_url(self._here().transport, file_id, expires_in)

    # -- helpers -----------------------------------------------------------------------------

    def frame_attrs(self) -> dict[str, Any]:
        """What a frame made by this client carries in ``attrs``: the base URL and when."""
        fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return {"classify_frames": {"base_url": self.settings.base_url, "fetched_at": fetched_at}}

    def _show(self, progress: bool | None) -> bool:
        return self.progress if progress is None else progress

    def _keep(self, frame: pd.DataFrame, kept: list[pd.DataFrame]) -> None:
        self.partial = frame
        kept.append(frame)


def _check_rate(rate: float) -> None:
    if not (isinstance(rate, int | float) and rate > 0):
        msg = f"rate must be a positive number of creations per second, got {rate!r}"
        raise ValueError(msg)
