"""What every ``classify-frames`` command shares: advice in the CLI's own words, and a quiet
end when the reader of its output goes away (``| head -1``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_audit import make_jobs

import classify_frames as cf
from classify_frames.cli import main
from classify_frames.cli._common import EXIT_READER_GONE
from classify_frames.emulator import Emulator

#: Advice only Python can follow: ``name=``, ``report.method(``, ``Emulator()``, ``.partial``.
PYTHON_ADVICE = re.compile(
    r"\b[a-z]+_[a-z_]+=|\b(?:report|client|cf)\.\w+\(|Emulator\(|\.partial\b"
)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLAMA_CLOUD_API_KEY", "LLAMA_PARSE_API_KEY", "LLAMA_CLOUD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    advice = PYTHON_ADVICE.findall(result.output)
    assert not advice, f"Python advice {advice} in: {result.output}"
    return result.exit_code, result.output


def env_for(emu: Emulator, **changes: str) -> dict[str, str]:
    return {"LLAMA_CLOUD_API_KEY": emu.api_key, "LLAMA_CLOUD_BASE_URL": emu.base_url, **changes}


def test_settings_errors_name_the_environment_and_the_flags(
    no_env: None, emulator: Emulator, tmp_path: Path
) -> None:
    out = str(tmp_path / "jobs.csv")
    code, output = run("list", "--out", out, "--base-url", emulator.base_url)
    assert code == 1 and "set LLAMA_CLOUD_API_KEY in the environment" in output
    assert "`classify-frames emulator` prints" in output
    key = {"LLAMA_CLOUD_API_KEY": "llx-some-key"}
    code, output = run("list", "--out", out, "--base-url", "http://0.0.0.0:9", env=key)
    assert code == 1 and "pass --allow-insecure-http" in output
    code, output = run("list", "--out", out, "--base-url", "http://0.0.0.0:9", "--retries", "0",
                       "--allow-insecure-http", env=key)  # fmt: skip
    assert code == 1 and "plain http" not in output  # the flag reaches the settings
    code, output = run("list", "--out", out, "--base-url", f"{emulator.base_url}/api/v2", env=key)
    assert code == 1 and "--base-url (or LLAMA_CLOUD_BASE_URL) is the host only" in output
    assert f"use {emulator.base_url!r}" in output
    code, output = run("list", "--out", out, env=env_for(emulator, LLAMA_CLOUD_API_KEY="llx-bad"))
    assert code == 1 and "the API key was refused" in output
    assert "set LLAMA_CLOUD_API_KEY in the environment" in output and "api_key" not in output
    under_a_path = env_for(emulator, LLAMA_CLOUD_BASE_URL=f"{emulator.base_url}/v2")
    code, output = run("list", "--out", out, "--retries", "0", env=under_a_path)
    assert code == 1 and "the host only" in output and "nothing was written" in output


def test_dataset_errors_name_the_commands(emulator: Emulator, tmp_path: Path) -> None:
    target = str(tmp_path / "ds")
    code, output = run("export", "--out", target, "--limit", "5", "--no-progress",
                       env=env_for(emulator))  # fmt: skip
    assert code == 0, output
    code, output = run("export", "--out", target, "--limit", "5", "--no-progress",
                       env=env_for(emulator))  # fmt: skip
    assert code == 1
    assert "use `classify-frames sync DIR` to update it, or pass --overwrite" in output
    code, output = run("export", "--out", str(tmp_path / "one.parquet"), env=env_for(emulator))
    assert code == 1 and "(for one file: `classify-frames list --out jobs.parquet`)" in output
    code, output = run("export", "--out", str(tmp_path / "ds2"), "--partition-by",
                       "status,status", env=env_for(emulator))  # fmt: skip
    assert code == 1 and "--partition-by must be distinct column names" in output


def test_audit_findings_and_warnings_name_the_options(tmp_path: Path) -> None:
    df, truth = make_jobs(300)
    jobs, queue = tmp_path / "jobs.parquet", tmp_path / "queue.csv"
    cf.to_parquet(df, jobs)
    code, output = run("audit", str(jobs), "--queue", str(queue), "--per-type", "3")
    assert code == 0, output
    assert "e.g. `classify-frames audit JOBS --queue queue.csv --budget 400`," in output
    assert "pass the filled-in file back as `classify-frames audit JOBS --labels FILE`" in output
    labelled = pd.read_csv(queue)
    labelled["label"] = labelled["id"].map(truth.set_index("id")["label"])
    labelled.to_csv(queue, index=False)
    code, output = run("audit", str(jobs), "--labels", str(queue))
    assert code == 0, output
    assert "No threshold can be certified" in output
    assert "`classify-frames audit JOBS --labels FILE --plan more.csv --target-accuracy " in output
    # The library itself keeps its Python advice.
    assert "report.review_queue(budget=400" in " ".join(cf.audit(df).findings)


def test_the_python_api_keeps_its_own_words(no_env: None) -> None:
    with pytest.raises(cf.ConfigurationError, match=r"pass api_key=\.\.\."):
        cf.ClassifyClient()
    with pytest.raises(cf.ConfigurationError, match=r"allow_insecure_http=True"):
        cf.ClassifyClient(api_key="llx-k", base_url="http://0.0.0.0:9")


@pytest.mark.parametrize("command", ["audit", "list"])
def test_a_reader_that_went_away_ends_the_command_quietly(
    command: str, emulator: Emulator, tmp_path: Path
) -> None:
    """``classify-frames ... | head -1``: the pipe is closed before the command writes."""
    df, _ = make_jobs(100)
    jobs = tmp_path / "jobs.parquet"
    cf.to_parquet(df, jobs)
    args = {
        "audit": ["audit", str(jobs)],
        "list": ["list", "--limit", "5", "--out", str(tmp_path / "jobs.csv"), "--no-progress"],
    }[command]
    child = subprocess.Popen(
        [sys.executable, "-c", "from classify_frames.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env_for(emulator)},
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # as `head -1` does once it has its line
    errors = child.stderr.read()
    assert child.wait(timeout=60) == EXIT_READER_GONE, errors
    assert "Broken pipe" not in errors and "Traceback" not in errors, errors
    assert "Exception ignored" not in errors, errors
