"""Progress bars that render as a widget in Jupyter and as text in a terminal (tqdm.auto)."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

__all__ = ["progress_bar"]

_MIN_TOTAL = 200  # below this a bar is more noise than help


def progress_bar(total: int | None, desc: str, enabled: bool) -> Any:
    """A tqdm bar counting jobs; disabled (but still callable) when not wanted."""
    show = enabled and (total is None or total >= _MIN_TOTAL)
    return tqdm(
        total=total, desc=desc, unit="job", disable=not show, leave=True, dynamic_ncols=True
    )
