"""``classify-frames export`` and ``sync``: partitioned Parquet datasets from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ._common import (
    client_kwargs,
    client_options,
    filter_kwargs,
    friendly_errors,
    list_filters,
    read_ids,
)

__all__ = ["export_command", "sync_command"]

F = TypeVar("F", bound=Callable[..., Any])


def _selection(command: F) -> F:
    """Options choosing the jobs: an ids file, or the listing's filters."""
    options = [
        click.argument("ids_file", required=False),
        list_filters,
        click.option(
            "--lock-timeout",
            type=click.FloatRange(min=0),
            default=0,
            show_default=True,
            help="Seconds to wait for another export/sync of the same directory.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _jobs(options: dict[str, Any]) -> tuple[list[str] | None, dict[str, Any]]:
    """The ids (from IDS_FILE) or the list filters, popped from the parsed options."""
    ids_file = options.pop("ids_file")
    filters = filter_kwargs(options)
    if ids_file is None:
        return None, filters
    if filters:
        msg = f"give IDS_FILE or filters ({', '.join(sorted(filters))}), not both"
        raise click.UsageError(msg)
    return read_ids(ids_file), {}


@click.command("export")
@_selection
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Dataset directory to create (hive-partitioned Parquet).",
)
@click.option(
    "--partition-by",
    default="created_month",
    show_default=True,
    help="Comma-separated partition columns, e.g. created_month,status.",
)
@click.option("--nested", is_flag=True, help="Keep configuration/result/usage as struct columns.")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in --out.")
@client_options
@friendly_errors
def export_command(
    out: Path, partition_by: str, nested: bool, overwrite: bool, lock_timeout: float, **options: Any
) -> None:
    """Export jobs to a partitioned Parquet dataset in --out: the ids in IDS_FILE (one a line, a
    CSV with an id column, or - for standard input), or every job matching the filters.

    Jobs are written as they arrive, so memory stays flat however many there are; the dataset
    appears in --out only once complete. Keep it current with `classify-frames sync DIR`.
    """
    from ..parquet import export_jobs

    ids, filters = _jobs(options)
    summary = export_jobs(
        ids,
        path=out,
        partition_by=tuple(p.strip() for p in partition_by.split(",") if p.strip()),
        nested=nested,
        overwrite=overwrite,
        lock_timeout=lock_timeout,
        **filters,
        **client_kwargs(options),
    )
    click.echo(str(summary))


@click.command("sync")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@_selection
@click.option(
    "--repair",
    is_flag=True,
    help=(
        "Check every page of every data file, drop the damaged ones and fetch their jobs "
        "again; rebuild a lost or damaged manifest from the data files."
    ),
)
@click.option(
    "--full",
    is_flag=True,
    help="List every job the filters match, not only those created since the newest stored.",
)
@client_options
@friendly_errors
def sync_command(
    directory: Path, lock_timeout: float, repair: bool, full: bool, **options: Any
) -> None:
    """Bring the dataset in DIRECTORY up to date, fetching only jobs that are new or not final.

    With no IDS_FILE and no filters it repeats the selection the dataset was made with. Jobs
    already COMPLETED, FAILED or CANCELLED are never fetched again. A listing asks only for jobs
    created since the newest stored one (less 10 minutes), and for the stored jobs not final by
    id: an unchanged dataset costs a request or two; --full lists everything again. An
    interrupted sync leaves the dataset as it was; the next one completes it. A damaged data
    file stops the sync with its name; --repair drops it and fetches its jobs again. A
    DIRECTORY that does not exist is created as a new dataset of every matching job, as export
    would (check its spelling).
    """
    from ..parquet import sync_parquet

    ids, filters = _jobs(options)
    summary = sync_parquet(
        directory,
        ids,
        lock_timeout=lock_timeout,
        repair=repair,
        full=full,
        **filters,
        **client_kwargs(options),
    )
    click.echo(str(summary))
