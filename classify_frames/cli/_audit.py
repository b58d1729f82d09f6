"""``classify-frames audit``: the confidence audit of a jobs file, in the terminal and as HTML."""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import pandas as pd

from .._atomic import atomic_path
from .._csv import read_text_csv
from ._common import cli_words, friendly_errors

__all__ = ["audit_command"]

_INPUTS = (".parquet", ".csv", ".jsonl", ".json")
# The per-type columns that fit a terminal; the HTML report has them all.
_BY_TYPE = [
    "count",
    "share",
    "confidence_mean",
    "below_threshold",
    "precision",
    "recall",
    "f1",
    "support",
    "accuracy",
    "accuracy_lo",
    "accuracy_hi",
    "ece",
    "label_gap",
    "overconfident",
]


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
            msg = f"cannot read {str(path)!r} as JSON jobs: {cli_words(str(exc))}"
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


@click.command("audit")
@click.argument("jobs", type=click.Path(path_type=Path))
@click.option("--labels", type=click.Path(path_type=Path), help="Ground truth (CSV or Parquet).")
@click.option("--label-col", default="label", show_default=True, help="Column of the labels.")
@click.option(
    "--join-on",
    type=click.Choice(["id", "document_input_value"]),
    default="id",
    show_default=True,
    help="Key joining labels to jobs.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Auto-accept threshold to assess.",
)
@click.option(
    "--target-accuracy",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.95,
    show_default=True,
    help="Accuracy a recommended threshold must reach (with labels).",
)
@click.option(
    "--delta",
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
@click.option(
    "--budget",
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
) -> None:
    """Audit classification confidence of a jobs file (Parquet, CSV or JSON lines).

    Prints the findings in plain words and the headline tables (summary, per-type confidence
    and, with --labels, accuracy and certified thresholds); writes a self-contained HTML report
    with --html. The labelling loop: --queue queue.csv writes a stratified sample to label;
    label it, pass it back as --labels queue.csv (its design travels in its design.* columns);
    --plan more.csv writes the labels still needed, to add to the same file.
    Labels are a CSV or Parquet file with an id (or document_input_value) and a label column;
    "none" marks a document no rule describes.
    """
    from ..auditing import audit

    for option, path in (("--html", html_path), ("--queue", queue_path), ("--plan", plan_path)):
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
        by_type = report.by_type[[c for c in _BY_TYPE if c in report.by_type.columns]]
        sections = [("Summary", report.summary), ("By type", by_type)]
        if labels is not None:
            certified = report.recommend_threshold(target_accuracy, delta=delta)
            sections.append(("Recommended thresholds (certified)", certified))
        findings = report.findings(target_accuracy, delta=delta)
        if queue_path is not None:
            queue = report.review_queue(per_type, "stratified", budget=budget)
            _write_csv(queue, queue_path)
            written.append(f"review queue of {len(queue):,} jobs written to {queue_path}")
        if plan_path is not None:
            plan = report.plan_labels(target_accuracy=target_accuracy, delta=delta)
            _write_csv(plan, plan_path)
            summary = cli_words(plan.attrs["summary"])
            written.append(f"{summary} ({len(plan):,} jobs written to {plan_path})")
        if html_path is not None:
            report.to_html(html_path, target_accuracy=target_accuracy, delta=delta)
            written.append(f"report written to {html_path}")
    for warning in caught:
        click.secho(f"warning: {cli_words(str(warning.message))}", fg="yellow", err=True)
    click.echo(repr(report))
    for sentence in findings:
        click.echo(f"- {cli_words(sentence)}")
    for title, table in sections:
        _echo_table(title, table)
    for line in written:
        click.echo(f"\n{line}")


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
