"""The labels a reviewer writes in the explorer, kept in a CSV or Parquet file at every change.

The file is what ``cf.audit(labels=...)`` reads: an ``id`` column and a ``label`` column (blank
for "not labelled yet"). When the jobs came from ``report.review_queue(...)`` the file is that
queue with its ``label`` column filled in, so every other column of the queue (the sampling
design: stratum, inclusion probability, weight ...) travels with the labels unchanged.

The file on disk is the only truth. Each change is a read-merge-write under a lock
(:func:`~classify_frames._atomic.locked`): the file is read again, the one label is changed in
its row, and the whole file is written back through a temporary file renamed into place. So two
explorers on one file, or an explorer and a script, never write over each other's labels; every
row and column of the file (a reviewer's ``notes``) is kept; a write killed at any point leaves
the previous version whole; and after a failed write what is shown is read back from the file.
Ids are matched after trimming spaces, and a job has one row: duplicates of a job being labelled
are folded into its last row, the one ``cf.audit`` reads.

>>> store = LabelStore("labels.csv", ids=["cls-1", "cls-2"])     # doctest: +SKIP
>>> store.set("cls-1", "invoice")                                  # doctest: +SKIP
>>> cf.audit(df, labels="labels.csv")                              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._atomic import atomic_path, check_writable, locked, remove_stale_temporaries, write_target
from .._csv import CsvDialect, read_text_csv
from .._exceptions import ExportError

__all__ = ["NONE_LABEL", "LabelStore", "read_queue"]

NONE_LABEL = "none"  # what the audit reads as "no rule describes this document"
_SUFFIXES = (".csv", ".parquet")
_STRING = pd.StringDtype("pyarrow")


def read_queue(queue: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """A review queue as a frame: the DataFrame itself, or a saved CSV / Parquet queue.

    A CSV is read as text with no value taken for missing ("NA" may be a type's name), as the
    audit reads labels, with its separator (comma, semicolon or tab) detected.
    """
    if isinstance(queue, pd.DataFrame):
        frame = queue
    elif isinstance(queue, str | os.PathLike):
        frame = _read(Path(queue), what="queue")[0]
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
    columns of a new file; without it the file has ``id`` and ``label`` for the labelled jobs
    of ``ids``. :attr:`labels` is what the file holds (or, before it exists, the queue's
    ``label`` column), read again by :meth:`refresh` and after every :meth:`set`, so a session
    can be resumed and a second writer's labels are seen; the file is only written by
    :meth:`set`. A symlink is written through to its target, keeping the target's mode and
    owner; a read-only file is refused.
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
        target = write_target(self.path)
        if not target.parent.is_dir():
            msg = f"cannot write labels to {str(self.path)!r}: no such directory"
            raise ExportError(msg)
        check_writable(target, advice="or pass another labels= path")
        self._queue: pd.DataFrame | None = None
        if queue is not None:
            self._queue = queue.reset_index(drop=True)
            self._queue["id"] = _trimmed(self._queue["id"]).to_numpy()
            order = self._queue["id"].tolist()
        else:
            order = [str(i).strip() for i in ids]
        self.ids: list[str] = list(dict.fromkeys(order))
        self._known = set(self.ids)
        self.labels: dict[str, str] = {}
        self.refresh()

    @property
    def labelled(self) -> int:
        """How many of the jobs have a label."""
        return len(self.labels)

    def get(self, job_id: str) -> str | None:
        """The label of ``job_id``, or None."""
        return self.labels.get(str(job_id).strip())

    def refresh(self) -> None:
        """Read the labels from the file again (another explorer or a script may have written)."""
        target = write_target(self.path)
        if target.exists():
            self.labels = _labels_of(self._read_file(target)[0], self._known)
        else:
            self.labels = _labels_of(self._new_file(), self._known)

    def set(self, job_id: str, label: str | None) -> Path:
        """Label ``job_id`` (None or blank clears it) and write the file at once; its path.

        On any failure (a full disk, a lock held too long) :attr:`labels` is read back from the
        file, so it never shows a label the file does not hold.
        """
        key = str(job_id).strip()
        if key not in self._known:
            msg = f"{job_id!r} is not one of the jobs being labelled"
            raise KeyError(msg)
        text = "" if label is None else str(label).strip()
        try:
            with locked(self.path) as target:
                remove_stale_temporaries(target)  # a writer killed mid-write left it; none runs
                if target.exists():
                    table, dialect = self._read_file(target)
                    text_cells = self._is_csv
                else:
                    table, dialect, text_cells = self._new_file(), CsvDialect(), False
                table = self._merged(table, key, text, text_cells=text_cells)
                self._write(table, target, dialect)
                self.labels = _labels_of(table, self._known)
        except BaseException:
            with contextlib.suppress(OSError, ValueError):
                self.refresh()
            raise
        return self.path

    @property
    def _is_csv(self) -> bool:
        return self.path.suffix.lower() == ".csv"

    def _read_file(self, target: Path) -> tuple[pd.DataFrame, CsvDialect]:
        table, dialect = _read(target, what="labels")
        if "id" not in table.columns or "label" not in table.columns:
            msg = (
                f"{str(self.path)!r} exists but is not a labels file (it has no 'id' and "
                "'label' columns); choose another labels= path"
            )
            raise ValueError(msg)
        return table, dialect

    def _new_file(self) -> pd.DataFrame:
        """The file before any label: the queue (its labels, else blank), or no row."""
        if self._queue is None:
            empty = pd.Series([], dtype=_STRING)
            return pd.DataFrame({"id": empty, "label": empty})
        table = self._queue.copy()
        seeded = table["label"] if "label" in table.columns else pd.Series("", index=table.index)
        table["label"] = [v.strip() if isinstance(v, str) else "" for v in seeded]
        return table

    def _merged(
        self, table: pd.DataFrame, key: str, text: str, *, text_cells: bool
    ) -> pd.DataFrame:
        """``table`` with ``key`` labelled ``text`` in one row; the queue's missing rows added."""
        keys = _trimmed(table["id"])
        if self._queue is not None:  # the queue's columns the file lacks: the design travels
            lacking = [c for c in self._queue.columns if c not in table.columns]
            if lacking:
                known = self._queue.drop_duplicates("id").set_index("id")[lacking]
                added = known.reindex(keys.to_numpy()).reset_index(drop=True)
                if text_cells:
                    added = _as_text(added)
                table = pd.concat([table, added.set_axis(table.index)], axis=1)
        if not keys.eq(key).any():
            if self._queue is not None:
                extra = self._new_file()
                extra = extra[~extra["id"].isin(set(keys))]
            elif text:
                extra = pd.DataFrame({"id": [key], "label": [text]})
            else:
                return table  # clearing a label that is not in the file
            if text_cells:
                extra = _as_text(extra)
            table = pd.concat([table, extra], ignore_index=True)
            if text_cells:
                table = table.fillna("")
            keys = _trimmed(table["id"])
        rows = np.flatnonzero(keys.eq(key).to_numpy(bool))
        table = table.astype({"label": object})
        table.loc[table.index[rows[-1]], ["id", "label"]] = [key, text]
        if len(rows) > 1:  # one id, one row: the last, where the audit looks first
            table = table.drop(index=table.index[rows[:-1]]).reset_index(drop=True)
        return table

    def _write(self, table: pd.DataFrame, target: Path, dialect: CsvDialect) -> None:
        with atomic_path(target) as tmp:
            if self._is_csv:
                table.to_csv(tmp, index=False, sep=dialect.sep, encoding=dialect.encoding)
            else:
                pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)
            with tmp.open("rb+") as handle:  # on disk before the rename makes it the file
                os.fsync(handle.fileno())


def _trimmed(ids: pd.Series) -> pd.Series:
    """Ids as text without surrounding spaces (a spreadsheet pads them)."""
    return ids.astype(str).str.strip()


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as ``to_csv`` writes them, to join a file read as text (missing: blank)."""
    return frame.astype(object).where(frame.notna(), "").astype(str)


def _labels_of(table: pd.DataFrame, known: set[str]) -> dict[str, str]:
    """The labels of ``known`` ids in ``table``; an id labelled twice keeps its last label, as
    ``cf.audit`` does."""
    labels: dict[str, str] = {}
    for job_id, label in zip(_trimmed(table["id"]), table["label"].tolist(), strict=True):
        if job_id in known and isinstance(label, str) and label.strip():
            labels[job_id] = label.strip()
    return labels


def _read(path: Path, *, what: str) -> tuple[pd.DataFrame, CsvDialect]:
    if not path.is_file():
        msg = f"no such {what} file: {str(path)!r}"
        raise FileNotFoundError(msg)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path), CsvDialect()
        return read_text_csv(path, what=what)
    except OSError as exc:
        msg = f"cannot read the {what} file {str(path)!r}: {exc.strerror or exc}"
        raise ValueError(msg) from None
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        msg = f"cannot read the {what} file {str(path)!r}: {exc}"
        raise ValueError(msg) from None
