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

    ClassifyFramesWarning            a warning whose advice names options and calls as data
     └── AuditWarning                something in the data limits what the audit can say

Every error carries the context a user needs (status, URL path, job ids) and never the API key.
An error about an option carries it as data: ``option`` names the option at fault, and the
message's parts name options as :class:`Opt` values and library calls as :class:`Call` values,
so the command line can say the same thing with its own flags and commands (``--max-rps`` for
``max_requests_per_second``, ``classify-frames sync DIR --repair`` for
``sync_parquet(..., repair=True)``) without parsing sentences. A sentence that is no error
(an audit's finding, a plan's summary) is a :class:`Sentence`: a ``str`` in the library's
words that keeps its parts the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APIError",
    "AuditWarning",
    "AuthenticationError",
    "Call",
    "ClassifyFramesError",
    "ClassifyFramesWarning",
    "ClientClosedError",
    "ConfigurationError",
    "ExportError",
    "FetchError",
    "Namer",
    "Opt",
    "Parts",
    "RateLimitError",
    "Sentence",
    "said",
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

    @property
    def plain(self) -> str:
        """The value as a command line writes it: a number short, text unquoted."""
        value = self.value
        if value is ...:
            return "..."
        if isinstance(value, float):  # two digits, or up to four when they are exact
            return next((t for t in (f"{value:.2g}", f"{value:.4g}") if float(t) == value),
                        f"{value:.2g}")  # fmt: skip
        return str(value)

    def __str__(self) -> str:
        if self.named_only:
            return self.name
        value = self.value
        shown = self.plain if value is ... or isinstance(value, float) else repr(value)
        return f"{self.name}={shown}"


@dataclass(frozen=True, init=False)
class Call:
    """A library call named in a message: ``Call("sync_parquet", "...", Opt("repair", True),
    does=" rebuilds it")`` reads ``sync_parquet(..., repair=True) rebuilds it``, and
    ``Call("export_jobs")`` the function's name alone. The command line names its own command
    instead, with the options as its flags, and leaves out a call it has no command for,
    with the words of ``does``."""

    function: str
    args: tuple[str | Opt, ...]
    does: str

    def __init__(self, function: str, *args: str | Opt, does: str = "") -> None:
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "does", does)

    def __str__(self) -> str:
        shown = ", ".join(map(str, self.args))
        return f"{self.function}({shown}){self.does}" if self.args else self.function + self.does


#: A message as data: text, and the options and calls it names.
Parts = Sequence[str | Opt | Call]
#: How a message shows an option or a call: ``str`` in the library's own words.
Namer = Callable[[Opt | Call], str]


def said(parts: str | Parts, name: Namer = str) -> str:
    """``parts`` (or a :class:`Sentence`'s) as one text, each option and call as ``name``
    renders it; other text as it is."""
    if isinstance(parts, Sentence):
        parts = parts.parts
    if isinstance(parts, str):
        return str(parts)
    return "".join(p if isinstance(p, str) else name(p) for p in parts)


class Sentence(str):
    """A sentence whose options and calls are data: it reads (``str``) in the library's
    words, and :meth:`words` says it with another's names, as errors do.

    >>> s = Sentence(["label ", Call("report.review_queue", Opt("budget", 400))])
    >>> s, s.words(lambda part: "--queue")
    ('label report.review_queue(budget=400)', 'label --queue')
    """

    parts: tuple[str | Opt | Call, ...]

    def __new__(cls, parts: str | Parts) -> Sentence:
        held = (parts,) if isinstance(parts, str) else tuple(parts)
        made = super().__new__(cls, said(held))
        made.parts = held
        return made

    def words(self, name: Namer) -> str:
        """The sentence with each option and call as ``name`` renders it."""
        return said(self.parts, name)


class _Told:
    """A message as data (``problem``, ``hint``, ``option``), shared by errors and warnings."""

    option: str | None = None
    problem: tuple[str | Opt | Call, ...] = ()
    hint: tuple[str | Opt | Call, ...] = ()

    def _tell(self, message: str | Parts, option: str | None, hint: str | Parts) -> str:
        self.problem = (message,) if isinstance(message, str) else tuple(message)
        self.hint = (hint,) if isinstance(hint, str) else tuple(hint)
        self.option = option
        return self.words(str)

    def words(self, name: Namer, hint: str | None = None) -> str:
        """The message with each option and call as ``name`` renders it (the CLI's flags and
        commands, say), and ``hint`` instead of the message's own when given."""
        text = said(self.problem, name)
        told = hint if hint is not None else said(self.hint, name)
        return f"{text}; {told}" if told else text


class ClassifyFramesError(_Told, Exception):
    """Base of every error raised by classify_frames.

    ``message`` is a string, or its parts (text, :class:`Opt` and :class:`Call`); ``hint``
    says what to do, the same way. ``str(error)`` is ``message`` then ``hint``, after ``"; "``.

    Attributes:
        option: the option at fault, when one is (``"max_requests_per_second"``).
        problem: the message's parts; ``hint``: the hint's parts (empty when there is none).
        partial: for a call cut short (a listing that failed midway), the frame of the jobs
            it got before the error; None otherwise.
    """

    partial: Any = None

    def __init__(
        self, message: str | Parts = "", *, option: str | None = None, hint: str | Parts = ()
    ) -> None:
        super().__init__(self._tell(message, option, hint))


class ClassifyFramesWarning(_Told, UserWarning):
    """A warning of classify_frames whose advice is data, as an error's is (``problem``,
    ``hint``, ``option``), so the command line shows it in its own terms."""

    def __init__(
        self, message: str | Parts = "", *, option: str | None = None, hint: str | Parts = ()
    ) -> None:
        super().__init__(self._tell(message, option, hint))


class ConfigurationError(ClassifyFramesError, ValueError):
    """A setting or argument is missing or invalid (API key, base URL, option value, a frame
    without the columns a call needs)."""


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


class AuditWarning(ClassifyFramesWarning):
    """Something in the data limits what the audit can say (unmatched or unknown labels,
    unlabelled drawn jobs, a queue drawn on another frame ...)."""
