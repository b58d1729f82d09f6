"""The labels a reviewer writes in the explorer, kept in a CSV or Parquet file at every change.

The file is what ``cf.audit(labels=...)`` reads: an ``id`` column and a ``label`` column (blank
for "not labelled yet"). When the jobs came from ``report.review_queue(...)`` the file is that
queue with its ``label`` column filled in, so every other column of the queue (the sampling
design: stratum, inclusion probability, weight ...) travels with the labels unchanged. Rows of an
existing file that are not being labelled are kept as they were, so nothing in it is lost.

Every change rewrites the whole file through a temporary file renamed into place: a write
killed at any point leaves the previous version whole and readable.

>>> store = LabelStore("labels.csv", ids=["cls-1", "cls-2"])     # doctest: +SKIP
>>> store.set("cls-1", "invoice")                                  # doctest: +SKIP
>>> cf.audit(df, labels="labels.csv")                              # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._atomic import atomic_path
from .._exceptions import ExportError

__all__ = ["NONE_LABEL", "LabelStore", "read_queue"]

NONE_LABEL = "none"  # what the audit reads as "no rule describes this document"
_SUFFIXES = (".csv", ".parquet")
_STRING = pd.StringDtype("pyarrow")


def read_queue(queue: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """A review queue as a frame: the DataFrame itself, or a saved CSV / Parquet queue.

    A CSV is read as text with no value taken for missing ("NA" may be a type's name), as the
    audit reads labels.
    """
    if isinstance(queue, pd.DataFrame):
        frame = queue
    elif isinstance(queue, str | os.PathLike):
        frame = _read(Path(queue), what="queue")
    else:
        msg = f"queue must be a DataFrame or the path of a CSV/Parquet queue, got {type(queue)}"
        raise TypeError(msg)
    if "id" not in frame.columns:
        msg = f"the queue has no 'id' column (it has {list(frame.columns)}); pass review_queue()"
        raise ValueError(msg)
    return frame


class LabelStore:
    """Labels of a fixed list of jobs, written to ``path`` (CSV or Parquet) at each change.

    ``queue`` (a frame with an ``id`` column, such as ``review_queue(...)``) gives the rows and
    columns of the file; without it the file has ``id`` and ``label`` for the labelled jobs of
    ``ids``. Labels already in the file (or in the queue's ``label`` column) are loaded, so a
    session can be resumed; the file itself is only written by :meth:`set`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ids: Iterable[str] = (),
        queue: pd.DataFrame | None = None,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        if self.path.suffix.lower() not in _SUFFIXES:
            msg = f"labels file {str(self.path)!r} must end in .csv or .parquet"
            raise ValueError(msg)
        if not self.path.parent.is_dir():
            msg = f"cannot write labels to {str(self.path)!r}: no such directory"
            raise ExportError(msg)
        self._queue = None if queue is None else queue.reset_index(drop=True)
        order = self._queue["id"].astype(str).tolist() if self._queue is not None else list(ids)
        self.ids: list[str] = list(dict.fromkeys(order))
        self._known = set(self.ids)
        self.labels: dict[str, str] = {}
        if self._queue is not None and "label" in self._queue.columns:
            self._load(self._queue)
        # rows of an existing file that this session does not label: written back unchanged
        self._kept = pd.DataFrame({"id": pd.Series([], dtype=_STRING)})
        if self.path.exists():
            existing = _read(self.path, what="labels")
            if "id" not in existing.columns or "label" not in existing.columns:
                msg = (
                    f"{str(self.path)!r} exists but is not a labels file (it has no 'id' and "
                    "'label' columns); choose another labels= path"
                )
                raise ValueError(msg)
            mine = existing["id"].astype(str).isin(self._known).to_numpy(bool)
            self._load(existing[mine])
            self._kept = existing[~mine]

    @property
    def labelled(self) -> int:
        """How many of the jobs have a label."""
        return len(self.labels)

    def get(self, job_id: str) -> str | None:
        """The label of ``job_id``, or None."""
        return self.labels.get(job_id)

    def set(self, job_id: str, label: str | None) -> Path:
        """Label ``job_id`` (None or blank clears it) and rewrite the file at once; its path."""
        if job_id not in self._known:
            msg = f"{job_id!r} is not one of the jobs being labelled"
            raise KeyError(msg)
        text = "" if label is None else str(label).strip()
        if text:
            self.labels[job_id] = text
        else:
            self.labels.pop(job_id, None)
        self.write()
        return self.path

    def frame(self) -> pd.DataFrame:
        """The file's content: the queue (or the labelled ids) with labels, then kept rows."""
        if self._queue is not None:
            table = self._queue.copy()
            ids: list[str] = table["id"].astype(str).tolist()
        else:
            ids = [i for i in self.ids if i in self.labels]
            table = pd.DataFrame({"id": pd.Series(ids, dtype=_STRING)})
        table["label"] = pd.Series([self.labels.get(i, "") for i in ids], dtype=_STRING).array
        if self._kept.empty:
            return table
        return pd.concat([table, self._kept], ignore_index=True)

    def write(self) -> Path:
        """Write every label now, atomically (temporary file, then one rename)."""
        table = self.frame()
        with atomic_path(self.path) as tmp:
            if self.path.suffix.lower() == ".parquet":
                pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
            else:
                table.to_csv(tmp, index=False)
            with tmp.open("rb+") as handle:  # on disk before the rename makes it the file
                os.fsync(handle.fileno())
        return self.path

    def _load(self, frame: pd.DataFrame) -> None:
        for job_id, label in zip(frame["id"].tolist(), frame["label"].tolist(), strict=True):
            if isinstance(label, str) and label.strip():
                self.labels[str(job_id)] = label.strip()


def _read(path: Path, *, what: str) -> pd.DataFrame:
    if not path.is_file():
        msg = f"no such {what} file: {str(path)!r}"
        raise FileNotFoundError(msg)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:
        msg = f"cannot read the {what} file {str(path)!r}: {exc}"
        raise ValueError(msg) from None
