"""Errors carry data: the option at fault and the options a message names, so the command line
shows its own flags from one table (``cli._common.FLAGS``) instead of rewriting sentences."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from test_parquet_support import MemoryClient, job

import classify_frames as cf
from classify_frames._exceptions import Opt
from classify_frames.auditing import compare, parse_check
from classify_frames.cli import main
from classify_frames.cli._audit import audit_command
from classify_frames.cli._common import CLIENT_FLAGS, COMMANDS, FLAGS, cli_message
from classify_frames.cli._export import export_command
from classify_frames.cli._fetch import list_command
from classify_frames.client import (
    LIST_FILTER_NAMES,
    STATUS_NAMES,
    ClientOptions,
    ListFilters,
    Settings,
    Status,
)
from classify_frames.emulator import Emulator
from classify_frames.experiments import reclassify
from classify_frames.frame._schema import STATUSES
from classify_frames.parquet import export_jobs, read_parquet, sync_parquet
from classify_frames.parquet._commit import dataset_lock
from classify_frames.parquet._manifest import MANIFEST, read_manifest

REMOTE = "https://api.cloud.llamaindex.ai"


def _refusal(**options: Any) -> cf.ClassifyFramesError:
    with pytest.raises(cf.ClassifyFramesError) as caught:
        Settings(**{"api_key": "k", "base_url": REMOTE, **options})
    return caught.value


@pytest.mark.parametrize(
    ("options", "option", "library", "cli"),
    [
        ({"max_requests_per_second": -1}, "max_requests_per_second",
         "max_requests_per_second must be positive", "--max-rps must be positive"),
        ({"concurrency": 0}, "concurrency", "concurrency must be", "--concurrency must be"),
        ({"base_url": "http://api.example.com"}, "base_url",
         "pass allow_insecure_http=True", "pass --allow-insecure-http"),
        ({"base_url": f"{REMOTE}/api/v2"}, "base_url", "base_url is the host only",
         "--base-url (or LLAMA_CLOUD_BASE_URL) is the host only"),
        ({"proxy": "ftp://proxy:21"}, "proxy", "proxy must be", "HTTPS_PROXY must be"),
        ({"api_key": "", "base_url": REMOTE}, "api_key", "pass api_key=...",
         "set LLAMA_CLOUD_API_KEY in the environment"),
    ],
)  # fmt: skip
def test_an_options_error_names_it_as_data_and_the_cli_shows_its_flag(
    options: dict[str, Any], option: str, library: str, cli: str
) -> None:
    if options.get("api_key") == "":
        error: cf.ClassifyFramesError
        with pytest.raises(cf.ConfigurationError) as caught:
            Settings(api_key="", base_url=REMOTE).require_key()
        error = caught.value
    else:
        error = _refusal(**options)
    assert error.option == option
    assert library in str(error)
    assert cli in cli_message(error)
    assert "--" not in str(error) and "CLI" not in str(error)  # no CLI words in the library


def test_a_listing_error_names_the_option_to_change() -> None:
    error = cf.RateLimitError(
        ["listing jobs failed (lower ", Opt("max_requests_per_second", 20 / 60), ")"],
        option="max_requests_per_second",
        hint="the jobs listed so far are in this error's .partial",
    )
    assert "max_requests_per_second=0.33" in str(error)
    error.partial = object()
    assert cli_message(error) == "listing jobs failed (lower --max-rps 0.33); nothing was written"


def test_one_table_maps_every_option_the_cli_offers() -> None:
    client = set(ClientOptions.__optional_keys__)
    assert set(CLIENT_FLAGS) <= client and set(CLIENT_FLAGS) <= set(FLAGS)
    assert (
        set(ListFilters.__optional_keys__) == LIST_FILTER_NAMES and set(FLAGS) >= LIST_FILTER_NAMES
    )
    called = set().union(*(inspect.signature(f).parameters for f in (
        export_jobs, sync_parquet, reclassify, compare, cf.audit, cf.AuditReport.review_queue,
        cf.AuditReport.plan_labels, parse_check)))  # fmt: skip
    assert set(FLAGS) <= client | LIST_FILTER_NAMES | called
    audit = {p.opts[0]: p.name for p in audit_command.params if isinstance(p, click.Option)}
    for name in ("labels", "label_col", "join_on", "threshold", "target_accuracy", "delta",
                 "budget"):  # fmt: skip
        assert audit[str(FLAGS[name].flag)] == name
    for command in (list_command, export_command):
        names = {p.name for p in command.params}
        assert set(CLIENT_FLAGS) | LIST_FILTER_NAMES <= names
        flags = {p.opts[0]: p.name for p in command.params if isinstance(p, click.Option)}
        for name in set(CLIENT_FLAGS) | LIST_FILTER_NAMES:
            assert flags[str(FLAGS[name].flag)] == name


def test_statuses_are_declared_once_and_the_cli_offers_those() -> None:
    assert STATUS_NAMES == get_args(Status) == STATUSES
    for command in (list_command, export_command):
        status = next(p for p in command.params if p.name == "status")
        assert isinstance(status.type, click.Choice)
        assert tuple(status.type.choices) == STATUS_NAMES


def test_the_command_line_shows_retries_in_its_bar_not_as_stamina_warnings(
    tmp_path: Any,
) -> None:
    """The library leaves stamina's logger alone; the CLI, an application, keeps its per-retry
    warnings off stderr (Python's last-resort handler would print each one)."""
    import os
    import subprocess
    import sys

    from classify_frames.emulator import Emulator

    with Emulator(jobs=50, fail_rate=0.3, fail_statuses=(503,), seed=1) as emu:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(emu.dataset.ids[:12]))
        env = {**os.environ, "LLAMA_CLOUD_API_KEY": emu.api_key}
        done = subprocess.run(
            [sys.executable, "-c", "from classify_frames.cli import main; main()", "fetch",
             str(ids), "--out", str(tmp_path / "out.csv"), "--base-url", emu.base_url,
             "--per-id", "--no-progress"],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        assert emu.counters()["by_status"].get("503", 0) > 0  # retries happened
    assert "retry_scheduled" not in done.stderr, done.stderr
    assert "wrote 12 jobs" in done.stdout, done.stdout + done.stderr


# -- datasets and experiments: calls and options as data, shown by the CLI as its commands ------

_NO_SERVICE = ("--base-url", "http://127.0.0.1:9")


def _cli(*args: str) -> tuple[int, str]:
    """Run the command line (stderr is in ``output``) with a key and no reachable service."""
    result = CliRunner().invoke(main, list(args), env={"LLAMA_CLOUD_API_KEY": "llx-test"})
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    export_jobs(path=root, client=MemoryClient([job(1), job(2, month=4)]))
    return root


def _python_words(error: BaseException) -> str:
    """A library message, checked to hold no word of the command line."""
    text = str(error)
    assert "CLI" not in text and "classify-frames" not in text and not _FLAG.search(text), text
    return text


def test_a_locked_dataset_names_the_wait_option(tmp_path: Path) -> None:
    root = _dataset(tmp_path)
    with dataset_lock(root):
        with pytest.raises(cf.ExportError) as caught:
            sync_parquet(root, client=MemoryClient([job(3)]))
        code, output = _cli("sync", str(root), *_NO_SERVICE)
    assert caught.value.option == "lock_timeout"
    assert "pass lock_timeout=... to wait" in _python_words(caught.value)
    assert code == 1 and "pass --lock-timeout SECONDS to wait" in output
    assert "lock_timeout" not in output


def test_a_dataset_that_exists_names_sync_and_overwrite(tmp_path: Path) -> None:
    root = _dataset(tmp_path)
    with pytest.raises(cf.ExportError) as caught:
        export_jobs(path=root, client=MemoryClient([job(3)]))
    assert caught.value.option == "overwrite"
    text = _python_words(caught.value)
    assert "use sync_parquet to update it, or pass overwrite=True to replace it" in text
    code, output = _cli("export", "--out", str(root), *_NO_SERVICE)
    assert code == 1
    assert (
        "use `classify-frames sync DIR` to update it, or pass --overwrite to replace it" in output
    )


@pytest.mark.parametrize(
    ("path", "partition_by", "library", "cli"),
    [
        ("one.parquet", ("created_month",), "(for one file: to_parquet)",
         "(for one file: `classify-frames list --out jobs.parquet`)"),
        ("ds", ("status", "status"), "partition_by must be distinct column names",
         "--partition-by must be distinct column names"),
    ],
)  # fmt: skip
def test_export_arguments_name_the_call_or_option(
    tmp_path: Path, path: str, partition_by: tuple[str, ...], library: str, cli: str
) -> None:
    target = tmp_path / path
    with pytest.raises(cf.ExportError) as caught:
        export_jobs(path=target, partition_by=partition_by, client=MemoryClient([job(1)]))
    assert library in _python_words(caught.value)
    code, output = _cli(
        "export", "--out", str(target), "--partition-by", ",".join(partition_by), *_NO_SERVICE
    )
    assert code == 1 and cli in output


def test_a_missing_manifest_names_the_calls_that_make_one(tmp_path: Path) -> None:
    with pytest.raises(cf.ExportError) as caught:
        read_manifest(tmp_path)
    assert "create one with export_jobs or sync_parquet" in _python_words(caught.value)
    assert "create one with `classify-frames export --out DIR` or `classify-frames sync DIR`" in (
        cli_message(caught.value)
    )


def test_a_lost_manifest_names_the_repair(tmp_path: Path) -> None:
    root = _dataset(tmp_path)
    (root / MANIFEST).unlink()
    with pytest.raises(cf.ExportError) as caught:
        sync_parquet(root, client=MemoryClient([job(3)]))
    assert "sync_parquet(..., repair=True) rebuilds it" in _python_words(caught.value)
    code, output = _cli("sync", str(root), *_NO_SERVICE)
    assert code == 1 and "lost its manifest" in output
    assert "`classify-frames sync DIR --repair` rebuilds it from the data files" in output
    with pytest.warns(cf.ClassifyFramesWarning) as warned:
        read_parquet(root)
    (warning,) = [w.message for w in warned if "lost its manifest" in str(w.message)]
    assert "sync_parquet(..., repair=True) rebuilds it" in _python_words(warning)  # type: ignore[arg-type]
    code, output = _cli("audit", str(root))  # a command that reads the dataset: the warning
    assert "warning: the dataset" in output and "read from its data files" in output
    assert "`classify-frames sync DIR --repair` rebuilds it" in output
    assert "sync_parquet" not in output


def test_a_damaged_manifest_leaves_out_what_the_cli_cannot_do(tmp_path: Path) -> None:
    root = _dataset(tmp_path)
    (root / MANIFEST).write_text("{not json")
    with pytest.raises(cf.ExportError) as caught:
        sync_parquet(root, client=MemoryClient([job(3)]))
    text = _python_words(caught.value)
    assert "read_parquet reads the data files without it once it is deleted" in text
    assert "sync_parquet(..., repair=True) rebuilds it" in text
    code, output = _cli("sync", str(root), *_NO_SERVICE)
    assert code == 1 and "is damaged: it cannot be read" in output
    assert "`classify-frames sync DIR --repair` rebuilds it" in output
    assert "read_parquet" not in output and "sync_parquet" not in output


def test_a_damaged_data_file_names_the_ways_forward(tmp_path: Path) -> None:
    root = _dataset(tmp_path)
    next(root.glob("created_month=2026-04/*.parquet")).unlink()
    with pytest.raises(cf.ExportError) as read:
        read_parquet(root)
    text = _python_words(read.value)
    assert "ways forward: read_parquet(..., on_bad_files='skip') reads the rest; " in text
    assert "sync_parquet(..., repair=True) drops them and fetches their jobs again; " in text
    assert "export_jobs(..., overwrite=True) rebuilds the dataset" in text
    with pytest.raises(cf.ExportError) as synced:
        sync_parquet(root, client=MemoryClient([job(3)]))
    assert "read_parquet" not in _python_words(synced.value)
    ways = (
        "ways forward: `classify-frames sync DIR --repair` drops them and fetches their jobs "
        "again; `classify-frames export --out DIR --overwrite` rebuilds the dataset"
    )
    for args in (("sync", str(root), *_NO_SERVICE), ("audit", str(root))):
        code, output = _cli(*args)
        assert code == 1 and "1 data file(s) cannot be read" in output
        assert ways in " ".join(output.split()), output
        assert "on_bad_files" not in output and "read_parquet" not in output


def test_repairing_a_dataset_of_ids_warns_with_the_command_to_run(
    emulator: Emulator, tmp_path: Path
) -> None:
    root = tmp_path / "jobs"
    cf.export_jobs(
        list(emulator.dataset.ids[:60]), path=root, progress=False,
        base_url=emulator.base_url, api_key=emulator.api_key,
    )  # fmt: skip
    next(root.rglob("part-*.parquet")).unlink()
    result = CliRunner().invoke(
        main,
        ["sync", str(root), "--repair", "--base-url", emulator.base_url, "--no-progress"],
        env={"LLAMA_CLOUD_API_KEY": emulator.api_key},
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning: dropping" in said
    assert "pass those ids (`classify-frames sync DIR IDS_FILE`) to fetch the jobs again" in said


def test_compare_names_the_commands_that_make_its_inputs(tmp_path: Path) -> None:
    frame = cf.jobs_to_frame([job(1), job(2)])
    cf.to_parquet(frame, tmp_path / "jobs.parquet")
    with pytest.raises(cf.ConfigurationError) as caught:
        cf.compare(frame, frame)
    assert caught.value.option is None and isinstance(caught.value, ValueError)
    assert "after has no 'source_id' column; pass the jobs from reclassify (its source_id" in (
        _python_words(caught.value)
    )
    jobs = str(tmp_path / "jobs.parquet")
    code, output = _cli("compare", jobs, jobs)
    assert code == 1
    assert "AFTER has no 'source_id' column; pass the jobs from `classify-frames reclassify`" in (
        " ".join(output.split())
    )
    frame.assign(source_id=frame["id"]).pipe(cf.to_parquet, tmp_path / "after.parquet")
    frame[["file_input"]].fillna("f").to_csv(tmp_path / "before.csv", index=False)
    with pytest.raises(cf.ConfigurationError) as caught:
        cf.compare(frame[["file_input"]], frame.assign(source_id=frame["id"]))
    assert "before has no 'id' column; pass jobs from fetch_jobs or list_jobs" in (
        _python_words(caught.value)
    )
    code, output = _cli("compare", str(tmp_path / "before.csv"), str(tmp_path / "after.parquet"))
    assert code == 1
    assert (
        "BEFORE has no 'id' column; pass jobs from `classify-frames fetch` or `classify-frames "
        "list`" in " ".join(output.split())
    )


def test_reclassify_names_its_inputs_as_options_and_calls(tmp_path: Path) -> None:
    frame = cf.jobs_to_frame([job(1)])
    with pytest.raises(cf.ConfigurationError) as caught:
        cf.reclassify(frame, experiment="e", dry_run=True)
    assert "give the new rules (rules=...) or a saved configuration (configuration_id=...)" in (
        _python_words(caught.value)
    )
    assert "(--rules FILE) or a saved configuration (--configuration-id ID)" in (
        cli_message(caught.value)
    )  # the command line refuses this itself, before calling the library
    rules = [{"type": "invoice", "description": "An invoice with a total."}]
    with pytest.raises(cf.ConfigurationError) as caught:
        cf.reclassify(frame.drop(columns="id"), experiment="e", rules=rules, dry_run=True)
    assert "pass jobs from fetch_jobs or list_jobs" in _python_words(caught.value)
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    pd.DataFrame({"file_input": ["file-1"]}).to_csv(tmp_path / "jobs.csv", index=False)
    code, output = _cli(
        "reclassify", str(tmp_path / "jobs.csv"), "--rules", str(tmp_path / "rules.json"),
        "--experiment", "e", "--dry-run", "--out", str(tmp_path / "out.csv"), *_NO_SERVICE,
    )  # fmt: skip
    assert code == 1
    assert (
        "has no 'id' column; pass jobs from `classify-frames fetch` or `classify-frames list`"
        in (" ".join(output.split()))
    )


# -- the tables cover what the library names ---------------------------------------------------


def _commands() -> list[click.Command]:
    context = click.Context(main)
    return [main.get_command(context, name) for name in main.list_commands(context)]  # type: ignore[misc]


def test_every_flag_in_the_table_is_one_a_command_offers() -> None:
    offered = set()
    for command in _commands():
        for param in command.params:
            if isinstance(param, click.Argument):
                offered.add((param.human_readable_name, param.name))
            else:
                offered.update((flag, param.name) for flag in param.opts)
    flags = {flag for flag, _ in offered}
    for name, entry in FLAGS.items():
        if entry.flag is not None:
            assert entry.flag in flags, name
    # an option the library and the command line share keeps its name (--rules reads a file)
    assert {(FLAGS[n].flag, n) for n in ("overwrite", "lock_timeout", "repair", "partition_by",
                                         "before", "after")} <= offered  # fmt: skip


def test_every_call_the_library_names_has_its_entry_in_the_command_table() -> None:
    named = set()
    for path in _library_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Call"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                named.add(node.args[0].value)
    assert {"export_jobs", "sync_parquet", "read_parquet", "reclassify"} <= named
    assert named <= set(COMMANDS)
    for function, command in COMMANDS.items():
        owner, _, name = function.rpartition(".")  # a method of the report, or a function
        where = (cf.AuditReport,) if owner == "report" else (cf, cf.auditing)
        assert any(hasattr(place, name) for place in where), function
        assert command is None or command.split()[1] in {c.name for c in _commands()}


# -- no word of the command line in the library's messages ----------------------------------------

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_ROOT = Path(cf.__file__).parent


def _library_modules(package: str | None = None) -> list[Path]:
    found = sorted(_ROOT.rglob("*.py"))
    if package is not None:
        return [p for p in found if p.relative_to(_ROOT).parts[0] == package]
    return [p for p in found if p.relative_to(_ROOT).parts[0] != "cli"]


def _cli_words_in(path: Path) -> list[str]:
    """The string constants of ``path`` (docstrings aside) that hold a flag or ``CLI:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        f"{path.name}:{node.lineno}: {node.value[:80]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and ("CLI:" in node.value or _FLAG.search(node.value))
    ]


def test_the_scan_finds_a_flag_in_a_message(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Docs may say --overwrite."""\n'
        'def f():\n    """Nor here: --x."""\n    raise ValueError("pass --overwrite")\n'
        'MSG = "rebuild it (CLI: sync)"\nOK = "a - b -- c, x--y"\n'
    )
    found = [line.split(": ", 1)[1] for line in _cli_words_in(module)]
    assert sorted(found) == ["'pass --overwrite'", "'rebuild it (CLI: sync)'"]


_PACKAGES = sorted({p.relative_to(_ROOT).parts[0] for p in _library_modules() if p.parent != _ROOT})


@pytest.mark.parametrize("package", ["(top level)", *_PACKAGES])
def test_library_messages_hold_no_word_of_the_command_line(package: str) -> None:
    paths = list(_ROOT.glob("*.py")) if package == "(top level)" else _library_modules(package)
    assert [hit for path in paths for hit in _cli_words_in(path)] == []


def test_python_m_emulator_uses_the_cli_s_public_names() -> None:
    """``python -m classify_frames.emulator`` imports the command through ``cli.command``,
    not an underscored module of another package."""
    tree = ast.parse((_ROOT / "emulator" / "__main__.py").read_text(encoding="utf-8"))
    relative = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert relative == ["cli"]
    done = subprocess.run(
        [sys.executable, "-m", "classify_frames.emulator", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "Usage: python -m classify_frames.emulator" in done.stdout
