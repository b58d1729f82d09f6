"""Docs are tests: README's commands and example, CI's use of them, every CLI command's help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from classify_frames.cli import _COMMANDS, main

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_readme_gives_the_demo_and_test_commands_first() -> None:
    demo, tests = (block.strip() for block in bash_blocks()[:2])
    assert "classify-frames demo" in demo and "venv" in demo
    assert "pytest" in tests and "venv" in tests


def test_ci_runs_readme_test_command_verbatim() -> None:
    test_command = bash_blocks()[1].strip()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


@pytest.mark.slow
def test_readme_python_example_runs() -> None:
    example = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
    exec(compile(example, "README.md", "exec"), {})


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_every_command_has_help(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert len(result.output.split("\n\n")[1].strip()) > 20  # a real description


def test_readme_documents_every_contract_column() -> None:
    from classify_frames._schema import KNOWN_COLUMNS, TAIL_COLUMNS

    for column in [*KNOWN_COLUMNS, *TAIL_COLUMNS]:
        short = column.rsplit(".", 1)[-1]
        assert f"`{column}`" in README or short in README, column
