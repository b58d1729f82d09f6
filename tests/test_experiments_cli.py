"""``classify-frames reclassify`` and ``compare``, and a run killed mid-submission then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import classify_frames as cf
from classify_frames.cli import main
from classify_frames.emulator import Emulator

MakeEmulator = Callable[..., Emulator]


def setup_files(emu: Emulator, tmp_path: Path, jobs: int) -> tuple[Path, Path]:
    config = emu.dataset.configurations[0]
    frame = cf.list_jobs(
        status="COMPLETED", configuration_id=config["id"], limit=jobs,
        base_url=emu.base_url, api_key=emu.api_key, progress=False,
    )  # fmt: skip
    source = tmp_path / "jobs.parquet"
    cf.to_parquet(frame, source)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": config["configuration"]["rules"]}), encoding="utf-8")
    return source, rules


def env_for(emu: Emulator) -> dict[str, str]:
    return {"LLAMA_CLOUD_API_KEY": emu.api_key, "LLAMA_CLOUD_BASE_URL": emu.base_url}


@pytest.mark.slow
def test_killed_during_submission_then_rerun_creates_no_duplicate(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    emu = make_emulator(jobs=800, seed=8, job_duration=0.1)
    source, rules = setup_files(emu, tmp_path, 60)
    out = tmp_path / "after.parquet"
    common = ["reclassify", str(source), "--rules", str(rules), "--experiment", "kill",
              "--no-progress", "--out", str(out)]  # fmt: skip
    args = [*common, "--rate", "20"]
    child = subprocess.Popen(
        [sys.executable, "-c", "from classify_frames.cli import main; main()", *args],
        env={**os.environ, **env_for(emu)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic()
    deadline = started + 60
    while emu.counters()["jobs_created"] < 15:  # wait for the event: creations under way
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed = time.monotonic()
    made_before = emu.counters()["jobs_created"]
    assert 15 <= made_before < 60 and not out.exists()
    result = CliRunner().invoke(main, [*common, "--rate", "500"], env=env_for(emu))
    assert result.exit_code == 0, result.output
    after = cf.read_parquet(out)
    counts = emu.counters()
    assert len(after) == 60 and after["id"].is_unique and after["fetch_error"].isna().all()
    assert counts["jobs_created"] == 60  # the rest, and nothing twice
    assert counts["creations_replayed"] >= made_before
    assert "60 jobs of experiment 'kill'" in result.output
    print(f"\nkilled after {killed - started:.1f} s with {made_before} jobs created; the re-run "
          f"took {time.monotonic() - killed:.1f} s and created {60 - made_before}")  # fmt: skip


def test_cli_dry_run_bad_rules_and_compare(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    emu = make_emulator(jobs=800, seed=9, job_duration=0.1)
    source, rules = setup_files(emu, tmp_path, 40)
    runner = CliRunner()
    env = env_for(emu)
    emu.reset_counters()
    dry = runner.invoke(main, ["reclassify", str(source), "--rules", str(rules), "--experiment",
                               "e", "--dry-run", "--out", str(tmp_path / "x.csv")],
                        env=env)  # fmt: skip
    assert dry.exit_code == 0 and "at most 40 job(s)" in dry.output and "credits" in dry.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"type": "invoice", "description": "short"}]), encoding="utf-8")
    refused = runner.invoke(main, ["reclassify", str(source), "--rules", str(bad), "--experiment",
                                   "e", "--out", str(tmp_path / "x.csv")], env=env)  # fmt: skip
    assert refused.exit_code == 1 and "rule 0 ('invoice'): description" in refused.output
    assert emu.counters()["requests"] == 0
    out = tmp_path / "after.csv"
    made = runner.invoke(main, ["reclassify", str(source), "--rules", str(rules), "--experiment",
                                "e", "--sample", "30", "--rate", "500", "--no-progress",
                                "--out", str(out)], env=env)  # fmt: skip
    assert made.exit_code == 0, made.output
    assert len(pd.read_csv(out)) == 30
    labels = tmp_path / "labels.csv"
    emu.labels().to_csv(labels, index=False)
    html = tmp_path / "compare.html"
    compared = runner.invoke(main, ["compare", str(source), str(out), "--labels", str(labels),
                                    "--html", str(html)])  # fmt: skip
    assert compared.exit_code == 0, compared.output
    assert "documents compared" in compared.output and "McNemar" in compared.output
    assert "Per type" in compared.output and "<section" in html.read_text(encoding="utf-8")
    missing = runner.invoke(main, ["compare", str(tmp_path / "nope.parquet"), str(out)])
    assert missing.exit_code == 2 and "no such file" in missing.output
