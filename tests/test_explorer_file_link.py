"""Opening a job's input file: ``client.file_url`` against the emulator over loopback (the
service's ``GET /api/v1/files/{id}/content`` and the presigned link it hands out), and the
explorer's "Open file" in the open job's detail. No browser."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

import classify_frames as cf
from classify_frames import APIError, ConfigurationError
from classify_frames.client import ClassifyClient, FileURL
from classify_frames.emulator import Dataset, Emulator, ManualClock
from classify_frames.explorer import explore
from classify_frames.explorer._file_link import input_of, link_html


@pytest.fixture
def client(emulator: Emulator) -> Iterator[ClassifyClient]:
    with ClassifyClient(base_url=emulator.base_url, api_key=emulator.api_key) as made:
        yield made


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The session emulator's jobs (2,000, seed 0, mixed schema), as a fetch would give them."""
    return cf.jobs_to_frame(list(Dataset.generate(2_000, seed=0, schema="mixed").jobs()))


def _first(frame: pd.DataFrame, kind: str) -> pd.Series:
    return frame[frame["document_input_type"] == kind].iloc[0]


def test_a_file_id_gets_a_link_that_opens_the_file_without_the_key(
    emulator: Emulator, client: ClassifyClient, frame: pd.DataFrame
) -> None:
    file_id = _first(frame, "file_id")["file_input"]
    before = dt.datetime.now(dt.UTC)
    link = client.file_url(file_id)
    assert isinstance(link, FileURL) and link.file_id == file_id
    assert link.url.startswith(emulator.base_url + "/")
    assert emulator.api_key not in link.url
    assert dt.timedelta(minutes=59) < link.expires_at - before < dt.timedelta(minutes=61)
    asked = emulator.requests()[-1]
    assert asked["path"] == f"/api/v1/files/{file_id}/content"
    assert emulator.api_key not in str(asked)  # the key went in the header only
    opened = httpx.get(link.url)  # no Authorization header: the link itself is the grant
    assert opened.status_code == 200
    assert opened.headers["content-type"].startswith("text/plain")
    assert file_id in opened.text and "Synthetic document" in opened.text
    # the repr keeps the signing query out of notebooks and logs
    assert "signature" not in repr(link) and file_id in repr(link)


def test_a_link_lasts_as_long_as_asked_and_the_awaitable_form_agrees(
    emulator: Emulator, client: ClassifyClient, frame: pd.DataFrame
) -> None:
    file_id = _first(frame, "file_id")["file_input"]
    before = dt.datetime.now(dt.UTC)
    link = asyncio.run(client.afile_url(file_id, expires_in=120))
    assert emulator.requests()[-1]["query"] == [["expires_at_seconds", "120"]]
    assert dt.timedelta(seconds=110) < link.expires_at - before < dt.timedelta(seconds=130)
    assert httpx.get(link.url).status_code == 200


def test_an_unknown_file_is_an_error_naming_it(client: ClassifyClient, frame: pd.DataFrame) -> None:
    with pytest.raises(APIError) as caught:
        client.file_url("dfl-00000000-0000-0000-0000-000000000000")
    error = caught.value
    assert error.status_code == 404
    assert "'dfl-00000000-0000-0000-0000-000000000000'" in str(error)
    assert "check the id" in str(error)
    parse_job = _first(frame, "parse_job_id")["file_input"]
    with pytest.raises(APIError, match="a parse job has no file to open") as caught:
        client.file_url(parse_job)
    assert parse_job in str(caught.value)


@pytest.mark.parametrize("given", ["", "  ", None, 7])
def test_a_file_id_that_is_no_id_is_refused_before_any_request(
    emulator: Emulator, client: ClassifyClient, given: object
) -> None:
    sent = emulator.counters()["requests"]
    with pytest.raises(ConfigurationError, match="file_id must be a non-empty string"):
        client.file_url(given)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="expires_in must be a positive"):
        client.file_url("dfl-x", expires_in=0)
    assert emulator.counters()["requests"] == sent


def test_a_file_of_another_project_is_not_found(emulator: Emulator, frame: pd.DataFrame) -> None:
    file_id = _first(frame, "file_id")["file_input"]
    with (
        ClassifyClient(
            base_url=emulator.base_url, api_key=emulator.api_key, project_id="another-project"
        ) as other,
        pytest.raises(APIError, match="not found") as caught,
    ):
        other.file_url(file_id)
    assert caught.value.status_code == 404


def test_a_link_stops_opening_when_it_expires_or_is_changed(make_emulator: object) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    emu = make_emulator(jobs=300, clock=clock)  # type: ignore[operator]
    jobs = cf.jobs_to_frame(list(emu.dataset.jobs()))
    file_id = _first(jobs, "file_id")["file_input"]
    with ClassifyClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        link = client.file_url(file_id, expires_in=60)
    assert link.expires_at == dt.datetime.fromtimestamp(1_800_000_060, dt.UTC)
    assert httpx.get(link.url).status_code == 200
    tampered = httpx.get(link.url.replace(file_id, file_id[:-1] + "0"))
    assert tampered.status_code == 403 and "SignatureDoesNotMatch" in tampered.text
    clock.advance(61)
    expired = httpx.get(link.url)
    assert expired.status_code == 403 and "expired" in expired.text


def test_the_official_sdk_reads_the_emulators_presigned_url(
    emulator: Emulator, frame: pd.DataFrame
) -> None:
    """llama-cloud 2.19's ``files.content`` (its path: ``/api/v1/beta/files/{id}/content``)
    parses the emulator's answer as its ``PresignedURL``, and a missing file as a 404."""
    llama_cloud = pytest.importorskip("llama_cloud")
    file_id = _first(frame, "file_id")["file_input"]
    sdk = llama_cloud.LlamaCloud(
        api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0
    )
    link = sdk.files.content(file_id, expires_at_seconds=300)
    assert emulator.requests()[-1]["path"] == f"/api/v1/beta/files/{file_id}/content"
    assert isinstance(link.expires_at, dt.datetime) and link.form_fields is None
    assert httpx.get(link.url).status_code == 200
    with pytest.raises(llama_cloud.NotFoundError):
        sdk.files.content("dfl-00000000-0000-0000-0000-000000000000")


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: a connection there is refused


# -- the explorer ----------------------------------------------------------------------------


def test_the_detail_shows_the_file_and_opens_it_only_when_asked(
    emulator: Emulator, client: ClassifyClient, frame: pd.DataFrame
) -> None:
    e = explore(frame, client=client, page_size=50)
    sent = emulator.counters()["requests"]
    for job_id in frame["id"].iloc[:50]:  # every row of a page opened: no link asked for
        e.show_job(job_id)
    assert emulator.counters()["requests"] == sent
    job = _first(frame, "file_id")
    e.show_job(job["id"])
    assert e.file.layout.display != "none" and e.file.button.layout.display != "none"
    assert job["file_input"] in e.file.text.value
    assert e.file.link.value == ""
    e.file.button.click()
    assert emulator.counters()["requests"] == sent + 1
    shown = e.file.link.value
    assert 'class="cf-file-open"' in shown and 'target="_blank"' in shown
    assert 'rel="noopener noreferrer"' in shown
    assert f"{emulator.base_url}/_storage/{job['file_input']}?" in shown
    assert emulator.api_key not in shown
    e.file.button.click()  # each click asks again: a link expires
    assert emulator.counters()["requests"] == sent + 2
    e.move(1)  # another job: the link of the last one goes
    assert job["file_input"] not in e.file.link.value


def test_a_parse_job_says_it_has_no_file_link(
    emulator: Emulator, client: ClassifyClient, frame: pd.DataFrame
) -> None:
    e = explore(frame, client=client)
    job = _first(frame, "parse_job_id")
    e.show_job(job["id"])
    assert job["file_input"] in e.file.text.value
    assert "No file link" in e.file.text.value
    assert e.file.button.layout.display == "none"
    web = _first(frame, "url")
    e.show_job(web["id"])  # a web address: the detail links it, no file box
    assert e.file.layout.display == "none"
    assert f'href="{web["file_input"]}"' in e.detail.value


def test_an_unknown_file_shows_a_short_error_in_the_panel(
    client: ClassifyClient, frame: pd.DataFrame
) -> None:
    one = frame[frame["document_input_type"] == "file_id"].head(1).copy()
    one["file_input"] = "dfl-00000000-0000-0000-0000-000000000000"
    e = explore(one, client=client)
    e.file.button.click()
    shown = e.file.link.value
    assert 'class="cf-file-error"' in shown and "dfl-00000000-0000-0000-0000-000000000000" in shown
    assert "404" in shown and "Traceback" not in shown
    assert not e.file.button.disabled  # it can be tried again


def test_a_network_failure_shows_a_short_error(frame: pd.DataFrame) -> None:
    with ClassifyClient(
        base_url=f"http://127.0.0.1:{_dead_port()}", api_key="llx-secret-key", retries=0
    ) as dead:
        e = explore(frame, client=dead)
        e.show_job(_first(frame, "file_id")["id"])
        e.file.button.click()
    shown = e.file.link.value
    assert 'class="cf-file-error"' in shown and "connection error" in shown
    assert "llx-secret-key" not in shown and "Traceback" not in shown


def test_without_a_client_or_a_key_the_panel_says_how_to_give_one(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LLAMA_CLOUD_API_KEY", "LLAMA_PARSE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    e = explore(frame)
    e.show_job(_first(frame, "file_id")["id"])
    e.file.button.click()
    assert "client=cf.ClassifyClient(...)" in e.file.link.value


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("file_id", "dfl-1", ("file_id", "dfl-1")),
        ("parse_job_id", "pjb-1", ("parse_job_id", "pjb-1")),
        (None, "dfl-1", ("file_id", "dfl-1")),  # a frame without document_input_type
        (None, "pjb-1", ("parse_job_id", "pjb-1")),
        (None, "https://example.com/a.pdf", ("url", "https://example.com/a.pdf")),
        (None, "javascript:alert(1)", None),
        ("file_id", None, None),
    ],
)
def test_input_of_reads_the_type_or_the_shape(
    kind: str | None, value: str | None, expected: tuple[str, str] | None
) -> None:
    assert input_of(kind, value) == expected


def test_a_link_that_is_no_web_address_is_not_shown() -> None:
    expires = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    shown = link_html(FileURL("dfl-1", "javascript:alert(1)", expires))
    assert "href" not in shown and "not a web address" in shown
    later = link_html(FileURL("dfl-1", "https://x.test/f?sig=1", expires), expires)
    assert "already expired" in later
