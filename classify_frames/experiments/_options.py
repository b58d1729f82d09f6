"""The client settings every experiment call takes, declared once (see :class:`ClassifyClient`)."""

from __future__ import annotations

from typing import Literal, TypedDict

import httpx

__all__ = ["ClientOptions"]


class ClientOptions(TypedDict, total=False):
    """Settings of the one-shot :class:`~classify_frames.ClassifyClient` a call makes."""

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
    transport: httpx.AsyncBaseTransport | None
