"""Write the explorer's filtered rows to Parquet (with the toolkit's metadata) or CSV atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pandas as pd

from .._atomic import atomic_path
from .._exceptions import ExportError
from ..parquet import to_parquet

__all__ = ["FORMATS", "export_frame"]

Format = Literal["parquet", "csv"]
FORMATS: dict[Format, str] = {"parquet": ".parquet", "csv": ".csv"}


def export_frame(frame: pd.DataFrame, path: str | os.PathLike[str], fmt: Format) -> Path:
    """Write ``frame`` to ``path`` as ``fmt``; the file appears only once complete.

    Raises :class:`~classify_frames.ExportError` with a readable message (no such directory,
    wrong suffix, permission denied ...).
    """
    if not str(path).strip():
        msg = "give a file name, for example 'jobs" + FORMATS[fmt] + "'"
        raise ExportError(msg)
    target = Path(path).expanduser().absolute()
    if fmt == "parquet":
        return to_parquet(frame, target)
    if target.is_dir():
        msg = f"{str(target)!r} is a directory; give a file name like 'jobs.csv'"
        raise ExportError(msg)
    try:
        with atomic_path(target) as tmp:
            frame.to_csv(tmp, index=False)
    except ExportError:
        raise
    except OSError as exc:
        msg = f"cannot write {str(target)!r}: {exc.strerror or exc}"
        raise ExportError(msg) from None
    return target
