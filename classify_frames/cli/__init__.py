"""The ``classify-frames`` command: each subcommand parses options and calls the library.

Subcommands live in their own modules and are imported only when invoked, so ``--help`` is fast.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

__all__ = ["command", "main"]

_COMMANDS = {
    "audit": ("._audit", "audit_command", "Audit classification confidence of a jobs file."),
    "compare": ("._compare", "compare_command", "Compare jobs before and after new rules."),
    "demo": ("._fetch", "demo_command", "Run the main job end to end on the embedded emulator."),
    "emulator": ("._emulator", "emulator_command", "Serve a local emulator of the Classify API."),
    "export": ("._export", "export_command", "Export jobs to a partitioned Parquet dataset."),
    "fetch": ("._fetch", "fetch_command", "Fetch jobs by id into Parquet, CSV or JSON lines."),
    "list": ("._fetch", "list_command", "List jobs by filter into Parquet, CSV or JSON lines."),
    "reclassify": ("._reclassify", "reclassify_command", "Re-run jobs under new rules."),
    "sync": (
        "._export",
        "sync_command",
        "Bring a Parquet dataset up to date, fetching only changes.",
    ),
}


def command(name: str) -> click.Command:
    """The subcommand ``name`` (``command("emulator")``), its module imported only now; for
    other entry points such as ``python -m classify_frames.emulator``."""
    module, attr, _ = _COMMANDS[name]
    found: click.Command = getattr(importlib.import_module(module, __name__), attr)
    return found


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return command(cmd_name) if cmd_name in _COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, _, short) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="classify-frames")
def main(**_: Any) -> None:
    """Fetch, explore, export and audit LlamaCloud Classify jobs as typed DataFrames.

    The API key comes from LLAMA_CLOUD_API_KEY (never from the command line, where it would be
    visible to other users); the base URL from --base-url or LLAMA_CLOUD_BASE_URL.
    """
    # The command line is an application, so it may set logging up (the library never does):
    # retries show in its progress bars and counts, not as stamina's warnings on stderr.
    retries = logging.getLogger("stamina")
    if not any(isinstance(h, logging.NullHandler) for h in retries.handlers):
        retries.addHandler(logging.NullHandler())
