"""A package's names imported from their modules only when first used (PEP 562), so importing
the package stays light."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, modules: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name of ``modules`` is
    imported from its module (a module of ``package``) when first asked for, then kept;
    ``dir()`` lists ``public``::

        __getattr__, __dir__ = lazy_names(__name__, {"ClassifyClient": "_client"}, __all__)
    """
    listed = sorted(public)

    def getattr_(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return list(listed)

    return getattr_, dir_
