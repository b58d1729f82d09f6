"""The client over httpx's own transport: TLS (``verify``, ``cert``), proxies and
``trust_env`` reach it, against small servers on real loopback sockets."""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
import pandas as pd
import pytest

import classify_frames as cf
from classify_frames import ConfigurationError
from classify_frames.client import Settings
from classify_frames.client._transport import network_transport, tls_context
from classify_frames.emulator import Emulator

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


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
    with pytest.raises(ConfigurationError, match="http://, https://, socks5://") as caught:
        Settings(api_key="k", base_url=REMOTE, proxy="ftp://bob:hunter2@proxy:21")
    assert "hunter2" not in str(caught.value)


def test_a_socks_proxy_reaches_httpx_or_names_the_extra_it_needs() -> None:
    url = "socks5://bob:hunter2@127.0.0.1:1080"
    if importlib.util.find_spec("socksio") is None:
        with pytest.raises(ConfigurationError, match=r"classify-frames\[socks\]") as caught:
            Settings(api_key="k", base_url=REMOTE, proxy=url)
        assert "hunter2" not in str(caught.value)
        return
    settings = Settings(api_key="k", base_url=REMOTE, proxy=url)
    pool = network_transport(settings, tls_context(settings), 4)
    assert isinstance(pool._pool, httpcore.AsyncSOCKSProxy)


# -- each httpx option reaches the transport ----------------------------------------------------


def test_each_httpx_option_reaches_the_transport(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    """verify, cert, proxy and trust_env, as given to the client, are what httpx's transport
    is made with (a narrow check; the loopback tests below show each one working)."""
    made: list[dict[str, Any]] = []
    real = httpx.AsyncHTTPTransport

    def spy(**kwargs: Any) -> httpx.AsyncHTTPTransport:
        made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(httpx, "AsyncHTTPTransport", spy)
    loaded: list[tuple[str, ...]] = []
    load = ssl.SSLContext.load_cert_chain

    def spy_chain(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(args)
        load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy_chain)
    client = cf.ClassifyClient(
        api_key="k",
        base_url=REMOTE,
        verify=str(pki.ca_file),
        cert=str(pki.client_file),
        proxy="http://alice:pw@proxy.corp:3128",
        trust_env=False,
        concurrency=16,
        progress=False,
    )
    client.fetch_jobs([], progress=False)  # makes the transports on the client's loop
    transports = client._loop.run(_transports(client))
    client.close()
    assert len(made) == len(transports) == 2  # pools of 8 for 16 connections
    for kwargs in made:
        assert kwargs["trust_env"] is False
        assert kwargs["proxy"].url == httpx.URL("http://proxy.corp:3128")
        assert kwargs["proxy"].auth == ("alice", "pw")
        assert kwargs["limits"].max_connections == 8
        context = kwargs["verify"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert [c["subject"] for c in context.get_ca_certs()] == [pki.ca_subject]
    assert loaded == [(str(pki.client_file),)]


async def _transports(client: cf.ClassifyClient) -> list[httpx.AsyncBaseTransport]:
    return client._here().transport._pools


class Pki:
    """A CA, a server certificate for localhost and a client certificate, as files."""

    def __init__(self, directory: Path) -> None:
        trustme = pytest.importorskip("trustme")
        self.ca = trustme.CA()
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.client_file = directory / "client.pem"
        client = self.ca.issue_cert("client.example")
        client.private_key_and_cert_chain_pem.write_to_path(str(self.client_file))
        trusting = ssl.create_default_context(cafile=str(self.ca_file))
        self.ca_subject = trusting.get_ca_certs()[0]["subject"]

    def server(self, *, client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("localhost").configure_cert(context)
        if client_cert:
            self.ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def _tls_front(upstream: int) -> Handler:
    """Terminates TLS and pipes the bytes to the emulator on ``upstream``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return handle


def _fetch_over_tls(emu: Emulator, server: ssl.SSLContext, **options: Any) -> list[str | None]:
    """The fetch_error of 3 jobs fetched over TLS from the emulator, with ``options``."""

    async def main() -> list[str | None]:
        port = int(urlsplit(emu.base_url).port or 0)
        async with serve(_tls_front(port), tls=server) as front:
            client = cf.ClassifyClient(
                base_url=f"https://localhost:{front.port}",
                api_key=emu.api_key,
                retries=0,
                progress=False,
                **options,
            )
            try:
                frame = await client.afetch_jobs(emu.dataset.ids[:3], per_id=True)
            finally:
                await client.aclose()
        return [None if pd.isna(e) else str(e) for e in frame["fetch_error"]]

    return asyncio.run(main())


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[Emulator]:
    with Emulator(jobs=20) as emu:
        yield emu


def test_verify_names_the_ca_that_signs_the_server(tls_emulator: Emulator, pki: Pki) -> None:
    errors = _fetch_over_tls(tls_emulator, pki.server(), trust_env=False)
    assert all(
        "TLS certificate not trusted" in (e or "") for e in errors
    )  # not the default bundle's
    assert _fetch_over_tls(tls_emulator, pki.server(), verify=str(pki.ca_file)) == [None] * 3
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    assert _fetch_over_tls(tls_emulator, pki.server(), verify=context) == [None] * 3


def test_cert_is_presented_to_a_server_that_asks_for_one(tls_emulator: Emulator, pki: Pki) -> None:
    server = pki.server(client_cert=True)
    without = _fetch_over_tls(tls_emulator, server, verify=str(pki.ca_file))
    assert all(e is not None for e in without)
    mine = {"verify": str(pki.ca_file), "cert": str(pki.client_file)}
    assert _fetch_over_tls(tls_emulator, server, **mine) == [None] * 3


def test_trust_env_decides_whether_ssl_cert_file_counts(
    tls_emulator: Emulator, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    assert _fetch_over_tls(tls_emulator, pki.server()) == [None] * 3
    refused = _fetch_over_tls(tls_emulator, pki.server(), trust_env=False)
    assert all("TLS certificate not trusted" in (e or "") for e in refused)


def test_trust_env_false_ignores_the_environments_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert Settings(api_key="k", base_url=REMOTE).proxy is not None
    assert Settings(api_key="k", base_url=REMOTE, trust_env=False).proxy is None


def test_a_missing_ca_or_certificate_file_is_named_at_once(tmp_path: Path) -> None:
    gone = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError, match=r"verify names .*nope\.pem"):
        Settings(api_key="k", base_url=REMOTE, verify=gone)
    with pytest.raises(ConfigurationError, match=r"cert names .*nope\.pem"):
        Settings(api_key="k", base_url=REMOTE, cert=(gone, gone))
