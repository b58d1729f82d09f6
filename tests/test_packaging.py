"""The core install works without its extras: a cron job exporting from the service needs no
web server (uvicorn, httptools) and no plotting stack (matplotlib). Each check runs in a child
Python in which those packages cannot be imported, as in a venv without the extras."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from classify_frames.emulator import Emulator

ROOT = Path(__file__).parents[1]
EXTRAS_ONLY = ("uvicorn", "httptools", "matplotlib", "uvloop")

# Makes the extras' packages unimportable in the child, as if they were not installed.
_BLOCK = textwrap.dedent(
    f"""
    import importlib.abc, sys
    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {EXTRAS_ONLY!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, _NotInstalled())
    """
)


def _child(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_the_core_dependencies_leave_the_extras_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("[")[0].split("=")[0] for dep in project["dependencies"]}
    assert core.isdisjoint(EXTRAS_ONLY)
    assert {"pandas", "httpx", "ipywidgets", "pyarrow"} <= core  # the packages the user named


def test_a_cron_export_runs_without_the_extras(tmp_path: Path) -> None:
    with Emulator(jobs=300, seed=0) as emu:  # served by this process, which has the extras
        result = _child(
            f"""
            import sys
            from classify_frames.cli import main
            sys.argv = ["classify-frames", "export", "--status", "COMPLETED",
                        "--out", {str(tmp_path / "ds")!r}, "--base-url", {emu.base_url!r}]
            try:
                main()
            except SystemExit as exit:
                assert not exit.code, exit.code
            assert not any(m.split(".")[0] in {EXTRAS_ONLY!r} for m in sys.modules)
            """,
            env={"LLAMA_CLOUD_API_KEY": emu.api_key},
        )
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "ds").rglob("*.parquet"))


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("import classify_frames as cf; cf.Emulator(jobs=10)", "[emulator]"),
        ("from classify_frames.auditing import _plots", "[plots]"),
    ],
)
def test_a_missing_extra_says_how_to_install_it(code: str, extra: str) -> None:
    result = _child(code)
    assert result.returncode != 0
    assert f"pip install 'classify-frames{extra}'" in result.stderr
