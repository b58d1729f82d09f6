"""A short-lived download link for a file the service holds: ``GET /api/v1/files/{id}/content``.

The service answers with a presigned URL (``{url, expires_at, form_fields}``, the official
SDK's ``PresignedURL``; ``client.files.read_content(id, expires_at_seconds=...)``) that opens the
file without the API key, until it expires. A link is asked for when it is wanted, never kept:
an old one no longer opens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .._exceptions import APIError, ConfigurationError
from ._transport import Transport

__all__ = ["FILES_PATH", "FileURL", "check_expires_in", "check_file_id", "file_url"]

FILES_PATH = "/api/v1/files"
_PARSE_JOB = "pjb-"  # how the service's parse job ids begin (SDK 2.19)


@dataclass(frozen=True)
class FileURL:
    """A link that opens one file without the API key, until ``expires_at`` (UTC).

    Its repr leaves out the URL's query, which signs it: anyone holding the whole URL can
    open the file until it expires. Ask for a new one rather than keeping it.
    """

    file_id: str
    url: str
    expires_at: dt.datetime

    def __repr__(self) -> str:
        signed = "?…" if "?" in self.url else ""
        return (
            f"FileURL(file_id={self.file_id!r}, url={self.url.split('?')[0] + signed!r}, "
            f"expires_at={self.expires_at.isoformat(timespec='seconds')!r})"
        )


def check_file_id(file_id: object) -> str:
    """``file_id`` as given, or a ``ConfigurationError`` naming what was given instead."""
    if not isinstance(file_id, str) or not file_id.strip():
        msg = f"file_id must be a non-empty string (a job's file_input), got {file_id!r}"
        raise ConfigurationError(msg, option="file_id")
    return file_id


def check_expires_in(expires_in: object) -> int | None:
    """Seconds a link should last (a positive whole number), or None for the service's own."""
    if expires_in is None:
        return None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        msg = f"expires_in must be a positive whole number of seconds, got {expires_in!r}"
        raise ConfigurationError(msg, option="expires_in")
    return expires_in


async def file_url(transport: Transport, file_id: str, expires_in: int | None) -> FileURL:
    """Ask the service for a presigned link to ``file_id``'s content."""
    path = f"{FILES_PATH}/{quote(file_id, safe='')}/content"
    params = [] if expires_in is None else [("expires_at_seconds", str(expires_in))]
    reply = await transport.request_json("GET", path, params, validate=_link_problem)
    if reply.data is None:
        if reply.status == 404:
            hint = (
                "it is a parse job's id: a parse job has no file to open"
                if file_id.startswith(_PARSE_JOB)
                else "check the id, and that the client's project_id is the file's project"
            )
            msg = f"no file {file_id!r}: the service answered {reply.error}"
            raise APIError(msg, status_code=404, path=path, hint=hint)
        msg = f"no link to file {file_id!r}: {reply.error}"
        raise APIError(msg, status_code=reply.status, path=path)
    data: dict[str, Any] = reply.data
    return FileURL(file_id, data["url"], _when(data["expires_at"]))


def _link_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"the answer is not a presigned URL (a JSON {type(data).__name__})"
    url, expires = data.get("url"), data.get("expires_at")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return "the answer's url is not a web address"
    if not isinstance(expires, str):
        return "the answer has no expires_at"
    try:
        _when(expires)
    except ValueError:
        return f"the answer's expires_at is not a date-time ({expires[:40]!r})"
    return None


def _when(text: str) -> dt.datetime:
    """An ISO 8601 date-time as an aware UTC datetime (one without an offset read as UTC)."""
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)
