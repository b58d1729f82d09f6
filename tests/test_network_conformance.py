"""The hand-written transport behaves as httpx's own, where the two can differ.

Every test runs twice: on :class:`PoolTransport` (the asyncio backend the client uses) and on
``httpx.AsyncHTTPTransport`` (httpcore on anyio), the reference. Servers are real loopback
sockets; waits are on events the servers set, except where the point is that something does
*not* happen, which is asserted with a bounded wait.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

import httpx
import pytest
from test_network import OK, _Proxy, answer_each, serve

from classify_frames._network import PoolTransport

MakeTransport = Callable[..., httpx.AsyncBaseTransport]


def _httpx_transport(
    max_connections: int,
    ssl_context: ssl.SSLContext | None = None,
    proxy: httpx.Proxy | None = None,
) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.AsyncHTTPTransport(verify=ssl_context or True, proxy=proxy, limits=limits)


@pytest.fixture(params=["PoolTransport", "httpx.AsyncHTTPTransport"])
def make_transport(request: pytest.FixtureRequest) -> MakeTransport:
    """``make_transport(max_connections, ssl_context=None, proxy=None)`` on either transport."""
    return PoolTransport if request.param == "PoolTransport" else _httpx_transport


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext, ssl.SSLContext]:
    """A server context for ``localhost``, a client trusting its CA, and one trusting another."""
    trustme = pytest.importorskip("trustme")
    ca, stranger = trustme.CA(), trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server)
    trusting, distrusting = ssl.create_default_context(), ssl.create_default_context()
    ca.configure_trust(trusting)
    stranger.configure_trust(distrusting)
    return server, trusting, distrusting


# -- TLS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["unknown CA", "another name"])
def test_a_certificate_that_does_not_verify_is_refused_before_any_request(
    make_transport: MakeTransport,
    tls: tuple[ssl.SSLContext, ssl.SSLContext, ssl.SSLContext],
    case: str,
) -> None:
    server_ctx, trusting, distrusting = tls
    client_ctx, host = (
        (distrusting, "localhost") if case == "unknown CA" else (trusting, "127.0.0.1")
    )
    requests = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await reader.readuntil(b"\r\n\r\n")
        requests += 1

    async def main() -> None:
        async with (
            serve(count, tls=server_ctx) as server,
            httpx.AsyncClient(transport=make_transport(1, client_ctx)) as client,
        ):
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"https://{host}:{server.port}/x", headers={"X-Key": "secret"})

    asyncio.run(main())
    assert requests == 0  # nothing, not even the headers, reached the server


# -- half-closed connections -------------------------------------------------------------------


def test_a_body_ended_by_the_server_half_closing_arrives_whole(
    make_transport: MakeTransport,
) -> None:
    body = b"x" * 300_000

    async def close_delimited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)  # no length
        writer.write_eof()  # the body ends here; the server still reads
        await reader.read()

    async def main() -> None:
        async with (
            serve(close_delimited) as server,
            httpx.AsyncClient(transport=make_transport(1)) as client,
        ):
            assert (await client.get(server.url)).content == body
            assert (await client.get(server.url)).content == body  # on a new connection
            assert server.connections == 2

    asyncio.run(main())


def test_a_keep_alive_connection_the_server_half_closed_is_not_reused(
    make_transport: MakeTransport,
) -> None:
    answered, half_closed = asyncio.Event(), asyncio.Event()

    async def answer_then_half_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)  # keep-alive by default ...
        await writer.drain()
        await answered.wait()
        writer.write_eof()  # ... until the server's idle timeout strikes
        half_closed.set()
        await reader.read()

    async def main() -> None:
        async with (
            serve(answer_then_half_close) as server,
            httpx.AsyncClient(transport=make_transport(1)) as client,
        ):
            for _ in range(3):
                answered.clear()
                half_closed.clear()
                assert (await client.get(server.url)).status_code == 200
                answered.set()
                await half_closed.wait()  # the FIN is on its way: the next request must not
                # take that connection, whether or not the loop has read the FIN yet
            assert server.connections == 3

    asyncio.run(main())


def test_a_server_that_half_closes_before_answering_is_a_protocol_error(
    make_transport: MakeTransport,
) -> None:
    async def read_then_half_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write_eof()
        await reader.read()

    async def main() -> None:
        async with (
            serve(read_then_half_close) as server,
            httpx.AsyncClient(transport=make_transport(1)) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
                await client.get(server.url)

    asyncio.run(main())


# -- backpressure on large bodies --------------------------------------------------------------


def test_a_large_body_arrives_whole(make_transport: MakeTransport) -> None:
    body = bytes(range(256)) * (8 * 4096)  # 8 MiB, sent in 64 KiB writes

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 1 << 16):
            writer.write(body[start : start + (1 << 16)])
            await writer.drain()

    async def main() -> None:
        async with serve(big) as server, httpx.AsyncClient(transport=make_transport(1)) as c:
            assert (await c.get(server.url)).content == body

    asyncio.run(main())


def test_a_large_upload_waits_for_a_slow_server_and_arrives_whole(
    make_transport: MakeTransport,
) -> None:
    upload = bytes(range(256)) * (16 * 4096)  # 16 MiB: far more than the socket buffers hold
    reading = asyncio.Event()
    received = bytearray()

    async def slow_then_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"content-length: %d" % len(upload) in head.lower()
        await reading.wait()
        while len(received) < len(upload):
            received.extend(await reader.read(1 << 16))
        writer.write(OK)
        await writer.drain()

    async def main() -> None:
        async with (
            serve(slow_then_read) as server,
            httpx.AsyncClient(transport=make_transport(1), timeout=30) as client,
        ):
            sending = asyncio.create_task(client.post(server.url, content=upload))
            with pytest.raises(TimeoutError):  # the upload cannot finish while nobody reads
                await asyncio.wait_for(asyncio.shield(sending), 0.2)
            reading.set()
            assert (await sending).status_code == 200
        assert bytes(received) == upload

    asyncio.run(main())


def test_a_server_that_never_reads_gives_a_write_timeout(make_transport: MakeTransport) -> None:
    done = asyncio.Event()

    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()

    async def main() -> None:
        async with serve(deaf) as server:
            async with httpx.AsyncClient(transport=make_transport(1), timeout=0.3) as client:
                with pytest.raises(httpx.WriteTimeout):
                    await client.post(server.url, content=b"x" * (16 << 20))
            done.set()

    asyncio.run(main())


# -- proxies -----------------------------------------------------------------------------------


def test_http_is_forwarded_through_a_proxy_with_its_credentials(
    make_transport: MakeTransport,
) -> None:
    proxy = _Proxy()
    targets: list[str] = []

    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the proxy asked for Connection: close
        writer.write(OK)
        await writer.drain()

    async def main() -> None:
        async with serve(one_answer) as server, serve(proxy.handle) as via:
            through = httpx.Proxy(f"http://alice:pr0xy@127.0.0.1:{via.port}")
            async with httpx.AsyncClient(transport=make_transport(1, proxy=through)) as client:
                for _ in range(2):
                    assert (await client.get(server.url)).json() == {"ok": True}
            targets.append(server.url)

    asyncio.run(main())
    assert proxy.seen == [("GET", targets[0], "Basic YWxpY2U6cHIweHk=")] * 2  # absolute-form


def test_https_goes_through_one_connect_tunnel(
    make_transport: MakeTransport, tls: tuple[ssl.SSLContext, ssl.SSLContext, ssl.SSLContext]
) -> None:
    server_ctx, trusting, _ = tls
    proxy = _Proxy()

    async def main() -> None:
        async with serve(answer_each, tls=server_ctx) as server, serve(proxy.handle) as via:
            through = httpx.Proxy(f"http://127.0.0.1:{via.port}")
            transport = make_transport(1, trusting, through)
            async with httpx.AsyncClient(transport=transport) as client:
                for _ in range(3):
                    response = await client.get(f"https://localhost:{server.port}/x")
                    assert response.json() == {"ok": True}
            assert proxy.seen == [("CONNECT", f"localhost:{server.port}", None)]
            assert server.connections == 1

    asyncio.run(main())


def test_a_proxy_that_refuses_the_tunnel_is_a_proxy_error(make_transport: MakeTransport) -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def main() -> None:
        async with serve(refuse) as via:
            through = httpx.Proxy(f"http://127.0.0.1:{via.port}")
            async with httpx.AsyncClient(transport=make_transport(1, proxy=through)) as client:
                with pytest.raises(httpx.ProxyError, match="407"):
                    await client.get("https://localhost:9/x")

    asyncio.run(main())


# -- cancellation ------------------------------------------------------------------------------


def test_a_cancelled_request_closes_its_connection_and_leaves_the_pool_usable(
    make_transport: MakeTransport,
) -> None:
    arrived, hung_up = asyncio.Event(), asyncio.Event()
    connections = 0

    async def first_hangs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if connections > 1:
            await answer_each(reader, writer)
            return
        await reader.readuntil(b"\r\n\r\n")
        arrived.set()
        await reader.read()  # returns once the client drops the connection
        hung_up.set()

    async def main() -> None:
        async with (
            serve(first_hangs) as server,
            httpx.AsyncClient(transport=make_transport(1)) as client,
        ):
            task = asyncio.create_task(client.get(server.url))
            await arrived.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(hung_up.wait(), 10)  # not left open, half-read
            assert (await client.get(server.url)).json() == {"ok": True}
            assert connections == 2

    asyncio.run(main())
