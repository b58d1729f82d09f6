"""``classify-frames compare``: two classifications of the same documents, side by side."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from .._atomic import atomic_path
from ._common import friendly_errors, label_options
from ._reclassify import read_jobs

__all__ = ["compare_command"]


def _frame(source: str, hint: str) -> pd.DataFrame:
    frame = read_jobs(source, hint)
    if not isinstance(frame, pd.DataFrame):
        msg = f"{source!r} is not a jobs file: give a .parquet, .jsonl or .csv of jobs"
        raise click.BadParameter(msg, param_hint=hint)
    return frame


@click.command("compare")
@click.argument("before")
@click.argument("after")
@label_options
@click.option("--html", type=click.Path(path_type=Path), help="Also write the comparison as HTML.")
@friendly_errors
def compare_command(
    before: str,
    after: str,
    labels: Path | None,
    label_col: str,
    join_on: str,
    html: Path | None,
) -> None:
    """Compare BEFORE (the original jobs) with AFTER (what reclassify wrote): agreement, flips
    and per-type changes; with --labels, both accuracies, their paired difference with a 95%
    interval, McNemar's exact test and the change in calibration."""
    from ..auditing import compare

    result = compare(
        _frame(before, "BEFORE"),
        _frame(after, "AFTER"),
        labels=labels,
        label_col=label_col,
        join_on=join_on,
    )
    for line in result.findings:
        click.echo(line)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        click.echo("\nPer type:\n" + result.by_type.to_string(float_format="{:.2f}".format))
    if html is not None:
        with atomic_path(html) as tmp:
            tmp.write_text(
                "<!doctype html><meta charset='utf-8'>" + result.to_html_section(),
                encoding="utf-8",
            )
        click.echo(f"\nwrote {html}")
