"""The Classify API client: settings, one event loop, HTTP with limits and retries, fetching.

A :class:`ClassifyClient` owns its event loop (in a background thread), its httpx transports,
rate pacer and breaker from construction to ``close()``; the module-level functions make one
for a single call. Modules, each for one job:

- ``_client``: :class:`ClassifyClient`; ``_api``: the one-shot functions and
  :func:`borrow_or_make`; ``_jobs``: creating, cancelling, deleting; configurations;
  ``_files``: a presigned link to open a job's input file (:class:`FileURL`);
- ``_config``: :class:`Settings` (key, base URL, TLS, proxy, limits) and :class:`Secret`;
  ``_options``: every option of the client and its calls, declared once;
- ``_transport``: one request (auth, pacing, retries with stamina, errors) over httpx's own
  ``AsyncHTTPTransport``; ``_limits``: the rate pacer and the circuit breaker;
- ``_loop``: the client's event-loop thread; ``_tasks``: the bounded task pool;
- ``_fetcher``: which requests a fetch or listing makes; ``_ids``, ``_queries``: ids and list
  filters as query parameters; ``_pages``, ``_json``: answers checked; ``_collect``: rows for
  the asked-for ids; ``_precedence``: which copy of a job wins.

Heavy parts (httpx, stamina) are imported with the client, not with this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._config import REGIONS, Secret, Settings
from ._options import (
    CLIENT_DEFAULTS,
    LIST_FILTER_NAMES,
    REGION_NAMES,
    STATUS_NAMES,
    ClientOptions,
    FetchJobsOptions,
    FetchOptions,
    IterOptions,
    ListFilters,
    ListJobsOptions,
    ListOptions,
    SettingsOptions,
    Status,
    checked,
)
from ._precedence import NAT, precedence

if TYPE_CHECKING:
    from ._api import afetch_jobs, alist_jobs, borrow_or_make, fetch_jobs, list_jobs
    from ._client import ClassifyClient
    from ._files import FileURL
    from ._jobs import CREATE_RATE, Creation, Outcome
    from ._transport import HEADER_LOGGERS, HideHeaders

__all__ = [
    "CLIENT_DEFAULTS",
    "CREATE_RATE",
    "HEADER_LOGGERS",
    "LIST_FILTER_NAMES",
    "NAT",
    "REGIONS",
    "REGION_NAMES",
    "STATUS_NAMES",
    "ClassifyClient",
    "ClientOptions",
    "Creation",
    "FetchJobsOptions",
    "FetchOptions",
    "FileURL",
    "HideHeaders",
    "IterOptions",
    "ListFilters",
    "ListJobsOptions",
    "ListOptions",
    "Outcome",
    "Secret",
    "Settings",
    "SettingsOptions",
    "Status",
    "afetch_jobs",
    "alist_jobs",
    "borrow_or_make",
    "checked",
    "fetch_jobs",
    "list_jobs",
    "precedence",
]

_LAZY = {
    "ClassifyClient": "_client",
    "FileURL": "_files",
    "afetch_jobs": "_api",
    "borrow_or_make": "_api",
    "CREATE_RATE": "_jobs",
    "Creation": "_jobs",
    "Outcome": "_jobs",
    "HEADER_LOGGERS": "_transport",
    "HideHeaders": "_transport",
    "alist_jobs": "_api",
    "fetch_jobs": "_api",
    "list_jobs": "_api",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
