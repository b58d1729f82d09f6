"""``classify-frames audit``: the confidence audit of a jobs file, in the terminal and as HTML."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import click
import pandas as pd

from .._atomic import atomic_path
from .._csv import read_text_csv
from ..auditing import Check, CheckError, CheckResult, evaluate, parse_check
from ._common import (
    cli_message,
    cli_name,
    cli_text,
    cli_warning,
    flag_option,
    friendly_errors,
    label_options,
)

__all__ = ["EXIT_CHECK_FAILED", "audit_command"]

_INPUTS = (".parquet", ".csv", ".jsonl", ".json")

#: Exit code when the audit ran but a --check failed (documented in README's "Gate a CI job").
EXIT_CHECK_FAILED = 5


def read_jobs(path: Path) -> pd.DataFrame:
    """A jobs frame from Parquet (a file or a dataset directory), CSV, JSON or JSON lines."""
    suffix = path.suffix.lower()
    if not path.exists():
        msg = f"no such file: {str(path)!r}"
        raise click.BadParameter(msg, param_hint="JOBS")
    if path.is_dir() or suffix == ".parquet":
        from ..parquet import read_parquet

        return read_parquet(path)
    if suffix == ".csv":
        try:
            return pd.read_csv(path)
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"cannot read {str(path)!r} as CSV: {exc}"
            raise click.BadParameter(msg, param_hint="JOBS") from None
    if suffix in (".jsonl", ".json"):
        from ..frame import jobs_to_frame

        try:
            return jobs_to_frame(path)
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"cannot read {str(path)!r} as JSON jobs: {exc}"
            raise click.BadParameter(msg, param_hint="JOBS") from None
    msg = f"JOBS must end in one of {', '.join(_INPUTS)} (or be a dataset directory)"
    raise click.BadParameter(msg, param_hint="JOBS")


def _echo_table(title: str, table: pd.DataFrame) -> None:
    click.secho(f"\n{title}", bold=True)
    if table.empty:
        click.echo("  (nothing to show)")
        return
    with pd.option_context(
        "display.width", 200, "display.max_columns", 14, "display.float_format", "{:.4g}".format
    ):
        click.echo(table.to_string())


def _parse_checks(bounds: Sequence[str], estimates: Sequence[str], labels: bool) -> list[Check]:
    checks = []
    for option, texts in (("--check", bounds), ("--check-estimate", estimates)):
        for text in texts:
            try:
                check = parse_check(text, estimate=option == "--check-estimate")
            except CheckError as exc:
                # the library's advice is a Python call; here it is this command's own flag
                hint = f"check its point estimate: --check-estimate {text!r}"
                told = exc.words(cli_name, hint if exc.option == "estimate" else None)
                raise click.BadParameter(told, param_hint=option) from None
            if check.needs_labels and not labels:
                msg = f"{text!r} needs --labels: {check.metric} is estimated from labels"
                raise click.BadParameter(msg, param_hint=option)
            checks.append(check)
    return checks


def _echo_checks(results: list[CheckResult]) -> None:
    click.secho("\nChecks", bold=True)
    if any(r.kind == "interval" for r in results):
        click.echo(
            "An estimate from labels passes only if its whole 95% interval does: >= and > "
            "compare the lower bound, <= and < the upper bound (--check-estimate compares the "
            "point estimate instead)."
        )
    for result in results:
        click.secho(str(result), fg="green" if result.passed else "red")
    failed = sum(not r.passed for r in results)
    if failed:
        click.secho(f"{failed} of {len(results)} checks failed.", fg="red", bold=True)
    else:
        click.secho(f"All {len(results)} checks passed.", fg="green", bold=True)


@click.command("audit")
@click.argument("jobs", type=click.Path(path_type=Path))
@label_options
@flag_option(
    "threshold",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Auto-accept threshold to assess.",
)
@flag_option(
    "target_accuracy",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.95,
    show_default=True,
    help="Accuracy a recommended threshold must reach (with labels).",
)
@flag_option(
    "delta",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Chance a certified threshold may miss the target accuracy (with labels).",
)
@click.option(
    "--queue",
    "queue_path",
    type=click.Path(path_type=Path),
    help="Write a stratified review queue (CSV) to label: the first step of the loop.",
)
@flag_option(
    "budget",
    type=click.IntRange(1),
    help="Labels in the --queue in total (Neyman allocation); default: --per-type per type.",
)
@click.option(
    "--per-type", type=click.IntRange(1), default=25, show_default=True, help="Queue size per type."
)
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path),
    help="With --labels: write the next queue, the labels needed to certify --target-accuracy.",
)
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the report here.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    help="Write the whole report as JSON (its schema: report.schema.json in the package).",
)
@click.option(
    "--check",
    "checks",
    multiple=True,
    metavar="METRIC OP VALUE",
    help=(
        "Fail (exit 5) unless it holds, e.g. 'accuracy>=0.9', 'ece<=0.05', 'failure_rate<2%', "
        "'accuracy[invoice]>=0.85'. Repeatable. An estimate from labels (accuracy, ece, "
        "ece_debiased, brier, auroc) is judged by its 95% interval: >= by the lower bound, <= "
        "by the upper bound. Exact figures (the summary's counts and shares, coverage) are "
        "compared as they are. A wrong name lists them all."
    ),
)
@click.option(
    "--check-estimate",
    "estimate_checks",
    multiple=True,
    metavar="METRIC OP VALUE",
    help="As --check, but compares the point estimate, not its interval (takes mce and aurc too).",
)
@friendly_errors
def audit_command(
    jobs: Path,
    labels: Path | None,
    label_col: str,
    join_on: str,
    threshold: float,
    target_accuracy: float,
    delta: float,
    queue_path: Path | None,
    budget: int | None,
    per_type: int,
    plan_path: Path | None,
    html_path: Path | None,
    json_path: Path | None,
    checks: tuple[str, ...],
    estimate_checks: tuple[str, ...],
) -> None:
    """Audit classification confidence of a jobs file (Parquet, CSV or JSON lines).

    Prints the findings in plain words and the headline tables (summary, per-type confidence
    and, with --labels, accuracy and certified thresholds); writes a self-contained HTML report
    with --html. The labelling loop: --queue queue.csv writes a stratified sample to label;
    label it, pass it back as --labels queue.csv (its design travels in its design.* columns);
    --plan more.csv writes the labels still needed, to add to the same file.
    Labels are a CSV or Parquet file with an id (or file_input) and a label column;
    "none" marks a document no rule describes.

    A CI job gates on --check (exit 0 when every check passes, 5 when one fails, 1 or 2 when
    the audit could not run) and keeps --json for dashboards.
    """
    from ..auditing import audit, report_json, terminal_tables, write_json

    asked = _parse_checks(checks, estimate_checks, labels is not None)
    outputs = (
        ("--html", html_path),
        ("--json", json_path),
        ("--queue", queue_path),
        ("--plan", plan_path),
    )
    for option, path in outputs:
        if path is not None and not path.parent.is_dir():
            msg = f"the directory of {str(path)!r} does not exist"
            raise click.BadParameter(msg, param_hint=option)
    for option, path in (("--queue", queue_path), ("--plan", plan_path)):
        if path is not None and (count := _labels_in(path, label_col)):
            msg = (
                f"{str(path)!r} holds {count:,} labels, which a new queue written there would "
                "lose: write it to another file (and pass both to --labels in turn)"
            )
            raise click.BadParameter(msg, param_hint=option)
    if plan_path is not None and labels is None:
        msg = "--plan needs --labels (the labels so far; a --queue file, filled in)"
        raise click.BadParameter(msg, param_hint="--plan")
    frame = read_jobs(jobs)
    written: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = audit(frame, labels, threshold=threshold, label_col=label_col, join_on=join_on)
        try:
            results = evaluate(report, asked)
        except CheckError as exc:  # a type the frame does not hold
            raise click.BadParameter(cli_message(exc), param_hint="--check") from None
        sections = terminal_tables(report, target_accuracy, delta)
        findings = report.findings(target_accuracy, delta=delta)
        if queue_path is not None:
            queue = report.review_queue(per_type, "stratified", budget=budget)
            _write_csv(queue, queue_path)
            written.append(f"review queue of {len(queue):,} jobs written to {queue_path}")
        if plan_path is not None:
            plan = report.plan_labels(target_accuracy=target_accuracy, delta=delta)
            _write_csv(plan, plan_path)
            summary = cli_text(plan.attrs["summary"])
            written.append(f"{summary} ({len(plan):,} jobs written to {plan_path})")
        if html_path is not None:
            report.to_html(html_path, target_accuracy=target_accuracy, delta=delta)
            written.append(f"report written to {html_path}")
        if json_path is not None:
            document = report_json(
                report,
                target_accuracy=target_accuracy,
                delta=delta,
                checks=results,
                names=cli_name,
            )
            write_json(document, json_path)
            written.append(f"JSON report written to {json_path}")
    for warning in caught:
        click.secho(f"warning: {cli_warning(warning.message)}", fg="yellow", err=True)
    click.echo(repr(report))
    for sentence in findings:
        click.echo(f"- {cli_text(sentence)}")
    for title, table in sections:
        _echo_table(title, table)
    for line in written:
        click.echo(f"\n{line}")
    if results:
        _echo_checks(results)
    if not all(r.passed for r in results):
        sys.exit(EXIT_CHECK_FAILED)


def _labels_in(path: Path, label_col: str) -> int:
    """How many labels a CSV at ``path`` holds (0 when there is no such file, or it is no CSV)."""
    try:
        table = read_text_csv(path, what="queue")[0]
    except (OSError, ValueError):
        return 0
    if label_col not in table.columns:
        return 0
    return int(table[label_col].str.strip().ne("").sum())


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A queue to label, written whole or not at all."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
