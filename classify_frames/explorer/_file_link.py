"""The open job's input file, with an "Open file" button asking the service for a fresh link.

A job's input is a web address (the detail already links it), a file the service holds
(``document_input_type`` ``file_id``: a ``dfl-…`` id) or a parse job (``pjb-…``), which has no
file to open. The link to a file is presigned and expires, so it is asked for only on a click
(``client.file_url``), never when a job is shown, and a new click asks again. A widget cannot
open a browser tab, so the link is shown for the reader to click. Errors read as one short line.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._exceptions import ClassifyFramesError

if TYPE_CHECKING:
    from ..client import FileURL

__all__ = ["FileLink", "input_of", "link_html"]

_KINDS = ("url", "file_id", "parse_job_id")
_PREFIXES = {"dfl-": "file_id", "pjb-": "parse_job_id"}  # the service's ids (SDK 2.19)
_WEB = re.compile(r"https?://[^\s<>\"']+\Z", re.IGNORECASE)
_BOX = '<div class="cf-file-text" style="line-height:1.4;overflow-wrap:anywhere">{}</div>'
_ERROR = '<div class="cf-file-error" style="color:#b00020;line-height:1.4">{}</div>'


def input_of(kind: Any, value: Any) -> tuple[str, str] | None:
    """(input type, input) of a job: its ``document_input_type`` when it is one the service
    names, else read from the input's shape; None when it has no input."""
    if not isinstance(value, str) or not value:
        return None
    if kind in _KINDS:
        return str(kind), value
    if _WEB.match(value):
        return "url", value
    for prefix, named in _PREFIXES.items():
        if value.startswith(prefix):
            return named, value
    return None


def link_html(link: FileURL, now: dt.datetime | None = None) -> str:
    """The fetched link, to click (a new tab), and until when it opens the file."""
    if not _WEB.match(link.url):  # only http(s): never a javascript: address
        return _ERROR.format("the service's link is not a web address")
    now = now or dt.datetime.now(dt.UTC)
    left = (link.expires_at - now).total_seconds()
    until = link.expires_at.astimezone(dt.UTC).strftime("%H:%M:%S UTC")
    when = f"opens the file until {until}" if left > 0 else "already expired"
    return (
        f'<div style="line-height:1.4;overflow-wrap:anywhere"><a class="cf-file-open" '
        f'href="{html.escape(link.url)}" target="_blank" rel="noopener noreferrer" '
        'style="color:#1a5fb4;text-decoration:underline">'
        f"open {html.escape(link.file_id)} ↗</a> "
        f'<span style="color:#777">({when}; "Open file" again for a new link)</span></div>'
    )


class FileLink(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """The input of the open job: a file's id with "Open file", or a parse job's id saying it
    has no file; hidden for a web address (the detail links it) or a job without input.

    ``fetch`` (``client.file_url``) is called with the file id on a click, and only then.
    """

    def __init__(self, fetch: Callable[[str], FileURL]) -> None:
        self._fetch = fetch
        self._file: str | None = None
        self.text = widgets.HTML()
        self.text.add_class("cf-file-id")
        self.button = widgets.Button(
            description="Open file",
            icon="external-link",
            tooltip="ask the service for a fresh link to this file",
            layout={"width": "auto", "flex": "0 0 auto", "min_width": "110px"},
        )
        self.button.add_class("cf-open-file")
        self.link = widgets.HTML(layout={"flex": "1 1 200px", "min_width": "0"})
        self.link.add_class("cf-file-link")
        row = widgets.HBox(
            [self.button, self.link], layout={"flex_flow": "row wrap", "align_items": "center"}
        )
        super().__init__([self.text, row])
        self.add_class("cf-file")
        self.layout.min_width = "0"
        self.button.on_click(lambda _: self.open_file())
        self.show(None)

    def show(self, job_input: tuple[str, str] | None) -> None:
        """Show a job's input (from :func:`input_of`); any earlier link goes."""
        self.link.value = ""
        kind, value = job_input or ("", "")
        self._file = value if kind == "file_id" else None
        self.layout.display = "" if kind in ("file_id", "parse_job_id") else "none"
        self.button.layout.display = "" if self._file else "none"
        code = f"<code>{html.escape(value)}</code>"
        if kind == "file_id":
            self.text.value = _BOX.format(f"input file {code}")
        elif kind == "parse_job_id":
            self.text.value = _BOX.format(
                f"input: parse job {code}. No file link: the job ran on a parse job's "
                "output, not on a file the service can hand out."
            )
        else:
            self.text.value = ""

    def open_file(self) -> None:
        """Ask for a fresh link to the shown file and show it, or why there is none."""
        if self._file is None:
            return
        file_id = self._file
        self.button.disabled = True
        self.link.value = '<span style="color:#777">asking the service for a link…</span>'
        try:
            link = self._fetch(file_id)
        except ClassifyFramesError as exc:  # says what to do, never the key
            self.link.value = _ERROR.format(html.escape(str(exc)))
            return
        except Exception as exc:  # a widget shows one line, not a traceback
            self.link.value = _ERROR.format(
                html.escape(f"no link to {file_id}: {type(exc).__name__}: {exc}")
            )
            return
        finally:
            self.button.disabled = False
        if self._file == file_id:  # still the open job's file
            self.link.value = link_html(link)
