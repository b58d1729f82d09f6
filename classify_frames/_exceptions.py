"""The one exception tree of classify_frames.

::

    ClassifyFramesError
     ├── ConfigurationError          bad settings: no key, insecure URL, bad option value
     ├── APIError                    the service answered with an error we cannot work around
     │    ├── AuthenticationError    401: the key is missing or wrong
     │    └── RateLimitError         429 after every retry
     ├── FetchError                  strict=True and some jobs could not be fetched
     └── ExportError                 a file could not be written or read

    AuditWarning (a UserWarning)     something in the data limits what the audit can say

Every error carries the context a user needs (status, URL path, job ids) and never the API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AuditWarning",
    "AuthenticationError",
    "ClassifyFramesError",
    "ConfigurationError",
    "ExportError",
    "FetchError",
    "RateLimitError",
]


class ClassifyFramesError(Exception):
    """Base of every error raised by classify_frames.

    Attributes:
        partial: for a call cut short (a listing that failed midway), the frame of the jobs
            it got before the error; None otherwise.
    """

    partial: Any = None


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
        self, message: str, *, status_code: int | None = None, path: str = "", detail: object = None
    ) -> None:
        super().__init__(message)
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


class ExportError(ClassifyFramesError, OSError):
    """A file or dataset could not be written or read; any existing file is left intact."""


class AuditWarning(UserWarning):
    """Something in the data limits what the audit can say (unmatched or unknown labels,
    unlabelled drawn jobs, a queue drawn on another frame ...)."""
