"""The ``JobExplorer`` widget: stock ipywidgets over :class:`~._index.JobIndex`, nothing more.

Each control sets one field of a :class:`~._state.FilterState`; every change recomputes the view
(vectorised, see ``_index``) and re-renders only the summary, the histogram and one page of HTML.
Every control carries a ``cf-…`` CSS class so browser tests can find it.
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ._export import FORMATS, Format, export_frame
from ._index import JobIndex, View
from ._render import (
    TABLE_COLUMNS,
    column_values,
    detail_html,
    histogram_html,
    label,
    snapshot_html,
    summary_html,
    table_html,
)
from ._state import FilterState

__all__ = ["PAGE_SIZES", "JobExplorer", "explore"]

PAGE_SIZES = (10, 25, 50, 100, 250)
_MISSING_LABELS = {"status": "(missing)", "result_type": "(none)", "configuration": "(none)"}
_WIDE = {"width": "340px"}  # a dict, so each control gets its own Layout widget
_STYLE = {"description_width": "90px"}


class JobExplorer(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Filter, inspect and export a frame of jobs; drive it by mouse or by code.

    >>> explorer = explore(df, status=["FAILED"])                  # doctest: +SKIP
    >>> explorer.set_filters(confidence=(0, 0.5), search="invoice")  # doctest: +SKIP
    >>> explorer.filters["confidence"], len(explorer.filtered)      # doctest: +SKIP
    ((0.0, 0.5), 42)

    The confidence slider spans [0, 1] (wider if the data is); at its full span it constrains
    nothing, so jobs without a confidence (pending, failed: NaN) stay. Narrow it and only jobs
    with a confidence inside the range remain. "no match only" keeps completed jobs that no rule
    matched (``result.type`` missing); "failed only" keeps status FAILED and jobs that could not
    be fetched (``fetch_error`` set). The frame is indexed once: explore it again after changing it.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        page_size: int = 25,
        sort_by: str | None = None,
        descending: bool = False,
        **filters: Any,
    ) -> None:
        self._index = index = JobIndex(frame)
        self._quiet = False
        self._page = 0
        self._facet_labels: dict[str, list[str]] = {}
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
            widgets.Dropdown(description="configuration", layout=_WIDE, style=_STYLE),
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
            widgets.Checkbox(description="no match only", indent=False), "cf-no-match"
        )
        self.failed_only = control(
            widgets.Checkbox(description="failed only", indent=False), "cf-failed"
        )
        self.reset = control(
            widgets.Button(description="Reset filters", icon="undo", layout={"width": "auto"}),
            "cf-reset",
        )
        self.matched = control(widgets.Label(), "cf-matched")
        self.summary = control(widgets.HTML(), "cf-summary")
        self.histogram = control(widgets.HTML(), "cf-histogram")
        sortable = [c for c in TABLE_COLUMNS if c in frame.columns]
        if sort_by is not None and sort_by not in sortable:
            msg = f"sort_by must be one of {sortable}, got {sort_by!r}"
            raise ValueError(msg)
        self.sort_by = control(
            widgets.Dropdown(
                options=[("frame order", ""), *[(c, c) for c in sortable]],
                value=sort_by or "",
                description="sort by",
                style=_STYLE,
            ),
            "cf-sort",
        )
        self.descending = control(
            widgets.Checkbox(value=descending, description="descending", indent=False),
            "cf-descending",
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
        self.table = control(widgets.HTML(), "cf-table")
        self.job = control(
            widgets.Dropdown(description="job", layout=_WIDE, style=_STYLE), "cf-job"
        )
        self.detail = control(widgets.HTML(), "cf-detail")
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
        filters_box = widgets.VBox(
            [*choosers, widgets.HBox([self.no_match_only, self.failed_only, self.reset])]
        )
        summary_box = widgets.VBox([self.matched, self.summary, self.histogram])
        summary_box.layout.padding = "0 0 0 16px"
        pager = widgets.HBox(
            [
                self.sort_by,
                self.descending,
                self.page_size,
                self.previous,
                self.page_label,
                self.next,
            ]
        )
        export_box = widgets.HBox([self.export_format, self.export_name, self.export_button])
        super().__init__(
            [
                widgets.HBox([filters_box, summary_box]),
                pager,
                self.table,
                self.job,
                self.detail,
                export_box,
                self.export_status,
            ]
        )
        self.add_class("cf-explorer-widget")

        for widget in (
            *choosers,
            self.no_match_only,
            self.failed_only,
            self.sort_by,
            self.descending,
        ):
            widget.observe(self._on_filter, names="value")
        self.page_size.observe(self._on_page_size, names="value")
        self.job.observe(self._on_job, names="value")
        self.export_format.observe(self._on_format, names="value")
        self.reset.on_click(lambda _: self.reset_filters())
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(+1))
        self.export_button.on_click(lambda _: self._on_export())

        self._view: View = index.view(FilterState())
        self._update_facets()
        if filters:
            self.set_filters(**filters)
        else:
            self._refresh()

    # -- the API for code ------------------------------------------------------------------------

    @property
    def frame(self) -> pd.DataFrame:
        """The whole frame being explored."""
        return self._index.frame

    @property
    def filtered(self) -> pd.DataFrame:
        """The jobs that match the current filters, in frame order (what export writes)."""
        return self._index.frame[self._view.mask]

    @property
    def filters(self) -> dict[str, Any]:
        """The current filters as a dict; ``set_filters(**explorer.filters)`` replays them."""
        return self._state().as_dict()

    def set_filters(self, **filters: Any) -> None:
        """Change the named filters (the others stay) and update the widget once.

        Names: status, result_type (lists), configuration, confidence ``(low, high)``,
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
            self._state(), self.sort_by.value or None, self.descending.value
        )
        self._update_facets()
        self.matched.value = f"{view.matched:,} of {view.total:,} jobs"
        self.summary.value = summary_html(self._index, view)
        self.histogram.value = histogram_html(view)
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
                (f"{label(v, _MISSING_LABELS[name])} ({c:,})", v)
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

    def _show_page(self) -> None:
        view, size = self._view, self.page_size.value
        self._page = min(self._page, view.pages(size) - 1)
        rows = view.page(self._page, size)
        self.table.value = table_html(
            self._index.frame,
            rows,
            sort_by=self.sort_by.value or None,
            descending=self.descending.value,
        )
        self.page_label.value = f"page {self._page + 1:,} of {view.pages(size):,}"
        self.previous.disabled = self._page == 0
        self.next.disabled = self._page >= view.pages(size) - 1
        with self._quietly():
            self.job.options = _job_options(self._index.frame, rows)
            self.job.index = 0 if len(rows) else None
        self._on_job()

    def _on_page_size(self, _change: Any = None) -> None:
        self._page = 0
        self._show_page()

    def _turn(self, step: int) -> None:
        self._page += step
        self._show_page()

    def _on_job(self, _change: Any = None) -> None:
        if not self._quiet:
            self.detail.value = detail_html(self._index.frame, self.job.value)

    def _on_format(self, change: Any) -> None:
        name = self.export_name.value
        old, new = FORMATS[change["old"]], FORMATS[change["new"]]
        if name.lower().endswith(old):
            self.export_name.value = name[: -len(old)] + new

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


def _job_options(frame: pd.DataFrame, rows: np.ndarray) -> Sequence[tuple[str, int]]:
    ids = column_values(frame["id"], rows) if "id" in frame.columns else [None] * len(rows)
    return [
        (f"{job_id}" if isinstance(job_id, str) else f"row {position}", position)
        for job_id, position in zip(ids, rows.tolist(), strict=True)
    ]


def explore(
    frame: pd.DataFrame,
    *,
    page_size: int = 25,
    sort_by: str | None = None,
    descending: bool = False,
    **filters: Any,
) -> JobExplorer:
    """An interactive explorer of ``frame`` (also ``df.classify.explore()``), filters preset.

    >>> explore(df, status=["COMPLETED"], confidence=(0, 0.5))   # doctest: +SKIP
    """
    return JobExplorer(
        frame, page_size=page_size, sort_by=sort_by, descending=descending, **filters
    )
