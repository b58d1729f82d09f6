"""HTML for the explorer: summary, confidence histogram, one page of the table, one job's detail.

Plain functions of a :class:`~._index.View` and the frame, so they are tested without widgets and
cost only what is shown (never more than one page of rows). Every value from the data is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._index import BINS, NO_MATCH, SEARCHED, JobIndex, Rows, View, arrow_data

__all__ = [
    "NO_RESULT",
    "TABLE_COLUMNS",
    "column_values",
    "configuration_labels",
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
    "file_input",
)
#: What a job with no result at all is called (failed, pending, not fetched): not "no match".
NO_RESULT = "(no result)"
_CELL_CHARS = 60
_MISSING = "—"
_SNIPPET = (24, 40)  # characters shown before and after a search hit
_FIELD_NAMES = {"file_input": "input", "result.reasoning": "reasoning"}
_URL = re.compile(r"https?://[^\s<>\"']+\Z", re.IGNORECASE)
_STYLE = """<style>
.cf-explorer table.cf-grid{border-collapse:collapse;font-size:12px;width:100%}
.cf-explorer .cf-grid th,.cf-explorer .cf-grid td{border-bottom:1px solid #ddd;padding:2px 6px;
text-align:left;vertical-align:top;white-space:nowrap}
.cf-explorer .cf-grid td.cf-num{text-align:right;font-variant-numeric:tabular-nums}
.cf-explorer .cf-muted{color:#777}
.cf-explorer .cf-error{color:#b00020;white-space:pre-wrap}
.cf-explorer .cf-long{white-space:pre-wrap;max-width:60em}
.cf-explorer.cf-scroll{overflow-x:auto}
.cf-explorer .cf-wrap td{white-space:normal}
.cf-explorer .cf-nowrap{white-space:nowrap}
.cf-explorer .cf-legend{font-size:12px}
.cf-explorer .cf-key{display:inline-block;width:10px;height:10px;margin:0 3px 0 6px}
.cf-explorer .cf-findings li{margin:2px 0}
.cf-explorer{line-height:1.4;white-space:normal}
.widget-html.cf-detail>.widget-html-content{min-width:0}
.cf-explorer.cf-detail-body table.cf-grid{table-layout:fixed}
.cf-explorer.cf-detail-body table.cf-grid th{width:18em;white-space:normal;overflow-wrap:anywhere}
.cf-explorer.cf-detail-body table.cf-grid td{white-space:pre-wrap;overflow-wrap:anywhere;
max-width:none}
.cf-explorer.cf-detail-body ol{margin:0;padding-left:1.5em;white-space:normal}
.cf-explorer-widget,.cf-explorer-widget .widget-box{overflow:visible}
.cf-explorer-widget .cf-side{position:sticky;top:0;align-self:flex-start;max-height:100vh;
overflow-y:auto;background:#fff}
.cf-explorer mark{background:#ffe58a;color:inherit;padding:0}
.cf-explorer a.cf-link{color:#1a5fb4;text-decoration:underline}
.cf-explorer .cf-grid td.cf-hit{white-space:normal;min-width:18em;max-width:28em}
.cf-explorer .cf-hit-field{color:#777;font-size:11px}
.cf-explorer tr.cf-labelled td{background:#eef7ee}
.cf-explorer td.cf-label-mark{color:#1e7b34;font-weight:600}
.cf-explorer svg.cf-hist{width:100%;max-width:520px;height:auto;display:block}
.cf-explorer .cf-audit-body table.cf-grid{width:auto;max-width:100%}
.cf-explorer .cf-audit-tables{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start}
.cf-explorer .cf-audit-tables>div{max-width:100%;overflow-x:auto}
</style>"""


def label(value: Any, missing: str) -> str:
    """How a facet value reads in a control (``missing`` for None)."""
    return missing if value is None else str(value)


def summary_html(index: JobIndex, view: View) -> str:
    """The matched jobs counted by status and by result type (the 12 commonest types)."""
    status = _counts(index.facets["status"].values, view.status_counts, "(missing)")
    kinds = _counts(index.facets["result_type"].values, view.type_counts, NO_RESULT, limit=12)
    return (
        f'{_STYLE}<div class="cf-explorer"><table class="cf-grid cf-wrap">'
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
    # each "name: count" stays on one line; the list wraps between them
    return " · ".join(f'<span class="cf-nowrap">{p}</span>' for p in parts) or (
        f'<span class="cf-muted">{_MISSING}</span>'
    )


def histogram_html(
    view: View,
    overall: npt.NDArray[np.int64] | None = None,
    threshold: float | None = None,
    width: int = 520,
    height: int = 170,
) -> str:
    """The matched jobs' confidences over [0, 1] as an inline SVG bar chart (cheap to redraw).

    Bars count the selection's jobs per 0.05 bin on its own counted axis, so a small selection
    fills the chart; ``overall`` (every job's bins) is drawn as a grey outline scaled to the
    same peak, so the selection's shape reads against all jobs', and ``threshold`` is a dashed
    line. Each bar's tooltip gives its range and both counts. The chart shrinks with its box.
    """
    selected = view.histogram
    top, step = _axis(int(selected.max(initial=0)))
    left, right, upper, lower = 46, 8, 22, 30
    plot_w, plot_h = width - left - right, height - upper - lower
    bar = plot_w / BINS
    peak = int(overall.max(initial=0)) if overall is not None else 0
    # all jobs' outline, its peak at the selection's: unfiltered, the two coincide
    scale = max(int(selected.max(initial=0)), 1) / peak if peak else 0.0

    def x(value: float) -> float:
        return left + plot_w * value

    def y(count: float) -> float:
        return upper + plot_h * (1 - count / top)

    # no confidence in the selection: no count axis to read, only all jobs' shape
    ticks = range(0, top + 1, step) if selected.any() else range(0)
    parts = [
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
        f'stroke="#e3e3e3"/><text x="{left - 4}" y="{y(tick) + 3.5:.1f}" font-size="10" '
        f'text-anchor="end">{tick:,}</text>'
        for tick in ticks
    ]
    outline = []
    for i in range(BINS):
        low, high = i / BINS, (i + 1) / BINS
        mine = int(selected[i])
        tip = f"{low:.2f}–{high:.2f}: {mine:,} jobs"
        if overall is not None:
            tip += f" of {int(overall[i]):,} ({mine / overall[i]:.0%})" if overall[i] else ""
            edge = y(int(overall[i]) * scale)
            outline.append(f"{left + i * bar:.1f},{edge:.1f} {left + (i + 1) * bar:.1f},{edge:.1f}")
        h = plot_h * mine / top
        parts.append(
            f'<rect class="cf-sel" x="{left + i * bar + 0.5:.1f}" y="{upper + plot_h - h:.1f}" '
            f'width="{bar - 1:.1f}" height="{h:.1f}" fill="#4c78a8"><title>{tip}</title></rect>'
        )
    base = upper + plot_h
    if outline:
        points = f"{left},{base} {' '.join(outline)} {left + plot_w},{base}"
        parts.append(
            f'<polyline class="cf-all" points="{points}" fill="none" stroke="#8a94a3" '
            f'stroke-width="1.2" stroke-dasharray="3 2"/>'
        )
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#999"/>')
    parts.extend(
        f'<text x="{x(tenth / 10):.1f}" y="{base + 13}" font-size="10" text-anchor="middle">'
        f"{tenth / 10:g}</text>"
        for tenth in range(0, 11, 2)
    )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 3}" font-size="10" '
        f'text-anchor="middle" fill="#555">stated confidence</text>'
        f'<text x="10" y="{upper + plot_h / 2:.0f}" font-size="10" text-anchor="middle" '
        f'fill="#555" transform="rotate(-90 10 {upper + plot_h / 2:.0f})">jobs</text>'
    )
    if threshold is not None and 0 <= threshold <= 1:
        tx = x(threshold)
        anchor, at = ("end", tx - 3) if threshold > 0.3 else ("start", tx + 3)
        parts.append(
            f'<line class="cf-threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="{upper - 4}" '
            f'y2="{base}" stroke="#c0392b" stroke-dasharray="4 3"/>'
            f'<text x="{at:.1f}" y="{upper - 8}" font-size="10" text-anchor="{anchor}" '
            f'fill="#c0392b">threshold {threshold:g}</text>'
        )
    legend = f'<span class="cf-key" style="background:#4c78a8"></span>selection ({view.matched:,})'
    if overall is not None:
        legend += (
            ' <span class="cf-key" style="border:1px dashed #8a94a3;width:8px;height:8px"></span>'
            f"all {view.total:,} jobs (shape: peak of {peak:,} drawn at the selection's)"
        )
    note = f" · {view.no_confidence:,} without confidence" if view.no_confidence else ""
    return (
        f'{_STYLE}<div class="cf-explorer"><div class="cf-legend">confidence: {legend}{note}</div>'
        f'<svg class="cf-hist" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="confidence histogram">{"".join(parts)}</svg></div>'
    )


def _axis(count: int) -> tuple[int, int]:
    """A round top for a count axis and its tick step: at most five steps of 1, 2 or 5 x 10^k.

    >>> _axis(250), _axis(868), _axis(0)
    ((250, 50), (1000, 200), (1, 1))
    """
    count = max(count, 1)
    scale = 1
    while True:
        for m in (1, 2, 5):
            step = m * scale
            if -(-count // step) <= 5:
                return step * -(-count // step), step
        scale *= 10


def table_html(
    frame: pd.DataFrame,
    rows: Rows,
    *,
    columns: Sequence[str] | None = None,
    sort_by: str | None = None,
    descending: bool = False,
    names: dict[str, str] | None = None,
    search: str = "",
    labels: Mapping[int, str | None] | None = None,
) -> str:
    """One page of the table: ``rows`` are frame positions, already filtered, sorted and paged.

    ``columns`` (default :data:`TABLE_COLUMNS`) are shown in that order; ``names`` maps a
    configuration id to what to show for it (see :func:`configuration_labels`). Headers carry
    ``data-col`` and rows ``data-row`` (the frame position) for the clickable grid; a cut cell
    keeps its whole text in its tooltip, and a web address is a link. With ``search``, its hits
    are marked and a "match" column shows where each row holds it; with ``labels`` (frame
    position to label, in labelling mode) a first column marks the labelled rows.
    """
    shown = [c for c in (TABLE_COLUMNS if columns is None else columns) if c in frame.columns]
    needle = search.strip()
    arrow = " ▼" if descending else " ▲"
    head = '<th class="cf-num">#</th>'
    if labels is not None:
        head += "<th>label</th>"
    if needle:
        head += '<th title="the first searched field holding the text">match</th>'
    head += "".join(
        f'<th data-col="{html.escape(c)}" title="sort by {html.escape(c)}">'
        f"{html.escape(c)}{arrow if c == sort_by else ''}</th>"
        for c in shown
    )
    values = {c: column_values(frame[c], rows) for c in shown}
    # a completed job with no type is "no match", in the words the filters and the audit use
    done = (
        [v == "COMPLETED" for v in column_values(frame["status"], rows)]
        if "result.type" in shown and "status" in frame.columns
        else [False] * len(rows)
    )
    searched = [c for c in SEARCHED if c in frame.columns] if needle else []
    texts = {c: values[c] if c in values else column_values(frame[c], rows) for c in searched}
    body = []
    for i, position in enumerate(rows.tolist()):
        cells = [f'<td class="cf-num cf-muted">{position}</td>']
        css_row = ""
        if labels is not None:
            given = labels.get(position)
            if given:
                css_row = ' class="cf-labelled"'
                cells.append(f'<td class="cf-label-mark">✓ {html.escape(given)}</td>')
            else:
                cells.append('<td class="cf-muted">·</td>')
        if needle:
            cells.append(f'<td class="cf-hit">{_hit(texts, i, needle)}</td>')
        for c in shown:
            value = values[c][i]
            if c == "result.type" and done[i] and _missing(value):
                cells.append(f'<td class="cf-muted">{NO_MATCH}</td>')
                continue
            numeric = isinstance(value, float | int) and not isinstance(value, bool)
            css = ' class="cf-num"' if numeric else ""
            text = _text(value)
            if names and c == "configuration_id" and text in names:
                text = names[text]
            short = _short(text)
            tip = f' title="{html.escape(_text(value))}"' if short != text or names else ""
            cells.append(f"<td{css}{tip}>{_shown(short, needle, link=_text(value))}</td>")
        body.append(f'<tr data-row="{position}"{css_row}>{"".join(cells)}</tr>')
    if not body:
        span = len(shown) + 1 + (labels is not None) + bool(needle)
        body.append(f'<tr><td colspan="{span}" class="cf-muted">no jobs match</td></tr>')
    return (
        f'{_STYLE}<div class="cf-explorer cf-scroll"><table class="cf-grid cf-page">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _marked(text: str, needle: str) -> str:
    """``text`` escaped, with each case-insensitive occurrence of ``needle`` in ``<mark>``."""
    if not needle:
        return html.escape(text)
    pieces = re.split(f"({re.escape(needle)})", text, flags=re.IGNORECASE)
    return "".join(
        f"<mark>{html.escape(piece)}</mark>" if i % 2 else html.escape(piece)
        for i, piece in enumerate(pieces)
    )


def _shown(text: str, needle: str = "", *, link: str | None = None) -> str:
    """``text`` escaped and marked; a link to ``link`` (default ``text``) if it is a web
    address (http or https only: never a ``javascript:`` one)."""
    target = text if link is None else link
    inner = _marked(text, needle)
    if _URL.match(target):
        return (
            f'<a class="cf-link" href="{html.escape(target)}" target="_blank" '
            f'rel="noopener noreferrer">{inner}</a>'
        )
    return inner


def _hit(texts: Mapping[str, list[Any]], i: int, needle: str) -> str:
    """Where row ``i`` holds ``needle``: the first searched field that does, around the hit."""
    for column, values in texts.items():
        value = values[i]
        if not isinstance(value, str):
            continue
        found = re.search(re.escape(needle), value, flags=re.IGNORECASE)
        if found is None:
            continue
        before, after = _SNIPPET
        start, stop = max(found.start() - before, 0), min(found.end() + after, len(value))
        snippet = ("…" if start else "") + value[start:stop] + ("…" if stop < len(value) else "")
        field = _FIELD_NAMES.get(column, column)
        return f'<span class="cf-hit-field">{html.escape(field)}:</span> {_marked(snippet, needle)}'
    return f'<span class="cf-muted">{_MISSING}</span>'


def configuration_labels(frame: pd.DataFrame) -> dict[str, str]:
    """What to call each configuration: its ``configuration.name`` where the frame has one,
    else the shortest prefix of its id (8 characters or more) that no other id shares.

    >>> configuration_labels(pd.DataFrame({"configuration_id": ["18b122a6-fdef", "246eaba1-30"]}))
    {'18b122a6-fdef': '18b122a6…', '246eaba1-30': '246eaba1…'}
    """
    if "configuration_id" not in frame.columns:
        return {}
    ids = frame["configuration_id"]
    if "configuration.name" in frame.columns:
        pairs = pd.DataFrame({"id": ids, "name": frame["configuration.name"]}).dropna()
        named = pairs.drop_duplicates("id").set_index("id")["name"].astype(str).to_dict()
    else:
        named = {}
    distinct = sorted({str(v) for v in ids.dropna().unique()})
    out: dict[str, str] = {}
    for config in distinct:
        if named.get(config):
            out[config] = named[config]
            continue
        length = 8
        while length < len(config) and any(
            o != config and o.startswith(config[:length]) for o in distinct
        ):
            length += 4
        out[config] = config if length >= len(config) else config[:length] + "…"
    return out


def detail_html(frame: pd.DataFrame, position: int | None, search: str = "") -> str:
    """Everything about one job (frame position): result, rules, errors, times, other fields;
    web addresses are links and ``search``'s hits are marked."""
    if position is None:
        return '<div class="cf-explorer cf-muted">choose a job to see its details</div>'
    row = {name: column_values(frame[name], np.array([position]))[0] for name in frame.columns}
    get = row.get
    needle = search.strip()
    parts = [
        f'{_STYLE}<div class="cf-explorer cf-detail-body">',
        f"<h4>{_marked(_text(get('id')), needle)} · {html.escape(_text(get('status')))}</h4>",
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
    parts.append(_field("result.reasoning", get("result.reasoning"), long=True, search=needle))
    rules = _rules(get("configuration.rules"))
    parts.append(f'<tr><th>rules</th><td class="cf-long">{rules}</td></tr>')
    parts.extend(
        _field(name, get(name), long=True, search=needle)
        for name in ("created_at", "updated_at", "document_input_type", "file_input")
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
        "file_input",
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
        + histogram_html(view, index.histogram)
        + table_html(index.frame, rows)
        + '<div class="cf-muted">(static snapshot: run in Jupyter to filter interactively)</div>'
    )


def _field(name: str, value: Any, *, long: bool = False, search: str = "") -> str:
    css = ' class="cf-long"' if long else ""
    shown = _shown(_text(value), search if name in SEARCHED else "")
    return f"<tr><th>{html.escape(name)}</th><td{css}>{shown}</td></tr>"


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


def findings_html(report: Any, jobs: int, caught: Sequence[str] = ()) -> str:
    """An audit of the selection for the explorer: ``report.findings`` as a list, then the
    headline numbers of ``report.summary`` and the commonest types of ``report.by_type`` (with
    the rest named); warnings the audit raised (``caught``) are listed under it."""
    from ..auditing import glance  # the audit's own table component

    items = "".join(f"<li>{html.escape(str(item))}</li>" for item in report.findings)
    notes = "".join(f"<li>{html.escape(text)}</li>" for text in caught)
    warned = f'<div class="cf-muted">the audit warned:<ul>{notes}</ul></div>' if notes else ""
    return (
        f'{_STYLE}<div class="cf-explorer cf-audit-body"><h4>Audit of this selection '
        f'({jobs:,} jobs)</h4><ul class="cf-findings">{items}</ul>'
        f'<div class="cf-audit-tables">{glance(report)}</div>{warned}'
        '<div class="cf-muted">all of it: <code>explorer.audit_selection()</code>, '
        "an <code>AuditReport</code></div></div>"
    )
