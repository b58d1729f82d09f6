"""Explore a frame of jobs in Jupyter: filters, live summary, paged table, detail and export.

>>> import classify_frames as cf
>>> explorer = cf.explore(df)  # or df.classify.explore(); a cell's last value  # doctest: +SKIP
>>> explorer.set_filters(status=["COMPLETED"], confidence=(0, 0.5))      # doctest: +SKIP
>>> explorer.filtered  # the matching rows; explorer.filters replays them  # doctest: +SKIP
>>> cf.explore(df, queue=report.review_queue(n=50), labels="labels.csv")  # doctest: +SKIP

The work is done by plain functions with no widgets (``_state``: the filter state, ``_index``:
vectorised masks, counts and paging, ``_search``: the text search, ``_render``: HTML,
``_labelling``: the labels file);
:class:`JobExplorer` only wires stock ipywidgets and one small anywidget (``_grid``: the
clickable table) to them, so it runs in JupyterLab, Notebook 7, VS Code and Voila with no
front-end build.
"""

from __future__ import annotations

from ._index import JobIndex, View
from ._state import FilterState
from ._widget import JobExplorer, explore

__all__ = ["FilterState", "JobExplorer", "JobIndex", "View", "explore"]
