"""What the CLI commands share: connection options, error translation, writing a frame."""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import pandas as pd

from .._atomic import atomic_path
from .._exceptions import ClassifyFramesError
from ..client import CLIENT_DEFAULTS, REGION_NAMES, ClientOptions

__all__ = [
    "EXIT_ALL_FAILED",
    "EXIT_READER_GONE",
    "EXIT_SOME_FAILED",
    "cli_words",
    "client_options",
    "exit_for",
    "friendly_errors",
    "out_option",
    "read_ids",
    "write_frame",
]

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")


def client_options(command: F) -> F:
    """Options naming the service and how hard to push it (the key comes from the environment)."""
    default = CLIENT_DEFAULTS  # the library's own defaults and choices, declared once
    options = [
        click.option("--base-url", envvar="LLAMA_CLOUD_BASE_URL", help="API base URL."),
        click.option(
            "--region",
            type=click.Choice(REGION_NAMES),
            default=default["region"],
            show_default=True,
        ),
        click.option("--project-id", help="Project to read jobs from."),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=default["concurrency"],
            show_default=True,
        ),
        click.option(
            "--max-rps", type=click.FloatRange(min=0.001), help="Requests per second cap."
        ),
        click.option(
            "--retries", type=click.IntRange(0, 20), default=default["retries"], show_default=True
        ),
        click.option(
            "--allow-insecure-http",
            is_flag=True,
            help="Send the key over plain http to a host that is not this machine.",
        ),
        click.option("--no-progress", is_flag=True, help="Hide the progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


#: ``--out FILE`` for the commands that write one frame.
out_option = click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Output file: .parquet, .csv or .jsonl.",
)


def client_kwargs(options: dict[str, Any]) -> ClientOptions:
    """ClassifyClient arguments from the parsed ``client_options``."""
    return {
        "base_url": options.pop("base_url"),
        "region": options.pop("region"),
        "project_id": options.pop("project_id"),
        "concurrency": options.pop("concurrency"),
        "max_requests_per_second": options.pop("max_rps"),
        "retries": options.pop("retries"),
        "allow_insecure_http": options.pop("allow_insecure_http"),
        "progress": not options.pop("no_progress"),
    }


#: Exit codes of the commands that write a frame (documented in README's "Command line").
EXIT_SOME_FAILED = 3  # the file was written, but some of its rows are jobs that failed to fetch
EXIT_ALL_FAILED = 4  # the file was written, and no job in it could be fetched
EXIT_READER_GONE = 141  # what a shell reports for a tool stopped by SIGPIPE (`... | head -1`)


def exit_for(frame: pd.DataFrame) -> None:
    """End the command with 3 when some rows could not be fetched, 4 when none could."""
    failed = int(frame["fetch_error"].notna().sum())
    if failed and failed == len(frame):
        sys.exit(EXIT_ALL_FAILED)
    if failed:
        sys.exit(EXIT_SOME_FAILED)


#: The library's advice in Python words (``api_key=``, ``report.plan_labels(...)``) and the
#: same advice in the command line's flags and environment variables, applied to every error,
#: warning and finding a command prints. The library's own messages stay as they are.
_CLI_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(python), cli)
    for python, cli in (
        # settings
        (r"pass api_key=\.\.\., or set LLAMA_CLOUD_API_KEY", "set LLAMA_CLOUD_API_KEY"),
        (r"with LLAMA_CLOUD_API_KEY=\.\.\. or api_key=\.\.\.", "in LLAMA_CLOUD_API_KEY"),
        (
            r"use Emulator\(\)\.api_key",
            "use the LLAMA_CLOUD_API_KEY that `classify-frames emulator` prints",
        ),
        (r"pass the API key as api_key", "set the API key in LLAMA_CLOUD_API_KEY"),
        (r"\bbase_url\b(?= must| is)", "the base URL (--base-url or LLAMA_CLOUD_BASE_URL)"),
        (r"\bbase_url\b", "--base-url"),
        (r"^proxy must", "the proxy (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) must"),
        (r"pass allow_insecure_http=True", "pass --allow-insecure-http"),
        (r"max_requests_per_second, e\.g\. 20/60", "--max-rps, e.g. 0.33"),
        (r"\bmax_requests_per_second\b", "--max-rps"),
        (
            r"; the jobs listed so far are in this error's \.partial \(and in client\.partial\)",
            "; nothing was written",
        ),
        # datasets
        (r"pass lock_timeout=<seconds>", "pass --lock-timeout SECONDS"),
        (r"\w+\(\.\.\., \w+=\S+\) \(CLI: ([^)]*)\)", r"`classify-frames \1`"),
        (r"read_parquet\(\.\.\., on_bad_files='skip'\) reads the rest; ", ""),
        (r"use sync_parquet to update it", "use `classify-frames sync DIR` to update it"),
        (r"pass overwrite=True", "pass --overwrite"),
        (r"^partition_by must", "--partition-by must"),
        (r"create one with export_jobs or sync_parquet", "create one with classify-frames export"),
        (r"\(use to_parquet\)", "(for one file: `classify-frames list --out jobs.parquet`)"),
        (r"\(sync_parquet\(path, ids\)\)", "(`classify-frames sync DIR IDS_FILE`)"),
        # audit
        (
            r"(?:report\.)?review_queue\(budget=(\d+), strategy='stratified'\)",
            r"the queue of `--queue queue.csv --budget \1`",
        ),
        (r"(?:report\.)?review_queue\(strategy='stratified'\)", "a `--queue queue.csv`"),
        (r" \(or budget=\.\.\.\)", " (with --budget N)"),
        (r"as audit\(df, labels=\.\.\.\)", "with --labels queue.csv"),
        (r"audit\(df, labels=\.\.\.\) with a DataFrame or CSV", "--labels FILE (CSV or Parquet)"),
        (
            r"report\.plan_labels\(target_accuracy=([\d.]+)\)",
            r"`--plan more.csv --target-accuracy \1`",
        ),
        (r"a lower target_accuracy", "a lower --target-accuracy"),
        (r"\bat delta=([\d.]+)", r"at --delta \1"),
        (r"label_col= / join_on= \(--label-col / --join-on\)", "--label-col / --join-on"),
        (r"join_on='(\w+)'", r"--join-on \1"),
        (
            r"the flat frame of jobs_to_frame/fetch_jobs \(not nested=True\)",
            "flat jobs, as fetch, list and export write them (not export --nested)",
        ),
        # experiments
        (r"the frame reclassify\(\) returned", "the file `classify-frames reclassify` wrote"),
        (r"a frame of jobs \(fetch_jobs, list_jobs\)", "a jobs file (as fetch or list write it)"),
        (r"a frame from fetch_jobs or list_jobs", "a jobs file (as fetch or list write it)"),
        (r"rules=\[\.\.\.\]", "--rules FILE"),
        (r"configuration_id=\.\.\.", "--configuration-id ID"),
    )
)


def cli_words(text: str) -> str:
    """``text`` (a library error, warning or finding) with its Python advice in CLI terms.

    >>> cli_words("refusing: use https, or pass allow_insecure_http=True if you really mean it")
    'refusing: use https, or pass --allow-insecure-http if you really mean it'
    """
    for python, cli in _CLI_WORDS:
        text = python.sub(cli, text)
    return text


def friendly_errors(command: F) -> F:
    """Turn library errors into one-line messages in CLI terms and a non-zero exit, never a
    traceback; a reader that went away (``| head -1``) ends the command quietly."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return command(*args, **kwargs)
            finally:  # a reader gone shows here, not in the interpreter's last flush
                sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
        except (ClassifyFramesError, ValueError, OSError) as exc:
            raise click.ClickException(cli_words(str(exc))) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _reader_gone() -> NoReturn:
    """Stop quietly, as Unix tools do when the pipe they write to is closed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere, silently
    sys.exit(EXIT_READER_GONE)


def check_output(path: Path) -> Path:
    """Refuse an output path we cannot write before any work is done."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        msg = f"--out must end in one of {', '.join(OUTPUT_SUFFIXES)}, got {str(path)!r}"
        raise click.BadParameter(msg, param_hint="--out")
    if not path.parent.is_dir():
        msg = f"the directory of {str(path)!r} does not exist"
        raise click.BadParameter(msg, param_hint="--out")
    try:  # a read-only directory must fail now, not after the whole fetch
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        msg = f"cannot write in the directory of {str(path)!r}: {exc.strerror or exc}"
        raise click.BadParameter(msg, param_hint="--out") from None
    return path


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet, CSV or JSON lines (by extension), atomically."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        from ..parquet import to_parquet

        to_parquet(frame, path)
        return
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)


def read_ids(source: str) -> list[str]:
    """Job ids from a text file (one a line, ``#`` comments), a CSV with an ``id`` column, or -."""
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            msg = f"no such file: {source!r}"
            raise click.BadParameter(msg, param_hint="IDS_FILE")
        try:
            if path.suffix.lower() == ".csv":
                table = pd.read_csv(path, dtype=str)
                column = "id" if "id" in table.columns else table.columns[0]
                return [str(v).strip() for v in table[column].dropna()]
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
            msg = f"cannot read {source!r}: {exc}"
            raise click.BadParameter(msg, param_hint="IDS_FILE") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]
