"""The code stays ruff- and mypy-clean, and the public API stays small and sorted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import classify_frames

ROOT = Path(__file__).parents[1]


def test_public_api_is_sorted_and_importable() -> None:
    names = classify_frames.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(classify_frames, name) is not None


@pytest.mark.slow
def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "classify_frames", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
