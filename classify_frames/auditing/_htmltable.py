"""One audit table as HTML: chosen columns, each value written by :mod:`._format`, cells
that miss a target marked, the table in its own scroll box, long tables folded.

Every cell shows a value of the report's own table, never a recomputed one: a numeric cell
carries the raw value in ``data-value`` (and its interval in ``data-low``/``data-high``), and
each row its position in the source table (``data-row``), so a test can hold every number of
the document against the API that produced it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from . import _format

__all__ = ["Column", "Kind", "table"]

Kind = Literal["percent", "count", "number", "confidence", "points", "text", "id", "time", "flag"]
#: Rows shown before a long table folds; a table folds once it has more than ``FOLD`` rows.
HEAD, FOLD = 10, 15
#: Rows written into the folded part at most (the rest is one call away in the notebook).
MAX_ROWS = 200
_NUMERIC: set[Kind] = {"percent", "count", "number", "confidence", "points"}


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


def _raw(value: object) -> str:
    """The exact value for ``data-value`` (``repr`` of a float round-trips)."""
    if _format.is_missing(value):
        return "nan"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))  # type: ignore[arg-type]


def _cell(column: Column, row: pd.Series, value: object, header: bool) -> str:
    classes = []
    attrs = f' data-col="{html.escape(column.name)}"'
    kind = column.kind(row) if callable(column.kind) else column.kind
    missing = _format.is_missing(value)
    if missing and kind != "flag":
        text = column.blank
    elif column.names is not None and str(value) in column.names:
        text = column.names[str(value)]
    else:
        text = _text(kind, value)
    body = html.escape(text)
    if kind in _NUMERIC or kind == "flag":
        classes.append("num")
        attrs += f' data-value="{_raw(value)}"'
    elif kind in ("text", "time"):
        classes.append(kind)
    if column.low is not None and column.high is not None:
        low, high = row[column.low], row[column.high]
        attrs += f' data-low="{_raw(low)}" data-high="{_raw(high)}"'
        if not (_format.is_missing(low) or _format.is_missing(high)):
            body += f' <span class="ci">{html.escape(_format.interval(low, high))}</span>'
    if kind == "id" and not missing:
        attrs += f' title="{html.escape(str(value))}"'
    if column.css:
        classes.append(column.css)
    if column.mark is not None and (mark := column.mark(row)):
        classes.append(mark)
    if classes:
        attrs += f' class="{" ".join(classes)}"'
    tag, scope = ("th", ' scope="row"') if header else ("td", "")
    return f"<{tag}{scope}{attrs}>{body}</{tag}>"


def _rows_html(
    frame: pd.DataFrame, index: Sequence[Column], columns: Sequence[Column], rows: Sequence[int]
) -> str:
    levels = {c.name: frame.index.get_level_values(c.name) for c in index}
    out = []
    for position in rows:
        row = frame.iloc[position]
        cells = [_cell(c, row, levels[c.name][position], header=True) for c in index]
        cells += [_cell(c, row, row[c.name], header=False) for c in columns]
        out.append(f'<tr data-row="{position}">{"".join(cells)}</tr>')
    return "\n".join(out)


def _header(index: Sequence[Column], columns: Sequence[Column]) -> str:
    cells = []
    for c in (*index, *columns):
        tip = f' title="{html.escape(c.help)}"' if c.help else ""
        numeric = not callable(c.kind) and (c.kind in _NUMERIC or c.kind == "flag")
        align = ' class="num"' if numeric else ""
        cells.append(f'<th scope="col"{align}{tip}>{html.escape(c.header)}</th>')
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def _table_html(
    frame: pd.DataFrame,
    index: Sequence[Column],
    columns: Sequence[Column],
    rows: Sequence[int],
    css_class: str = "scroll",
) -> str:
    body = _rows_html(frame, index, columns, rows)
    return (
        f'<div class="{css_class}"><table>{_header(index, columns)}<tbody>\n{body}\n'
        "</tbody></table></div>"
    )


def table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    source: str,
    index: Sequence[Column] = (),
    rows: Sequence[int] | None = None,
    note: str = "",
    empty: str = "nothing to show",
    fold: bool = True,
) -> str:
    """``frame`` as an HTML figure: ``index`` levels as row headers, then ``columns`` (those
    absent from the frame are left out); ``rows`` picks positions (all by default).

    ``source`` is the call that returns ``frame`` (``report.by_type``), shown under the table
    so a reader can get the numbers in a notebook. More than ``FOLD`` rows: the first
    ``HEAD`` are shown and all of them folded in a ``<details>`` below (unless not ``fold``).
    """
    present = [c for c in columns if c.name in frame.columns]
    picked = list(range(len(frame))) if rows is None else list(rows)
    caption = f"<figcaption><code>{html.escape(source)}</code>{note and ' · ' + note}</figcaption>"
    start = f'<figure class="table" data-source="{html.escape(source)}">'
    if not picked:
        return f'{start}<p class="empty">{html.escape(empty)}</p>{caption}</figure>'
    parts = [start]
    if fold and len(picked) > FOLD:
        # the head is hidden in print, where the folded part is printed whole
        parts.append(_table_html(frame, index, present, picked[:HEAD], "scroll folded-head"))
        shown = picked[:MAX_ROWS]
        more = "" if len(shown) == len(picked) else f" (the first {len(shown):,})"
        parts.append(
            f"<details><summary>All {len(picked):,} rows{more}</summary>"
            f"{_table_html(frame, index, present, shown)}</details>"
        )
    else:
        parts.append(_table_html(frame, index, present, picked))
    parts.append(f"{caption}</figure>")
    return "\n".join(parts)
