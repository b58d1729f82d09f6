"""Export and sync end to end: the real client, the emulator over loopback, and the CLI."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

import classify_frames as cf
from classify_frames.cli import main
from classify_frames.emulator import ManualClock
from classify_frames.parquet import SYNC_MARGIN, read_metadata


def opts(emu: Any) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False}


def create_jobs(emu: Any, n: int) -> list[str]:
    """Submit ``n`` jobs to the emulator; they finish after its ``job_duration``."""
    configuration = {"rules": [{"description": "An invoice with a total due.", "type": "invoice"}]}
    ids = []
    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}
    ) as h:
        for i in range(n):
            body = {"file_input": f"file-{i}", "configuration": configuration}
            reply = h.post("/api/v2/classify", json=body)
            reply.raise_for_status()
            ids.append(reply.json()["id"])
    return ids


def test_cli_export_then_sync_costs_only_the_listing(
    emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", emulator.api_key)
    out = tmp_path / "jobs"
    common = ["--base-url", emulator.base_url, "--no-progress"]
    result = CliRunner().invoke(
        main, ["export", "--out", str(out), "--partition-by", "created_month,status", *common]
    )
    assert result.exit_code == 0, result.output
    assert f"{len(emulator.dataset):,}".replace(",", "") in result.output.replace(",", "")
    assert "added" in result.output and "Traceback" not in result.output
    emulator.reset_counters()
    result = CliRunner().invoke(main, ["sync", str(out), *common])
    assert result.exit_code == 0, result.output
    assert "0 added, 0 updated" in result.output and "nothing to write" in result.output
    assert set(emulator.counters()["by_endpoint"]) == {"list"}
    served = cf.list_jobs(**opts(emulator)).sort_values("id", ignore_index=True)
    stored = cf.read_parquet(out).sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(stored, served)
    by_status = duckdb.execute(
        f"select status, count(*) from read_parquet('{out}/**/*.parquet') group by 1"
    ).fetchall()
    assert dict(by_status) == served["status"].value_counts().loc[lambda s: s > 0].to_dict()


def test_sync_picks_up_new_jobs_then_their_final_state(make_emulator: Any, tmp_path: Path) -> None:
    clock = ManualClock()
    emu = make_emulator(jobs=300, job_duration=5, clock=clock)
    cf.export_jobs(path=tmp_path / "jobs", **opts(emu))
    created = create_jobs(emu, 3)
    first = cf.sync_parquet(tmp_path / "jobs", **opts(emu))
    assert (first.added, first.updated) == (3, 0)
    stored = cf.read_parquet(tmp_path / "jobs").set_index("id")
    assert set(stored.loc[created, "status"]) <= {"PENDING", "RUNNING"}
    clock.advance(5)
    emu.reset_counters()
    second = cf.sync_parquet(tmp_path / "jobs", **opts(emu))
    assert (second.added, second.updated, second.unchanged) == (0, 3, 300)
    assert set(emu.counters()["by_endpoint"]) == {"list"}
    stored = cf.read_parquet(tmp_path / "jobs").set_index("id")
    assert set(stored.loc[created, "status"]) <= {"COMPLETED", "FAILED"}


def test_sync_by_ids_asks_only_for_jobs_not_final(make_emulator: Any, tmp_path: Path) -> None:
    clock = ManualClock()
    emu = make_emulator(jobs=200, job_duration=5, clock=clock)
    created = create_jobs(emu, 2)
    final = [str(i) for i in emu.dataset.ids[:50]]
    summary = cf.sync_parquet(tmp_path / "jobs", [*final, *created, "cls-nope"], **opts(emu))
    assert (summary.added, summary.failed) == (52, 1)
    clock.advance(5)
    with cf.ClassifyClient(**{k: v for k, v in opts(emu).items() if k != "progress"}) as client:
        again = cf.sync_parquet(tmp_path / "jobs", [*final, *created, "cls-nope"], client=client,
                                progress=False)  # fmt: skip
        requests = client.stats()["requests"]
    assert (again.added, again.updated, again.unchanged, again.failed) == (0, 2, 50, 1)
    assert requests <= 2  # one job_ids page for what is not final, one GET for the missing id


def test_a_fetched_frame_records_where_and_when_it_came_from(emulator: Any, tmp_path: Path) -> None:
    frame = cf.fetch_jobs([str(i) for i in emulator.dataset.ids[:30]], **opts(emulator))
    path = frame.classify.to_parquet(tmp_path / "jobs.parquet")
    meta = read_metadata(path)
    assert meta["base_url"] == emulator.base_url and meta["fetched_at"] and meta["rows"] == 30
    assert emulator.api_key.encode() not in path.read_bytes()
    pd.testing.assert_frame_equal(cf.read_parquet(path), frame)


# -- incremental sync (issue 22): what an unchanged dataset costs, and the margin --------------


def test_an_unchanged_dataset_costs_a_few_requests_whatever_its_size(
    make_emulator: Any, tmp_path: Path
) -> None:
    now = [time.time()]
    emu = make_emulator(jobs=3_000, job_duration=5, clock=lambda: now[0])
    root = tmp_path / "jobs"
    cf.export_jobs(path=root, **opts(emu))
    created = create_jobs(emu, 3)  # the newest jobs, still PENDING
    cf.sync_parquet(root, **opts(emu))
    stored = cf.read_parquet(root)
    unfinished = int(stored["status"].isin(["PENDING", "RUNNING"]).sum())
    assert unfinished >= 3 and len(stored) == 3_003
    emu.reset_counters()
    summary = cf.sync_parquet(root, **opts(emu))
    served = emu.counters()
    # one listing page (the jobs created since the newest less the margin), then one job_ids
    # page per 100 unfinished jobs: 30 pages of listing fewer than a full sync
    assert served["requests"] == 1 + math.ceil(unfinished / 100) <= 3 + unfinished // 100
    assert served["by_endpoint"] == {"list": served["requests"]}
    assert (summary.added, summary.updated, summary.unchanged) == (0, 0, 3_003)
    assert set(cf.read_parquet(root).set_index("id").loc[created, "status"]) == {"PENDING"}
    emu.reset_counters()
    cf.sync_parquet(root, full=True, **opts(emu))
    assert emu.counters()["requests"] == 31  # the full re-list, which sees every job


def test_jobs_arriving_out_of_order_within_the_margin_are_not_missed(
    make_emulator: Any, tmp_path: Path
) -> None:
    start = time.time()
    now = [start]
    emu = make_emulator(jobs=200, job_duration=5, clock=lambda: now[0])
    root = tmp_path / "jobs"
    (newest,) = create_jobs(emu, 1)
    cf.export_jobs(path=root, **opts(emu))
    margin = SYNC_MARGIN.total_seconds()
    now[0] = start - margin + 1  # created before the newest stored job, inside the margin
    (late,) = create_jobs(emu, 1)
    now[0] = start - margin - 60  # and one older than the margin allows
    (too_late,) = create_jobs(emu, 1)
    now[0] = start + 10
    summary = cf.sync_parquet(root, **opts(emu))
    ids = set(cf.read_parquet(root)["id"])
    assert late in ids and newest in ids and summary.added == 1
    assert too_late not in ids  # what the margin means: a full sync finds it
    full = cf.sync_parquet(root, full=True, **opts(emu))
    assert full.added == 1 and too_late in set(cf.read_parquet(root)["id"])


def test_cli_sync_full_relists_everything(
    make_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = make_emulator(jobs=450)
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", emu.api_key)
    out = tmp_path / "jobs"
    common = ["--base-url", emu.base_url, "--no-progress"]
    assert CliRunner().invoke(main, ["export", "--out", str(out), *common]).exit_code == 0
    counts = []
    for extra in ([], ["--full"]):
        emu.reset_counters()
        result = CliRunner().invoke(main, ["sync", str(out), *extra, *common])
        assert result.exit_code == 0, result.output
        counts.append(emu.counters()["by_endpoint"]["list"])
    assert counts == [2, 5]  # a page since the newest and one of job_ids; all five pages
