"""What the CLI commands share: connection options, error translation, writing a frame."""

from __future__ import annotations

import functools
import os
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
from .._exceptions import Call, ClassifyFramesError, ClassifyFramesWarning, Opt, said
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
    "cli_text",
    "cli_warning",
    "client_kwargs",
    "client_options",
    "exit_for",
    "filter_kwargs",
    "flag_option",
    "friendly_errors",
    "label_options",
    "list_filters",
    "option_group",
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
    key is never a flag: it would show in ``ps``); neither, for an option the command line
    fixes (its review queue is always stratified), which it leaves unsaid."""

    flag: str | None = None
    env: str | None = None
    metavar: str | None = None

    def render(self, option: Opt) -> str:
        """``option`` (named in a library message) in the command line's terms."""
        if self.flag is None:
            if self.env is None:
                return ""
            return f"{self.env}=..." if option.value is ... else self.env
        if option.named_only:
            return f"{self.flag} (or {self.env})" if self.env else self.flag
        value = option.value
        if value is ... and self.metavar:
            return f"{self.flag} {self.metavar}"
        if value is True or value is ...:
            return self.flag
        return f"{self.flag} {option.plain}"


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
    "nested": Flag("--nested"),
    # experiments (reclassify, compare)
    "rules": Flag("--rules", metavar="FILE"),
    "before": Flag("BEFORE"),
    "after": Flag("AFTER"),
    # the audit
    "labels": Flag("--labels", metavar="FILE"),
    "label_col": Flag("--label-col"),
    "join_on": Flag("--join-on"),
    "threshold": Flag("--threshold"),
    "target_accuracy": Flag("--target-accuracy"),
    "delta": Flag("--delta"),
    "budget": Flag("--budget", metavar="N"),
    "strategy": Flag(),  # the command line's queue is always stratified
    "estimate": Flag("--check-estimate"),
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
    "audit": "classify-frames audit JOBS",
    "report.review_queue": "classify-frames audit JOBS --queue queue.csv",
    "report.plan_labels": "classify-frames audit JOBS --labels FILE --plan more.csv",
    "parse_check": None,  # the audit command says its own --check-estimate
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


def flag_option(name: str, **attrs: Any) -> Callable[[F], F]:
    """The click option of the library's option ``name``: its flag (and the environment
    variable it falls back on) from :data:`FLAGS`, and the parameter named as the library's."""
    found = FLAGS[name]
    if found.flag is None:  # pragma: no cover - a table entry the commands do not offer
        msg = f"{name} has no flag"
        raise KeyError(msg)
    return click.option(found.flag, name, envvar=found.env, **attrs)


def option_group(*made: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options as one decorator, shown in the order given."""

    def apply(command: F) -> F:
        for option in reversed(made):
            command = option(command)
        return command

    return apply


def _with_default(name: str, **attrs: Any) -> Callable[[F], F]:
    """:func:`flag_option` with the client's own default, shown in ``--help``."""
    return flag_option(name, default=CLIENT_DEFAULTS[name], show_default=True, **attrs)


#: Options naming the service and how hard to push it (the key comes from the environment),
#: with the library's own defaults and choices, declared once.
client_options = option_group(
    flag_option("base_url", help="API base URL."),
    _with_default("region", type=click.Choice(REGION_NAMES)),
    flag_option("project_id", help="Project to read jobs from."),
    _with_default("concurrency", type=click.IntRange(1, 256)),
    flag_option(
        "max_requests_per_second", type=click.FloatRange(min=0.001), help="Requests per second cap."
    ),
    _with_default("retries", type=click.IntRange(0, 20)),
    flag_option(
        "allow_insecure_http",
        is_flag=True,
        help="Send the key over plain http to a host that is not this machine.",
    ),
    flag_option(
        "progress", is_flag=True, flag_value=False, default=True, help="Hide the progress bar."
    ),
)

#: The listing's filters (``ListFilters``).
list_filters = option_group(
    flag_option(
        "status",
        multiple=True,
        type=click.Choice(STATUS_NAMES),
        help="Only jobs in this status (repeatable).",
    ),
    flag_option("configuration_id", help="Only jobs of this configuration."),
    flag_option("created_after", help="Created on or after (ISO 8601 date or time)."),
    flag_option("created_before", help="Created on or before (ISO 8601 date or time)."),
    flag_option("limit", type=click.IntRange(min=1), help="At most this many jobs."),
)

#: Ground truth for the audit and compare: the file, its label column and the join key.
label_options = option_group(
    flag_option("labels", type=click.Path(path_type=Path), help="Ground truth (CSV or Parquet)."),
    flag_option("label_col", default="label", show_default=True, help="Column of the labels."),
    flag_option(
        "join_on",
        type=click.Choice(["id", "file_input", "document_input_value"]),
        default="id",
        show_default=True,
        help="Key joining the labels to the jobs.",
    ),
)


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
    return f"`{' '.join([command, *filter(None, flags)])}`{part.does}"


def cli_text(text: str) -> str:
    """A library sentence (an audit's finding, a plan's summary) in the command line's terms:
    a :class:`Sentence` names its options and calls as data; other text has none to name."""
    return said(text, cli_name)


def cli_message(error: ClassifyFramesError | ClassifyFramesWarning) -> str:
    """A library error or warning in the command line's terms: each option it names as its
    flag, each call as its command (:func:`cli_name`), and the command line's own advice where
    the library's would not fit."""
    told = [p for p in error.hint if isinstance(p, Opt) and not p.named_only]
    own = [CLI_HINTS[p.name] for p in told if p.name in CLI_HINTS]
    hint = own[0] if own else None
    if hint is None and getattr(error, "partial", None) is not None:
        hint = "nothing was written"  # a listing cut short
    return error.words(cli_name, hint)


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
            raise click.ClickException(str(exc)) from None
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
    return str(message)


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
