"""The code stays ruff- and mypy-clean, and the public API stays small and sorted."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import classify_frames

ROOT = Path(__file__).parents[1]


def test_public_api_is_sorted_and_each_name_is_ours() -> None:
    names = classify_frames.__all__
    assert names == sorted(names)
    assert dir(classify_frames) == names
    lazy: dict[str, str] = classify_frames._LAZY  # type: ignore[attr-defined]
    assert set(lazy) <= set(names), "a lazy name missing from __all__"
    for name in names:
        value = getattr(classify_frames, name)
        if name == "__version__":
            assert isinstance(value, str) and value
            continue
        module = importlib.import_module(f"classify_frames.{lazy[name]}") if name in lazy else None
        assert module is None or value is getattr(module, name), name  # lazy: the real object
        assert getattr(value, "__module__", "").startswith("classify_frames."), name
        assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_importing_the_package_stays_light() -> None:
    """``import classify_frames`` must not pull in the server, widgets or plots."""
    heavy = ["classify_frames.emulator", "classify_frames.explorer", "ipywidgets",
             "matplotlib", "uvicorn"]  # fmt: skip
    code = f"import sys, classify_frames; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_ruff_is_clean() -> None:
    """``ruff check .``, README's lint command, over everything: the notebooks included."""
    ruff = [sys.executable, "-m", "ruff", "check"]
    shown = subprocess.run([*ruff, "--show-files", "."], cwd=ROOT, capture_output=True, text=True)
    notebooks = sorted(ROOT.glob("notebooks/*.ipynb"))
    assert notebooks, "no notebooks found"
    unchecked = [n.name for n in notebooks if str(n.resolve()) not in shown.stdout]
    assert not unchecked, f"ruff does not check {unchecked}"
    result = subprocess.run([*ruff, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
