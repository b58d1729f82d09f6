"""sync_parquet: only what changed is fetched, upserts keep the newest, and it is crash-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from test_parquet_support import MemoryClient, job

from classify_frames import ExportError
from classify_frames.parquet import SyncSummary, _commit, export_jobs, read_parquet, sync_parquet
from classify_frames.parquet._commit import dataset_lock, recover

HERE = Path(__file__).parent


def mixed_jobs(n: int = 300) -> list[dict[str, Any]]:
    """Every tenth job RUNNING, every fifteenth PENDING, the rest final; three months."""
    out = []
    for i in range(n):
        status = "RUNNING" if i % 10 == 0 else "PENDING" if i % 15 == 0 else "COMPLETED"
        out.append(job(i, month=1 + i % 3, status=status))
    return out


def finish(jobs: list[dict[str, Any]], ids: set[str]) -> None:
    for j in jobs:
        if j["id"] in ids:
            j.update(status="COMPLETED", updated_at="2026-06-01T00:00:00Z")


def test_by_ids_only_new_and_unfinished_jobs_are_fetched(tmp_path: Path) -> None:
    jobs = mixed_jobs()
    ids = [j["id"] for j in jobs]
    client = MemoryClient(jobs)
    first = sync_parquet(tmp_path / "ds", ids[:200], client=client)
    assert (first.added, first.updated, first.unchanged, first.failed) == (200, 0, 0, 0)
    unfinished = {j["id"] for j in jobs[:200] if j["status"] != "COMPLETED"}
    finish(jobs, {j["id"] for j in jobs[:100] if j["status"] != "COMPLETED"})
    client.calls.clear()
    second = sync_parquet(tmp_path / "ds", ids, client=client)
    assert set(client.fetched_ids()) == unfinished | set(ids[200:])
    assert second.added == 100
    assert second.updated == len([i for i in range(100) if i % 10 == 0 or i % 15 == 0])
    assert second.unchanged == 200 - second.updated
    back = read_parquet(tmp_path / "ds").set_index("id")
    assert len(back) == 300 and back.index.is_unique
    assert back.loc["cls-000010", "status"] == "COMPLETED"
    assert back.loc["cls-000110", "status"] == "RUNNING"
    client.calls.clear()
    third = sync_parquet(tmp_path / "ds", ids, client=client)
    assert not third.committed
    assert set(client.fetched_ids()) == {j["id"] for j in jobs if j["status"] != "COMPLETED"}


def test_listing_with_nothing_new_fetches_nothing_else_and_writes_nothing(tmp_path: Path) -> None:
    jobs = [job(i, month=1 + i % 3) for i in range(250)]
    client = MemoryClient(jobs)
    export_jobs(path=tmp_path / "ds", client=client, batch_size=100)
    files = sorted(p.stat().st_ino for p in (tmp_path / "ds").rglob("*.parquet"))
    client.calls.clear()
    summary = sync_parquet(tmp_path / "ds", client=client, batch_size=100)
    # the listing since the newest stored job (Mar 28, 10:00) less the margin, nothing by id
    assert client.calls == [(None, {"created_after": "2026-03-28T09:50:00+00:00"})]
    assert (summary.added, summary.updated, summary.unchanged, summary.committed) == (
        0, 0, 250, False,
    )  # fmt: skip
    assert sorted(p.stat().st_ino for p in (tmp_path / "ds").rglob("*.parquet")) == files
    client.calls.clear()
    sync_parquet(tmp_path / "ds", client=client, margin=86_400 * 30)  # seconds: 30 days
    assert client.calls == [(None, {"created_after": "2026-02-26T10:00:00+00:00"})]
    client.calls.clear()
    sync_parquet(tmp_path / "ds", client=client, configuration_id="cfg-1")
    assert client.calls == [(None, {"configuration_id": "cfg-1"})]  # other filters: in full


def test_listing_updates_and_refreshes_unfinished_jobs_it_did_not_list(tmp_path: Path) -> None:
    jobs = mixed_jobs()
    client = MemoryClient(jobs)
    sync_parquet(tmp_path / "ds", client=client, status="RUNNING")  # replayed by later syncs
    assert len(read_parquet(tmp_path / "ds")) == 30
    finish(jobs, {"cls-000000", "cls-000010"})  # no longer in a RUNNING listing
    jobs.append(job(1_000, status="RUNNING", month=4))
    client.calls.clear()
    summary = sync_parquet(tmp_path / "ds", client=client)
    assert client.calls[0] == (None, {"status": "RUNNING"})
    assert client.calls[1] == (["cls-000000", "cls-000010"], {})
    assert (summary.added, summary.updated, summary.unchanged) == (1, 2, 28)
    back = read_parquet(tmp_path / "ds").set_index("id")
    assert back.loc["cls-000010", "status"] == "COMPLETED"
    assert back["created_at"].dt.month["cls-001000"] == 4


def test_the_newest_updated_at_wins(tmp_path: Path) -> None:
    jobs = [job(1, status="RUNNING", updated="2026-03-01T12:00:00Z")]
    sync_parquet(tmp_path / "ds", client=MemoryClient(jobs))
    older = [job(1, status="PENDING", updated="2026-03-01T11:00:00Z")]
    summary = sync_parquet(tmp_path / "ds", client=MemoryClient(older))
    assert (summary.updated, summary.unchanged) == (0, 1)
    assert read_parquet(tmp_path / "ds")["status"].tolist() == ["RUNNING"]
    twice = [  # a listing that shifted while paged: the same job twice
        job(1, status="COMPLETED", updated="2026-03-01T14:00:00Z"),
        job(2),
        job(1, status="RUNNING", updated="2026-03-01T13:00:00Z"),
    ]
    summary = sync_parquet(tmp_path / "ds", client=MemoryClient(twice), batch_size=1)
    assert (summary.added, summary.updated) == (1, 1)
    back = read_parquet(tmp_path / "ds").sort_values("id")
    assert back["id"].tolist() == ["cls-000001", "cls-000002"]
    assert back["status"].tolist() == ["COMPLETED", "COMPLETED"]


def test_failed_jobs_are_kept_and_fetched_again(tmp_path: Path) -> None:
    client = MemoryClient([job(1)])
    first = sync_parquet(tmp_path / "ds", ["cls-000001", "cls-000002"], client=client)
    assert (first.added, first.failed) == (1, 1)
    assert (tmp_path / "ds" / "created_month=unknown").is_dir()
    client.jobs.append(job(2, month=5))
    second = sync_parquet(tmp_path / "ds", ["cls-000001", "cls-000002"], client=client)
    assert client.calls[-1][0] == ["cls-000002"]
    assert (second.updated, second.unchanged, second.failed) == (1, 1, 0)
    back = read_parquet(tmp_path / "ds")
    assert back["fetch_error"].isna().all()
    assert not (tmp_path / "ds" / "created_month=unknown").exists()


def test_a_new_field_rewrites_old_files_to_the_same_schema(tmp_path: Path) -> None:
    jobs = [job(i, status="RUNNING", month=1 + i % 2) for i in range(10)]
    sync_parquet(tmp_path / "ds", client=MemoryClient(jobs))
    jobs.append(job(99, month=3, priority="high"))
    sync_parquet(tmp_path / "ds", client=MemoryClient(jobs))
    schemas = {pq.read_schema(p).to_string() for p in (tmp_path / "ds").rglob("*.parquet")}
    assert len(schemas) == 1 and "priority" in schemas.pop()
    back = read_parquet(tmp_path / "ds")
    assert back["priority"].notna().sum() == 1 and len(back) == 11


def test_summary_reads_well(tmp_path: Path) -> None:
    summary = SyncSummary(tmp_path / "ds", added=3, updated=2, unchanged=1, failed=0, rows=6,
                          files=2, seconds=0.25, committed=True)  # fmt: skip
    assert str(summary).endswith(
        "ds: 3 added, 2 updated, 1 unchanged, 0 failed; 6 rows in 2 files (written, 0.2 s)"
    )
    assert "<th style='text-align:left'>updated</th><td>2</td>" in summary._repr_html_()


def test_a_second_writer_is_refused_or_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_parquet(tmp_path / "ds", client=MemoryClient([job(1)]))
    held, refused, released = threading.Event(), threading.Event(), threading.Event()
    try_lock = _commit._try_lock

    def noting_refusals(fd: int) -> bool:
        got = try_lock(fd)
        if not got:
            refused.set()
        return got

    monkeypatch.setattr(_commit, "_try_lock", noting_refusals)

    def hold() -> None:
        with dataset_lock(tmp_path / "ds"):
            held.set()
            released.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    with pytest.raises(ExportError, match=rf"another export or sync \(pid {os.getpid()}\)"):
        sync_parquet(tmp_path / "ds", client=MemoryClient([job(2)]))
    refused.clear()
    waited: list[SyncSummary] = []
    waiter = threading.Thread(
        target=lambda: waited.append(
            sync_parquet(tmp_path / "ds", client=MemoryClient([job(2)]), lock_timeout=10)
        )
    )
    waiter.start()
    assert refused.wait(10)  # the waiter found the lock taken ...
    released.set()  # ... and gets it once the holder lets go
    holder.join()
    waiter.join()
    (summary,) = waited
    assert summary.added == 1 and summary.rows == 2
    assert not (tmp_path / ".ds.lock").exists()


_KILLED_SYNC = """
import sys, threading
sys.path.insert(0, {here!r})
from test_parquet_support import MemoryClient, job
from classify_frames.parquet import _dataset, _sync, sync_parquet

write = _dataset.DatasetWriter.write
def write_through(self, frame):  # flush every batch, so files are half written when killed
    write(self, frame)
    for segment in list(self._buffers):
        self._flush(segment)
_dataset.DatasetWriter.write = write_through
if {block_after} < 0:  # stop with the new version complete, just before it is swapped in
    def stuck(staging, target):
        print("blocked", flush=True)
        threading.Event().wait()
    _sync.swap_in = stuck
jobs = [job(i, month=1 + i % 3, status="COMPLETED") for i in range(600)]
jobs[:300] = [job(i, month=1 + i % 3, status="COMPLETED", updated="2026-07-01T00:00:00Z")
              for i in range(300)]
sync_parquet({root!r}, client=MemoryClient(jobs, block_after={block_after}), batch_size=100,
             full=True)
"""


@pytest.mark.parametrize("block_after", [0, 4, -1], ids=["start", "middle", "before-swap"])
def test_a_killed_sync_leaves_the_old_dataset_and_the_next_completes(
    tmp_path: Path, block_after: int
) -> None:
    root = tmp_path / "ds"
    jobs = [job(i, month=1 + i % 3, status="RUNNING") for i in range(300)]
    sync_parquet(root, client=MemoryClient(jobs))
    before = read_parquet(root)
    script = _KILLED_SYNC.format(here=str(HERE), root=str(root), block_after=block_after)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "blocked"  # mid-sync, files half written
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    staging = list(tmp_path.glob(".ds.staging-*"))  # what the killed sync was writing
    assert len(staging) == 1
    assert bool(list(staging[0].rglob("*.parquet"))) == (block_after != 0)
    assert read_parquet(root).equals(before)
    on_disk = duckdb.execute(f"select count(*) from read_parquet('{root}/**/*.parquet')").fetchall()
    assert on_disk == [(300,)]  # what any other reader sees: the old version, whole
    later = MemoryClient(_later(jobs))  # new jobs created long ago: a full listing finds them
    summary = sync_parquet(root, client=later, batch_size=100, full=True)
    assert (summary.added, summary.updated) == (300, 300)
    assert not list(tmp_path.glob(".ds.*"))
    back = read_parquet(root)
    assert len(back) == 600 and back["id"].is_unique and (back["status"] == "COMPLETED").all()


def _later(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = [job(i, month=1 + i % 3, updated="2026-07-01T00:00:00Z") for i in range(len(jobs))]
    return done + [job(i, month=1 + i % 3) for i in range(len(jobs), 600)]


def test_recover_puts_back_a_version_caught_between_two_renames(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    sync_parquet(root, client=MemoryClient([job(1)]))
    os.rename(root, tmp_path / ".ds.old-1234abcd")  # the portable swap's first rename
    (tmp_path / ".ds.staging-5678abcd").mkdir()  # and a staging dir not yet renamed
    recover(root)
    assert read_parquet(root)["id"].tolist() == ["cls-000001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_sync_keeps_the_layout_it_was_made_with(tmp_path: Path) -> None:
    export_jobs(path=tmp_path / "ds", partition_by=["status"], client=MemoryClient([job(1)]))
    with pytest.raises(ExportError, match="partitioned by"):
        sync_parquet(tmp_path / "ds", partition_by=["created_month"], client=MemoryClient([]))
    with pytest.raises(ExportError, match="nested"):
        sync_parquet(tmp_path / "ds", nested=True, client=MemoryClient([]))
    jobs = [job(1, status="RUNNING", updated="2026-01-01T00:00:00Z")]
    sync_parquet(tmp_path / "ds2", partition_by=["status"], client=MemoryClient(jobs))
    summary = sync_parquet(tmp_path / "ds2", client=MemoryClient([job(1)]))
    assert summary.updated == 1  # and the row moved from status=RUNNING to status=COMPLETED
    assert [p.parent.name for p in (tmp_path / "ds2").rglob("*.parquet")] == ["status=COMPLETED"]


def test_daily_syncs_do_not_pile_up_small_files(tmp_path: Path) -> None:
    jobs = [job(0, status="RUNNING", updated="2026-03-01T00:00:00Z")]
    for day in range(1, 13):
        jobs.append(job(day, month=3))
        jobs[0] = job(0, status="RUNNING", updated=f"2026-03-{day:02d}T01:00:00Z")
        sync_parquet(tmp_path / "ds", client=MemoryClient(jobs))
    files = list((tmp_path / "ds").rglob("*.parquet"))
    assert len(files) <= 9
    back = read_parquet(tmp_path / "ds")
    assert len(back) == 13 and back["id"].is_unique
