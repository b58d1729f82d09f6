"""Every option of the client and its calls, declared once.

The TypedDicts here are the signatures of :class:`~classify_frames.ClassifyClient`, its methods
and the one-shot functions (``**options: Unpack[...]``), so a misspelt option is a mypy error;
:func:`checked` makes it a clear ``TypeError`` at run time too. The defaults sit beside them,
and the CLI takes its choices (statuses, regions) and defaults from the same place.

>>> checked("fetch_jobs", {"strictt": True}, FetchOptions)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: fetch_jobs() got an unknown option 'strictt' (did you mean 'strict'?); ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, TypeVar, get_args

import pandas as pd

from ._config import REGIONS, CertTypes, Settings

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = [
    "CLIENT_DEFAULTS",
    "FETCH_DEFAULTS",
    "ITER_DEFAULTS",
    "LIST_DEFAULTS",
    "LIST_FILTER_NAMES",
    "REGION_NAMES",
    "STATUS_NAMES",
    "ClientOptions",
    "FetchJobsOptions",
    "FetchOptions",
    "IterOptions",
    "ListFilters",
    "ListJobsOptions",
    "ListOptions",
    "SettingsOptions",
    "Status",
    "When",
    "checked",
    "names",
    "settings_from",
    "with_signature",
]

Status = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]
When = str | dt.date | dt.datetime | pd.Timestamp

#: The statuses and regions the CLI offers, from the same declarations as the library's.
STATUS_NAMES: Final = tuple(get_args(Status))
REGION_NAMES: Final = tuple(REGIONS)


class SettingsOptions(TypedDict, total=False):
    """Where the service is and how hard to push it: the fields of :class:`Settings`."""

    api_key: str | None
    base_url: str | None
    region: Literal["na", "eu"]
    project_id: str | None
    organization_id: str | None
    timeout: float
    connect_timeout: float
    concurrency: int
    max_requests_per_second: float | None
    retries: int
    allow_insecure_http: bool
    proxy: str | None
    verify: ssl.SSLContext | str | bool
    cert: CertTypes | None
    trust_env: bool
    custom_headers: Mapping[str, str] | None


class ClientOptions(SettingsOptions, total=False):
    """:class:`~classify_frames.ClassifyClient`'s options: the settings, plus ``progress``
    (bars unless False; in a call's options None means the client's choice), ``transport``
    (an ``httpx.AsyncBaseTransport`` replacing the network, for unit tests) and ``clock``
    (the monotonic clock timing the breaker's cool-down, for tests)."""

    progress: bool | None
    transport: httpx.AsyncBaseTransport | None
    clock: Callable[[], float] | None


class FetchOptions(TypedDict, total=False):
    """:meth:`~classify_frames.ClassifyClient.fetch_jobs`'s options."""

    nested: bool
    strict: bool
    wait: bool
    wait_timeout: float
    per_id: bool
    credits: bool
    progress: bool | None


class ListFilters(TypedDict, total=False):
    """Which jobs a listing returns (both date bounds inclusive); ``limit`` caps the rows."""

    status: Status | Sequence[Status] | None
    configuration_id: str | None
    created_after: When | None
    created_before: When | None
    limit: int | None


class ListOptions(ListFilters, total=False):
    """:meth:`~classify_frames.ClassifyClient.list_jobs`'s options."""

    nested: bool
    credits: bool
    progress: bool | None


class IterOptions(ListFilters, total=False):
    """:meth:`~classify_frames.ClassifyClient.iter_frames`'s options."""

    batch_size: int
    nested: bool
    progress: bool | None


class FetchJobsOptions(ClientOptions, FetchOptions, total=False):
    """The one-shot :func:`~classify_frames.fetch_jobs`: the client's options and the call's."""


class ListJobsOptions(ClientOptions, ListOptions, total=False):
    """The one-shot :func:`~classify_frames.list_jobs`: the client's options and the call's."""


CLIENT_DEFAULTS: Final[Mapping[str, Any]] = {
    **{f.name: f.default for f in dataclasses.fields(Settings) if f.init},
    "progress": True,
}
FETCH_DEFAULTS: Final[FetchOptions] = {
    "nested": False,
    "strict": False,
    "wait": False,
    "wait_timeout": 600.0,
    "per_id": False,
    "credits": False,
}
LIST_DEFAULTS: Final[ListOptions] = {"nested": False, "credits": False}
ITER_DEFAULTS: Final[IterOptions] = {"batch_size": 1_000, "nested": False}
LIST_FILTER_NAMES: Final = frozenset(ListFilters.__optional_keys__)


def names(options: type) -> frozenset[str]:
    """The option names a TypedDict declares."""
    keys: frozenset[str] = options.__required_keys__ | options.__optional_keys__  # type: ignore[attr-defined]
    return keys


def checked(where: str, given: Mapping[str, object], options: type) -> None:
    """Raise a ``TypeError`` naming any option of ``given`` that ``options`` does not declare."""
    known = names(options)
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    msg = (
        f"{where}() got an unknown option {name!r}{hint}; its options are: "
        f"{', '.join(sorted(known))}"
    )
    raise TypeError(msg)


def settings_from(options: Mapping[str, Any]) -> Settings:
    """The :class:`Settings` part of a client's options."""
    part: SettingsOptions = {k: v for k, v in options.items() if k in names(SettingsOptions)}  # type: ignore[assignment, misc]
    return _settings(part)


def _settings(options: SettingsOptions) -> Settings:
    # Typed on purpose: mypy checks here that SettingsOptions matches Settings' fields.
    return Settings(**options)


F = TypeVar("F", bound=Callable[..., Any])


def with_signature(
    *declared: type, defaults: Mapping[str, Any], leading: Sequence[inspect.Parameter] = ()
) -> Callable[[F], F]:
    """Give a ``**options`` callable the signature its TypedDicts declare, for ``help()``,
    Jupyter's tooltips and :func:`inspect.signature` (every option keyword-only)."""
    params = list(leading)
    seen = {p.name for p in params}
    for options in declared:
        hints = options.__annotations__
        for name in hints:
            if name in seen:
                continue
            seen.add(name)
            default = defaults.get(name, None)
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))

    def apply(func: F) -> F:
        func.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return func

    return apply
