"""The API key stays secret, plain http is refused, and redirects never carry the key away.

A canary key is used for every call, then looked for everywhere a user could see or keep it:
reprs and strs, log records at DEBUG, exception messages and tracebacks (with locals), the
progress bar, written files and their metadata, CLI output, and an executed notebook.
"""

from __future__ import annotations

import http.server
import logging
import pickle
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pyarrow.parquet as pq
import pytest
import stamina
from click.testing import CliRunner
from nbclient import NotebookClient

import classify_frames as cf
from classify_frames.cli import main
from classify_frames.emulator import Emulator

CANARY = "llx-canary-5e1f0c2a9b7d4e83a6f2"


def assert_no_canary(*texts: object) -> None:
    for text in texts:
        if isinstance(text, bytes):
            assert CANARY.encode() not in text, f"the key leaked into: {text[:300]!r}"
            continue
        shown = text if isinstance(text, str) else repr(text)
        assert CANARY not in shown, f"the key leaked into: {shown[:300]!r}"


def traceback_text(exc: BaseException) -> str:
    """The traceback as a verbose notebook shows it: every frame's locals included."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(jobs=600, seed=1, api_key=CANARY) as emulator:
        yield emulator


@pytest.fixture
def key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", CANARY)
    monkeypatch.delenv("LLAMA_CLOUD_BASE_URL", raising=False)


def echoing(status: int) -> httpx.MockTransport:
    """A server that quotes the Authorization header it got back in its error detail."""

    def handler(request: httpx.Request) -> httpx.Response:
        detail = f"refused {request.headers['authorization']} for {request.url.path}"
        return httpx.Response(status, json={"detail": detail})

    return httpx.MockTransport(handler)


# -- reprs, logs, progress -----------------------------------------------------------------------


def test_no_public_object_shows_the_key(emu: Emulator, tmp_path: Path) -> None:
    ids = list(emu.dataset.ids[:250])
    with cf.ClassifyClient(base_url=emu.base_url, api_key=CANARY, progress=False) as client:
        df = client.fetch_jobs(ids)
        listed = client.list_jobs(limit=10)
        objects: list[object] = [
            client, client.settings, client.settings.key, client.settings.api_key,
            client.stats(), emu, emu.faults, emu.counters(), df, df.attrs, listed,
            cf.Settings(api_key=CANARY), cf.explore(df),
            cf.export_jobs(ids[:50], path=tmp_path / "ds", client=client, progress=False),
        ]  # fmt: skip
    for obj in objects:
        assert_no_canary(repr(obj), str(obj))
    assert_no_canary(df.to_string(), df.to_html(), df.to_json(date_format="iso"))
    for obj in (client, client.settings, client.settings.key):
        with pytest.raises(TypeError, match="not pickled"):
            pickle.dumps(obj)


def test_no_log_record_holds_the_key(
    emu: Emulator, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    emu.set_faults(fail_rate=0.2, drop_rate=0.1, malformed_rate=0.1, rate_limit=50)
    caplog.set_level(logging.DEBUG)  # every logger: ours, stamina's, httpx's, httpcore's
    try:
        with (
            stamina.set_testing(True, attempts=3),
            cf.ClassifyClient(base_url=emu.base_url, api_key=CANARY, progress=False) as client,
        ):
            client.fetch_jobs([*emu.dataset.ids[:300], "cls-nope"])
            client.fetch_jobs(list(emu.dataset.ids[:20]), per_id=True)
    finally:
        emu.clear_faults()
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG was on
    assert any(r.name == "stamina" for r in caplog.records)  # retries were logged
    for record in caplog.records:
        assert_no_canary(record.getMessage(), repr(vars(record)))


def test_the_progress_bar_does_not_show_the_key(
    emu: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    cf.fetch_jobs(list(emu.dataset.ids[:300]), base_url=emu.base_url, api_key=CANARY)
    cf.list_jobs(base_url=emu.base_url, api_key=CANARY)
    out, err = capfd.readouterr()
    assert "Fetching jobs" in err and "Listing jobs" in err  # the bars were drawn
    assert_no_canary(out, err)


# -- exceptions ----------------------------------------------------------------------------------


def test_errors_never_quote_the_key_even_when_the_server_echoes_it(key_in_env: None) -> None:
    """A server (or proxy) that quotes the request's Authorization header in its error body
    must not get the key into an exception, a fetch_error, or a traceback (locals included:
    the key comes from the environment here, so no frame was handed it as an argument)."""
    options: dict[str, Any] = {"base_url": "http://127.0.0.1:9", "progress": False}
    caught: list[BaseException] = []
    with pytest.raises(cf.AuthenticationError) as auth:
        cf.fetch_jobs(["a"], transport=echoing(401), **options)
    caught.append(auth.value)
    with stamina.set_testing(True, attempts=2):
        frames = [
            cf.fetch_jobs(["a", "b"], transport=echoing(status), **options)
            for status in (403, 404, 422, 503)
        ]
        with pytest.raises(cf.FetchError) as strict:
            cf.fetch_jobs(["a"], transport=echoing(404), strict=True, **options)
        caught.append(strict.value)
        with pytest.raises(cf.APIError) as listing:
            cf.list_jobs(transport=echoing(500), **options)
        caught.append(listing.value)
    for frame in frames:
        assert frame["fetch_error"].notna().all()
        assert frame["fetch_error"].str.contains("refused Bearer ********", regex=False).all()
        assert_no_canary(frame.to_string(), frame["fetch_error"].tolist())
    for exc in caught:
        assert_no_canary(str(exc), repr(exc), repr(vars(exc)), traceback_text(exc))


def test_errors_with_the_key_passed_as_an_argument() -> None:
    with pytest.raises(cf.AuthenticationError) as caught:
        cf.fetch_jobs(["a"], api_key=CANARY, base_url="http://127.0.0.1:9", transport=echoing(401))
    assert_no_canary(str(caught.value), "".join(traceback.format_exception(caught.value)))


def test_configuration_errors_do_not_show_the_key(key_in_env: None) -> None:
    for bad in (
        {"base_url": "http://api.example.com"},
        {"base_url": f"https://user:{CANARY}@api.example.com"},
        {"base_url": f"ftp://user:{CANARY}@api.example.com"},
        {"base_url": f"https://:{CANARY}@"},
        {"timeout": -1},
    ):
        with pytest.raises(cf.ConfigurationError) as caught:
            cf.ClassifyClient(**bad)  # type: ignore[arg-type]
        assert_no_canary(str(caught.value), "".join(traceback.format_exception(caught.value)))
        if CANARY not in str(bad):  # else the caller's own frame holds it, as an argument
            assert_no_canary(traceback_text(caught.value))


# -- files ---------------------------------------------------------------------------------------


def test_no_written_file_or_metadata_holds_the_key(
    emu: Emulator, tmp_path: Path, key_in_env: None
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join([*emu.dataset.ids[:120], "cls-nope"]))
    runner = CliRunner()
    outputs = []
    for name in ("jobs.parquet", "jobs.csv", "jobs.jsonl"):
        result = runner.invoke(
            main, ["fetch", str(ids_file), "--out", str(tmp_path / name), "--base-url",
                   emu.base_url, "--no-progress"],
        )  # fmt: skip
        assert result.exit_code == 3, result.output  # written; cls-nope could not be fetched
        outputs.append(result.output)
    for command in (["list", "--limit", "50", "--out", str(tmp_path / "listed.parquet")],
                    ["export", str(ids_file), "--out", str(tmp_path / "dataset")],
                    ["sync", str(tmp_path / "dataset")]):  # fmt: skip
        result = runner.invoke(main, [*command, "--base-url", emu.base_url, "--no-progress"])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    df = cf.fetch_jobs(emu.dataset.ids[:30], base_url=emu.base_url, progress=False)
    cf.to_parquet(df, tmp_path / "library.parquet")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != ids_file]
    assert len(written) >= 6
    for path in written:
        assert_no_canary(path.read_bytes())
        if path.suffix == ".parquet":
            assert_no_canary(repr(pq.read_schema(path).metadata))
    assert_no_canary(*outputs)


@pytest.mark.slow
def test_an_executed_notebook_does_not_show_the_key(emu: Emulator, key_in_env: None) -> None:
    """The key comes from the environment, as in real use; the cells display every object,
    log at DEBUG, draw progress bars and raise errors."""
    cells = [
        "import logging, classify_frames as cf\nlogging.basicConfig()\n"
        "for name in ('classify_frames', 'httpx', 'httpcore', 'stamina'):\n"
        "    logging.getLogger(name).setLevel(logging.DEBUG)",
        f"client = cf.ClassifyClient(base_url={emu.base_url!r})\nclient",
        "client.settings, client.settings.key, client.stats()",
        "df = client.fetch_jobs(list(cf.Emulator(jobs=600, seed=1).dataset.ids[:300]))\ndf",
        "df.attrs, client.stats()",
        "cf.ClassifyClient(base_url='http://api.example.com')",
        f"cf.fetch_jobs(['x'], base_url={emu.base_url!r}, api_key='llx-wrong')",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert [o["ename"] for o in errors] == ["ConfigurationError", "AuthenticationError"]
    assert errors[1]["evalue"].startswith("401")
    assert_no_canary(nbformat.writes(notebook))


# -- plain http and redirects --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com",
        "http://10.0.0.7:8000",
        "http://0.0.0.0:8000",
        "http://127.0.0.1.nip.io",
        "http://localhost@api.example.com",
        "HTTP://api.example.com",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(cf.ConfigurationError):
        cf.ClassifyClient(api_key=CANARY, base_url=url)
    monkeypatch.setenv("LLAMA_CLOUD_BASE_URL", url)
    with pytest.raises(cf.ConfigurationError):
        cf.ClassifyClient(api_key=CANARY)
    result = CliRunner().invoke(main, ["list", "--out", "x.csv", "--base-url", url],
                                env={"LLAMA_CLOUD_API_KEY": CANARY})  # fmt: skip
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Error:" in result.output and not Path("x.csv").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://[::1]:8000", "http://localhost"])
def test_plain_http_to_loopback_and_explicit_opt_in_are_allowed(url: str) -> None:
    assert cf.ClassifyClient(api_key=CANARY, base_url=url).settings.base_url == url
    remote = cf.ClassifyClient(
        api_key=CANARY, base_url="http://api.example.com", allow_insecure_http=True
    )
    assert remote.settings.base_url == "http://api.example.com"


class _Recording(http.server.BaseHTTPRequestHandler):
    """Answers every GET with ``answer(handler)`` and keeps (path, headers) of each."""

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        status, headers = self.server.answer(self)  # type: ignore[attr-defined]
        body = b'{"detail": "moved"}'
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[Any, Any]]:
    """Two loopback servers: the API, which redirects, and another host that records."""
    started = []
    for _ in range(2):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
        server.seen = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    api, other = started
    other.answer = lambda handler: (200, {"Content-Type": "application/json"})  # type: ignore[attr-defined]
    yield api, other
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_never_carry_the_key_to_another_host(
    servers: tuple[Any, Any], status: int
) -> None:
    api, other = servers
    elsewhere = f"http://127.0.0.1:{other.server_address[1]}"
    api.answer = lambda handler: (status, {"Location": elsewhere + handler.path})
    base = f"http://127.0.0.1:{api.server_address[1]}"
    with cf.ClassifyClient(base_url=base, api_key=CANARY, progress=False) as client:
        batched = client.fetch_jobs(["a", "b"])
        per_id = client.fetch_jobs(["c"], per_id=True)
        with pytest.raises(cf.APIError, match=f"redirected \\({status}\\)"):
            client.list_jobs()
    assert other.seen == []  # nothing at all went to the other host
    for df in (batched, per_id):
        assert df["fetch_error"].str.startswith(f"redirected ({status}) to {elsewhere}").all()
        assert (df["http_status"] == status).all()
    assert all(headers["Authorization"] == f"Bearer {CANARY}" for _, headers in api.seen)
    assert_no_canary(*(path for path, _ in api.seen))  # the key travels in the header only
