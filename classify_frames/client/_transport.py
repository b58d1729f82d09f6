"""One request: over httpx's own transport, with a client-side rate limit and polite retries.

Retries follow the official SDK's policy (408, 409, 429, 5xx and connection errors; exponential
backoff from 0.5 s to 8 s with jitter; ``Retry-After`` in seconds or as an HTTP date,
``retry-after-ms``, and ``x-should-retry``), driven by :mod:`stamina`, so ``stamina.set_testing``
works in users' tests too. A 429 pauses the whole client, not just the request that got it.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import stamina

from .._exceptions import AuthenticationError, Opt, Parts
from .._version import VERSION
from ._config import Secret, Settings
from ._ids import query_string
from ._json import lenient_loads, loads
from ._limits import Breaker, Pacer

__all__ = [
    "HEADER_LOGGERS",
    "HideHeaders",
    "Reply",
    "Stats",
    "Transport",
    "network_transport",
    "tls_context",
]

log = logging.getLogger("classify_frames")


class HideHeaders(logging.Filter):
    """An opt-in filter keeping header lists out of httpcore's and httpx's DEBUG records: a
    server or proxy may echo the key in a response header, and httpcore logs every header it
    receives. Nothing is added to another library's logger unless you ask::

        for name in HEADER_LOGGERS:
            logging.getLogger(name).addFilter(HideHeaders())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "(b'" in message or '(b"' in message:
            record.msg, record.args = _HEADER_LIST.sub("[headers hidden]", message), ()
        return True


_HEADER_LIST = re.compile(r"\[\(b['\"].*\)\]", re.DOTALL)
#: The loggers that log header lists (a logger's filters do not apply to its children's records).
HEADER_LOGGERS = (
    "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
    "httpcore.socks", "httpx",
)  # fmt: skip

Validator = Callable[[Any], "str | None"]

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_CONNECTIONS_PER_POOL = 8
_MAX_SERVER_WAIT = 120.0  # never sleep longer than this on a server's say-so
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """What one logical request ended with, after retries.

    ``data`` is the parsed JSON body of a 2xx answer; otherwise ``error`` says why in words a
    user can act on, ``status`` is the last HTTP status seen (None if no answer came), and
    ``gave_up`` tells a service failing for now (retried until out of attempts) from an answer
    about this request itself (404, 422 …). ``lenient`` says the body was not strict JSON and
    was parsed by :func:`~classify_frames.client._json.lenient_loads`: check its jobs with
    :func:`~classify_frames.client._json.body_problem`.
    """

    status: int | None
    data: Any = None
    error: str | None = None
    attempts: int = 1
    gave_up: bool = False
    lenient: bool = False


@dataclass(frozen=True)
class _Outgoing:
    """One request as the client means it (the transport adds auth, encoding, timeouts)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    content: bytes | None = None


class _Retryable(Exception):  # noqa: N818 - internal signal, never escapes this module
    def __init__(self, reason: str, status: int | None, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.wait = reason, status, wait


class _Final(Exception):  # noqa: N818
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.error)
        self.reply = reply


@dataclass
class Stats:
    """Counters of what a client did: requests sent, retries, answers by status."""

    requests: int = 0
    retries: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def count(self, status: int | None) -> None:
        self.requests += 1
        key = str(status) if status is not None else "no answer"
        self.by_status[key] = self.by_status.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "by_status": dict(self.by_status),
        }


def _server_wait(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After``."""
    headers = response.headers
    if ms := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(response: httpx.Response, key: Secret, *others: Secret) -> str:
    """What an error answer says, on one short line, never quoting the key back (some servers
    and proxies echo the Authorization header they were sent)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        if "html" in response.headers.get("content-type", ""):
            # A proxy's or portal's page: its title says what happened, its markup does not.
            found = _TITLE.search(response.text)
            text = f"an HTML page ({' '.join(found[1].split()) if found else 'no title'})"
        else:
            text = " ".join(response.text.split())
    else:
        text = str(body.get("detail") if isinstance(body, dict) else body)
    for secret in (key, *others):
        text = secret.mask(text)  # before cutting: no prefix of the key is left
    return text[:200] + ("…" if len(text) > 200 else "")


_REASONS = {403: "forbidden", 404: "not found", 422: "rejected as invalid"}


class Transport:
    """Sends requests for a client: auth, scope parameters, pacing, retries, counters."""

    def __init__(
        self,
        settings: Settings,
        stats: Stats,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._pacer = pacer if pacer is not None else Pacer(settings.max_requests_per_second)
        self._breaker = Breaker(clock)
        self._headers = httpx.Headers(
            {
                "Authorization": f"Bearer {settings.require_key()}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip",  # a page of 100 jobs: 159 kB as sent, 22 kB gzipped
                "User-Agent": f"classify-frames/{VERSION}",
                **{name: _text(value) for name, value in (settings.custom_headers or {}).items()},
            }
        )
        # a custom header may carry a token: an error quoting one back masks it (values of 8
        # characters or more; a short one such as a team name would blot out common words)
        custom = (settings.custom_headers or {}).values()
        self._header_secrets = [v for v in custom if isinstance(v, Secret) and len(v.get()) >= 8]
        self._base = str(settings.base_url)
        self._timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout).as_dict()
        self._deadline = settings.connect_timeout + settings.timeout  # for a whole attempt
        # Requests go straight to httpx transports: the client layer's URL merging, cookie jar
        # and auth/redirect machinery are not wanted (no cookies; redirects are never followed,
        # so the key cannot travel to another host). httpcore's pool costs CPU per request in
        # proportion to its open connections (3,000 GETs at 32 connections: 14.3 s of CPU in
        # one pool, 3.5 s in four pools of 8; encode/httpx#3215), so connections are spread
        # over pools of at most 8.
        if transport is not None:
            self._pools = [transport]
        else:
            shards = -(-settings.concurrency // _CONNECTIONS_PER_POOL)
            per_pool = -(-settings.concurrency // shards)
            tls = tls_context(settings)  # one CA bundle load (40 ms), not one per pool
            self._pools = [network_transport(settings, tls, per_pool) for _ in range(shards)]
        self._in_flight = [0] * len(self._pools)

    def _said(self, response: httpx.Response) -> str:
        """What an error answer says, with the key and custom header tokens masked."""
        return _detail(response, self.settings.key, *self._header_secrets)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()

    async def get_json(
        self,
        path: str,
        params: list[tuple[str, str]] | None = None,
        validate: Validator | None = None,
    ) -> Reply:
        """GET ``path`` and return the parsed JSON, retrying what is worth retrying.

        ``validate`` checks a 2xx body and returns why it is unusable (a 200 that is not a
        job, say); such an answer is retried like a 503.
        """
        return await self.request_json("GET", path, params, validate=validate)

    async def request_json(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        *,
        content: bytes | None = None,
        validate: Validator | None = None,
    ) -> Reply:
        """Send ``method`` to ``path`` (with a JSON ``content`` body, if any) and return the
        parsed JSON answer, paced, retried and counted like every request of the client.

        Retries resend the same request, so a request that creates something must be
        idempotent at the server (the Classify API's ``transaction_id``).
        """
        if refusal := self._breaker.refusal():
            return Reply(None, error=refusal, attempts=0, gave_up=True)
        query = [*self.settings.scope_params.items(), *(params or [])]
        request = _Outgoing(method, path, query, content)
        reply = await self._request_json(request, validate)
        self._breaker.record(gave_up=reply.gave_up, status=reply.status, error=reply.error)
        return reply

    async def _request_json(self, request: _Outgoing, validate: Validator | None) -> Reply:
        attempts, last = 0, None
        try:
            async for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.settings.retries + 1,
                timeout=None,
                wait_initial=0.5,
                wait_max=8.0,
                wait_jitter=0.5,
            ):
                with attempt:
                    if last is not None and self._breaker.refusal():
                        return _gave_up(last, attempts)  # the service went down meanwhile
                    attempts += 1
                    if last is not None:
                        self.stats.retries += 1
                    try:
                        return await self._once(request, attempts, validate)
                    except _Retryable as exc:
                        last = exc
                        raise
        except _Retryable as exc:
            return _gave_up(exc, attempts)
        except _Final as exc:
            return exc.reply
        msg = "stamina's retry loop ended without a result or an error"  # it re-raises the last
        raise AssertionError(msg)

    async def _send(self, pool: httpx.AsyncBaseTransport, outgoing: _Outgoing) -> httpx.Response:
        query = "?" + query_string(outgoing.query) if outgoing.query else ""
        headers = self._headers
        if outgoing.content is not None:
            headers = httpx.Headers({**headers, "Content-Type": "application/json"})
        request = httpx.Request(
            outgoing.method,
            self._base + outgoing.path + query,
            headers=headers,
            content=outgoing.content,
            extensions={"timeout": self._timeout},
        )
        response = await pool.handle_async_request(request)
        try:  # decodes gzip
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _backoff(self, exc: BaseException) -> bool | float:
        if not isinstance(exc, _Retryable):
            return False
        if exc.wait is None:
            return True
        self._pacer.pause(exc.wait)
        return exc.wait

    async def _once(self, request: _Outgoing, attempts: int, validate: Validator | None) -> Reply:
        try:
            async with self._slots:
                await self._pacer.wait()
                shard = min(range(len(self._pools)), key=self._in_flight.__getitem__)
                self._in_flight[shard] += 1
                try:
                    # httpx's timeouts bound each read: a server dripping a byte at a time
                    # would hold the attempt for ever. This bounds the whole attempt.
                    async with asyncio.timeout(self._deadline):
                        response = await self._send(self._pools[shard], request)
                finally:
                    self._in_flight[shard] -= 1
        except httpx.TimeoutException as exc:
            self.stats.count(None)
            reason = "timed out"
            raise _Retryable(reason, None) from exc
        except TimeoutError as exc:
            self.stats.count(None)
            reason = f"timed out (no complete answer within {self._deadline:g} s)"
            raise _Retryable(reason, None) from exc
        except httpx.TransportError as exc:
            self.stats.count(None)
            if refused := _untrusted(exc):  # the same answer on every retry: none is made
                raise _Final(Reply(None, error=refused, attempts=attempts)) from exc
            reason = f"connection error ({type(exc).__name__})"
            raise _Retryable(reason, None) from exc
        except httpx.DecodingError as exc:  # a body its Content-Encoding does not describe
            self.stats.count(None)
            msg = f"undecodable body ({exc})"
            raise _Retryable(msg, None) from exc
        self.stats.count(response.status_code)
        status = response.status_code
        path = request.path
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", request.method, self.settings.key.mask(path), status)
        key = self.settings.key
        if status == 401:
            detail = self._said(response)
            msg = f"401 from {path}: the API key was refused ({detail})"
            hint: Parts = ["set a valid key with LLAMA_CLOUD_API_KEY=... or ", Opt("api_key", ...)]
            raise AuthenticationError(
                msg, status_code=401, path=path, detail=detail, option="api_key", hint=hint
            )
        if 300 <= status < 400:
            where = key.mask(response.headers.get("location", "?"))
            reason = f"redirected ({status}) to {where}; not followed, so the key stays here"
            raise _Final(Reply(status, error=reason, attempts=attempts))
        should_retry = response.headers.get("x-should-retry", "").lower()
        if status >= 400:
            retryable = status in _RETRY_STATUSES or status >= 500
            if should_retry == "true" or (retryable and should_retry != "false"):
                reason = f"{status} {self._said(response)}".strip()
                raise _Retryable(reason, status, _capped(_server_wait(response)))
            reason = f"{_REASONS.get(status, 'HTTP error')} ({status}: {self._said(response)})"
            raise _Final(Reply(status, error=reason, attempts=attempts))
        lenient = False
        try:
            data = loads(response.content)
        except orjson.JSONDecodeError as exc:
            # One NaN or bad byte in one job must not cost the other 99 of its page; a body
            # that is not JSON even leniently (truncated, an HTML page) is retried.
            data = lenient_loads(response.content)
            if data is None:
                kind = response.headers.get("content-type", "?").split(";")[0]
                msg = f"invalid JSON body ({kind}, {len(response.content)} bytes)"
                raise _Retryable(msg, status) from exc
            lenient = True
        problem = validate(data) if validate else None
        if problem:
            raise _Retryable(problem, status)
        self._pacer.ease()
        return Reply(status, data=data, attempts=attempts, lenient=lenient)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of ``verify``, ``cert`` and ``trust_env``, as httpx builds it (a path
    given as ``verify`` is a CA file or directory; httpx deprecated passing those itself)."""
    verify, cert = settings.verify, settings.cert
    if isinstance(verify, str):
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        context = httpx.create_ssl_context(verify=verify, trust_env=settings.trust_env)
    if cert:
        context.load_cert_chain(*((cert,) if isinstance(cert, str) else cert))
    return context


def network_transport(
    settings: Settings, tls: ssl.SSLContext, connections: int
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport for one pool of ``connections``, with the settings' TLS context
    (``verify``, ``cert``), proxy and ``trust_env``."""
    proxy = settings.proxy
    return httpx.AsyncHTTPTransport(
        verify=tls,
        trust_env=settings.trust_env,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        proxy=httpx.Proxy(proxy.get()) if isinstance(proxy, Secret) else None,
    )


def _untrusted(exc: BaseException) -> str | None:
    """Why the server's TLS certificate was refused, if that is what ``exc`` comes from."""
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, ssl.SSLCertVerificationError):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return None
    return (
        f"TLS certificate not trusted ({seen.verify_message}): if a proxy or private CA "
        "signs it, give that CA bundle as verify (a file or directory) or in SSL_CERT_FILE"
    )


def _text(value: str | Secret) -> str:
    return value.get() if isinstance(value, Secret) else value


def _capped(wait: float | None) -> float | None:
    """The wait to honour: the server's, at most 120 s; none (our own backoff) for a wait of
    0 or less, as the SDK does. The SDK also falls back to its backoff (0.5 to 8 s) past 60 s,
    retrying sooner than asked; against a per-minute limit (the free tier's 20 a minute) that
    only earns more 429s, so here a longer wait is honoured, up to the cap."""
    return None if wait is None or wait <= 0 else min(wait, _MAX_SERVER_WAIT)


def _gave_up(exc: _Retryable, attempts: int) -> Reply:
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    return Reply(
        exc.status, error=f"gave up {tries}: {exc.reason}", attempts=attempts, gave_up=True
    )
