"""The explorer's table: one page of HTML rendered in Python, made clickable by a tiny anywidget.

The kernel renders and escapes the page (``_render.table_html``); the front end only listens:
a click on a column header sets ``sort_by`` / ``descending``, a click on a row sets ``selected``
(its frame position), and keys send messages the explorer acts on (move to the next or previous
job, pick a label by number). anywidget ships its own front end, so this runs in JupyterLab,
Notebook 7, VS Code and Voila with no build step, and the traits are plain Python values to test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

__all__ = ["JobGrid"]

_ESM = r"""
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "cf-grid-box";
  box.tabIndex = 0;  // focusable: the arrow keys and j/k walk the jobs
  el.appendChild(box);
  // keep the open row inside the box's scrolled view, below its sticky header
  const reveal = (tr) => {
    const head = box.querySelector("thead");
    const top = box.getBoundingClientRect().top + (head ? head.offsetHeight : 0);
    const bottom = box.getBoundingClientRect().bottom;
    const row = tr.getBoundingClientRect();
    if (row.top < top) box.scrollTop -= top - row.top;
    else if (row.bottom > bottom) box.scrollTop += row.bottom - bottom;
  };
  const mark = () => {
    const chosen = String(model.get("selected"));
    for (const tr of box.querySelectorAll("tr[data-row]")) {
      const open = tr.dataset.row === chosen;
      tr.classList.toggle("cf-selected", open);
      if (open) reveal(tr);
    }
  };
  // after a click, the job's detail must be in sight: if the page hides it (under the table in
  // a narrow window, under the label panel in a short one), bring the column holding it (and
  // the panel) to the top of the window
  const showDetail = () => {
    const root = el.closest(".cf-explorer-widget");
    const detail = root ? root.querySelector(".cf-detail") : null;
    if (!detail) return;
    const at = detail.getBoundingClientRect();
    if (at.top < 0 || at.top > window.innerHeight - 120) {
      (root.querySelector(".cf-side") || detail).scrollIntoView({ block: "start" });
    }
  };
  const draw = () => { box.innerHTML = model.get("value"); mark(); };
  box.addEventListener("click", (event) => {
    const th = event.target.closest("th[data-col]");
    if (th) {
      const col = th.dataset.col;
      const again = model.get("sort_by") === col;
      model.set("descending", again ? !model.get("descending") : false);
      model.set("sort_by", col);
      model.save_changes();
      return;
    }
    const tr = event.target.closest("tr[data-row]");
    if (tr) {
      model.set("selected", Number(tr.dataset.row));
      model.save_changes();
      box.focus({ preventScroll: true });
      if (!event.target.closest("a")) showDetail();
    }
  });
  box.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key;
    let msg = null;
    if (key === "ArrowDown" || key === "j") msg = { event: "move", step: 1 };
    else if (key === "ArrowUp" || key === "k") msg = { event: "move", step: -1 };
    else if (/^[0-9]$/.test(key)) msg = { event: "pick", number: Number(key) };
    if (msg) { event.preventDefault(); model.send(msg); }
  });
  model.on("change:value", draw);
  model.on("change:selected", mark);
  draw();
}
export default { render };
"""

_CSS = """
.cf-grid-box{overflow:auto;outline:none;max-width:100%;max-height:70vh}
.cf-grid-box thead th{position:sticky;top:0;background:#fff;z-index:1}
.cf-grid-box .cf-scroll{overflow:visible}
.cf-grid-box:focus-visible{box-shadow:0 0 0 2px #4c78a855}
.cf-grid-box th[data-col]{cursor:pointer;user-select:none}
.cf-grid-box th[data-col]:hover{background:#eef2f7}
.cf-grid-box tr[data-row]{cursor:pointer}
.cf-grid-box tr[data-row]:hover td{background:#f4f6fa}
.cf-grid-box tr.cf-selected td{background:#dbe7f5}
"""


class JobGrid(anywidget.AnyWidget):  # type: ignore[misc]  # anywidget/traitlets are untyped
    """One page of jobs; click a header to sort, a row to open it, keys to walk and label.

    >>> grid = JobGrid()
    >>> grid.sort_by, grid.descending, grid.selected
    ('', False, -1)
    """

    _esm = _ESM
    _css = _CSS
    value = traitlets.Unicode("").tag(sync=True)
    sort_by = traitlets.Unicode("").tag(sync=True)
    descending = traitlets.Bool(False).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)

    def on_key(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(message)`` for each key message from the page (move, pick)."""

        def handle(_widget: Any, content: Any, _buffers: Any) -> None:
            if isinstance(content, dict):
                callback(content)

        self.on_msg(handle)
