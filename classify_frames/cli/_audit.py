"""``classify-frames audit``: the confidence audit of a jobs file, in the terminal and as HTML."""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import pandas as pd

from ._common import friendly_errors

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
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the report here.")
@friendly_errors
def audit_command(
    jobs: Path,
    labels: Path | None,
    label_col: str,
    join_on: str,
    threshold: float,
    target_accuracy: float,
    html_path: Path | None,
) -> None:
    """Audit classification confidence of a jobs file (Parquet, CSV or JSON lines).

    Prints the headline tables (summary, per-type confidence and, with --labels, accuracy,
    calibration and recommended thresholds) and writes a self-contained HTML report with --html.
    Labels are a CSV or Parquet file with an id (or document_input_value) and a label column;
    "none" marks a document no rule describes.
    """
    from ..auditing import audit

    if html_path is not None and not html_path.parent.is_dir():
        msg = f"the directory of {str(html_path)!r} does not exist"
        raise click.BadParameter(msg, param_hint="--html")
    frame = read_jobs(jobs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = audit(frame, labels, threshold=threshold, label_col=label_col, join_on=join_on)
        by_type = report.by_type[[c for c in _BY_TYPE if c in report.by_type.columns]]
        sections = [("Summary", report.summary), ("By type", by_type)]
        if labels is not None:
            sections.append(("Recommended thresholds", report.recommend_threshold(target_accuracy)))
        if html_path is not None:
            report.to_html(html_path, target_accuracy=target_accuracy)
    for warning in caught:
        click.secho(f"warning: {warning.message}", fg="yellow", err=True)
    click.echo(repr(report))
    for title, table in sections:
        _echo_table(title, table)
    if html_path is not None:
        click.echo(f"\nreport written to {html_path}")
