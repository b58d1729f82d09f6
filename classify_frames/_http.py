"""The HTTP layer: one connection pool, a client-side rate limit, and polite retries.

Retries follow the official SDK's policy (408, 409, 429, 5xx and connection errors; exponential
backoff from 0.5 s to 8 s with jitter; ``Retry-After`` in seconds or as an HTTP date,
``retry-after-ms``, and ``x-should-retry``), driven by :mod:`stamina`, so ``stamina.set_testing``
works in users' tests too. A 429 pauses the whole client, not just the request that got it.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson
import stamina

from ._exceptions import AuthenticationError
from ._json import lenient_loads, loads
from ._network import PoolTransport
from ._settings import Secret, Settings

__all__ = ["Reply", "Stats", "Transport"]

log = logging.getLogger("classify_frames")
# stamina logs each scheduled retry at WARNING; in a notebook with no logging set up, Python's
# last-resort handler would print every one of them under the cell. Retries show up in the
# progress bar and in ``client.stats()`` instead; a user who configures logging still sees them.
logging.getLogger("stamina").addHandler(logging.NullHandler())


class _HideHeaders(logging.Filter):
    """Keeps header lists out of httpcore's (and httpx's) DEBUG records: a server or proxy may
    echo the key in a response header, and httpcore logs every header it receives."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "(b'" in message or '(b"' in message:
            record.msg, record.args = _HEADER_LIST.sub("[headers hidden]", message), ()
        return True


_HEADER_LIST = re.compile(r"\[\(b['\"].*\)\]", re.DOTALL)


def _hide_headers_from_debug_logs() -> None:
    # A logger's filters do not apply to its children's records: each logger that logs is named.
    for name in ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
                 "httpcore.socks", "httpx"):  # fmt: skip
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HideHeaders) for f in logger.filters):
            logger.addFilter(_HideHeaders())


_hide_headers_from_debug_logs()

Validator = Callable[[Any], "str | None"]

_RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
_CONNECTIONS_PER_POOL = 8
_MAX_SERVER_WAIT = 120.0  # never sleep longer than this on a server's say-so
_MIN_SPACING = 0.005  # seconds between requests after a first 429 (then doubled per pause)
_MAX_SPACING = 0.5  # seconds between requests at the slowest a 429 storm makes us go
_EASE = 0.98  # spacing kept per success after a 429: halved back in 35 successes
_TRIP_AFTER = 10  # requests given up on in a row (no success between) that open the breaker
_COOL_DOWN = 30.0  # seconds the breaker stays open before requests are tried again
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """What one logical request ended with, after retries.

    ``data`` is the parsed JSON body of a 2xx answer; otherwise ``error`` says why in words a
    user can act on, ``status`` is the last HTTP status seen (None if no answer came), and
    ``gave_up`` tells a service failing for now (retried until out of attempts) from an answer
    about this request itself (404, 422 …). ``lenient`` says the body was not strict JSON and
    was parsed by :func:`~classify_frames._json.lenient_loads`: check its jobs with
    :func:`~classify_frames._json.body_problem`.
    """

    status: int | None
    data: Any = None
    error: str | None = None
    attempts: int = 1
    gave_up: bool = False
    lenient: bool = False


class _Retryable(Exception):  # noqa: N818 - internal signal, never escapes this module
    def __init__(self, reason: str, status: int | None, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status, self.wait = reason, status, wait


class _Final(Exception):  # noqa: N818
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.error)
        self.reply = reply


class _Pacer:
    """Spaces requests so that no second ever sees more than ``rate`` of them.

    Waiters go one at a time and each next slot is counted from the moment the previous
    request really left: a waiter woken late (a busy event loop) cannot bring the ones queued
    behind it along in a burst. A pause that lands while one waits is honoured too.

    A server's 429 pauses everyone, and doubles the spacing (once per pause, however many
    429s it brings): otherwise the whole queue leaves in one burst when the pause ends, into
    a window with room for a few, and requests burn their attempts on 429 after 429. Each
    success then eases the spacing back towards the configured rate.
    """

    def __init__(self, rate: float | None) -> None:
        self._floor = 1.0 / rate if rate else 0.0
        self._interval = self._floor
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            while (delay := self._next - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            self._next = time.monotonic() + self._interval

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (a server asked us to), then go slower."""
        now = time.monotonic()
        if now >= self._paused_until:
            # Capped: a server whose Retry-After is already past (an HTTP date has whole
            # seconds) starts a new pause with every 429, and uncapped doubling once grew the
            # spacing to days and hung a fetch.
            doubled = max(2 * self._interval, _MIN_SPACING)
            self._interval = min(doubled, max(_MAX_SPACING, self._floor))
        self._paused_until = max(self._paused_until, now + seconds)
        self._next = max(self._next, now + seconds)

    def ease(self) -> None:
        """A request went through: a little less spacing, down to the configured rate's."""
        if self._interval > self._floor:
            self._interval = max(self._floor, self._interval * _EASE)


class _Breaker:
    """Stops sending to a service that is down, instead of hammering it for hours.

    Once ``_TRIP_AFTER`` requests in a row have been given up on after all their retries (no
    success in between), every request is answered at once, unsent, for ``_COOL_DOWN`` seconds;
    then requests go out again, and the next one given up on opens it again. A success closes
    it. Without it, an outage cost 10,000 ids 66 s of backoff (1,000,000 ids would cost hours),
    to learn the same thing 100 times over.
    """

    def __init__(self) -> None:
        self._streak = 0
        self._until = 0.0
        self._why = ""

    def refusal(self) -> str | None:
        """Why a request is not sent now, or None when it may go."""
        left = self._until - time.monotonic()
        if left <= 0:
            return None
        return (
            f"not sent: the service failed the last {self._streak} requests after all their "
            f"retries (last: {self._why}); requests resume in {left:.0f} s"
        )

    def record(self, reply: Reply) -> None:
        """Count a request's outcome: given up on, or answered (which closes the breaker)."""
        if reply.gave_up:
            self._streak += 1
            self._why = reply.error or "no answer"
            if self._streak >= _TRIP_AFTER:
                self._until = time.monotonic() + _COOL_DOWN
        elif reply.status is not None and reply.status < 500:
            self._streak, self._until = 0, 0.0


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


def _detail(response: httpx.Response, key: Secret) -> str:
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
    text = key.mask(text)  # before cutting: no prefix of the key is left
    return text[:200] + ("…" if len(text) > 200 else "")


_REASONS = {403: "forbidden", 404: "not found", 422: "rejected as invalid"}


class Transport:
    """Sends requests for a client: auth, scope parameters, pacing, retries, counters."""

    def __init__(
        self, settings: Settings, stats: Stats, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.stats = stats
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._pacer = _Pacer(settings.max_requests_per_second)
        self._breaker = _Breaker()
        self._headers = httpx.Headers(
            {
                "Authorization": f"Bearer {settings.require_key()}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip",  # a page of 100 jobs: 159 kB as sent, 22 kB gzipped
                "User-Agent": "classify-frames/0.1",
            }
        )
        self._base = str(settings.base_url)
        self._timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout).as_dict()
        self._deadline = settings.connect_timeout + settings.timeout  # for a whole attempt
        # Requests go straight to httpx transports: the client layer's URL merging, cookie jar
        # and auth/redirect machinery cost more CPU than the HTTP exchange itself here, and
        # none of it is wanted (no cookies; redirects are never followed, so the key cannot
        # travel to another host). httpcore's pool also costs CPU per request in proportion
        # to its open connections (3,000 GETs at 32 connections: 14.3 s of CPU in one pool,
        # 3.5 s in four pools of 8; encode/httpx#3215), so connections are spread over pools,
        # and the pools do their I/O on asyncio directly (see _network).
        if transport is not None:
            self._pools = [transport]
        else:
            shards = -(-settings.concurrency // _CONNECTIONS_PER_POOL)
            per_pool = -(-settings.concurrency // shards)
            tls = httpx.create_ssl_context()  # one CA bundle load (40 ms), not one per pool
            proxy = settings.proxy
            via = httpx.Proxy(proxy.get()) if isinstance(proxy, Secret) else None
            self._pools = [PoolTransport(per_pool, tls, via) for _ in range(shards)]
        self._in_flight = [0] * len(self._pools)

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
        return await self.request_json("GET", path, params=params, validate=validate)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = None,
        validate: Validator | None = None,
    ) -> Reply:
        """:meth:`get_json` for any method, with an optional JSON body.

        Retried like a GET: only send what is safe to repeat (a create with a
        ``transaction_id``, a cancel, a delete).
        """
        if refusal := self._breaker.refusal():
            return Reply(None, error=refusal, attempts=0, gave_up=True)
        content = None if json is None else orjson.dumps(json)
        reply = await self._get_json(path, params, validate, method, content)
        self._breaker.record(reply)
        return reply

    async def _get_json(
        self,
        path: str,
        params: list[tuple[str, str]] | None,
        validate: Validator | None,
        method: str = "GET",
        content: bytes | None = None,
    ) -> Reply:
        query = [*self.settings.scope_params.items(), *(params or [])]
        send = (method, content)
        # Most requests succeed at once: only a first failure pays for setting up stamina's
        # retry loop, whose first attempt then replays that failure (same policy, same waits).
        try:
            return await self._once(path, query, 1, validate, send)
        except _Retryable as exc:
            last = exc
        except _Final as exc:
            return exc.reply
        attempts, replayed = 1, False
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
                    if not replayed:
                        replayed = True
                        raise last
                    if self._breaker.refusal():  # the service went down meanwhile: stop here
                        return _gave_up(last, attempts)
                    attempts += 1
                    self.stats.retries += 1
                    try:
                        return await self._once(path, query, attempts, validate, send)
                    except _Retryable as exc:
                        last = exc
                        raise
        except _Retryable as exc:
            return _gave_up(exc, attempts)
        except _Final as exc:
            return exc.reply
        return _gave_up(last, attempts)  # not reached: stamina re-raises the last failure

    async def _send(
        self,
        pool: httpx.AsyncBaseTransport,
        path: str,
        query: list[tuple[str, str]],
        send: tuple[str, bytes | None] = ("GET", None),
    ) -> httpx.Response:
        url = self._base + path
        if query:
            url += "?" + urlencode(query, quote_via=quote, safe="")
        method, content = send
        headers = self._headers
        if content is not None:
            headers = httpx.Headers(headers)
            headers["Content-Type"] = "application/json"
        request = httpx.Request(
            method, url, headers=headers, content=content, extensions={"timeout": self._timeout}
        )
        response = await pool.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _backoff(self, exc: Exception) -> bool | float:
        if not isinstance(exc, _Retryable):
            return False
        if exc.wait is None:
            return True
        self._pacer.pause(exc.wait)
        return exc.wait

    async def _once(
        self,
        path: str,
        query: list[tuple[str, str]],
        attempts: int,
        validate: Validator | None,
        send: tuple[str, bytes | None] = ("GET", None),
    ) -> Reply:
        try:
            async with self._slots:
                await self._pacer.wait()
                shard = min(range(len(self._pools)), key=self._in_flight.__getitem__)
                self._in_flight[shard] += 1
                try:
                    # httpx's timeouts bound each read: a server dripping a byte at a time
                    # would hold the attempt for ever. This bounds the whole attempt.
                    async with asyncio.timeout(self._deadline):
                        response = await self._send(self._pools[shard], path, query, send)
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
            reason = f"connection error ({type(exc).__name__})"
            raise _Retryable(reason, None) from exc
        except httpx.DecodingError as exc:  # a body its Content-Encoding does not describe
            self.stats.count(None)
            msg = f"undecodable body ({exc})"
            raise _Retryable(msg, None) from exc
        self.stats.count(response.status_code)
        status = response.status_code
        log.debug("%s %s -> %s", send[0], path, status)
        key = self.settings.key
        if status == 401:
            detail = _detail(response, key)
            msg = (
                f"401 from {path}: the API key was refused ({detail}). Set a valid "
                "key with LLAMA_CLOUD_API_KEY=... or api_key=..."
            )
            raise AuthenticationError(msg, status_code=401, path=path, detail=detail)
        if 300 <= status < 400:
            where = key.mask(response.headers.get("location", "?"))
            reason = f"redirected ({status}) to {where}; not followed, so the key stays here"
            raise _Final(Reply(status, error=reason, attempts=attempts))
        should_retry = response.headers.get("x-should-retry", "").lower()
        if status >= 400:
            retryable = status in _RETRY_STATUSES or status >= 500
            if should_retry == "true" or (retryable and should_retry != "false"):
                reason = f"{status} {_detail(response, key)}".strip()
                raise _Retryable(reason, status, _capped(_server_wait(response)))
            reason = f"{_REASONS.get(status, 'HTTP error')} ({status}: {_detail(response, key)})"
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


def _capped(wait: float | None) -> float | None:
    return None if wait is None else min(wait, _MAX_SERVER_WAIT)


def _gave_up(exc: _Retryable, attempts: int) -> Reply:
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    return Reply(
        exc.status, error=f"gave up {tries}: {exc.reason}", attempts=attempts, gave_up=True
    )
