"""The templates the project's HTML documents are drawn with, and what they embed.

The markup lives in ``templates/`` (shipped as package data), drawn by Jinja2 with autoescape
as pandas' Styler draws its tables: a value from the data is escaped wherever a template
writes it, so no call site has to remember to. :class:`Templates` holds one Environment for
one document (made per call, never module state). Nothing here reads a number the report
computes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pandas as pd

from ._htmltable import Column, TableView, view

if TYPE_CHECKING:
    from markupsafe import Markup
    from matplotlib.figure import Figure


__all__ = ["Picture", "Section", "Templates", "host_of", "picture", "table"]


@dataclass(frozen=True)
class Section:
    """One question of the report: its anchor, title, plain answers and HTML body (drawn by
    its template; ``css`` a class of the section)."""

    anchor: str
    title: str
    answers: list[str]
    body: str
    css: str = ""


def host_of(base_url: object) -> str:
    """The server's host (and port) only: never a scheme, path, query or user info, so a key
    someone put into the URL cannot reach the report.

    >>> host_of("https://user:sk-secret@api.cloud.llamaindex.ai/v1?key=x"), host_of(None)
    ('api.cloud.llamaindex.ai', '')
    """
    if not isinstance(base_url, str) or not base_url:
        return ""
    try:
        parts = urlsplit(base_url if "//" in base_url else f"//{base_url}")
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if host and port else host


@dataclass(frozen=True)
class Picture:
    """A figure drawn to PNG for a page: base64 ``data``, its size in pixels, the ``alt``
    text and a ``caption`` (``""`` for none)."""

    alt: str
    data: str
    width: int
    height: int
    caption: str = ""


def picture(fig: Figure, alt: str, caption: str = "") -> Picture:
    """``fig`` as a :class:`Picture` (the file stays self-contained)."""
    from . import _plots  # matplotlib is imported on the first figure, not with the audit

    png = _plots.to_png(fig)
    # the PNG header holds the size: the page reserves the box before the image decodes
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return Picture(alt, base64.b64encode(png).decode(), width, height, caption)


class Templates:
    """The package's templates in one Jinja2 Environment with autoescape (its compiled
    templates are cached on it, so a document makes one and draws every part with it)."""

    def __init__(self) -> None:
        import jinja2  # with the first page drawn, not with the package

        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("classify_frames.auditing", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, name: str, **context: Any) -> Markup:
        """Template ``name`` drawn with ``context``, as markup another template writes as is."""
        from markupsafe import Markup

        return Markup(self._env.get_template(name).render(**context))  # noqa: S704

    def table(self, view: TableView) -> Markup:
        """One table (see :mod:`._htmltable`) through the ``table`` macro."""
        macro = self._env.get_template("table.html").module.table  # type: ignore[attr-defined]
        return macro(view)  # type: ignore[no-any-return]


def table(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    templates: Templates | None = None,
    **options: object,
) -> str:
    """:func:`view` of ``frame`` drawn as HTML (a ``<figure>`` holding its scroll box and the
    call under it), through ``templates`` or templates made for this one call."""
    shown = view(frame, columns, **options)  # type: ignore[arg-type]
    return (templates or Templates()).table(shown)
