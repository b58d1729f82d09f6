"""Issue 16, the storage items: each test reproduces one defect over a real filesystem and the
emulator on loopback, and fails on the code before its fix.

``Reshaper`` is a small HTTP server on loopback in front of the emulator that changes what it
serves the way a real service can: a job shown in another state, or repeated far down a listing
that moved while it was paged.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import duckdb
import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

import classify_frames as cf
from classify_frames._exceptions import ExportError
from classify_frames.cli import main
from classify_frames.emulator import Emulator
from classify_frames.parquet import read_metadata
from classify_frames.parquet._commit import dataset_lock

FAR = 24  # pages between a job and its repeat: beyond the listing's 20-page dedup window


@dataclass
class Reshaper:
    """Forwards GETs to ``emu``; ``overrides`` change jobs by id wherever they are served, and
    ``repeats`` (id -> fields) add a copy of a job to the listing's page ``FAR + 1``."""

    emu: Emulator
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    repeats: dict[str, dict[str, Any]] = field(default_factory=dict)
    _page: int = 0
    _firsts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the first page's jobs
    _server: http.server.ThreadingHTTPServer | None = None
    _upstream: httpx.Client | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def opts(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "api_key": self.emu.api_key, "progress": False}

    def reshape(self, job: dict[str, Any], fields: dict[str, Any] | None = None) -> dict[str, Any]:
        return {**job, **self.overrides.get(job.get("id", ""), {}), **(fields or {})}

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        assert self._upstream is not None
        reply = self._upstream.get(
            path, headers={"Authorization": headers.get("Authorization", "")}
        )
        if reply.status_code != 200:
            return reply.status_code, reply.content
        data = reply.json()
        if "items" not in data:
            return 200, json.dumps(self.reshape(data)).encode()
        items = data["items"]
        data["items"] = [self.reshape(j) for j in items]
        query = dict(parse_qsl(urlsplit(path).query))
        if "job_ids" not in query:  # a listing is paged one page at a time
            self._page = 0 if "page_token" not in query else self._page + 1
            if self._page == 0:
                self._firsts = {j["id"]: j for j in items}
            if self._page == FAR:
                data["items"] += [self._firsts[i] | f for i, f in self.repeats.items()]
        return 200, json.dumps(data).encode()

    @contextlib.contextmanager
    def serving(self) -> Iterator[Reshaper]:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = outer.answer(self.path, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        with httpx.Client(base_url=self.emu.base_url) as self._upstream:
            thread.start()
            try:
                yield self
            finally:
                self._server.shutdown()
                self._server.server_close()
                thread.join()


def opts(emu: Emulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False}


@pytest.fixture(scope="module")
def long_listing() -> Iterator[Emulator]:
    """2,600 jobs: a listing of 26 pages, long enough to repeat a job beyond the window."""
    with Emulator(jobs=2_600, seed=5, schema="current") as emu:
        yield emu


# -- 1: a sync never deletes files it did not write ------------------------------------------


def test_item01_sync_keeps_foreign_files(emulator: Emulator, tmp_path: Path) -> None:
    ids = list(emulator.dataset.ids[:600])
    root = tmp_path / "jobs"
    cf.export_jobs(ids[:300], path=root, **opts(emulator))
    (root / "NOTES.txt").write_text("what we found")
    (root / "analysis").mkdir()
    (root / "analysis" / "result.csv").write_text("a,b\n1,2\n")
    (root / "analysis" / "empty").mkdir()
    stray = root / "created_month=2026-01" / "stray.parquet"
    stray.parent.mkdir(exist_ok=True)
    pd.DataFrame({"x": range(7)}).to_parquet(stray)
    with pytest.warns(UserWarning, match=r"not part of the dataset: created_month=2026-01/stray"):
        summary = cf.sync_parquet(root, ids, **opts(emulator))
    assert summary.committed and summary.added == 300
    assert (root / "NOTES.txt").read_text() == "what we found"
    assert (root / "analysis" / "result.csv").read_text() == "a,b\n1,2\n"
    assert (root / "analysis" / "empty").is_dir()
    assert pd.read_parquet(stray)["x"].tolist() == list(range(7))
    assert len(cf.read_parquet(root)) == 600  # the dataset's rows only
    with pytest.warns(UserWarning, match="stray.parquet"):
        cf.export_jobs(ids[:10], path=root, overwrite=True, **opts(emulator))
    assert (root / "NOTES.txt").exists() and stray.exists()
    assert len(cf.read_parquet(root)) == 10


# -- 3 and 5: a listing that repeats a job far apart --------------------------------------------


def test_item03_export_keeps_one_row_per_job_of_a_far_repeating_listing(
    long_listing: Emulator, tmp_path: Path
) -> None:
    first = long_listing.dataset.ids[0]
    served = cf.fetch_jobs([first], **opts(long_listing)).iloc[0]
    reshaper = Reshaper(long_listing)
    # the first page shows the job RUNNING, an hour before the state page 25 shows
    reshaper.overrides[first] = {"status": "RUNNING", "updated_at": "2020-01-01T00:00:00Z"}
    reshaper.repeats[first] = {"status": "COMPLETED", "updated_at": "2020-01-01T01:00:00Z"}
    root = tmp_path / "jobs"
    with reshaper.serving():
        summary = cf.export_jobs(path=root, **reshaper.opts())
        back = cf.read_parquet(root)
        assert len(back) == len(long_listing.dataset) and back["id"].is_unique
        row = back.set_index("id").loc[first]
        assert row["status"] == "COMPLETED" and row["result.type"] == served["result.type"]
        assert (summary.added, summary.rows) == (len(back), len(back))
        on_disk = duckdb.sql(f"select count(*) from read_parquet('{root}/**/*.parquet')")
        assert on_disk is not None and on_disk.fetchall() == [(len(back),)]
        again = cf.sync_parquet(root, full=True, **reshaper.opts())  # it repeats it again
        assert (again.added, again.updated, again.unchanged) == (0, 0, len(back))
        assert again.rows == len(back) and not again.committed
        # a dataset an older version wrote with a job twice: the sync says what it repaired
        manifest_path = root / "_classify_frames.json"
        manifest = json.loads(manifest_path.read_text())
        name = sorted(manifest["files"])[0]
        twice = name.replace(".parquet", "-copy.parquet")
        shutil.copy(root / name, root / twice)
        manifest["files"][twice] = manifest["files"][name]
        manifest_path.write_text(json.dumps(manifest))
        repaired = cf.sync_parquet(root, **reshaper.opts())
    counts = (repaired.added, repaired.updated, repaired.unchanged, repaired.dropped)
    assert counts == (0, 0, len(back), manifest["files"][name])
    assert repaired.rows == len(back) and "damaged stored rows dropped" in str(repaired)
    assert cf.read_parquet(root)["id"].is_unique


def test_item05_the_copy_kept_is_chosen_by_instant_then_final_status(
    long_listing: Emulator, tmp_path: Path
) -> None:
    a, b = long_listing.dataset.ids[:2]
    reshaper = Reshaper(long_listing)
    # a: the same second, the later copy less precise and RUNNING: COMPLETED must win
    reshaper.overrides[a] = {"status": "COMPLETED", "updated_at": "2026-03-01T10:00:00.500Z"}
    reshaper.repeats[a] = {"status": "RUNNING", "updated_at": "2026-03-01T10:00:00Z"}
    # b: 12:00+02:00 is 10:00Z, before 10:30Z, though it sorts after it as text
    reshaper.overrides[b] = {"status": "RUNNING", "updated_at": "2026-03-01T10:30:00Z"}
    reshaper.repeats[b] = {"status": "RUNNING", "updated_at": "2026-03-01T12:00:00+02:00"}
    expected = {
        a: ("COMPLETED", pd.Timestamp("2026-03-01T10:00:00.500Z")),
        b: ("RUNNING", pd.Timestamp("2026-03-01T10:30:00Z")),
    }
    with reshaper.serving():
        listed = cf.list_jobs(**reshaper.opts()).set_index("id")
        cf.export_jobs(path=tmp_path / "jobs", **reshaper.opts())
    exported = cf.read_parquet(tmp_path / "jobs").set_index("id")
    for frame in (listed, exported):
        assert frame.index.is_unique
        for job_id, (status, when) in expected.items():
            assert (frame.loc[job_id, "status"], frame.loc[job_id, "updated_at"]) == (status, when)


# -- 4: a status that became final wins, whatever updated_at says --------------------------------


def test_item04_sync_takes_a_final_status_with_a_null_or_equal_updated_at(
    emulator: Emulator, tmp_path: Path
) -> None:
    ids = list(emulator.dataset.ids[:200])
    pending, running = ids[0], ids[1]
    stamp = "2026-03-01T10:00:00Z"
    reshaper = Reshaper(emulator)
    reshaper.overrides = {
        pending: {"status": "PENDING", "updated_at": None, "result": None},
        running: {"status": "RUNNING", "updated_at": stamp, "result": None},
    }
    root = tmp_path / "jobs"
    with reshaper.serving():
        cf.export_jobs(ids, path=root, **reshaper.opts())
        reshaper.overrides = {  # now final: one still without updated_at, one with the same
            pending: {"status": "COMPLETED", "updated_at": None},
            running: {"status": "COMPLETED", "updated_at": stamp},
        }
        fetched = cf.fetch_jobs([pending, running], **reshaper.opts())
        summary = cf.sync_parquet(root, ids, **reshaper.opts())
        assert (summary.updated, summary.unchanged) == (2, len(ids) - 2)
        back = cf.read_parquet(root).set_index("id")
        assert fetched["status"].tolist() == ["COMPLETED", "COMPLETED"]
        assert back.loc[[pending, running], "status"].tolist() == ["COMPLETED", "COMPLETED"]
        again = cf.sync_parquet(root, ids, **reshaper.opts())
    assert (again.updated, again.unchanged, again.committed) == (0, len(ids), False)


# -- 8: a full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)  # even with files open


def test_item08_a_full_disk_is_a_clear_error_and_does_not_stick(
    emulator: Emulator, small_disk: Path
) -> None:
    root = small_disk / "jobs"
    ids = list(emulator.dataset.ids)
    cf.export_jobs(ids[:50], path=root, **opts(emulator))
    before = cf.read_parquet(root)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - (64 << 10)))
    with pytest.raises(ExportError, match=r"no space left .* needs more than [\d.]+ MB") as err:
        cf.sync_parquet(root, ids, **opts(emulator))
    assert "unchanged" in str(err.value) and "Errno" not in str(err.value)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "jobs"]  # no staging
    pd.testing.assert_frame_equal(cf.read_parquet(root), before)
    filler.unlink()
    # what a writer killed on the full disk leaves: a staging directory filling it
    leftover = small_disk / ".jobs.staging-0badf00d"
    leftover.mkdir()
    with contextlib.suppress(OSError), (leftover / "part.parquet").open("wb") as sink:
        while True:
            sink.write(b"\0" * 65536)
            sink.flush()
    summary = cf.sync_parquet(root, ids[:60], **opts(emulator))
    assert summary.added == 10 and not leftover.exists()
    assert len(cf.read_parquet(root)) == 60


# -- 9: a crash between the two renames of the portable swap -------------------------------------

_DIES_BETWEEN_RENAMES = """
import os
from classify_frames.parquet import _commit, sync_parquet

_commit._exchange = lambda a, b: False  # the path without RENAME_EXCHANGE
rename = os.rename
def rename_then_die(source, destination):
    if ".staging-" in str(source):  # the second rename: the first one is done
        os._exit(9)
    rename(source, destination)
os.rename = rename_then_die
sync_parquet({root!r}, {ids!r}, base_url={url!r}, api_key=os.environ["TEST_KEY"], progress=False)
"""


def test_item09_readers_find_the_data_after_a_crash_between_the_two_renames(
    emulator: Emulator, tmp_path: Path
) -> None:
    root = tmp_path / "jobs"
    ids = list(emulator.dataset.ids[:100])
    cf.export_jobs(ids[:50], path=root, **opts(emulator))
    before = cf.read_parquet(root)
    script = _DIES_BETWEEN_RENAMES.format(root=str(root), ids=ids, url=emulator.base_url)
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**os.environ, "TEST_KEY": emulator.api_key},
        capture_output=True,
        text=True,
    )
    assert child.returncode == 9, child.stderr
    assert not root.exists() and list(tmp_path.glob(".jobs.old-*"))  # the crash left it so
    pd.testing.assert_frame_equal(cf.read_parquet(root), before)
    assert read_metadata(root)["rows"] == 50
    summary = cf.sync_parquet(root, ids, **opts(emulator))  # the next writer puts it back
    assert summary.added == 50 and len(cf.read_parquet(root)) == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs"]


# -- 11: a damaged dataset -----------------------------------------------------------------------


def test_item11_damaged_files_are_named_skipped_and_repaired(
    emulator: Emulator, tmp_path: Path
) -> None:
    root = tmp_path / "jobs"
    cf.export_jobs(path=root, **opts(emulator))
    rows = read_metadata(root)["rows"]
    manifest = json.loads((root / "_classify_frames.json").read_text())
    names = sorted(manifest["files"])
    truncated, deleted = names[0], names[1]
    lost = manifest["files"][truncated] + manifest["files"][deleted]
    data = (root / truncated).read_bytes()
    (root / truncated).write_bytes(data[: len(data) // 2])
    (root / deleted).unlink()
    with pytest.raises(ExportError, match="on_bad_files='skip'") as err:
        cf.read_parquet(root)
    assert truncated in str(err.value) and deleted in str(err.value)
    with pytest.warns(UserWarning, match=rf"{lost} of its {rows} rows"):
        partial = cf.read_parquet(root, on_bad_files="skip")
    assert len(partial) == rows - lost
    with pytest.raises(ExportError, match=r"repair=True.*overwrite=True") as err:
        cf.sync_parquet(root, **opts(emulator))
    assert truncated in str(err.value) and deleted in str(err.value)
    summary = cf.sync_parquet(root, repair=True, **opts(emulator))
    assert (summary.added, summary.dropped) == (lost, lost)
    back = cf.read_parquet(root).sort_values("id", ignore_index=True)
    served = cf.list_jobs(**opts(emulator)).sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back, served)


def test_item11_repairing_a_dataset_made_from_ids_says_to_pass_the_ids(
    emulator: Emulator, tmp_path: Path
) -> None:
    root = tmp_path / "jobs"
    ids = list(emulator.dataset.ids[:300])
    cf.export_jobs(ids, path=root, **opts(emulator))
    manifest = json.loads((root / "_classify_frames.json").read_text())
    name, lost = sorted(manifest["files"].items())[0]
    (root / name).unlink()
    with pytest.warns(UserWarning, match=rf"dropping {lost} rows .* pass those ids"):
        repaired = cf.sync_parquet(root, repair=True, **opts(emulator))
    assert repaired.dropped == lost and repaired.rows == len(ids) - lost
    again = cf.sync_parquet(root, ids, **opts(emulator))
    assert again.added == lost and len(cf.read_parquet(root)) == len(ids)


# -- 12: a manifest that points outside the dataset ----------------------------------------------


def test_item12_a_manifest_reaching_outside_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    ids = list(emulator.dataset.ids[:40])
    cf.export_jobs(ids, path=root, **opts(emulator))
    victim = tmp_path / "victim" / "x.parquet"
    victim.parent.mkdir()
    cf.to_parquet(cf.fetch_jobs(ids[:5], **opts(emulator)), victim)
    original = victim.read_bytes()
    manifest_path = root / "_classify_frames.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["../victim/x.parquet"] = 5
    manifest_path.write_text(json.dumps(manifest))
    for attempt in (
        lambda: cf.read_parquet(root),
        lambda: cf.sync_parquet(root, **opts(emulator)),
        lambda: read_metadata(root),
    ):
        with pytest.raises(ExportError, match=r"damaged: it names '\.\./victim/x\.parquet'"):
            attempt()
    summary = cf.export_jobs(ids, path=root, overwrite=True, **opts(emulator))
    assert summary.rows == 40 and len(cf.read_parquet(root)) == 40
    assert victim.read_bytes() == original


# -- 16: the CLI's lock refusal names the CLI's option ----------------------------------------


def test_item16_cli_lock_refusal_names_the_lock_timeout_option(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "jobs"
    cf.export_jobs(list(emulator.dataset.ids[:5]), path=root, **opts(emulator))
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", emulator.api_key)
    with dataset_lock(root):
        result = CliRunner().invoke(
            main, ["sync", str(root), "--base-url", emulator.base_url, "--no-progress"]
        )
    assert result.exit_code != 0
    assert "--lock-timeout SECONDS" in result.output and "lock_timeout=" not in result.output
