"""The one exception tree of classify_frames.

::

    ClassifyFramesError
     ├── ConfigurationError          bad settings: no key, insecure URL, bad option value
     ├── APIError                    the service answered with an error we cannot work around
     │    ├── AuthenticationError    401: the key is missing or wrong
     │    └── RateLimitError         429 after every retry
     ├── FetchError                  strict=True and some jobs could not be fetched
     ├── ClientClosedError           the client was closed while a call was running
     └── ExportError                 a file could not be written or read

    AuditWarning (a UserWarning)     something in the data limits what the audit can say

Every error carries the context a user needs (status, URL path, job ids) and never the API key.
An error about an option carries it as data: ``option`` names the option at fault, and the
message's parts name options as :class:`Opt` values, so the command line can say the same thing
with its own flags (``--max-rps`` for ``max_requests_per_second``) without parsing sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APIError",
    "AuditWarning",
    "AuthenticationError",
    "ClassifyFramesError",
    "ClientClosedError",
    "ConfigurationError",
    "ExportError",
    "FetchError",
    "Opt",
    "Parts",
    "RateLimitError",
]

_NAME_ONLY: Any = object()


@dataclass(frozen=True)
class Opt:
    """An option named in a message: ``Opt("base_url")`` reads ``base_url``, and
    ``Opt("allow_insecure_http", True)`` reads ``allow_insecure_http=True``, in the library's
    words; the command line renders the same value as its flag."""

    name: str
    value: Any = _NAME_ONLY

    @property
    def named_only(self) -> bool:
        return self.value is _NAME_ONLY

    def __str__(self) -> str:
        if self.named_only:
            return self.name
        value = self.value
        if value is ...:
            shown = "..."
        else:
            shown = f"{value:.2g}" if isinstance(value, float) else repr(value)
        return f"{self.name}={shown}"


#: A message as data: text, and the options it names.
Parts = Sequence[str | Opt]


class ClassifyFramesError(Exception):
    """Base of every error raised by classify_frames.

    ``message`` is a string, or its parts (text and :class:`Opt`); ``hint`` says what to do,
    the same way. ``str(error)`` is ``message`` then ``hint``, after ``"; "``.

    Attributes:
        option: the option at fault, when one is (``"max_requests_per_second"``).
        problem: the message's parts; ``hint``: the hint's parts (empty when there is none).
        partial: for a call cut short (a listing that failed midway), the frame of the jobs
            it got before the error; None otherwise.
    """

    partial: Any = None
    option: str | None = None
    problem: tuple[str | Opt, ...] = ()
    hint: tuple[str | Opt, ...] = ()

    def __init__(
        self, message: str | Parts = "", *, option: str | None = None, hint: str | Parts = ()
    ) -> None:
        self.problem = (message,) if isinstance(message, str) else tuple(message)
        self.hint = (hint,) if isinstance(hint, str) else tuple(hint)
        self.option = option
        super().__init__(self.words(str))

    def words(self, name: Callable[[Opt], str], hint: str | None = None) -> str:
        """The message with each option as ``name`` renders it (the CLI's flags, say), and
        ``hint`` instead of the error's own when given."""
        text = "".join(p if isinstance(p, str) else name(p) for p in self.problem)
        said = (
            hint
            if hint is not None
            else "".join(p if isinstance(p, str) else name(p) for p in self.hint)
        )
        return f"{text}; {said}" if said else text


class ConfigurationError(ClassifyFramesError, ValueError):
    """A setting is missing or invalid (API key, base URL, option value)."""


class APIError(ClassifyFramesError):
    """The Classify API answered with an error status.

    Attributes:
        status_code: the HTTP status of the last answer (None for transport errors).
        path: the request path, without query string (it never holds the key).
        detail: the ``detail`` of the JSON error body, or a short excerpt of the body.
    """

    def __init__(
        self,
        message: str | Parts,
        *,
        status_code: int | None = None,
        path: str = "",
        detail: object = None,
        option: str | None = None,
        hint: str | Parts = (),
    ) -> None:
        super().__init__(message, option=option, hint=hint)
        self.status_code = status_code
        self.path = path
        self.detail = detail


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class RateLimitError(APIError):
    """429 answers went on past every retry of a listing (``list_jobs``, ``iter_frames``,
    exports and syncs); ``fetch_jobs`` reports such ids as rows whose ``fetch_error`` says
    429. Lower ``max_requests_per_second`` (the free tier allows 20 a minute)."""


class FetchError(ClassifyFramesError):
    """Some requested jobs could not be fetched (raised only with ``strict=True``).

    Attributes:
        errors: job id -> reason, for every job that failed.
        frame: the frame of everything fetched, failed rows included.
    """

    def __init__(self, errors: Mapping[str, str], frame: object = None) -> None:
        shown = "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} job(s) could not be fetched: {shown}{more}")
        self.errors = dict(errors)
        self.frame = frame


class ClientClosedError(ClassifyFramesError):
    """``close()`` ended the client (from another thread, or a ``with`` block left) while this
    call was still running; what it fetched so far is on ``partial`` when there was any."""


class ExportError(ClassifyFramesError, OSError):
    """A file or dataset could not be written or read; any existing file is left intact."""


class AuditWarning(UserWarning):
    """Something in the data limits what the audit can say (unmatched or unknown labels,
    unlabelled drawn jobs, a queue drawn on another frame ...)."""
