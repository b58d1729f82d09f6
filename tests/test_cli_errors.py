"""Errors carry data: the option at fault and the options a message names, so the command line
shows its own flags from one table (``cli._common.FLAGS``) instead of rewriting sentences."""

from __future__ import annotations

from typing import Any, get_args

import click
import pytest

import classify_frames as cf
from classify_frames._exceptions import Opt
from classify_frames.cli._common import CLIENT_FLAGS, FLAGS, cli_message
from classify_frames.cli._export import export_command
from classify_frames.cli._fetch import list_command
from classify_frames.client import (
    LIST_FILTER_NAMES,
    STATUS_NAMES,
    ClientOptions,
    ListFilters,
    Settings,
    Status,
)
from classify_frames.frame._schema import STATUSES

REMOTE = "https://api.cloud.llamaindex.ai"


def _refusal(**options: Any) -> cf.ClassifyFramesError:
    with pytest.raises(cf.ClassifyFramesError) as caught:
        Settings(**{"api_key": "k", "base_url": REMOTE, **options})
    return caught.value


@pytest.mark.parametrize(
    ("options", "option", "library", "cli"),
    [
        ({"max_requests_per_second": -1}, "max_requests_per_second",
         "max_requests_per_second must be positive", "--max-rps must be positive"),
        ({"concurrency": 0}, "concurrency", "concurrency must be", "--concurrency must be"),
        ({"base_url": "http://api.example.com"}, "base_url",
         "pass allow_insecure_http=True", "pass --allow-insecure-http"),
        ({"base_url": f"{REMOTE}/api/v2"}, "base_url", "base_url is the host only",
         "--base-url (or LLAMA_CLOUD_BASE_URL) is the host only"),
        ({"proxy": "ftp://proxy:21"}, "proxy", "proxy must be", "HTTPS_PROXY must be"),
        ({"api_key": "", "base_url": REMOTE}, "api_key", "pass api_key=...",
         "set LLAMA_CLOUD_API_KEY in the environment"),
    ],
)  # fmt: skip
def test_an_options_error_names_it_as_data_and_the_cli_shows_its_flag(
    options: dict[str, Any], option: str, library: str, cli: str
) -> None:
    if options.get("api_key") == "":
        error: cf.ClassifyFramesError
        with pytest.raises(cf.ConfigurationError) as caught:
            Settings(api_key="", base_url=REMOTE).require_key()
        error = caught.value
    else:
        error = _refusal(**options)
    assert error.option == option
    assert library in str(error)
    assert cli in cli_message(error)
    assert "--" not in str(error) and "CLI" not in str(error)  # no CLI words in the library


def test_a_listing_error_names_the_option_to_change() -> None:
    error = cf.RateLimitError(
        ["listing jobs failed (lower ", Opt("max_requests_per_second", 20 / 60), ")"],
        option="max_requests_per_second",
        hint="the jobs listed so far are in this error's .partial",
    )
    assert "max_requests_per_second=0.33" in str(error)
    error.partial = object()
    assert cli_message(error) == "listing jobs failed (lower --max-rps 0.33); nothing was written"


def test_one_table_maps_every_option_the_cli_offers() -> None:
    client = set(ClientOptions.__optional_keys__)
    assert set(CLIENT_FLAGS) <= client and set(CLIENT_FLAGS) <= set(FLAGS)
    assert (
        set(ListFilters.__optional_keys__) == LIST_FILTER_NAMES and set(FLAGS) >= LIST_FILTER_NAMES
    )
    assert set(FLAGS) <= client | LIST_FILTER_NAMES
    for command in (list_command, export_command):
        names = {p.name for p in command.params}
        assert set(CLIENT_FLAGS) | LIST_FILTER_NAMES <= names
        flags = {p.opts[0]: p.name for p in command.params if isinstance(p, click.Option)}
        for name in set(CLIENT_FLAGS) | LIST_FILTER_NAMES:
            assert flags[str(FLAGS[name].flag)] == name


def test_statuses_are_declared_once_and_the_cli_offers_those() -> None:
    assert STATUS_NAMES == get_args(Status) == STATUSES
    for command in (list_command, export_command):
        status = next(p for p in command.params if p.name == "status")
        assert isinstance(status.type, click.Choice)
        assert tuple(status.type.choices) == STATUS_NAMES


def test_the_command_line_shows_retries_in_its_bar_not_as_stamina_warnings(
    tmp_path: Any,
) -> None:
    """The library leaves stamina's logger alone; the CLI, an application, keeps its per-retry
    warnings off stderr (Python's last-resort handler would print each one)."""
    import os
    import subprocess
    import sys

    from classify_frames.emulator import Emulator

    with Emulator(jobs=50, fail_rate=0.3, fail_statuses=(503,), seed=1) as emu:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(emu.dataset.ids[:12]))
        env = {**os.environ, "LLAMA_CLOUD_API_KEY": emu.api_key}
        done = subprocess.run(
            [sys.executable, "-c", "from classify_frames.cli import main; main()", "fetch",
             str(ids), "--out", str(tmp_path / "out.csv"), "--base-url", emu.base_url,
             "--per-id", "--no-progress"],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        assert emu.counters()["by_status"].get("503", 0) > 0  # retries happened
    assert "retry_scheduled" not in done.stderr, done.stderr
    assert "wrote 12 jobs" in done.stdout, done.stdout + done.stderr
