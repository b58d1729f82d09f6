"""HTML for the explorer: summary, confidence histogram, one page of the table, one job's detail.

Plain functions of a :class:`~._index.View` and the frame, so they are tested without widgets and
cost only what is shown (never more than one page of rows). Every value from the data is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._index import BINS, JobIndex, Rows, View, arrow_data

__all__ = [
    "TABLE_COLUMNS",
    "column_values",
    "detail_html",
    "histogram_html",
    "label",
    "snapshot_html",
    "summary_html",
    "table_html",
]

#: Columns of the table, in order, when the frame has them.
TABLE_COLUMNS = (
    "id",
    "status",
    "result.type",
    "result.confidence",
    "configuration_id",
    "created_at",
    "document_input_value",
)
_CELL_CHARS = 60
_MISSING = "—"
_STYLE = """<style>
.cf-explorer table.cf-grid{border-collapse:collapse;font-size:12px;width:100%}
.cf-explorer .cf-grid th,.cf-explorer .cf-grid td{border-bottom:1px solid #ddd;padding:2px 6px;
text-align:left;vertical-align:top;white-space:nowrap}
.cf-explorer .cf-grid td.cf-num{text-align:right;font-variant-numeric:tabular-nums}
.cf-explorer .cf-muted{color:#777}
.cf-explorer .cf-error{color:#b00020;white-space:pre-wrap}
.cf-explorer .cf-long{white-space:pre-wrap;max-width:60em}
.cf-explorer.cf-scroll{overflow-x:auto}
</style>"""


def label(value: Any, missing: str) -> str:
    """How a facet value reads in a control (``missing`` for None)."""
    return missing if value is None else str(value)


def summary_html(index: JobIndex, view: View) -> str:
    """The matched jobs counted by status and by result type (the 12 commonest types)."""
    status = _counts(index.facets["status"].values, view.status_counts, "(missing)")
    kinds = _counts(index.facets["result_type"].values, view.type_counts, "(none)", limit=12)
    return (
        f'{_STYLE}<div class="cf-explorer"><table class="cf-grid">'
        f"<tr><th>status</th><td>{status}</td></tr>"
        f"<tr><th>type</th><td>{kinds}</td></tr></table></div>"
    )


def _counts(values: Sequence[Any], counts: np.ndarray, missing: str, limit: int = 0) -> str:
    ranked = sorted(
        ((int(c), label(v, missing)) for v, c in zip(values, counts, strict=True) if c),
        key=lambda item: -item[0],
    )
    shown = ranked[:limit] if limit else ranked
    parts = [f"{html.escape(name)}: {count:,}" for count, name in shown]
    if len(ranked) > len(shown):
        rest = sum(count for count, _ in ranked[len(shown) :])
        parts.append(f"{len(ranked) - len(shown)} more: {rest:,}")
    return " · ".join(parts) or f'<span class="cf-muted">{_MISSING}</span>'


def histogram_html(view: View, width: int = 320, height: int = 90) -> str:
    """The matched jobs' confidences as an inline SVG bar chart over [0, 1] (cheap to redraw)."""
    top = int(view.histogram.max(initial=0)) or 1
    bar = width / BINS
    plot = height - 14
    bars = []
    for i, count in enumerate(view.histogram.tolist()):
        h = plot * count / top
        low, high = i / BINS, (i + 1) / BINS
        bars.append(
            f'<rect x="{i * bar + 0.5:.1f}" y="{plot - h:.1f}" width="{bar - 1:.1f}" '
            f'height="{h:.1f}" fill="#4c78a8"><title>{low:.2f}–{high:.2f}: {count:,}</title></rect>'
        )
    ticks = "".join(
        f'<text x="{x * width:.0f}" y="{height - 2}" font-size="10" text-anchor="{anchor}">'
        f"{x:g}</text>"
        for x, anchor in ((0, "start"), (0.5, "middle"), (1, "end"))
    )
    peak = f" (peak {top:,} in a bin)" if view.histogram.any() else ""
    note = f" · {view.no_confidence:,} without confidence" if view.no_confidence else ""
    return (
        f'<div class="cf-explorer"><div>confidence of matched jobs{peak}{note}</div>'
        f'<svg width="{width}" height="{height}" role="img" aria-label="confidence histogram">'
        f'<line x1="0" y1="{plot}" x2="{width}" y2="{plot}" stroke="#999"/>'
        f"{''.join(bars)}{ticks}</svg></div>"
    )


def table_html(
    frame: pd.DataFrame,
    rows: Rows,
    *,
    sort_by: str | None = None,
    descending: bool = False,
) -> str:
    """One page of the table: ``rows`` are frame positions, already filtered, sorted and paged."""
    columns = [c for c in TABLE_COLUMNS if c in frame.columns]
    arrow = " ▼" if descending else " ▲"
    head = "".join(
        f"<th>{html.escape(c)}{arrow if c == sort_by else ''}</th>" for c in ["#", *columns]
    )
    values = {c: column_values(frame[c], rows) for c in columns}
    body = []
    for i, position in enumerate(rows.tolist()):
        cells = [f'<td class="cf-num cf-muted">{position}</td>']
        for c in columns:
            value = values[c][i]
            numeric = isinstance(value, float | int) and not isinstance(value, bool)
            css = ' class="cf-num"' if numeric else ""
            cells.append(f"<td{css}>{html.escape(_short(_text(value)))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(
            f'<tr><td colspan="{len(columns) + 1}" class="cf-muted">no jobs match</td></tr>'
        )
    return (
        f'{_STYLE}<div class="cf-explorer cf-scroll"><table class="cf-grid cf-page">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def detail_html(frame: pd.DataFrame, position: int | None) -> str:
    """Everything about one job (frame position): result, rules, errors, times, other fields."""
    if position is None:
        return '<div class="cf-explorer cf-muted">choose a job to see its details</div>'
    row = {name: column_values(frame[name], np.array([position]))[0] for name in frame.columns}
    get = row.get
    parts = [
        f'{_STYLE}<div class="cf-explorer cf-detail-body">',
        f"<h4>{html.escape(_text(get('id')))} · {html.escape(_text(get('status')))}</h4>",
    ]
    error = "\n".join(
        f"{name}: {_text(get(name))}"
        for name in ("error_message", "fetch_error")
        if not _missing(get(name))
    )
    if error:
        parts.append(f'<div class="cf-error">{html.escape(error)}</div>')
    parts.append('<table class="cf-grid">')
    parts.extend(
        _field(name, get(name))
        for name in ("result.type", "result.confidence", "configuration_id", "configuration.mode")
    )
    parts.append(_field("result.reasoning", get("result.reasoning"), long=True))
    rules = _rules(get("configuration.rules"))
    parts.append(f'<tr><th>rules</th><td class="cf-long">{rules}</td></tr>')
    parts.extend(
        _field(name, get(name), long=True)
        for name in ("created_at", "updated_at", "document_input_type", "document_input_value")
    )
    shown = {
        "id",
        "status",
        "error_message",
        "fetch_error",
        "result.type",
        "result.confidence",
        "result.reasoning",
        "configuration_id",
        "configuration.mode",
        "configuration.rules",
        "created_at",
        "updated_at",
        "document_input_type",
        "document_input_value",
    }
    others = [(name, value) for name, value in row.items() if name not in shown]
    parts.extend(
        _field(str(name), value, long=True) for name, value in others if not _missing(value)
    )
    parts.append("</table></div>")
    return "".join(parts)


def column_values(column: pd.Series, rows: Rows) -> list[Any]:
    """Python values of ``column`` at frame positions ``rows``, without copying the column.

    Arrow-backed columns are read value by value: Arrow's ``take`` first joins the chunks of a
    many-chunk column (a concat, a Parquet file's row groups), 2-3 ms a column on 1M rows.
    """
    chunked = arrow_data(column)
    if chunked is not None:
        return [chunked[i].as_py() for i in rows.tolist()]
    values: list[Any] = column.iloc[rows].tolist()
    return values


def snapshot_html(index: JobIndex, view: View, rows: Rows) -> str:
    """A static picture of the explorer, for front ends that cannot show widgets."""
    return (
        f"<div><b>{view.matched:,}</b> of {view.total:,} jobs</div>"
        + summary_html(index, view)
        + histogram_html(view)
        + table_html(index.frame, rows)
        + '<div class="cf-muted">(static snapshot: run in Jupyter to filter interactively)</div>'
    )


def _field(name: str, value: Any, *, long: bool = False) -> str:
    css = ' class="cf-long"' if long else ""
    return f"<tr><th>{html.escape(name)}</th><td{css}>{html.escape(_text(value))}</td></tr>"


def _rules(value: Any) -> str:
    if _missing(value) or not len(value):
        return f'<span class="cf-muted">{_MISSING}</span>'
    items = []
    for rule in value:
        if isinstance(rule, dict):
            kind, text = _text(rule.get("type")), _text(rule.get("description"))
            items.append(f"<li><b>{html.escape(kind)}</b>: {html.escape(text)}</li>")
        else:
            items.append(f"<li>{html.escape(_text(rule))}</li>")
    return f"<ol>{''.join(items)}</ol>"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str:
    if _missing(value):
        return _MISSING
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo else "")
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"
