"""LlamaCloud's files API as far as opening a job's input goes: a presigned download link.

Routes::

    GET /api/v1/files/{id}/content        {url, expires_at, form_fields}: a presigned URL
    GET /api/v1/beta/files/{id}/content   the same (the path of newer SDKs' ``files.get``)
    GET /_storage/{id}?expires=…&signature=…   the file itself, for that URL: no API key

As the official SDK describes it (``files.read_content(id, expires_at_seconds=...)`` returns a
``PresignedURL``): the answer needs the key, the link does not, and it stops working when it
expires. The files are the dataset's (the ``dfl-…`` inputs of its ``file_id`` jobs), each a
short synthetic text saying what the document is; any other id, or a file asked for under
another project, is 404.

Not documented by the service, so chosen here: a link lasts 3,600 s unless
``expires_at_seconds`` says otherwise (1 to 604,800, the most a presigned S3 URL allows; else
422); an expired or tampered link is 403 with an S3-style XML error.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from ._catalog import EVIDENCE
from ._data import FILE, Dataset, format_time

__all__ = ["STORAGE", "FileStore"]

#: Where the emulator serves the files its links point at.
STORAGE = "/_storage/"
_DEFAULT_SECONDS = 3_600
_MAX_SECONDS = 604_800
_Answer = tuple[int, Any]
_Content = tuple[int, bytes, bytes]  # status, body, content type
_XML = b"application/xml"
_TEXT = b"text/plain; charset=utf-8"


class FileStore:
    """The dataset's files: presigned links to them, and their content for a signed link."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._secret = secrets.token_bytes(32)  # links of one emulator open only there

    def link(
        self, file_id: str, project: str, pairs: list[tuple[str, str]], origin: str, now: float
    ) -> _Answer:
        """(status, JSON) of ``GET /api/v1/files/{id}/content``."""
        seconds = _DEFAULT_SECONDS
        for name, value in pairs:
            if name == "expires_at_seconds" and value != "":
                try:
                    seconds = int(value)
                except ValueError:
                    seconds = 0
                if not 1 <= seconds <= _MAX_SECONDS:
                    return 422, {"detail": [_expiry_error(value)]}
        if project != self._dataset.project_id or self._kind(file_id) is None:
            return 404, {"detail": f"File {file_id} not found"}
        expires = int(now) + seconds
        query = urlencode({"expires": expires, "signature": self._sign(file_id, expires)})
        url = f"{origin}{STORAGE}{quote(file_id, safe='')}?{query}"
        return 200, {"url": url, "expires_at": format_time(expires * 1000), "form_fields": None}

    def content(self, file_id: str, pairs: list[tuple[str, str]], now: float) -> _Content:
        """(status, body, content type) of a presigned link: the file, or why not."""
        given = dict(pairs)
        try:
            expires = int(given.get("expires", ""))
        except ValueError:
            return _denied("AccessDenied", "Query-string authentication requires expires")
        good = self._sign(file_id, expires)
        if not hmac.compare_digest(given.get("signature", ""), good):
            return _denied("SignatureDoesNotMatch", "The request signature does not match")
        if now > expires:
            return _denied("AccessDenied", "Request has expired")
        kind = self._kind(file_id)
        if kind is None:  # signed by this emulator, so never: kept for a changed dataset
            return _denied("NoSuchKey", "The specified key does not exist", 404)
        return 200, _document(file_id, kind).encode(), _TEXT

    def _kind(self, file_id: str) -> str | None:
        return self._dataset.document_kind(file_id) if file_id.startswith(FILE) else None

    def _sign(self, file_id: str, expires: int) -> str:
        message = f"{file_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _document(file_id: str, kind: str) -> str:
    """A short text standing in for the file: what a labeller would see in it."""
    said = EVIDENCE.get(kind)
    words = kind.replace("_", " ")
    body = (
        f"This {words} {said[sum(file_id.encode()) % len(said)]}."
        if said
        else f"This document is a {words}."
    )
    return f"{file_id}\nSynthetic document served by the classify-frames emulator.\n\n{body}\n"


def _denied(code: str, message: str, status: int = 403) -> _Content:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}"
    return status, (body + "</Message></Error>").encode(), _XML


def _expiry_error(value: str) -> dict[str, Any]:
    return {
        "type": "value_error",
        "loc": ["query", "expires_at_seconds"],
        "msg": f"Value error, expires_at_seconds must be 1 to {_MAX_SECONDS}",
        "input": value,
    }
