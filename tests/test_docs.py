"""Docs are tests: README's commands and example, CI's use of them, every CLI command's help."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@dataclasses.dataclass(frozen=True)
class Block:
    """One ```python block of README: where it starts, its code, and why it is skipped."""

    line: int
    code: str
    skip: str | None


def python_blocks(readme: str = README) -> list[Block]:
    """Every ```python block, in order. An HTML comment ``<!-- docs-test: skip REASON -->``
    on the line before a block (invisible on a code host) skips it with that reason."""
    blocks = []
    for found in re.finditer(r"```python\n(.*?)```", readme, flags=re.S):
        line = readme.count("\n", 0, found.start()) + 1
        before = readme[: found.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = re.fullmatch(r"<!-- docs-test: skip (.+?) -->", before.strip())
        blocks.append(Block(line, found.group(1), skip.group(1) if skip else None))
    return blocks


BLOCKS = python_blocks()


@pytest.fixture(scope="module")
def readme_session(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """One namespace for README's blocks, run in order in an empty directory, as a reader
    would paste them into one notebook. Calls that take the key and URL from the environment
    reach an emulator serving the same jobs as the first example's."""
    from classify_frames.emulator import Emulator

    work = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as patch, Emulator(jobs=5_000, seed=0) as emu:
        patch.chdir(work)
        patch.setenv("LLAMA_CLOUD_BASE_URL", emu.base_url)
        patch.setenv("LLAMA_CLOUD_API_KEY", emu.api_key)
        patch.setenv("MPLBACKEND", "Agg")
        yield {"__name__": "__readme__"}


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[f"line-{b.line}" for b in BLOCKS])
def test_readme_python_block_runs_as_written(
    block: Block, readme_session: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    if block.skip:
        pytest.skip(block.skip)
    exec(compile(block.code, f"README.md (block at line {block.line})", "exec"), readme_session)
    if block is BLOCKS[0]:  # the first example shows why a job could not be fetched, in full
        printed = capsys.readouterr().out
        assert "cls-does-not-exist" in printed and "not found (404" in printed, printed


def test_a_marked_block_is_skipped_with_its_reason() -> None:
    text = "intro\n<!-- docs-test: skip needs a person -->\n```python\nx = 1\n```\n"
    text += "```python\ny = 2\n```\n"
    first, second = python_blocks(text)
    assert (first.line, first.skip, second.skip) == (3, "needs a person", None)


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
    from classify_frames.frame._schema import KNOWN_COLUMNS, TAIL_COLUMNS

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
