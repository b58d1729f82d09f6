"""Atomic file writes: a temporary file beside the target, renamed over it only when complete.

A failed or interrupted write never leaves a half-written file and never damages the old one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from ._exceptions import ExportError

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` in one rename.

    >>> with atomic_path("jobs.csv") as tmp:      # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(target)
    if not path.parent.is_dir():
        msg = f"cannot write {str(path)!r}: the directory {str(path.parent)!r} does not exist"
        raise ExportError(msg)
    # Not mkstemp: its 0600 mode would survive the rename; open(..., "x") honours the umask.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        tmp.open("xb").close()
    except OSError as exc:
        msg = f"cannot write {str(path)!r}: {exc.strerror or exc}"
        raise ExportError(msg) from None
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
