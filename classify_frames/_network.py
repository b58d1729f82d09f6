"""An asyncio-native network backend for httpcore's connection pools.

httpcore reaches sockets through anyio by default, and on asyncio that layer costs more CPU per
request than the HTTP/1.1 exchange itself: every read and write opens a cancel scope, asks sniffio
which library runs, and, for each idle connection the pool looks at, fetches the raw socket
through anyio's typed attributes and polls it (encode/httpx#3215). This backend talks to asyncio's
transports directly through httpcore's public ``network_backend`` seam: a protocol buffers what
arrives, a read waits on one future with one timer, and "is this idle connection readable" is a
look at that buffer (then one poll of the socket, for a close the loop has not read yet).
Behaviour is httpcore's own; only the plumbing underneath is shorter.

Measured on 10,000 per-id fetches from the emulator (20 ms latency, pools of 8): about 10.2 s of
client CPU through ``httpx.AsyncHTTPTransport``, about 7.9 s through :class:`PoolTransport`.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import sys
from collections.abc import Iterable
from typing import Any, cast

import httpcore
import httpx

__all__ = ["AsyncioBackend", "PoolTransport"]

_HIGH_WATER = 1 << 20  # bytes held before the socket stops being read (a slow consumer)
_LOW_WATER = 1 << 18  # ... and read again below this
SocketOption = Any  # httpcore's SOCKET_OPTION: (level, option, value) tuples


class _Stream(asyncio.Protocol, httpcore.AsyncNetworkStream):
    """One connection: asyncio feeds it bytes, httpcore reads them back with timeouts."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._lost: BaseException | None = None
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _HIGH_WATER and self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # close our side too: HTTP/1.1 has no use for a half-open socket

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # httpcore's side
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self._buffer and not self._eof:
            self._waiter = self._loop.create_future()
            try:
                await _within(self._waiter, timeout, httpcore.ReadTimeout)
            finally:
                self._waiter = None
        if self._buffer:
            data = bytes(self._buffer[:max_bytes])
            del self._buffer[:max_bytes]
            if self._reading_paused and len(self._buffer) < _LOW_WATER and self._transport:
                self._transport.resume_reading()
                self._reading_paused = False
            return data
        if self._lost is not None:
            raise httpcore.ReadError(str(self._lost)) from self._lost
        return b""  # the peer closed the connection: httpcore decides what that means

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        transport = self._transport
        if transport is None or transport.is_closing():
            msg = "connection closed"
            raise httpcore.WriteError(msg)
        transport.write(buffer)
        if self._drained is not None:
            await _within(asyncio.shield(self._drained), timeout, httpcore.WriteTimeout)
            if transport.is_closing():
                msg = "connection closed while writing"
                raise httpcore.WriteError(msg)

    async def aclose(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        assert self._transport is not None
        try:
            tls = await self._loop.start_tls(
                self._transport,
                self,
                ssl_context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout,
            )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if tls is None:  # the peer closed during the handshake
            msg = "connection closed during the TLS handshake"
            raise httpcore.ConnectError(msg)
        self._transport = tls
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle and readable means the server closed it (or sent junk): do not reuse it. A
            # close that came while the loop was busy is still in the kernel: ask the socket.
            if self._buffer or self._eof:
                return True
            return self._transport is not None and _unread(self._transport.get_extra_info("socket"))
        if self._transport is None:
            return None
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


def _unread(sock: socket.socket | None) -> bool:
    """Whether the kernel holds bytes or a FIN for ``sock`` (a socket that is gone counts)."""
    if sock is None or sock.fileno() < 0:
        return True
    if sys.platform == "win32" or not hasattr(select, "poll"):
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


async def _within(
    future: asyncio.Future[None], timeout: float | None, error: type[Exception]
) -> None:
    """Await ``future``, raising ``error`` if it has not finished after ``timeout`` seconds."""
    if timeout is None:
        await future
        return
    handle = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        await future
    except TimeoutError as exc:
        msg = f"no progress in {timeout:g} s"
        raise error(msg) from exc
    finally:
        handle.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend on asyncio's own transports (see the module docstring)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                _, stream = await loop.create_connection(_Stream, host, port, local_addr=local)
        except TimeoutError as exc:
            msg = f"no connection in {timeout:g} s"
            raise httpcore.ConnectTimeout(msg) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock: socket.socket | None = stream.get_extra_info("socket")
        for option in socket_options or ():
            if sock is not None:
                sock.setsockopt(*option)
        return stream

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ProtocolError: httpx.ProtocolError,
}


class PoolTransport(httpx.AsyncBaseTransport):
    """An httpx transport: one httpcore connection pool on :class:`AsyncioBackend`, HTTP/1.1.

    Answers come back with their whole body read (JSON pages here, never streams), so
    ``response.aread()`` costs nothing more. httpcore's errors become httpx's, as with
    ``httpx.AsyncHTTPTransport``. With ``proxy``, requests go through that http(s) proxy.

    >>> transport = PoolTransport(max_connections=8)  # doctest: +SKIP
    >>> httpx.AsyncClient(transport=transport)  # doctest: +SKIP
    """

    def __init__(
        self,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        self._pool: httpcore.AsyncConnectionPool
        if proxy is None:
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                network_backend=AsyncioBackend(),
            )
            return
        # https targets are tunnelled with CONNECT (TLS end to end); http ones are forwarded.
        url = proxy.url
        self._pool = httpcore.AsyncHTTPProxy(
            proxy_url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=AsyncioBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]  # an httpx async byte stream
            extensions=request.extensions,
        )
        return await self._exchange(core, request)

    async def send(
        self,
        method: bytes,
        url: httpcore.URL,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """The same exchange from parts the caller has already encoded (``url``'s target is the
        path and query as sent, ``headers`` include ``Host``): no ``httpx.Request`` is made, so
        no URL is parsed and checked character by character again (issue 14: that was the
        largest single cost of a batched fetch)."""
        core = httpcore.Request(
            method=method, url=url, headers=headers, content=content, extensions=extensions
        )
        return await self._exchange(core, None)

    async def _exchange(
        self, core: httpcore.Request, request: httpx.Request | None
    ) -> httpx.Response:
        try:
            response = await self._pool.handle_async_request(core)
            try:
                body = b"".join([chunk async for chunk in response.aiter_stream()])
            finally:
                await response.aclose()
        except tuple(_ERRORS) as exc:
            error = next(_ERRORS[kind] for kind in type(exc).__mro__ if kind in _ERRORS)
            raise error(str(exc), request=request) from exc
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
