"""The labelling panel: the open job's true type, picked from its rule types, "none" or typed.

It only shows a :class:`~._labelling.LabelStore` and writes to it; which job is open and what
"next" means belong to the explorer, which calls :meth:`LabelPanel.show` and passes ``on_move``.
Keyboard: in the table, ↓/j and ↑/k walk the jobs and 1–9 pick a type, 0 "none"; in the panel,
Tab reaches every button and the text box saves on Enter.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets

from ._labelling import NONE_LABEL, LabelStore

__all__ = ["LabelPanel"]

_TEXT = '<div style="line-height:1.4;white-space:normal;overflow-wrap:anywhere">{}</div>'
_HELP = (
    "keys in the table: ↓ / j next job, ↑ / k previous, 1–9 pick a type, 0 none; "
    "each label is saved at once"
)


class LabelPanel(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """Label the open job; every change is written to the store's file at once."""

    def __init__(self, store: LabelStore, on_move: Callable[[int], None]) -> None:
        self.store = store
        self._job: str | None = None
        self._quiet = False
        self.title = widgets.HTML()
        self.title.add_class("cf-label-title")
        self.choice = widgets.ToggleButtons(options=[], value=None, style={"button_width": "auto"})
        self.choice.add_class("cf-label-choice")
        self.choice.layout.flex_flow = "row wrap"
        self.other = widgets.Text(
            placeholder="another type, then Enter",
            continuous_update=False,
            description="other",
            style={"description_width": "50px"},
            layout={"width": "330px"},
        )
        self.other.add_class("cf-label-other")
        self.previous = widgets.Button(description="previous", icon="chevron-up")
        self.previous.add_class("cf-label-prev")
        self.next = widgets.Button(description="next", icon="chevron-down")
        self.next.add_class("cf-label-next")
        self.clear = widgets.Button(description="clear label", icon="eraser")
        self.clear.add_class("cf-label-clear")
        for button in (self.previous, self.next, self.clear):
            button.layout.width = "auto"
        self.advance = widgets.Checkbox(value=True, description="next job after a label")
        self.advance.add_class("cf-label-advance")
        self.advance.indent = False
        self.advance.layout.width = "auto"
        self.status = widgets.HTML()
        self.status.add_class("cf-label-status")
        hint = widgets.HTML(
            _TEXT.format(f'<span style="color:#777;font-size:11px">{html.escape(_HELP)}</span>')
        )
        super().__init__(
            [
                self.title,
                self.choice,
                self.other,
                widgets.HBox([self.previous, self.next, self.clear]),
                self.advance,
                self.status,
                hint,
            ]
        )
        self.add_class("cf-label-panel")
        self.layout.width = "380px"
        self.layout.padding = "0 0 0 12px"
        self._on_move = on_move
        self.choice.observe(self._on_choice, names="value")
        self.other.observe(self._on_other, names="value")
        self.previous.on_click(lambda _: on_move(-1))
        self.next.on_click(lambda _: on_move(+1))
        self.clear.on_click(lambda _: self.label(None, advance=False))
        self._say()

    def show(self, job_id: str | None, choices: Sequence[str], stated: str) -> None:
        """Open ``job_id`` (None: nothing to label) with its rule types as ``choices``."""
        self._job = job_id if job_id in self.store.ids else None
        problem = None
        try:  # another explorer or a script may have written since: show what the file holds
            self.store.refresh()
        except (OSError, ValueError) as exc:  # the labels read last stay shown, and why
            problem = f"Labels file not read again: {exc}"
        options = [*dict.fromkeys(c for c in choices if c and c != NONE_LABEL), NONE_LABEL]
        current = self.store.get(job_id) if self._job is not None and job_id else None
        self._quiet = True
        try:
            self.choice.options = [
                (f"{i + 1 if i < 9 else '·'} {c}", c) for i, c in enumerate(options[:-1])
            ] + [(f"0 {NONE_LABEL}", NONE_LABEL)]
            self.choice.value = current if current in options else None
            self.other.value = current if current and current not in options else ""
        finally:
            self._quiet = False
        disabled = self._job is None
        for control in (self.choice, self.other, self.clear):
            control.disabled = disabled
        if self._job is None:
            self.title.value = _TEXT.format('<span style="color:#777">no job open to label</span>')
        else:
            self.title.value = _TEXT.format(
                f"<b>True type of</b> <code>{html.escape(self._job)}</code> "
                f'<span style="color:#777">(stated: {html.escape(stated)})</span>'
            )
        self._say(error=problem)

    def pick(self, number: int) -> None:
        """Label the open job with choice ``number`` as the keys do (1–9; 0 is "none")."""
        values = [value for _, value in self.choice.options]
        if number == 0:
            self.label(NONE_LABEL)
        elif 1 <= number <= min(9, len(values) - 1):
            self.label(values[number - 1])

    def label(self, value: str | None, *, advance: bool = True) -> None:
        """Write ``value`` as the open job's label (None clears it), then maybe move on."""
        if self._job is None:
            return
        try:
            self.store.set(self._job, value)
        except Exception as exc:  # a full disk or a vanished directory belongs in the panel
            self._select(self.store.get(self._job))  # what the file holds, not the click
            self._say(error=f"Label not saved: {exc}")
            return
        self._select(value)
        self._say(saved=value)
        if advance and value and self.advance.value:
            self._on_move(+1)

    def _select(self, value: str | None) -> None:
        """Show ``value`` as the open job's label, in the buttons or the text box."""
        self._quiet = True
        try:
            values = [v for _, v in self.choice.options]
            self.choice.value = value if value in values else None
            self.other.value = value if value and value not in values else ""
        finally:
            self._quiet = False

    def _on_choice(self, change: dict[str, object]) -> None:
        if not self._quiet and isinstance(change["new"], str):
            self.label(change["new"])

    def _on_other(self, change: dict[str, object]) -> None:
        if not self._quiet and isinstance(change["new"], str) and change["new"].strip():
            self.label(change["new"].strip())

    def _say(self, saved: str | None = None, error: str | None = None) -> None:
        """The count (the store's, read back from the file), and what was saved or went wrong."""
        store = self.store
        done = f"{store.labelled:,} of {len(store.ids):,} labelled"
        where = f"saved to <code>{html.escape(str(store.path))}</code>"
        what = f"“{html.escape(saved)}” " if saved else ""
        if not store.path.exists():
            where = f"will be saved to <code>{html.escape(str(store.path))}</code>"
        if error is not None:
            what = ""
            where = (
                f'<span class="cf-label-error" style="color:#b00020">{html.escape(error)}</span>'
            )
        self.status.value = _TEXT.format(
            f'<span class="cf-label-count">{done}</span> · {what}{where}'
        )
