"""``classify-frames reclassify``: re-run jobs under new rules, idempotently."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import pandas as pd

from ._common import (
    check_output,
    client_kwargs,
    client_options,
    friendly_errors,
    out_option,
    read_ids,
    write_frame,
)

__all__ = ["read_jobs", "reclassify_command"]

_FRAME_SUFFIXES = (".parquet", ".jsonl")


def read_jobs(source: str, hint: str) -> pd.DataFrame | list[str]:
    """A frame of jobs from .parquet/.jsonl (or a .csv with ``file_input``), else
    job ids (one a line, a CSV with an id column, or - for standard input)."""
    path = Path(source)
    suffix = path.suffix.lower()
    if source != "-" and not path.exists():
        msg = f"no such file: {source!r}"
        raise click.BadParameter(msg, param_hint=hint)
    if suffix == ".parquet":
        from ..parquet import read_parquet

        return read_parquet(path)
    if suffix == ".jsonl":
        from ..frame import jobs_to_frame

        return jobs_to_frame(str(path))
    if suffix == ".csv":
        header = pd.read_csv(path, nrows=0).columns
        if "file_input" in header or "document_input_value" in header:
            return pd.read_csv(path, dtype=str, keep_default_na=False).replace({"": None})
    return read_ids(source)


@click.command("reclassify")
@click.argument("jobs")
@click.option("--rules", "rules_file", type=click.Path(path_type=Path), help="Rules JSON file.")
@click.option("--configuration-id", help="Use this saved configuration instead of --rules.")
@click.option("--experiment", required=True, help="Name of the experiment (keys the new jobs).")
@click.option("--sample", type=click.IntRange(min=1), help="Re-run a random sample of N jobs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0.001),
    default=40.0,
    show_default=True,
    help="Creations per second (free tier: 0.333).",
)
@click.option("--no-wait", is_flag=True, help="Do not wait for the new jobs to finish.")
@click.option("--dry-run", is_flag=True, help="Say how many jobs and credits; send nothing.")
@click.option("--legacy-inputs", is_flag=True, help="Send file_id bodies (older servers).")
@out_option
@client_options
@friendly_errors
def reclassify_command(
    jobs: str,
    rules_file: Path | None,
    configuration_id: str | None,
    experiment: str,
    sample: int | None,
    seed: int,
    rate: float,
    no_wait: bool,
    dry_run: bool,
    legacy_inputs: bool,
    out: Path,
    **options: Any,
) -> None:
    """Re-run the jobs of JOBS (a .parquet/.jsonl/.csv jobs file, or a file of ids) on the same
    inputs under --rules, and write the new jobs to --out (one row per job, with source_id).

    Running the same command again creates nothing new: it returns the jobs of the first run
    (also after a crash or Ctrl-C, when it creates only the rest).
    """
    from ..client import ClassifyClient
    from ..experiments import read_rules, reclassify

    check_output(out)
    if (rules_file is None) == (configuration_id is None):
        msg = "give --rules FILE or --configuration-id ID"
        raise click.UsageError(msg)
    rules = read_rules(rules_file) if rules_file is not None else None
    kwargs = client_kwargs(options)
    show = kwargs.get("progress") is not False
    started = time.perf_counter()
    with ClassifyClient(**kwargs) as client:
        source = read_jobs(jobs, "JOBS")
        frame = source if isinstance(source, pd.DataFrame) else client.fetch_jobs(source)
        if sample is not None and sample < len(frame):
            frame = frame.sample(sample, random_state=seed).sort_index()
        common: dict[str, Any] = {
            "experiment": experiment, "rules": rules, "configuration_id": configuration_id,
            "rate": rate, "progress": show, "client": client,
            "input_style": "legacy" if legacy_inputs else "file_input",
        }  # fmt: skip
        if dry_run:
            click.echo(str(reclassify(frame, dry_run=True, **common)))
            return
        after = reclassify(frame, wait=not no_wait, **common)
        stats = client.stats()
    write_frame(after, out)
    failed = int(after["fetch_error"].notna().sum())
    seconds = time.perf_counter() - started
    click.echo(
        f"wrote {len(after):,} jobs of experiment {experiment!r} to {out} ({failed:,} could not "
        f"be created; {stats['requests']:,} requests, {seconds:.1f} s)"
    )
