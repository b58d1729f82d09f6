"""``classify-frames export`` and ``sync``: clear errors, exit codes, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from classify_frames.cli import main


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLAMA_CLOUD_API_KEY", "LLAMA_PARSE_API_KEY", "LLAMA_CLOUD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_export_without_a_key_says_how_to_set_one(no_key: None, tmp_path: Path) -> None:
    code, output = run("export", "--out", str(tmp_path / "ds"), "--base-url", "http://127.0.0.1:9")
    assert code == 1
    assert "LLAMA_CLOUD_API_KEY" in output
    assert not (tmp_path / "ds").exists()


def test_ids_file_and_filters_together_are_refused(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("cls-1\ncls-2\n")
    code, output = run("export", str(ids), "--status", "COMPLETED", "--out", str(tmp_path / "ds"))
    assert code == 2
    assert "not both" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--out", "missing/ds"], "does not exist"),
        (["export", "--out", "ds", "--partition-by", "a/b"], "--partition-by must be"),
        (["export", "--out", "jobs.parquet"], "looks like a file"),
        (["sync", "notes"], "not a classify_frames dataset"),
        (["export", "nope.txt", "--out", "ds"], "no such file"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", "llx-test")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    code, output = run(*args, "--base-url", "http://127.0.0.1:9")
    assert code != 0
    assert message in output


def test_a_lost_manifest_says_which_command_rebuilds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_parquet_support import MemoryClient, job

    from classify_frames.parquet import export_jobs

    export_jobs(path=tmp_path / "ds", client=MemoryClient([job(1), job(2, month=4)]))
    (tmp_path / "ds" / "_classify_frames.json").unlink()
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", "llx-test")
    code, output = run("sync", str(tmp_path / "ds"), "--base-url", "http://127.0.0.1:9")
    assert code == 1
    assert "lost its manifest" in output and "`classify-frames sync DIR --repair`" in output
