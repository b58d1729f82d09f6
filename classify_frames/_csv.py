"""CSV files people make by hand or in a spreadsheet, read as text with their separator detected.

A spreadsheet set to a European locale saves with semicolons, some tools with tabs, and Excel
starts the file with a byte-order mark: all are read, and the way a file was written is given
back so that a program rewriting it keeps it.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import NamedTuple

import pandas as pd

__all__ = ["SEPARATORS", "CsvDialect", "read_text_csv"]

SEPARATORS = ((",", "commas"), (";", "semicolons"), ("\t", "tabs"))  # in order of preference


class CsvDialect(NamedTuple):
    """How a CSV file was written: its separator, and ``utf-8-sig`` when it has a BOM."""

    sep: str = ","
    encoding: str = "utf-8"


def read_text_csv(path: Path, *, what: str) -> tuple[pd.DataFrame, CsvDialect]:
    """Every cell of ``path`` as text (none read as missing: "NA" may be a type's name), the
    header's names trimmed; the separator is the one of , ; or tab its first line has most of.

    A file that does not parse raises ``ValueError`` naming it and the separator it was read
    with.
    """
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    encoding = "utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"
    header = first.decode(encoding, errors="replace")
    names = dict(SEPARATORS)
    counts = {sep: header.count(sep) for sep in names}
    sep = max(names, key=counts.__getitem__) if any(counts.values()) else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        found = "found in its first line" if any(counts.values()) else "its first line has none"
        others = " or ".join(v for k, v in SEPARATORS if k != sep)
        msg = (
            f"cannot read the {what} file {str(path)!r} as UTF-8 text with fields separated by "
            f"{names[sep]} ({found}): {str(exc).strip()}. Save it as CSV with one "
            f"separator throughout ({names[sep]}, {others}) and a header line"
        )
        raise ValueError(msg) from None
    frame.columns = pd.Index([str(c).strip() for c in frame.columns])
    return frame, CsvDialect(sep, encoding)
