"""Packages talk through each other's public names only: no module of classify_frames imports an
underscored module or name of another of its packages (the top level's own private modules,
``_exceptions`` and the like, are the root's, shared by every package below it)."""

from __future__ import annotations

import ast
from pathlib import Path

import classify_frames as cf

_ROOT = Path(cf.__file__).parent


def _private_imports(root: Path, top: str = "classify_frames") -> list[str]:
    """``file:line: target`` for each import, type-checking ones too, of an underscored module
    or name of a package other than the importing module's own."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = [top, *path.relative_to(root).with_suffix("").parts]
        here = parts[:-1]  # the importing module's package
        mine = here[1] if len(here) > 1 else None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = [*base, *(node.module or "").split(".")] if node.module else base
                targets = [[*module, alias.name] for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name.split(".") for alias in node.names]
            else:
                continue
            for target in targets:
                if target[0] != top or len(target) < 3 or target[1] == mine:
                    continue  # another library, the root's own, or the same package
                if any(part.startswith("_") for part in target[2:]):
                    name = ".".join(target)
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {name}")
    return found


def test_no_package_imports_another_packages_underscored_names() -> None:
    assert _private_imports(_ROOT) == []


def test_the_scan_finds_each_kind_of_private_import(tmp_path: Path) -> None:
    for package in ("a", "b"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "b" / "_inner.py").write_text("x = 1\n")
    (tmp_path / "a" / "_user.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from .._exceptions import Opt\n"  # the root's own: fine
        "from . import _sibling\n"  # the same package: fine
        "from ..b import thing, _hidden\n"
        "from ..b._inner import x\n"
        "from ..b import _inner\n"
        "import top.b._inner\n"
        "if TYPE_CHECKING:\n    from top.b._inner import y\n"
    )
    found = [line.split(": ", 1)[1] for line in _private_imports(tmp_path, top="top")]
    assert found == [
        "top.b._hidden",
        "top.b._inner.x",
        "top.b._inner",
        "top.b._inner",
        "top.b._inner.y",
    ]
