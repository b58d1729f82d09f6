"""The ``JobExplorer`` widget: stock ipywidgets over :class:`~._index.JobIndex`, nothing more.

Each control sets one field of a :class:`~._state.FilterState`; every change recomputes the view
(vectorised, see ``_index``) and re-renders only the summary, the histogram and one page of HTML.
The table is a :class:`~._grid.JobGrid` (clickable headers and rows); labelling is a
:class:`~._label_panel.LabelPanel` over a :class:`~._labelling.LabelStore`.
Every control carries a ``cf-…`` CSS class so browser tests can find it.
"""

from __future__ import annotations

import contextlib
import html
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import ConfigurationError
from ._export import FORMATS, Format, export_frame
from ._file_link import FileLink, input_of
from ._grid import JobGrid
from ._index import JobIndex, Rows, View, arrow_data
from ._label_panel import LabelPanel
from ._labelling import LabelStore, read_queue
from ._render import (
    NO_RESULT,
    TABLE_COLUMNS,
    column_values,
    configuration_labels,
    detail_html,
    findings_html,
    histogram_html,
    label,
    snapshot_html,
    summary_html,
    table_html,
)
from ._state import FilterState

if TYPE_CHECKING:
    from ..client import ClassifyClient, FileURL

__all__ = ["PAGE_SIZES", "JobExplorer", "explore"]

PAGE_SIZES = (10, 25, 50, 100, 250)
_MISSING_LABELS = {"status": "(missing)", "result_type": NO_RESULT, "configuration": "(none)"}
_WIDE = {"width": "340px"}  # a dict, so each control gets its own Layout widget
_STYLE = {"description_width": "90px"}
_AUTO = {"width": "auto"}


class JobExplorer(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Filter, inspect, label and export a frame of jobs; drive it by mouse, keys or code.

    >>> explorer = explore(df, status=["FAILED"])                  # doctest: +SKIP
    >>> explorer.set_filters(confidence=(0, 0.5), search="invoice")  # doctest: +SKIP
    >>> explorer.filters["confidence"], len(explorer.filtered)      # doctest: +SKIP
    ((0.0, 0.5), 42)

    The confidence slider spans [0, 1] (wider if the data is); at its full span it constrains
    nothing, so jobs without a confidence (pending, failed: NaN) stay. Narrow it and only jobs
    with a confidence inside the range remain. "no match" is a completed job that no rule
    matched (``result.type`` missing), as the audit says: the result type "no match"
    (``set_filters(result_type=["no match"])``) and the "no match only" toggle keep them, and
    jobs with no result at all are "(no result)"; "failed only" keeps status FAILED and jobs
    that could not be fetched (``fetch_error`` set). Click a column header to sort (again:
    descending), a row to open it beside the table. A search marks its hits and shows where
    each row holds it. With ``queue=`` (a review queue) or ``labels=`` (a labels file) a panel
    labels the open job and the table marks the labelled rows. A job whose input is a file
    the service holds shows its id with "Open file", which asks ``client`` (default: one made
    from the environment's ``LLAMA_CLOUD_API_KEY`` at the first click) for a fresh link to it.
    The frame is indexed once: explore it again after changing it.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        page_size: int = 25,
        sort_by: str | None = None,
        descending: bool = False,
        threshold: float = 0.8,
        queue: pd.DataFrame | str | os.PathLike[str] | None = None,
        labels: str | os.PathLike[str] | None = None,
        client: ClassifyClient | None = None,
        **filters: Any,
    ) -> None:
        store = None
        if queue is not None:
            queued = read_queue(queue)
            frame = _queue_rows(frame, queued)
            store = LabelStore("labels.csv" if labels is None else labels, queue=queued)
        elif labels is not None:
            ids = frame["id"].astype(str).tolist() if "id" in frame.columns else []
            store = LabelStore(labels, ids=ids)
        self._index = index = JobIndex(frame)
        self.threshold = float(threshold)
        self._quiet = False
        self._page = 0
        self._facet_labels: dict[str, list[str]] = {}
        self._names = configuration_labels(frame)
        low, high = index.confidence_span

        def control(widget: widgets.Widget, css: str, enabled: bool = True) -> Any:
            widget.add_class(css)
            if hasattr(widget, "disabled"):
                widget.disabled = not enabled
            return widget

        self.status = control(
            widgets.SelectMultiple(description="status", rows=5, layout=_WIDE, style=_STYLE),
            "cf-status",
            index.has("status"),
        )
        self.result_type = control(
            widgets.SelectMultiple(description="result type", rows=5, layout=_WIDE, style=_STYLE),
            "cf-type",
            index.has("result.type"),
        )
        self.configuration = control(
            widgets.Dropdown(
                options=[("all configurations", "")],
                value="",
                description="configuration",
                layout=_WIDE,
                style=_STYLE,
            ),
            "cf-config",
            index.has("configuration_id"),
        )
        self.confidence = control(
            widgets.FloatRangeSlider(
                value=(low, high),
                min=low,
                max=high,
                step=0.01,
                description="confidence",
                continuous_update=False,
                readout_format=".2f",
                layout=_WIDE,
                style=_STYLE,
            ),
            "cf-confidence",
            index.has("result.confidence"),
        )
        dated = index.has("created_at")
        self.created_from = control(
            widgets.DatePicker(description="created from", style=_STYLE), "cf-created-from", dated
        )
        self.created_to = control(
            widgets.DatePicker(description="created to", style=_STYLE), "cf-created-to", dated
        )
        self.search = control(
            widgets.Text(
                description="search",
                placeholder="id, input or reasoning",
                continuous_update=False,
                layout=_WIDE,
                style=_STYLE,
            ),
            "cf-search",
        )
        self.no_match_only = control(
            widgets.Checkbox(description="no match only", indent=False, layout=_AUTO),
            "cf-no-match",
        )
        self.failed_only = control(
            widgets.Checkbox(description="failed only", indent=False, layout=_AUTO), "cf-failed"
        )
        self.reset = control(
            widgets.Button(
                description="Reset filters",
                icon="undo",
                layout={"width": "auto", "flex": "0 0 auto", "min_width": "120px"},
            ),
            "cf-reset",
        )
        self.matched = control(widgets.Label(), "cf-matched")
        self.summary = control(widgets.HTML(), "cf-summary")
        self.histogram = control(widgets.HTML(), "cf-histogram")
        if sort_by is not None and sort_by not in frame.columns:
            msg = f"sort_by must be a column of the frame, got {sort_by!r}"
            raise ValueError(msg)
        default = [c for c in TABLE_COLUMNS if c in frame.columns]
        if "configuration.name" in frame.columns:
            default.insert(
                default.index("configuration_id")
                if "configuration_id" in default
                else len(default),
                "configuration.name",
            )
        self.columns = control(
            widgets.SelectMultiple(
                options=[*default, *(str(c) for c in frame.columns if c not in default)],
                value=default,
                rows=4,
                description="columns",
                style=_STYLE,
                layout={"width": "340px"},
            ),
            "cf-columns",
        )
        self.page_size = control(
            widgets.Dropdown(
                options=sorted({*PAGE_SIZES, page_size}),
                value=page_size,
                description="rows/page",
                style=_STYLE,
                layout=widgets.Layout(width="180px"),
            ),
            "cf-page-size",
        )
        self.previous = control(
            widgets.Button(icon="chevron-left", tooltip="previous page"), "cf-prev"
        )
        self.next = control(widgets.Button(icon="chevron-right", tooltip="next page"), "cf-next")
        for button in (self.previous, self.next):
            button.layout.width = "40px"
        self.page_label = control(widgets.Label(), "cf-page")
        self.table = control(
            JobGrid(sort_by=sort_by or "", descending=descending, layout={"width": "100%"}),
            "cf-table",
        )
        self.detail = control(widgets.HTML(layout={"min_width": "0"}), "cf-detail")
        self._client = client
        self.file = FileLink(self._file_url)
        self._store = store
        self.labelling = None if store is None else LabelPanel(store, self.move)
        self.audit_button = control(
            widgets.Button(
                description="Audit this selection", icon="check-square", layout={"width": "auto"}
            ),
            "cf-audit",
        )
        self.audit_output = control(widgets.HTML(), "cf-audit-output")
        self.export_format = control(
            widgets.Dropdown(
                options=[("Parquet", "parquet"), ("CSV", "csv")],
                description="export as",
                style=_STYLE,
                layout=widgets.Layout(width="200px"),
            ),
            "cf-export-format",
        )
        self.export_name = control(
            widgets.Text(value="jobs.parquet", description="file", style=_STYLE, layout=_WIDE),
            "cf-export-name",
        )
        self.export_button = control(
            widgets.Button(
                description="Export filtered rows", icon="download", layout={"width": "auto"}
            ),
            "cf-export",
        )
        self.export_status = control(widgets.HTML(), "cf-export-status")

        choosers = (
            self.status,
            self.result_type,
            self.configuration,
            self.confidence,
            self.created_from,
            self.created_to,
            self.search,
        )
        # three blocks that sit side by side when there is room and wrap when not (800 px)
        facets_box = widgets.VBox(
            [self.status, self.result_type, self.columns], layout={"flex": "0 0 auto"}
        )
        ranges_box = widgets.VBox(
            [*choosers[2:], widgets.HBox([self.no_match_only, self.failed_only, self.reset])],
            layout={"flex": "0 0 auto"},
        )
        summary_box = widgets.VBox(
            [self.matched, self.summary, self.histogram],
            layout={"flex": "1 1 380px", "min_width": "0", "max_width": "600px"},
        )
        pager = widgets.HBox(
            [self.page_size, self.previous, self.page_label, self.next],
            layout={"align_items": "center"},
        )
        export_box = widgets.HBox([self.export_format, self.export_name, self.export_button])
        # the open job beside the table (its label panel first), sticky while the page scrolls;
        # under the table when the window is too narrow for both
        side = [self.file, self.detail]
        side = side if self.labelling is None else [self.labelling, *side]
        self.side = control(
            widgets.VBox(side, layout={"flex": "1 1 380px", "min_width": "0"}), "cf-side"
        )
        main = widgets.VBox([pager, self.table], layout={"flex": "3 1 560px", "min_width": "0"})
        super().__init__(
            [
                widgets.HBox(
                    [facets_box, ranges_box, summary_box],
                    layout={"flex_flow": "row wrap", "grid_gap": "4px 16px"},
                ),
                widgets.HBox(
                    [main, self.side], layout={"flex_flow": "row wrap", "grid_gap": "8px 16px"}
                ),
                widgets.HBox([self.audit_button, export_box], layout={"flex_flow": "row wrap"}),
                self.audit_output,
                self.export_status,
            ]
        )
        self.add_class("cf-explorer-widget")
        self.layout.max_width = "100%"

        for widget in (*choosers, self.no_match_only, self.failed_only):
            widget.observe(self._on_filter, names="value")
        self.table.observe(self._on_filter, names=["sort_by", "descending"])
        self.table.observe(self._on_job, names="selected")
        self.table.on_key(self._on_key)
        if self.labelling is not None:  # a label written: mark its row (the panel wrote first)
            for choice in (self.labelling.choice, self.labelling.other):
                choice.observe(lambda _: self._draw_table(), names="value")
        self.columns.observe(lambda _: self._show_page(), names="value")
        self.page_size.observe(self._on_page_size, names="value")
        self.export_format.observe(self._on_format, names="value")
        self.reset.on_click(lambda _: self.reset_filters())
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(+1))
        self.export_button.on_click(lambda _: self._on_export())
        self.audit_button.on_click(lambda _: self._on_audit())

        self._view: View = index.view(FilterState())
        self._update_facets()
        if filters:
            self.set_filters(**filters)
        else:
            self._refresh()

    # -- the API for code ------------------------------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """The whole frame being explored (with ``queue=``: the queue's jobs, in its order)."""
        return self._index.frame

    @property
    def filtered(self) -> pd.DataFrame:
        """The jobs that match the current filters, in frame order (what export writes)."""
        return self._index.frame[self._view.mask]

    @property
    def filters(self) -> dict[str, Any]:
        """The current filters as a dict; ``set_filters(**explorer.filters)`` replays them."""
        return self._state().as_dict()

    @property
    def selected(self) -> str | None:
        """The id of the open job (the row clicked last), or None."""
        position = self.table.selected
        if position < 0 or "id" not in self.frame.columns:
            return None
        value = column_values(self.frame["id"], np.array([position]))[0]
        return None if value is None else str(value)

    @property
    def page_ids(self) -> list[str]:
        """The ids of the rows on the current page, in the order shown."""
        rows = self._view.page(self._page, self.page_size.value)
        if "id" not in self.frame.columns:
            return []
        return [str(v) for v in column_values(self.frame["id"], rows)]

    def set_filters(self, **filters: Any) -> None:
        """Change the named filters (the others stay) and update the widget once.

        Names: status, result_type (lists; "no match" for completed jobs without a type,
        None for jobs without a result), configuration, confidence ``(low, high)``,
        created ``(from, to)`` dates or ISO strings, search, no_match_only, failed_only.
        """
        state = FilterState.from_options(self._state(), **filters)
        self._check_choices(state)
        with self._quietly():
            self.status.value = state.status
            self.result_type.value = state.result_type
            self.configuration.value = state.configuration or ""
            self.confidence.value = state.confidence or (self.confidence.min, self.confidence.max)
            self.created_from.value, self.created_to.value = state.created
            self.search.value = state.search
            self.no_match_only.value = state.no_match_only
            self.failed_only.value = state.failed_only
        self._refresh()

    def reset_filters(self) -> None:
        """Show every job again (sorting and page size stay)."""
        self.set_filters(**FilterState().as_dict())

    def sort(self, column: str | None, descending: bool = False) -> None:
        """Sort the table by ``column`` (None: frame order), as a click on its header does."""
        if column is not None and column not in self.frame.columns:
            msg = f"cannot sort by {column!r}: not a column of the frame"
            raise ValueError(msg)
        with self._quietly():
            self.table.descending = descending
            self.table.sort_by = column or ""
        self._refresh()

    def show_job(self, job_id: str) -> None:
        """Open ``job_id``'s detail (and label it, in labelling mode), as a click on its row."""
        where: list[int] = []
        if "id" in self.frame.columns and self._view.matched:
            # the frame rows with that id that are shown, then their places in the shown order
            shown = [p for p in _positions(self.frame["id"], job_id) if self._view.mask[p]]
            rows = self._view.rows
            where = sorted(int(np.flatnonzero(rows == p)[0]) for p in shown)
        if not where:
            msg = f"job {job_id!r} is not among the {self._view.matched:,} filtered jobs"
            raise KeyError(msg)
        self._go_to(int(where[0]))

    def move(self, step: int) -> None:
        """Open the next (``+1``) or previous (``-1``) job of the filtered, sorted rows."""
        rows = self._view.rows
        if not len(rows):
            return
        here = np.flatnonzero(rows == self.table.selected)
        start = int(here[0]) if len(here) else self._page * self.page_size.value - step
        self._go_to(min(max(start + step, 0), len(rows) - 1))

    def audit_selection(self) -> Any:
        """``cf.audit`` of the filtered rows at the explorer's threshold (an ``AuditReport``)."""
        from ..auditing import audit

        return audit(self.filtered, threshold=self.threshold)

    def export(self, path: str | os.PathLike[str], fmt: Format | None = None) -> Path:
        """Write exactly the filtered rows to ``path`` (format from the suffix unless given)."""
        chosen: Format = fmt or ("csv" if str(path).lower().endswith(".csv") else "parquet")
        return export_frame(self.filtered, path, chosen)

    def _repr_html_(self) -> str:
        """A static snapshot (summary and first page) for front ends without widgets."""
        return snapshot_html(self._index, self._view, self._view.page(0, self.page_size.value))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self._repr_html_()
        return bundle

    # -- internals -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Set several controls without recomputing after each one."""
        was, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = was

    def _state(self) -> FilterState:
        low, high = self.confidence.value
        full = (low, high) == (self.confidence.min, self.confidence.max)
        return FilterState(
            status=tuple(self.status.value),
            result_type=tuple(self.result_type.value),
            configuration=self.configuration.value or None,
            confidence=None if full else (low, high),
            created=(self.created_from.value, self.created_to.value),
            search=self.search.value,
            no_match_only=self.no_match_only.value,
            failed_only=self.failed_only.value,
        )

    def _check_choices(self, state: FilterState) -> None:
        facets = self._index.facets
        for name in ("status", "result_type"):
            known = facets[name].values
            unknown = [v for v in getattr(state, name) if v not in known]
            if unknown:
                msg = f"{name} {unknown} not in this frame; it has {list(known)}"
                raise ValueError(msg)
        configs = [v for v in facets["configuration"].values if v is not None]
        if state.configuration is not None and state.configuration not in configs:
            msg = f"configuration {state.configuration!r} not in this frame; it has {configs}"
            raise ValueError(msg)

    def _on_filter(self, _change: Any = None) -> None:
        if not self._quiet:
            self._refresh()

    def _refresh(self) -> None:
        self._page = 0
        self._view = view = self._index.view(
            self._state(), self.table.sort_by or None, self.table.descending
        )
        self._update_facets()
        self.matched.value = f"{view.matched:,} of {view.total:,} jobs"
        self.summary.value = summary_html(self._index, view)
        self.histogram.value = histogram_html(view, self._index.histogram, self.threshold)
        self._show_page()

    def _update_facets(self) -> None:
        """Label each choice with how many jobs it would add under the other filters."""
        for name, widget in (
            ("status", self.status),
            ("result_type", self.result_type),
            ("configuration", self.configuration),
        ):
            values = self._index.facets[name].values
            counts = self._view.facet_counts[name].tolist()
            options = [
                (f"{self._facet_label(name, v)} ({c:,})", v)
                for v, c in zip(values, counts, strict=True)
                if not (name == "configuration" and v in (None, ""))
            ]
            if name == "configuration":  # "" stands for all: a None value would show a blank
                options.insert(0, ("all configurations", ""))
            labels = [text for text, _ in options]
            if labels != self._facet_labels.get(name):
                self._facet_labels[name] = labels
                with self._quietly():
                    kept = widget.value
                    widget.options = options
                    widget.value = kept

    def _facet_label(self, name: str, value: Any) -> str:
        if name == "configuration" and value is not None:
            return self._names.get(str(value), str(value))
        return label(value, _MISSING_LABELS[name])

    def _show_page(self, select: int | None = None) -> None:
        """Render the current page; open row ``select`` (a frame position), else keep the open
        job if it is on the page, else open the page's first row."""
        view, size = self._view, self.page_size.value
        self._page = min(self._page, view.pages(size) - 1)
        rows = self._draw_table()
        self.page_label.value = f"page {self._page + 1:,} of {view.pages(size):,}"
        self.previous.disabled = self._page == 0
        self.next.disabled = self._page >= view.pages(size) - 1
        on_page = rows.tolist()
        if select is None:
            select = self.table.selected if self.table.selected in on_page else -1
            select = on_page[0] if select < 0 and on_page else select
        if select == self.table.selected:
            self._on_job()
        else:
            self.table.selected = select  # its observer shows the detail

    def _draw_table(self) -> Rows:
        """Render the current page of the table (search hits and labels marked); its rows."""
        rows = self._view.page(self._page, self.page_size.value)
        labels = None
        if self._store is not None and "id" in self.frame.columns:
            ids = column_values(self.frame["id"], rows)
            labels = {p: self._store.get(str(i)) for p, i in zip(rows.tolist(), ids, strict=True)}
        self.table.value = table_html(
            self._index.frame,
            rows,
            columns=[c for c in self.columns.options if c in self.columns.value],
            sort_by=self.table.sort_by or None,
            descending=self.table.descending,
            names=self._names,
            search=self.search.value,
            labels=labels,
        )
        return rows

    def _go_to(self, index: int) -> None:
        """Open the job at ``index`` of the filtered, sorted rows, turning to its page."""
        self._page = index // self.page_size.value
        self._show_page(select=int(self._view.rows[index]))

    def _on_page_size(self, _change: Any = None) -> None:
        self._page = 0
        self._show_page()

    def _turn(self, step: int) -> None:
        self._page += step
        self._show_page()

    def _on_job(self, _change: Any = None) -> None:
        if self._quiet:
            return
        position = self.table.selected
        self.detail.value = detail_html(
            self._index.frame, None if position < 0 else position, self.search.value
        )
        self.file.show(self._input(position))
        if self.labelling is not None:
            choices, stated = self._choices(position)
            self.labelling.show(self.selected, choices, stated)

    def _input(self, position: int) -> tuple[str, str] | None:
        """The input type and input of the job at ``position`` (see :func:`input_of`)."""
        frame = self._index.frame
        if position < 0 or "file_input" not in frame.columns:
            return None
        rows = np.array([position])
        value = column_values(frame["file_input"], rows)[0]
        kind = None
        if "document_input_type" in frame.columns:
            kind = column_values(frame["document_input_type"], rows)[0]
        return input_of(kind, value)

    def _file_url(self, file_id: str) -> FileURL:
        """A fresh link to ``file_id`` from the explorer's client (made at the first click
        when none was given)."""
        if self._client is None:
            from ..client import ClassifyClient

            try:
                self._client = ClassifyClient(progress=False)
            except ConfigurationError as exc:
                why = exc.words(str, hint="")
                msg = (
                    f"cannot ask the service for a link ({why}): explore the frame with "
                    "client=cf.ClassifyClient(...), or set LLAMA_CLOUD_API_KEY"
                )
                raise ConfigurationError(msg, option="client") from None
        return self._client.file_url(file_id)

    def _choices(self, position: int) -> tuple[list[str], str]:
        """The rule types of the job at ``position`` (else every type seen) and its result."""
        frame = self._index.frame
        if position < 0:
            return [], ""
        types: list[str] = []
        if "configuration.rules" in frame.columns:
            rules = column_values(frame["configuration.rules"], np.array([position]))[0]
            if isinstance(rules, list):
                types = [str(r["type"]) for r in rules if isinstance(r, dict) and r.get("type")]
        if not types:
            types = [str(v) for v in self._index.facets["result_type"].values if v is not None]
        facet = self._index.facets["result_type"]  # "no match" only for a completed job
        value = facet.values[int(facet.codes[position])] if len(facet.values) else None
        return types, NO_RESULT if value is None else str(value)

    def _on_key(self, message: dict[str, Any]) -> None:
        if message.get("event") == "move":
            self.move(1 if int(message.get("step", 1)) > 0 else -1)
        elif message.get("event") == "pick" and self.labelling is not None:
            self.labelling.pick(int(message.get("number", -1)))

    def _on_format(self, change: Any) -> None:
        name = self.export_name.value
        old, new = FORMATS[change["old"]], FORMATS[change["new"]]
        if name.lower().endswith(old):
            self.export_name.value = name[: -len(old)] + new

    def _on_audit(self) -> None:
        jobs = self._view.matched
        if not jobs:
            self.audit_output.value = "<i>No jobs to audit: the filters match none.</i>"
            return
        self.audit_output.value = f"<i>auditing {jobs:,} jobs…</i>"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                report = self.audit_selection()
                shown = findings_html(report, jobs, [str(w.message) for w in caught])
            except Exception as exc:  # an audit that cannot run says why, in the widget
                shown = (
                    f'<span class="cf-audit-error" style="color:#b00020">Cannot audit these '
                    f"{jobs:,} jobs: {html.escape(str(exc))}</span>"
                )
        self.audit_output.value = shown

    def _on_export(self) -> None:
        try:
            path = self.export(self.export_name.value, self.export_format.value)
        except Exception as exc:  # any failure belongs in the widget, not a traceback
            self.export_status.value = (
                f'<span class="cf-export-error" style="color:#b00020">Export failed: '
                f"{html.escape(str(exc))}</span>"
            )
            return
        self.export_status.value = (
            f'Wrote <b class="cf-export-count">{self._view.matched:,}</b> rows to '
            f'<code class="cf-export-path">{html.escape(str(path))}</code>'
        )


def _positions(column: pd.Series, value: str) -> list[int]:
    """Frame positions where ``column`` (as text) is ``value``; Arrow text is compared where it
    lies (a copy of 10M ids as Python strings takes seconds and gigabytes)."""
    data = arrow_data(column)
    if data is not None and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        same = pc.equal(data, value).fill_null(False).to_numpy(zero_copy_only=False)
    else:
        same = (column.astype(str) == value).to_numpy(dtype=bool)
    return [int(p) for p in np.flatnonzero(same)]


def _queue_rows(frame: pd.DataFrame, queue: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` for the queue's ids, in the queue's order."""
    if "id" not in frame.columns:
        msg = "the frame has no 'id' column to find the queue's jobs in"
        raise ValueError(msg)
    wanted = pd.Index(queue["id"].astype(str)).drop_duplicates()
    ids = pd.Index(frame["id"].astype(str))
    position = (
        ids.get_indexer(wanted) if ids.is_unique else ids.drop_duplicates().get_indexer(wanted)
    )
    missing = wanted[position < 0]
    if len(missing):
        shown = ", ".join(map(repr, missing[:5])) + (" …" if len(missing) > 5 else "")
        msg = (
            f"{len(missing):,} of the queue's {len(wanted):,} jobs are not in the frame "
            f"({shown}); explore the frame the queue was made from"
        )
        raise ValueError(msg)
    if not ids.is_unique:
        first = ~ids.duplicated()
        return frame[first].iloc[position].reset_index(drop=True)
    return frame.iloc[position].reset_index(drop=True)


def explore(
    frame: pd.DataFrame,
    *,
    page_size: int = 25,
    sort_by: str | None = None,
    descending: bool = False,
    threshold: float = 0.8,
    queue: pd.DataFrame | str | os.PathLike[str] | None = None,
    labels: str | os.PathLike[str] | None = None,
    client: ClassifyClient | None = None,
    **filters: Any,
) -> JobExplorer:
    """An interactive explorer of ``frame`` (also ``df.classify.explore()``), filters preset.

    ``queue=`` (``report.review_queue(...)``, or its CSV/Parquet file) shows only the queue's
    jobs, in its order, with a labelling panel writing to ``labels=`` (default ``labels.csv``);
    ``labels=`` alone labels any job of the frame. ``threshold`` is drawn on the histogram and
    used by "Audit this selection". ``client`` (a :class:`~classify_frames.ClassifyClient`)
    fetches a link to a job's input file when "Open file" is clicked.

    >>> explore(df, status=["COMPLETED"], confidence=(0, 0.5))   # doctest: +SKIP
    >>> explore(df, queue=report.review_queue(n=50), labels="labels.csv")  # doctest: +SKIP
    """
    return JobExplorer(
        frame,
        page_size=page_size,
        sort_by=sort_by,
        descending=descending,
        threshold=threshold,
        queue=queue,
        labels=labels,
        client=client,
        **filters,
    )
