"""What the CLI commands share: connection options, error translation, writing a frame."""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO, TypeVar

import click
import pandas as pd

from .._atomic import atomic_path
from .._exceptions import Call, ClassifyFramesError, ClassifyFramesWarning, Opt
from ..client import CLIENT_DEFAULTS, LIST_FILTER_NAMES, REGION_NAMES, STATUS_NAMES, ClientOptions

__all__ = [
    "CLIENT_FLAGS",
    "CLI_HINTS",
    "COMMANDS",
    "EXIT_ALL_FAILED",
    "EXIT_READER_GONE",
    "EXIT_SOME_FAILED",
    "FLAGS",
    "Flag",
    "cli_message",
    "cli_name",
    "cli_warning",
    "cli_words",
    "client_kwargs",
    "client_options",
    "exit_for",
    "filter_kwargs",
    "friendly_errors",
    "list_filters",
    "out_option",
    "read_ids",
    "write_frame",
]

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_SUFFIXES = (".parquet", ".csv", ".jsonl")


@dataclass(frozen=True)
class Flag:
    """How the command line sets one option of the library: a flag (``metavar`` names its
    value), an argument (``IDS_FILE``), or an environment variable it reads instead (the API
    key is never a flag: it would show in ``ps``)."""

    flag: str | None = None
    env: str | None = None
    metavar: str | None = None

    def render(self, option: Opt) -> str:
        """``option`` (named in a library error) in the command line's terms."""
        if self.flag is None:
            return f"{self.env}=..." if option.value is ... else str(self.env)
        if option.named_only:
            return f"{self.flag} (or {self.env})" if self.env else self.flag
        value = option.value
        if value is ... and self.metavar:
            return f"{self.flag} {self.metavar}"
        if value is True or value is ...:
            return self.flag
        return f"{self.flag} {value:.2g}" if isinstance(value, float) else f"{self.flag} {value}"


#: The one table from the library's options to the command line's flags. Commands declare
#: their options with these names, and errors name options as data (``Opt``), which the CLI
#: shows through this table: no sentence is parsed.
FLAGS: Final[Mapping[str, Flag]] = {
    "api_key": Flag(env="LLAMA_CLOUD_API_KEY"),
    "base_url": Flag("--base-url", "LLAMA_CLOUD_BASE_URL"),
    "region": Flag("--region"),
    "project_id": Flag("--project-id"),
    "concurrency": Flag("--concurrency"),
    "max_requests_per_second": Flag("--max-rps"),
    "retries": Flag("--retries"),
    "allow_insecure_http": Flag("--allow-insecure-http"),
    "progress": Flag("--no-progress"),
    "proxy": Flag(env="HTTPS_PROXY"),
    "status": Flag("--status"),
    "configuration_id": Flag("--configuration-id", metavar="ID"),
    "created_after": Flag("--since"),
    "created_before": Flag("--until"),
    "limit": Flag("--limit"),
    # datasets (export, sync)
    "job_ids": Flag("IDS_FILE"),
    "partition_by": Flag("--partition-by"),
    "overwrite": Flag("--overwrite"),
    "lock_timeout": Flag("--lock-timeout", metavar="SECONDS"),
    "repair": Flag("--repair"),
    # experiments (reclassify, compare)
    "rules": Flag("--rules", metavar="FILE"),
    "before": Flag("BEFORE"),
    "after": Flag("AFTER"),
}

#: The command line's counterpart of each library call a message names (:class:`Call`), its
#: options shown as their flags from :data:`FLAGS`; None where it has none, and a message
#: leaves that call (and what it does) out.
COMMANDS: Final[Mapping[str, str | None]] = {
    "export_jobs": "classify-frames export --out DIR",
    "sync_parquet": "classify-frames sync DIR",
    "to_parquet": "classify-frames list --out jobs.parquet",
    "fetch_jobs": "classify-frames fetch",
    "list_jobs": "classify-frames list",
    "reclassify": "classify-frames reclassify",
    "read_parquet": None,  # the commands read datasets whole: there is no skipping
}

#: The command line's own advice for an option it has no flag for, used where a library
#: error says to pass that option.
CLI_HINTS: Final[Mapping[str, str]] = {
    "api_key": (
        "set LLAMA_CLOUD_API_KEY in the environment (for the local emulator, the one "
        "`classify-frames emulator` prints)"
    ),
}

#: The client options the commands offer (``--no-progress`` sets ``progress``).
CLIENT_FLAGS: Final = (
    "base_url", "region", "project_id", "concurrency", "max_requests_per_second", "retries",
    "allow_insecure_http", "progress",
)  # fmt: skip


def _flag(name: str) -> str:
    flag = FLAGS[name].flag
    if flag is None:  # pragma: no cover - a table entry the commands do not offer
        msg = f"{name} has no flag"
        raise KeyError(msg)
    return flag


def client_options(command: F) -> F:
    """Options naming the service and how hard to push it (the key comes from the environment)."""
    default = CLIENT_DEFAULTS  # the library's own defaults and choices, declared once
    options = [
        click.option(
            _flag("base_url"), "base_url", envvar=FLAGS["base_url"].env, help="API base URL."
        ),
        click.option(
            _flag("region"),
            "region",
            type=click.Choice(REGION_NAMES),
            default=default["region"],
            show_default=True,
        ),
        click.option(_flag("project_id"), "project_id", help="Project to read jobs from."),
        click.option(
            _flag("concurrency"),
            "concurrency",
            type=click.IntRange(1, 256),
            default=default["concurrency"],
            show_default=True,
        ),
        click.option(
            _flag("max_requests_per_second"),
            "max_requests_per_second",
            type=click.FloatRange(min=0.001),
            help="Requests per second cap.",
        ),
        click.option(
            _flag("retries"),
            "retries",
            type=click.IntRange(0, 20),
            default=default["retries"],
            show_default=True,
        ),
        click.option(
            _flag("allow_insecure_http"),
            "allow_insecure_http",
            is_flag=True,
            help="Send the key over plain http to a host that is not this machine.",
        ),
        click.option(
            _flag("progress"),
            "progress",
            is_flag=True,
            flag_value=False,
            default=True,
            help="Hide the progress bar.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def list_filters(command: F) -> F:
    """The listing's filters (``ListFilters``), each under its flag from :data:`FLAGS`."""
    options = [
        click.option(
            _flag("status"),
            "status",
            multiple=True,
            type=click.Choice(STATUS_NAMES),
            help="Only jobs in this status (repeatable).",
        ),
        click.option(
            _flag("configuration_id"), "configuration_id", help="Only jobs of this configuration."
        ),
        click.option(
            _flag("created_after"),
            "created_after",
            help="Created on or after (ISO 8601 date or time).",
        ),
        click.option(
            _flag("created_before"),
            "created_before",
            help="Created on or before (ISO 8601 date or time).",
        ),
        click.option(
            _flag("limit"), "limit", type=click.IntRange(min=1), help="At most this many jobs."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filter_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """The filters given (``list_filters``), popped from the parsed options."""
    found = {name: options.pop(name) for name in sorted(LIST_FILTER_NAMES)}
    found["status"] = list(found["status"]) or None
    return {k: v for k, v in found.items() if v is not None}


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
    found: ClientOptions = {name: options.pop(name) for name in CLIENT_FLAGS}  # type: ignore[assignment, misc]
    return found


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


#: Advice in Python words from the part of the library whose messages do not yet name their
#: options as data (the audit), and the same advice in the command line's terms. Every other
#: message goes through :data:`FLAGS` and :data:`COMMANDS` instead.
_CLI_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(python), cli)
    for python, cli in (
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
    )
)


def cli_words(text: str) -> str:
    """``text`` (an audit message, finding or warning) with its Python advice in CLI terms.

    >>> cli_words("raise it (or budget=...)")
    'raise it (with --budget N)'
    """
    for python, cli in _CLI_WORDS:
        text = python.sub(cli, text)
    return text


def cli_name(part: Opt | Call) -> str:
    """An option or call named in a library message, in the command line's terms: an option
    as its flag (:data:`FLAGS`), a call as its command (:data:`COMMANDS`) with its options as
    flags, or nothing for a call the command line has no counterpart of."""
    if isinstance(part, Opt):
        found = FLAGS.get(part.name)
        return found.render(part) if found is not None else str(part)
    if part.function not in COMMANDS:
        return str(part)
    command = COMMANDS[part.function]
    if command is None:
        return ""
    flags = [cli_name(arg) for arg in part.args if isinstance(arg, Opt)]
    return f"`{' '.join([command, *flags])}`{part.does}"


def cli_message(error: ClassifyFramesError | ClassifyFramesWarning) -> str:
    """A library error or warning in the command line's terms: each option it names as its
    flag, each call as its command (:func:`cli_name`), and the command line's own advice where
    the library's would not fit."""
    told = [p for p in error.hint if isinstance(p, Opt) and not p.named_only]
    own = [CLI_HINTS[p.name] for p in told if p.name in CLI_HINTS]
    hint = own[0] if own else None
    if hint is None and getattr(error, "partial", None) is not None:
        hint = "nothing was written"  # a listing cut short
    return cli_words(error.words(cli_name, hint))


def friendly_errors(command: F) -> F:
    """Turn library errors into one-line messages in CLI terms and a non-zero exit, never a
    traceback; a reader that went away (``| head -1``) ends the command quietly."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                with warnings.catch_warnings():  # restores the interpreter's own on the way out
                    warnings.showwarning = _show_warning
                    return command(*args, **kwargs)
            finally:  # a reader gone shows here, not in the interpreter's last flush
                sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
        except ClassifyFramesError as exc:
            raise click.ClickException(cli_message(exc)) from None
        except (ValueError, OSError) as exc:
            raise click.ClickException(cli_words(str(exc))) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A library warning as one line in CLI terms: not Python's file, line and source."""
    click.secho(f"warning: {cli_warning(message)}", fg="yellow", err=True)


def cli_warning(message: Warning | str) -> str:
    """A library warning's text in the command line's terms."""
    if isinstance(message, ClassifyFramesWarning):
        return cli_message(message)
    return cli_words(str(message))


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
