"""The shell of the audit report: title, context line, table of contents, CSS (screen and
print) and embedded figures. Nothing here reads a number the report computes."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CSS", "figure", "host_of", "page", "toc"]


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


def figure(fig: Figure, alt: str) -> str:
    """A figure as an ``<img>`` with its PNG inlined (the file stays self-contained)."""
    from . import _plots  # matplotlib is imported on the first figure, not with the audit

    data = base64.b64encode(_plots.to_png(fig)).decode()
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def toc(sections: Sequence[tuple[str, str]]) -> str:
    """A table of contents linking ``(anchor, title)`` pairs."""
    items = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in sections)
    return f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{items}</ol></nav>'


def page(title: str, body: str) -> str:
    """A whole HTML document: no script, no external resource, only local fonts."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n"
        f'<body><main class="cf-report">\n{body}\n</main></body></html>\n'
    )


# Every rule is scoped to .cf-report, so the compact view inside Jupyter leaves the notebook's
# own styles alone. Fonts are the system's (no @font-face, nothing to download).
CSS = """
.cf-report{font-family:system-ui,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",
  sans-serif;color:#1f2328;line-height:1.45;max-width:1180px;margin:0 auto;padding:1.5em 1.5em 4em;
  font-size:15px;box-sizing:border-box}
.cf-report *{box-sizing:border-box}
.cf-report h1{font-size:1.7em;margin:0 0 .2em}
.cf-report h2{font-size:1.3em;margin:1.8em 0 .5em;padding-bottom:.2em;
  border-bottom:1px solid #d0d7de}
.cf-report h3{font-size:1.05em;margin:1.4em 0 .4em}
.cf-report .context{color:#57606a;margin:0 0 1.2em}
.cf-report .findings{background:#f6f8fa;border-left:4px solid #0969da;padding:.6em 1.2em;
  margin:1em 0}
.cf-report .findings h2{border:0;margin:.4em 0;font-size:1.15em}
.cf-report .findings li{margin:.3em 0}
.cf-report .answer{font-weight:600;margin:.4em 0 .8em}
.cf-report .answer li{margin:.2em 0}
.cf-report .note,.cf-report figcaption,.cf-report .legend{color:#57606a;font-size:.85em}
.cf-report .toc ol{columns:2;margin:.2em 0}
.cf-report .toc h2{font-size:1em;border:0;margin:.8em 0 .2em}
.cf-report figure{margin:.6em 0 1.2em;max-width:100%}
.cf-report .pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.cf-report .pair>figure{flex:1 1 420px;min-width:0}
.cf-report .pair>img{flex:0 1 auto}
.cf-report img.plot{max-width:100%;height:auto;display:block}
.cf-report .scroll{overflow-x:auto;width:fit-content;max-width:100%;border:1px solid #eaeef2;
  border-radius:4px}
.cf-report table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
.cf-report th,.cf-report td{padding:3px 9px;border-bottom:1px solid #eaeef2;text-align:left;
  vertical-align:top}
.cf-report thead th{background:#f6f8fa;position:sticky;top:0;white-space:nowrap}
.cf-report th[scope=row]{background:#fff;position:sticky;left:0;font-weight:600;
  white-space:nowrap}
.cf-report th.wide{white-space:normal;min-width:28ch}
.cf-report .num{text-align:right;white-space:nowrap}
.cf-report td{max-width:48ch;overflow-wrap:break-word}
.cf-report td.text{min-width:12ch}
.cf-report td.wide{min-width:28ch}
.cf-report .ci{color:#57606a;font-size:.9em}
.cf-report .miss,.cf-report .major,.cf-report .over{background:#ffebe9}
.cf-report .unsure,.cf-report .moderate,.cf-report .under{background:#fff8c5}
.cf-report .ok{background:#dafbe1}
.cf-report .current{outline:2px solid #0969da;outline-offset:-2px}
.cf-report .diag{background:#dafbe1}
.cf-report .zero{color:#8c959f}
.cf-report .legend span{padding:0 .4em;margin-right:.3em}
.cf-report details{margin:.3em 0 .6em}
.cf-report summary{cursor:pointer;color:#0969da}
.cf-report .empty{color:#57606a;font-style:italic}
.cf-report code{font-size:.92em}
@media print{
  .cf-report{max-width:none;padding:0;font-size:11pt}
  .cf-report .toc{break-after:page}
  .cf-report section{break-before:page}
  .cf-report figure,.cf-report img.plot,.cf-report tr{break-inside:avoid}
  .cf-report .scroll{overflow:visible;border:0}
  .cf-report table{font-size:7.5pt}
  .cf-report thead th,.cf-report th[scope=row]{position:static}
  /* paper does not scroll: wide tables wrap their headers and cells to the page instead */
  .cf-report th,.cf-report td,.cf-report .num,.cf-report thead th{white-space:normal;
    padding:2px 4px}
  .cf-report .ci{white-space:nowrap}
  .cf-report details::details-content{content-visibility:visible;display:contents}
  .cf-report details>summary,.cf-report .folded-head{display:none}
  .cf-report a{color:inherit;text-decoration:none}
}
@page{size:A4 landscape;margin:12mm}
"""
