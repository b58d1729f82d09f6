"""One table component for every HTML table of the project's documents: the audit report, its
rule-set experiments (:class:`~classify_frames.experiments.Comparison`) and the explorer's
audit of a selection.

:func:`view` turns a source table and a :class:`Column` spec into a :class:`TableView` (each
value written by :mod:`._format`, cells that miss a target marked, long tables folded); the
``table`` macro of ``templates/table.html`` draws it, with autoescape (see :mod:`._page`);
:func:`table` does both for a caller that holds no templates.

Every cell shows a value of the source table, never a recomputed one: a numeric cell carries
the raw value in ``data-value`` (and its interval in ``data-low``/``data-high``), and each row
its position in the source table (``data-row``), so a test can hold every number of the
document against the API that produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from . import _format

__all__ = ["TYPE", "Cell", "Column", "Kind", "Row", "TableView", "view"]

Kind = Literal["percent", "count", "number", "confidence", "points", "text", "id", "time", "flag"]
#: Rows shown before a long table folds; a table folds once it has more than ``FOLD`` rows.
HEAD, FOLD = 10, 15
#: Rows written into the folded part at most (the rest is one call away in the notebook).
MAX_ROWS = 200
_NUMERIC: set[Kind] = {"percent", "count", "number", "confidence", "points", "flag"}


@dataclass(frozen=True)
class Column:
    """How one column (or index level) of a source table is shown.

    ``kind`` says how values are written (or, for a table of mixed rows such as the
    summary, picks that per row); ``low``/``high`` name the columns of a 95% interval shown
    with the value; ``mark`` gives a row's CSS class for this cell (``"miss"``, ``"unsure"``,
    ``"major"`` …, or ``""``); ``blank`` is shown where a value is missing (``"no match"``
    for a null type); ``css`` is an extra class of its cells (``"wide"`` for long text);
    ``names`` shows an id by its name where one is known (the full id stays in the tooltip).
    """

    name: str
    header: str
    kind: Kind | Callable[[pd.Series], Kind] = "text"
    low: str | None = None
    high: str | None = None
    mark: Callable[[pd.Series], str] | None = None
    help: str | None = None
    blank: str = _format.MISSING
    css: str = ""
    names: Mapping[str, str] | None = None


#: The predicted type as a table's index.
TYPE = Column("type", "type", "text")


@dataclass(frozen=True)
class Cell:
    """One cell as the template writes it: ``th`` or ``td``, its attributes (in order), the
    value as text and its interval as text (``""`` for none)."""

    tag: str
    attrs: dict[str, str]
    text: str
    ci: str = ""


@dataclass(frozen=True)
class Row:
    """One row: its position in the source table and its cells."""

    position: int
    cells: list[Cell]


@dataclass(frozen=True)
class TableView:
    """A source table ready to draw: header cells, the rows shown, and how it folds.

    ``rows`` holds every row written (at most :data:`MAX_ROWS`); when ``folded``, the first
    ``HEAD`` show on screen and all of them in a ``<details>`` below (printed whole).
    ``total`` counts the rows picked, ``source`` is the call that returns the table.
    """

    source: str
    header: list[Cell]
    rows: list[Row]
    total: int
    folded: bool
    note: str = ""
    empty: str = "nothing to show"
    head: int = HEAD


def _text(kind: Kind, value: object) -> str:
    if kind == "percent":
        return _format.percent(value)
    if kind == "count":
        return _format.count(value)
    if kind == "confidence":
        return _format.confidence(value)
    if kind == "points":
        return _format.points(value)
    if kind == "number":
        return _format.number(value)
    if kind == "id":
        return _format.short_id(value)
    if kind == "time":
        return _format.timestamp(value)
    if kind == "flag":
        return "yes" if value is True or value is np.True_ else ""
    return _format.MISSING if _format.is_missing(value) else str(value)


def _interval(kind: Kind, low: object, high: object) -> str:
    """A share's interval as a range of percentages; a change's as a range of points."""
    if kind == "points":
        return f"{_format.points(low)} to {_format.points(high)}"
    return _format.interval(low, high)


def _raw(value: object) -> str:
    """The exact value for ``data-value`` (``repr`` of a float round-trips)."""
    if _format.is_missing(value):
        return "nan"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))  # type: ignore[arg-type]


def _cell(column: Column, row: pd.Series, value: object, header: bool) -> Cell:
    attrs = {"scope": "row"} if header else {}
    attrs["data-col"] = column.name
    kind = column.kind(row) if callable(column.kind) else column.kind
    missing = _format.is_missing(value)
    if missing and kind != "flag":
        text = column.blank
    elif column.names is not None and str(value) in column.names:
        text = column.names[str(value)]
    else:
        text = _text(kind, value)
    classes = []
    if kind in _NUMERIC:
        classes.append("num")
        attrs["data-value"] = _raw(value)
    elif kind in ("text", "time"):
        classes.append(kind)
    ci = ""
    if column.low is not None and column.high is not None:
        low, high = row[column.low], row[column.high]
        attrs["data-low"], attrs["data-high"] = _raw(low), _raw(high)
        if not (_format.is_missing(low) or _format.is_missing(high)):
            ci = _interval(kind, low, high)
    if kind == "id" and not missing:
        attrs["title"] = str(value)
    if column.css:
        classes.append(column.css)
    if column.mark is not None and (mark := column.mark(row)):
        classes.append(mark)
    if classes:
        attrs["class"] = " ".join(classes)
    return Cell("th" if header else "td", attrs, text, ci)


def _rows(
    frame: pd.DataFrame, index: Sequence[Column], columns: Sequence[Column], rows: Sequence[int]
) -> list[Row]:
    # a plain index is the row header whatever its name (``comparison.no_match`` has none)
    levels = {
        c.name: frame.index if frame.index.nlevels == 1 else frame.index.get_level_values(c.name)
        for c in index
    }
    out = []
    for position in rows:
        row = frame.iloc[position]
        cells = [_cell(c, row, levels[c.name][position], header=True) for c in index]
        cells += [_cell(c, row, row[c.name], header=False) for c in columns]
        out.append(Row(position, cells))
    return out


def _header(columns: Sequence[Column]) -> list[Cell]:
    cells = []
    for c in columns:
        attrs = {"scope": "col"}
        if not callable(c.kind) and c.kind in _NUMERIC:
            attrs["class"] = "num"
        if c.help:
            attrs["title"] = c.help
        cells.append(Cell("th", attrs, c.header))
    return cells


def view(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    source: str,
    index: Sequence[Column] = (),
    rows: Sequence[int] | None = None,
    note: str = "",
    empty: str = "nothing to show",
    fold: bool = True,
) -> TableView:
    """``frame`` ready to draw: ``index`` levels as row headers, then ``columns`` (those
    absent from the frame are left out); ``rows`` picks positions (all by default).

    ``source`` is the call that returns ``frame`` (``report.by_type``), shown under the table
    so a reader can get the numbers in a notebook; ``note`` follows it. More than ``FOLD``
    rows: the first ``HEAD`` are shown and all of them folded below (unless not ``fold``).
    """
    present = [c for c in columns if c.name in frame.columns]
    picked = list(range(len(frame))) if rows is None else list(rows)
    folded = fold and len(picked) > FOLD
    shown = picked[:MAX_ROWS] if folded else picked
    return TableView(
        source=source,
        header=_header([*index, *present]),
        rows=_rows(frame, index, present, shown),
        total=len(picked),
        folded=folded,
        note=note,
        empty=empty,
    )
