"""The ``df.classify`` pandas accessor: the toolkit's verbs on any frame of jobs.

>>> import classify_frames  # registers the accessor
>>> report = df.classify.audit(threshold=0.9)          # doctest: +SKIP
>>> df.classify.to_parquet("jobs.parquet")             # doctest: +SKIP
>>> df.classify.explore()                              # doctest: +SKIP
>>> df.classify.to_arrow(), df.classify.to_polars()    # doctest: +SKIP
>>> df.classify.rules()                                # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from .auditing import AuditReport
    from .explorer import JobExplorer

__all__ = ["ClassifyAccessor"]


@pd.api.extensions.register_dataframe_accessor("classify")
class ClassifyAccessor:
    """Verbs of classify_frames on a jobs frame (one row per job, see the column contract)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        if "id" not in frame.columns:
            msg = "df.classify needs a frame of jobs with an 'id' column (see jobs_to_frame)"
            raise AttributeError(msg)
        self._frame = frame

    @property
    def failed(self) -> pd.DataFrame:
        """Rows that could not be fetched (``fetch_error`` is set)."""
        if "fetch_error" not in self._frame.columns:
            return self._frame.iloc[:0]
        return self._frame[self._frame["fetch_error"].notna()]

    def rules(self) -> pd.DataFrame:
        """One row per job and rule: ``id``, ``rule`` (its place in the job's list, from 0),
        ``type``, ``description``, then any other key the rules have. Jobs without rules have
        no row; ``df.explode("configuration.rules")`` gives the rules as dicts instead, with a
        missing row for such a job."""
        from .frame import rules_table

        if "configuration.rules" not in self._frame.columns:
            msg = "df.classify.rules() needs the 'configuration.rules' column (a flat frame)"
            raise KeyError(msg)
        return rules_table(self._frame["id"], self._frame["configuration.rules"])

    def audit(self, labels: Any = None, **options: Any) -> AuditReport:
        """Same as :func:`classify_frames.audit` on this frame."""
        from .auditing import audit

        return audit(self._frame, labels, **options)

    def explore(self, **options: Any) -> JobExplorer:
        """Same as :func:`classify_frames.explore` on this frame."""
        from .explorer import explore

        return explore(self._frame, **options)

    def to_parquet(self, path: str | Path, **options: Any) -> Path:
        """Same as :func:`classify_frames.to_parquet` on this frame."""
        from .parquet import to_parquet

        written: Path = to_parquet(self._frame, path, **options)
        return written

    def to_arrow(self) -> pa.Table:
        """This frame as a ``pyarrow.Table``, sharing the Arrow-backed columns' buffers."""
        from .frame import to_arrow

        return to_arrow(self._frame)

    def to_polars(self) -> Any:
        """This frame as a ``polars.DataFrame`` over the same Arrow buffers where Arrow allows
        (needs ``pip install 'classify-frames[polars]'``)."""
        from .frame import to_polars

        return to_polars(self._frame)
