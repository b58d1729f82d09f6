"""``classify-frames fetch``, ``list`` and ``demo``."""

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
    exit_for,
    filter_kwargs,
    friendly_errors,
    list_filters,
    out_option,
    read_ids,
    write_frame,
)

__all__ = ["demo_command", "fetch_command", "list_command", "summary_text"]


@click.command("fetch")
@click.argument("ids_file", default="-")
@out_option
@click.option("--strict", is_flag=True, help="Fail (exit 1) if any job could not be fetched.")
@click.option("--wait", is_flag=True, help="Wait for PENDING/RUNNING jobs to finish.")
@click.option("--per-id", is_flag=True, help="GET each job instead of batching through job_ids.")
@click.option("--credits", is_flag=True, help="Ask for each job's credits (expand=usage).")
@client_options
@friendly_errors
def fetch_command(
    ids_file: str,
    out: Path,
    strict: bool,
    wait: bool,
    per_id: bool,
    credits: bool,
    **options: Any,
) -> None:
    """Fetch the jobs whose ids are in IDS_FILE (one a line, or a CSV with an id column; - reads
    standard input) and write them to --out.

    Exit status: 0 every job fetched; 1 an error (nothing written); 2 a usage error; 3 the
    file was written but some jobs could not be fetched; 4 it was written but none could.
    """
    from ..client import ClassifyClient

    check_output(out)
    ids = read_ids(ids_file)
    started = time.perf_counter()
    with ClassifyClient(**client_kwargs(options)) as client:
        frame = client.fetch_jobs(ids, strict=strict, wait=wait, per_id=per_id, credits=credits)
        stats = client.stats()
    write_frame(frame, out)
    failed = int(frame["fetch_error"].notna().sum())
    click.echo(
        f"wrote {len(frame):,} jobs to {out} ({failed:,} could not be fetched; "
        f"{stats['requests']:,} requests, {time.perf_counter() - started:.1f} s)"
    )
    exit_for(frame)


@click.command("list")
@list_filters
@click.option("--credits", is_flag=True, help="Ask for each job's credits (expand=usage).")
@out_option
@client_options
@friendly_errors
def list_command(out: Path, credits: bool, **options: Any) -> None:
    """List the jobs matching the filters and write them to --out."""
    from ..client import ClassifyClient

    check_output(out)
    filters = filter_kwargs(options)
    with ClassifyClient(**client_kwargs(options)) as client:
        frame = client.list_jobs(**filters, credits=credits)
    write_frame(frame, out)
    click.echo(f"wrote {len(frame):,} jobs to {out}")


@click.command("demo")
@click.option(
    "--jobs",
    "n_jobs",
    type=click.IntRange(1, 2_000_000),
    default=10_000,
    show_default=True,
    help="Jobs to fetch from the emulator.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=20,
    show_default=True,
    help="Emulated server latency.",
)
@click.option(
    "--out", "out", type=click.Path(path_type=Path), default=Path("jobs.parquet"), show_default=True
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@friendly_errors
def demo_command(n_jobs: int, seed: int, latency_ms: float, out: Path, no_progress: bool) -> None:
    """Start the embedded emulator, fetch every job by id, write --out and print a summary."""
    from ..client import ClassifyClient
    from ..emulator import Emulator

    check_output(out)
    with Emulator(jobs=n_jobs, seed=seed, latency_ms=latency_ms) as emu:
        click.echo(f"emulator serving {n_jobs:,} jobs at {emu.base_url}")
        ids = list(emu.dataset.ids)
        started = time.perf_counter()
        with ClassifyClient(
            base_url=emu.base_url, api_key=emu.api_key, progress=not no_progress
        ) as client:
            frame = client.fetch_jobs(ids)
            stats = client.stats()
        seconds = time.perf_counter() - started
    write_frame(frame, out)
    click.echo(summary_text(frame, stats, seconds))
    click.echo(f"wrote {out}")
    exit_for(frame)


def summary_text(frame: pd.DataFrame, stats: dict[str, Any], seconds: float) -> str:
    """A few lines saying what was fetched: counts, confidence quantiles, requests, time."""
    by_status = frame["status"].value_counts(dropna=False)
    # "no match": a completed job no rule matched, as the explorer and the audit name it
    by_type = frame["result.type"].fillna("no match").where(frame["status"] == "COMPLETED")
    types = by_type.value_counts().head(10)
    quantiles = frame["result.confidence"].quantile([0.1, 0.25, 0.5, 0.75, 0.9])
    failed = int(frame["fetch_error"].notna().sum())
    lines = [
        f"{len(frame):,} jobs in {seconds:.2f} s ({len(frame) / max(seconds, 1e-9):,.0f} jobs/s), "
        f"{stats['requests']:,} requests, {stats['retries']:,} retries, "
        f"{failed:,} not fetched",
        "by status:  " + ", ".join(f"{k} {v:,}" for k, v in by_status.items() if v),
        "completed by type: " + ", ".join(f"{k} {v:,}" for k, v in types.items()),
        "confidence: "
        + ", ".join(f"p{p} {v:.2f}" for p, v in zip((10, 25, 50, 75, 90), quantiles, strict=True)),
    ]
    return "\n".join(lines)
