"""The asyncio network backend under httpcore, against small servers on real loopback sockets.

Each server here misbehaves in one way a real peer can (closes an idle connection, stops mid-body,
never answers, never reads); the transport must turn each into the httpx error the rest of the
client already handles, and keep its pool usable afterwards. What the backend must do exactly as
httpx's own transport does (TLS refusals, half-closes, large bodies, proxies, cancellation) is in
test_network_conformance.py, run on both.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest

import classify_frames as cf
from classify_frames import ConfigurationError
from classify_frames._network import AsyncioBackend, PoolTransport
from classify_frames._settings import Settings
from classify_frames.emulator import Emulator

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class _Server:
    def __init__(self, port: int) -> None:
        self.port = port
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/x"


@asynccontextmanager
async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[_Server]:
    """A loopback server calling ``handler`` once per connection; counts connections."""
    server: _Server

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=tls)
    server = _Server(listener.sockets[0].getsockname()[1])
    async with listener:
        yield server


async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A well-behaved keep-alive server: one OK per request, until the client hangs up."""
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(OK)
        await writer.drain()


def test_keeps_connections_alive() -> None:
    async def main() -> None:
        async with (
            serve(answer_each) as server,
            httpx.AsyncClient(transport=PoolTransport(max_connections=2)) as client,
        ):
            for _ in range(20):
                response = await client.get(server.url)
                assert response.json() == {"ok": True}
            await asyncio.gather(*(client.get(server.url) for _ in range(20)))
            assert server.connections <= 2

    asyncio.run(main())


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    closed = asyncio.Event()

    async def one_answer_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(OK)  # says nothing about closing, then closes: keep-alive timed out
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    async def main() -> None:
        async with (
            serve(one_answer_then_close) as server,
            httpx.AsyncClient(transport=PoolTransport(max_connections=1)) as client,
        ):
            for _ in range(3):
                closed.clear()
                assert (await client.get(server.url)).status_code == 200
                await closed.wait()  # closed at the server; the client's loop may not know yet
            assert server.connections == 3

    asyncio.run(main())


def test_a_body_cut_short_is_a_protocol_error() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id": ')

    async def main() -> None:
        async with (
            serve(cut) as server,
            httpx.AsyncClient(transport=PoolTransport(max_connections=1)) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(server.url)

    asyncio.run(main())


def test_a_silent_server_times_out_and_the_pool_recovers() -> None:
    answered = 0

    async def first_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        answered += 1
        if answered == 1:
            await reader.read()  # never answers; returns when the client gives up
            return
        await answer_each(reader, writer)

    async def main() -> None:
        async with (
            serve(first_silent) as server,
            httpx.AsyncClient(transport=PoolTransport(max_connections=1), timeout=0.2) as client,
        ):
            start = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server.url)
            assert 0.15 < time.monotonic() - start < 2
            assert (await client.get(server.url)).status_code == 200

    asyncio.run(main())


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused

        async def main() -> None:
            async with httpx.AsyncClient(transport=PoolTransport(max_connections=1)) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"http://127.0.0.1:{port}/x")

        asyncio.run(main())


def test_socket_options_are_applied() -> None:
    async def main() -> None:
        async with serve(answer_each) as server:
            option = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            stream = await AsyncioBackend().connect_tcp(
                "127.0.0.1", server.port, timeout=5, socket_options=[option]
            )
            sock = stream.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert stream.get_extra_info("server_addr")[1] == server.port
            assert stream.get_extra_info("ssl_object") is None
            await stream.aclose()

    asyncio.run(main())


@pytest.fixture(scope="module")
def tls() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for ``localhost`` and a client context trusting its CA."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def test_https_through_start_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_ctx, client_ctx = tls

    async def main() -> None:
        async with (
            serve(answer_each, tls=server_ctx) as server,
            httpx.AsyncClient(
                transport=PoolTransport(max_connections=2, ssl_context=client_ctx)
            ) as client,
        ):
            url = f"https://localhost:{server.port}/x"
            responses = await asyncio.gather(*(client.get(url) for _ in range(10)))
            assert all(r.json() == {"ok": True} for r in responses)
            assert server.connections <= 2

    asyncio.run(main())


def test_a_slow_reader_holds_the_server_back() -> None:
    sent = 0
    size = 64 << 20
    all_sent = asyncio.Event()

    async def firehose(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        chunk = b"x" * (1 << 16)
        while sent < size:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
        all_sent.set()

    async def main() -> None:
        async with serve(firehose) as server:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
            with pytest.raises(TimeoutError):  # nobody reads: the backend stops reading too
                await asyncio.wait_for(all_sent.wait(), 0.5)
            assert sent < size // 2
            received = 0
            while received < size:
                received += len(await stream.read(1 << 20, timeout=5))
            assert received == size
            await stream.aclose()

    asyncio.run(main())


class _Proxy:
    """A forward proxy on loopback: CONNECT tunnels, absolute-form requests forwarded.
    Records each request line with the Proxy-Authorization it came with."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            line, *rest = head.decode().rstrip("\r\n").split("\r\n")
            method, target, _ = line.split(" ")
            headers = dict(h.split(": ", 1) for h in rest)
            self.seen.append((method, target, headers.pop("Proxy-Authorization", None)))
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                return
            url = urlsplit(target)
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
            headers["Connection"] = "close"
            path = url.path + (f"?{url.query}" if url.query else "")
            lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
            up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            writer.write(await up_reader.read())  # the upstream closes after its answer
            up_writer.close()
            await writer.drain()
            return


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1 << 16):
        writer.write(data)
        await writer.drain()
    writer.close()


def test_fetch_through_a_proxy_with_credentials() -> None:
    proxy = _Proxy()
    password = "pr0xy-s3cret"

    async def main(emu: Emulator) -> None:
        async with serve(proxy.handle) as via:
            client = cf.ClassifyClient(
                base_url=emu.base_url,
                api_key=emu.api_key,
                proxy=f"http://alice:{password}@127.0.0.1:{via.port}",
                progress=False,
            )
            frame = await client.afetch_jobs(emu.dataset.ids[:30], per_id=True)
            await client.aclose()
            assert frame["fetch_error"].isna().all()
            assert len(frame) == 30
            assert password not in repr(client) + repr(client.settings)

    with Emulator(jobs=50) as emu:
        asyncio.run(main(emu))
    assert len(proxy.seen) == 30
    assert all(t.startswith(f"{emu.base_url}/api/v2/classify/") for _, t, _ in proxy.seen)
    assert {auth for _, _, auth in proxy.seen} == {"Basic YWxpY2U6cHIweHktczNjcmV0"}


REMOTE = "https://api.cloud.llamaindex.ai"


def test_the_proxy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    found = Settings(api_key="k", base_url=REMOTE).proxy
    assert found is not None
    assert found.get() == "http://proxy.corp:3128"  # type: ignore[union-attr]
    assert Settings(api_key="k", base_url=REMOTE, proxy="").proxy is None
    assert Settings(api_key="k", base_url="http://127.0.0.1:9").proxy is None  # the emulator
    monkeypatch.setenv("NO_PROXY", ".llamaindex.ai")
    assert Settings(api_key="k", base_url=REMOTE).proxy is None


def test_an_unsupported_proxy_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigurationError, match="http:// or https://") as caught:
        Settings(api_key="k", base_url=REMOTE, proxy="socks5://bob:hunter2@proxy:1080")
    assert "hunter2" not in str(caught.value)
