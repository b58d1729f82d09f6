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


def contract_table(readme: str) -> set[str]:
    """The columns named in the first cells of README's column-contract table.

    ``a.b.c` / `.d``` in one cell names ``a.b.c`` and ``a.b.d``.
    """
    section = readme.split("## The column contract", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for first_cell in re.findall(r"^\| (.+?) \|", section, flags=re.M):
        parent = ""
        for name in re.findall(r"`([^`]+)`", first_cell):
            if name.startswith(".") and parent:
                names.add(parent + name)
            else:
                names.add(name)
                parent = name.rsplit(".", 1)[0]
    return names


def test_readme_documents_every_contract_column_and_no_other() -> None:
    from classify_frames._schema import KNOWN_COLUMNS, TAIL_COLUMNS

    assert contract_table(README) == {*KNOWN_COLUMNS, *TAIL_COLUMNS}


def test_a_column_dropped_from_the_table_is_noticed() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `result.type` |"))
    assert "result.type" not in contract_table(README.replace(row + "\n", ""))


def test_the_module_map_names_every_module_of_the_package() -> None:
    development = README.split("## Development", 1)[1]
    module_map = re.findall(r"```\n(.*?)```", development, flags=re.S)[0]
    package = ROOT / "classify_frames"
    modules = {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    packages = {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}
    named = set(re.findall(r"[\w]+\.py|[\w]+/", module_map))
    assert (modules | packages) - named == set()
