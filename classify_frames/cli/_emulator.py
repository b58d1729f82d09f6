"""``classify-frames emulator``: serve the local Classify API emulator until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from .._atomic import atomic_path
from ._common import friendly_errors

__all__ = ["emulator_command"]


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0 = any."
)
@click.option("--jobs", type=click.IntRange(0, 5_000_000), default=10_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same jobs.")
@click.option(
    "--schema",
    type=click.Choice(["seed", "current", "mixed"]),
    default="current",
    show_default=True,
    help="seed: the reference page's fields; current: file_input, usage, CANCELLED; mixed: both.",
)
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0, help="Added latency.")
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0, help="Share of 5xx answers.")
@click.option(
    "--rate-limit", type=click.FloatRange(min=0.001), help="Requests per second before 429."
)
@click.option("--api-key", help="Key clients must send (default: a new random llx-emu-... key).")
@click.option(
    "--labels-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the hidden ground-truth labels to this CSV file.",
)
@friendly_errors
def emulator_command(
    host: str,
    port: int,
    jobs: int,
    seed: int,
    schema: str,
    latency_ms: float,
    fail_rate: float,
    rate_limit: float | None,
    api_key: str | None,
    labels_out: Path | None,
) -> None:
    """Serve a local emulator of the Classify API with synthetic jobs, until Ctrl-C.

    Prints the base URL and the key to use, e.g.
    LLAMA_CLOUD_BASE_URL=http://127.0.0.1:8000 LLAMA_CLOUD_API_KEY=llx-emu-...
    classify-frames list --out jobs.parquet
    """
    from ..emulator import Emulator

    emu = Emulator(
        jobs=jobs,
        seed=seed,
        schema=schema,  # type: ignore[arg-type]  # click.Choice checked it
        api_key=api_key,
        host=host,
        port=port,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        rate_limit=rate_limit,
    )
    if labels_out is not None:
        with atomic_path(labels_out) as tmp:
            emu.labels().to_csv(tmp, index=False)
        click.echo(f"wrote {jobs:,} ground-truth labels to {labels_out}")
    with emu:
        click.echo(f"serving {jobs:,} jobs (seed {seed}, {schema} schema) at {emu.base_url}")
        click.echo(f"LLAMA_CLOUD_BASE_URL={emu.base_url}")
        click.echo(f"LLAMA_CLOUD_API_KEY={emu.api_key}")  # the emulator's own key, made to share
        click.echo("press Ctrl-C to stop")
        previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it cleanly too
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
