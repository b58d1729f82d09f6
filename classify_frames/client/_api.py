"""One-shot functions: make a :class:`ClassifyClient`, make one call, close it; and
:func:`borrow_or_make`, for functions that take ``client=`` or the options to make one.

>>> import classify_frames as cf
>>> with cf.Emulator(jobs=1_000, seed=0) as emu:                      # doctest: +SKIP
...     df = cf.fetch_jobs(["cls-00000001", "nope"], base_url=emu.base_url, api_key=emu.api_key)
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Unpack

import pandas as pd

from ._client import ClassifyClient
from ._options import (
    CLIENT_DEFAULTS,
    FETCH_DEFAULTS,
    LIST_DEFAULTS,
    ClientOptions,
    FetchJobsOptions,
    ListJobsOptions,
    checked,
    names,
    with_signature,
)

__all__ = ["afetch_jobs", "alist_jobs", "borrow_or_make", "fetch_jobs", "list_jobs"]

_JOB_IDS = inspect.Parameter("job_ids", inspect.Parameter.POSITIONAL_OR_KEYWORD)


@contextlib.contextmanager
def borrow_or_make(
    client: ClassifyClient | None, options: Mapping[str, Any]
) -> Iterator[ClassifyClient]:
    """``client`` as it is, or a client made from ``options`` and closed when the block ends.

    >>> with borrow_or_make(client, options) as active:                 # doctest: +SKIP
    ...     return active.cancel_jobs(ids)
    """
    if client is not None:
        yield client
        return
    with ClassifyClient(**options) as made:
        yield made


_ONE_SHOT_FETCH = {**CLIENT_DEFAULTS, **FETCH_DEFAULTS}
_ONE_SHOT_LIST = {**CLIENT_DEFAULTS, **LIST_DEFAULTS}


def _split(where: str, options: dict[str, Any], declared: type) -> tuple[dict[str, Any], Any]:
    checked(where, options, declared)
    client = {k: v for k, v in options.items() if k in names(ClientOptions) and k != "progress"}
    return client, {k: v for k, v in options.items() if k not in client}


@with_signature(FetchJobsOptions, defaults=_ONE_SHOT_FETCH, leading=[_JOB_IDS])
def fetch_jobs(job_ids: Iterable[str], **options: Unpack[FetchJobsOptions]) -> pd.DataFrame:
    """Fetch jobs by id into one typed frame, with a one-shot :class:`ClassifyClient`.

    A convenience for a single call: it opens and closes its own connections, rate limit and
    breaker. For repeated calls (a notebook, a loop) make one ``ClassifyClient`` and call
    ``client.fetch_jobs``: the limit and the breaker then hold across calls, and connections
    are reused. ``options`` are the client's (``api_key``, ``base_url``, ``concurrency`` …)
    and :meth:`ClassifyClient.fetch_jobs`'s (``strict``, ``wait``, ``nested`` …). An
    interrupted call leaves what it fetched on the exception's ``partial``.
    """
    client_options, call = _split("fetch_jobs", dict(options), FetchJobsOptions)
    with ClassifyClient(**client_options) as client:
        return client.fetch_jobs(job_ids, **call)


@with_signature(FetchJobsOptions, defaults=_ONE_SHOT_FETCH, leading=[_JOB_IDS])
async def afetch_jobs(job_ids: Iterable[str], **options: Unpack[FetchJobsOptions]) -> pd.DataFrame:
    """Awaitable :func:`fetch_jobs` (one-shot too)."""
    client_options, call = _split("afetch_jobs", dict(options), FetchJobsOptions)
    async with ClassifyClient(**client_options) as client:
        return await client.afetch_jobs(job_ids, **call)


@with_signature(ListJobsOptions, defaults=_ONE_SHOT_LIST)
def list_jobs(**options: Unpack[ListJobsOptions]) -> pd.DataFrame:
    """List jobs by filter into one typed frame, with a one-shot :class:`ClassifyClient`
    (see :func:`fetch_jobs` on when to keep a client instead)."""
    client_options, call = _split("list_jobs", dict(options), ListJobsOptions)
    with ClassifyClient(**client_options) as client:
        return client.list_jobs(**call)


@with_signature(ListJobsOptions, defaults=_ONE_SHOT_LIST)
async def alist_jobs(**options: Unpack[ListJobsOptions]) -> pd.DataFrame:
    """Awaitable :func:`list_jobs` (one-shot too)."""
    client_options, call = _split("alist_jobs", dict(options), ListJobsOptions)
    async with ClassifyClient(**client_options) as client:
        return await client.alist_jobs(**call)
