"""``export_jobs`` and ``sync_parquet``: stream jobs into a dataset, then keep it up to date.

Both stream ``ClassifyClient.iter_frames`` batches into a staging directory and swap it in at the
end (see :mod:`._commit`). A sync reads the stored ``id``/``status``/``updated_at`` columns only,
asks the service for the jobs that are new or not yet final, and rewrites only the files holding
rows it replaces; every other file is hard-linked into the new version.
"""

from __future__ import annotations

import datetime as dt
import errno
import html
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .._exceptions import Call, ClassifyFramesWarning, ExportError, Opt, Parts
from ..client import LIST_FILTER_NAMES, NAT, ClientOptions, ListFilters, checked, precedence
from ..frame import FINAL_STATUSES
from ._commit import dataset_lock, link_or_copy, new_staging, swap_in
from ._dataset import (
    DERIVED,
    OUR_PART,
    ROWS_PER_FILE,
    DatasetWriter,
    FileInfo,
    conform,
    portable,
    rebuild_manifest,
    settle_files,
    unify,
)
from ._file import WRITE_OPTIONS, check_file, read_table, write_table
from ._manifest import (
    MANIFEST,
    REBUILD_HINT,
    damaged_message,
    manifest_schema,
    provenance,
    read_manifest,
    reason,
    write_manifest,
)

if TYPE_CHECKING:
    from ..client import ClassifyClient

__all__ = ["SYNC_MARGIN", "SyncSummary", "compact", "export_jobs", "sync_parquet"]

#: How far before the newest stored ``created_at`` an incremental listing starts: a job that
#: shows in the listing later than this after its creation (clock skew between the service's
#: machines, a listing index that lags) is missed by it, and found by ``full=True``.
SYNC_MARGIN = dt.timedelta(minutes=10)


class _Options(ClientOptions, ListFilters, total=False):
    """What ``**options`` of an export or sync may hold: the client's, and the listing's."""


_MAX_FILES = 8  # small files a partition may gather before a sync merges them
_DATA_SUFFIXES = (".parquet", ".pq", ".parq")
# what became of each stored row in a run (the strongest wins when a job comes twice)
_SEEN_FAILED, _SEEN_UNCHANGED, _SEEN_UPDATED = 1, 2, 3


@dataclass(frozen=True)
class SyncSummary:
    """What an export or sync did. ``str()`` is the one-line summary the CLI prints.

    ``added``: jobs new to the dataset; ``updated``: stored jobs replaced by a newer version;
    ``unchanged``: stored jobs seen or skipped with nothing newer; ``failed``: jobs that could
    not be fetched this time (stored as rows with ``fetch_error`` when they are new). Each job
    counts once, however often a listing repeats it. ``dropped``: stored rows removed as
    damage: older copies of a job stored twice, or (with ``repair=True``) the rows of files
    that could not be read.
    """

    path: Path
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    rows: int = 0
    files: int = 0
    seconds: float = 0.0
    committed: bool = False
    dropped: int = 0

    def __str__(self) -> str:
        what = "written" if self.committed else "nothing to write"
        repaired = f"; {self.dropped} damaged stored rows dropped" if self.dropped else ""
        return (
            f"{self.path}: {self.added} added, {self.updated} updated, {self.unchanged} "
            f"unchanged, {self.failed} failed{repaired}; {self.rows} rows in {self.files} files "
            f"({what}, {self.seconds:.1f} s)"
        )

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td>{value}</td></tr>"
            for name, value in (
                ("added", self.added), ("updated", self.updated),
                ("unchanged", self.unchanged), ("failed", self.failed),
                ("damaged rows dropped", self.dropped),
                ("rows in dataset", self.rows), ("files", self.files),
                ("seconds", f"{self.seconds:.1f}"),
            )
        )  # fmt: skip
        return f"<table><caption>{html.escape(str(self.path))}</caption>{cells}</table>"


def export_jobs(
    job_ids: Iterable[str] | None = None,
    *,
    path: str | os.PathLike[str],
    partition_by: Sequence[str] = (DERIVED,),
    client: ClassifyClient | None = None,
    batch_size: int = 1_000,
    nested: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    lock_timeout: float = 0.0,
    **options: Any,
) -> SyncSummary:
    """Stream jobs (by id, or the listing for ``status=``, ``created_after=`` …) into a
    hive-partitioned Parquet dataset at ``path``, never holding them all in memory.

    Other ``options`` go to :class:`~classify_frames.ClassifyClient` when no ``client`` is
    given. An existing dataset is replaced only with ``overwrite=True`` (see
    :func:`sync_parquet` to update one); the new one appears in a single step when complete.
    Files in the directory that are not the dataset's (notes, analyses) are kept.

    >>> export_jobs(path="jobs", status="COMPLETED", base_url=url, api_key=key)  # doctest: +SKIP
    """
    checked("export_jobs", options, _Options)
    target = _check_target(path)
    partition_by = _check_partition_by(partition_by)
    run = _Run(target, partition_by=partition_by, nested=nested, generation=1)
    with dataset_lock(target, lock_timeout):
        if (target / MANIFEST).exists():
            if not overwrite:
                msg = f"{str(target)!r} already holds a dataset"
                hint: Parts = ["use ", Call("sync_parquet"), " to update it, or pass ",
                        Opt("overwrite", True), " to replace it"]  # fmt: skip
                raise ExportError(msg, option="overwrite", hint=hint)
            try:  # a damaged manifest must not stand in the way of replacing it
                old = read_manifest(target)
                run.generation = int(old.get("generation", 0)) + 1
            except (ExportError, TypeError, ValueError):
                old = {}
            run.foreign = _foreign_files(target, list(old.get("files", {})), replacing=True)
        elif target.is_dir() and any(target.iterdir()):
            msg = f"{str(target)!r} exists and is not a classify_frames dataset; not replacing it"
            raise ExportError(msg)
        return run.execute(job_ids, client, batch_size, progress, options, stored=None)


def sync_parquet(
    path: str | os.PathLike[str],
    job_ids: Iterable[str] | None = None,
    *,
    client: ClassifyClient | None = None,
    partition_by: Sequence[str] | None = None,
    batch_size: int = 1_000,
    nested: bool | None = None,
    progress: bool | None = None,
    lock_timeout: float = 0.0,
    repair: bool = False,
    full: bool = False,
    margin: dt.timedelta | float = SYNC_MARGIN,
    **options: Any,
) -> SyncSummary:
    """Bring the dataset at ``path`` up to date, fetching only jobs that are new or not final.

    With ``job_ids``: those ids not stored yet, or stored as PENDING/RUNNING or failed. With list
    filters (``status=`` …): the listing, whose pages carry whole jobs, so final jobs cost no
    request of their own. With neither: the filters the dataset was made with. Stored jobs that
    are not final are always refreshed. Rows are upserted by ``id``, the newer copy winning (a
    final status first, then the later ``updated_at``). A missing dataset is created (like
    :func:`export_jobs`). Files in the directory that are not the dataset's are kept.

    A listing is incremental: it asks only for jobs created since the newest stored
    ``created_at`` minus ``margin`` (10 minutes: a job that shows in the listing later than
    that after its creation is missed; a timedelta or seconds), plus the stored jobs not final,
    through ``job_ids``. Filters other than the dataset's own are listed in full.
    An unchanged dataset then costs one request per status listed (one without a status
    filter) and per 100 jobs created in the margin, plus one per 100 stored jobs not final.
    ``full=True`` lists everything the filters match, as does a listing whose ``status``
    filter leaves out PENDING or RUNNING (a job may enter it long after its creation).

    A data file that cannot be read stops the sync with its name; ``repair=True`` checks every
    page of every file, drops the damaged ones and fetches their jobs again (by id where their
    ids still read, else by a full listing; for a dataset made from ids, pass the ids). It
    also rebuilds a lost or damaged manifest from the data files.

    >>> sync_parquet("jobs", base_url=url, api_key=key)             # doctest: +SKIP
    SyncSummary(path=PosixPath('jobs'), added=12, updated=3, unchanged=9985, failed=0, ...)
    """
    checked("sync_parquet", options, _Options)
    target = _check_target(path)
    if not isinstance(margin, dt.timedelta):
        margin = dt.timedelta(seconds=margin)
    if margin < dt.timedelta(0):
        msg = f"margin must be 0 or more (a timedelta, or seconds), got {margin}"
        raise ValueError(msg)
    with dataset_lock(target, lock_timeout):
        manifest = _manifest_or_rebuilt(target, repair=repair)
        if manifest is None:
            layout = _check_partition_by(partition_by or (DERIVED,))
            run = _Run(target, partition_by=layout, nested=bool(nested), generation=1)
            return run.execute(job_ids, client, batch_size, progress, options, stored=None)
        layout = tuple(manifest.get("partition_by", ()))
        if partition_by is not None and tuple(partition_by) != layout:
            msg = f"{str(target)!r} is partitioned by {list(layout)}; it cannot change in a sync"
            raise ExportError(msg)
        stored_nested = bool(manifest.get("nested"))
        if nested is not None and nested != stored_nested:
            msg = f"{str(target)!r} holds nested={stored_nested} frames; pass the same or nothing"
            raise ExportError(msg)
        run = _Run(
            target, partition_by=layout, nested=stored_nested,
            generation=int(manifest.get("generation", 0)) + 1, full=full, margin=margin,
        )  # fmt: skip
        stored = _Stored.load(target, manifest, repair=repair)
        kind = _source(stored, None, {})["kind"]
        if stored.unknown_lost and job_ids is None and kind != "list":
            msg = (
                f"dropping {sum(stored.damaged.values())} rows of damaged files; {str(target)!r} "
                "was made from job ids, which a sync cannot list, and the ids of "
                f"{sum(stored.damaged.values()) - len(stored.lost)} of those rows cannot be read"
            )
            again = Call("sync_parquet", "path", Opt("job_ids"))
            hint: Parts = ["pass those ids (", again, ") to fetch the jobs again"]
            warnings.warn(ClassifyFramesWarning(msg, hint=hint), stacklevel=2)
        run.foreign = _foreign_files(target, stored.manifest.get("files", {}), replacing=False)
        return run.execute(job_ids, client, batch_size, progress, options, stored=stored)


def _manifest_or_rebuilt(target: Path, *, repair: bool) -> dict[str, Any] | None:
    """The dataset's manifest; None for a new dataset. A lost or damaged one is rebuilt from
    the data files with ``repair``, else refused with the way forward."""
    if not (target / MANIFEST).exists():
        if not target.is_dir() or not any(target.iterdir()):
            return None
        ours = any(OUR_PART.fullmatch(p.name) for p in target.rglob("part-*.parquet"))
        if not ours:
            msg = f"{str(target)!r} exists and is not a classify_frames dataset"
            raise ExportError(msg)
        if not repair:
            msg = f"the dataset {str(target)!r} has lost its manifest ({MANIFEST})"
            raise ExportError(msg, hint=REBUILD_HINT)
        return rebuild_manifest(target)
    try:
        return read_manifest(target)
    except ExportError:
        if not repair:
            raise
        return rebuild_manifest(target)


# -- checks ------------------------------------------------------------------------------------


def _check_target(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix.lower() in (".parquet", ".pq", ".parq"):
        said: Parts = [f"{str(target)!r} looks like a file; a dataset is a directory (for one "
                       "file: ", Call("to_parquet"), ")"]  # fmt: skip
        raise ExportError(said)
    if target.exists() and not target.is_dir():
        msg = f"{str(target)!r} exists and is not a directory"
        raise ExportError(msg)
    if not target.parent.is_dir():
        msg = f"cannot write {str(target)!r}: the directory {str(target.parent)!r} does not exist"
        raise ExportError(msg)
    return target


def _check_partition_by(partition_by: Sequence[str] | str) -> tuple[str, ...]:
    names = (partition_by,) if isinstance(partition_by, str) else tuple(partition_by)
    bad = [n for n in names if not isinstance(n, str) or not n or "/" in n or "=" in n]
    if bad or len(set(names)) != len(names):
        said: Parts = [Opt("partition_by"), f" must be distinct column names, got {list(names)!r}"]
        raise ExportError(said, option="partition_by")
    return names


# -- what is stored ----------------------------------------------------------------------------


@dataclass
class _Stored:
    """The stored dataset: per row its id, whether it is settled, its precedence and file."""

    root: Path
    manifest: dict[str, Any]
    schema: pa.Schema | None
    ids: pd.Index  # every stored row's id
    settled: npt.NDArray[np.bool_]  # final status and fetched fine: never fetched again
    failed: npt.NDArray[np.bool_]
    key: npt.NDArray[np.int64]  # each row's precedence (classify_frames._precedence)
    file_of: npt.NDArray[np.int32]
    files: list[str]
    first_row: list[int]  # where each file's rows start, in file order
    duplicates: set[int]  # rows of ids stored twice (older copies), dropped at the next commit
    damaged: dict[str, int]  # unreadable files (repair=True) -> rows the manifest gave them
    lost: list[str]  # ids of those rows, where the id column still reads: fetched again
    unknown_lost: bool  # some damaged rows have no readable id: only a full listing finds them
    newest: pd.Timestamp | None  # the newest created_at stored
    _lookup: pd.Series  # id -> row, the newest copy of each id

    @classmethod
    def load(cls, root: Path, manifest: dict[str, Any], *, repair: bool = False) -> _Stored:
        """Read the stored rows' ids and states; unreadable files stop it (naming them), or
        are left out with ``repair=True``."""
        recorded = manifest.get("files", {})
        files: list[str] = []
        columns: list[_JobColumns] = []
        damaged: dict[str, str] = {}
        lost: list[str] = []  # ids of the damaged files whose id column still reads
        for relative in recorded:
            try:
                read = _JobColumns.read(root, relative)
            except (OSError, pa.ArrowException) as exc:
                damaged[relative] = reason(exc)
                continue
            if repair:  # the damage may lie in a column a sync does not read
                try:
                    check_file(root / relative)
                except (OSError, pa.ArrowException) as exc:
                    damaged[relative] = reason(exc)
                    lost.extend(str(i) for i in read.ids.to_pylist())
                    continue
            columns.append(read)
            files.append(relative)
        if damaged and not repair:
            problem, ways = damaged_message(root, damaged, recorded, what="sync")
            raise ExportError(problem, hint=ways)
        status_all = _joined([c.statuses for c in columns], pa.string())
        failed_all = _joined([c.failed for c in columns], pa.bool_()).to_numpy(zero_copy_only=False)
        settled = (
            pc.is_in(status_all, pa.array(sorted(FINAL_STATUSES))).to_numpy(zero_copy_only=False)
            & ~failed_all
        )
        all_ids = pd.Index(
            _joined([c.ids for c in columns], pa.string()).to_numpy(zero_copy_only=False)
        )
        updated_all = (
            _joined([c.updated for c in columns], pa.int64())
            .fill_null(NAT)
            .to_numpy(zero_copy_only=False)
        )
        key = precedence(status_all, updated_all)
        rows = pd.Series(np.arange(len(all_ids)), index=all_ids)
        duplicates: set[int] = set()
        if not all_ids.is_unique:  # repair: keep the copy that wins, a fetched one first
            order = np.lexsort((key, ~failed_all))
            newest = ~all_ids[order].duplicated(keep="last")
            duplicates = {int(i) for i in order[~newest]}
            rows = rows.iloc[np.sort(order[newest])]
        sizes = [len(c.ids) for c in columns]
        return cls(
            root=root,
            manifest=manifest,
            schema=manifest_schema(manifest),
            ids=all_ids,
            settled=settled,
            failed=failed_all,
            key=key,
            file_of=np.repeat(np.arange(len(sizes), dtype=np.int32), sizes),
            files=files,
            first_row=list(np.cumsum([0, *sizes])[:-1]),
            duplicates=duplicates,
            damaged={f: int(recorded.get(f) or 0) for f in damaged},
            lost=lost,
            unknown_lost=len(lost) < sum(int(recorded.get(f) or 0) for f in damaged),
            newest=max((c.newest for c in columns if c.newest is not None), default=None),
            _lookup=rows,
        )

    def positions(self, ids: Iterable[str]) -> npt.NDArray[np.intp]:
        """The stored row of each id, -1 where it is not stored."""
        found = self._lookup.index.get_indexer(pd.Index(list(ids)))
        rows = self._lookup.to_numpy()
        return np.where(found >= 0, rows[np.maximum(found, 0)], -1) if len(rows) else found

    def newest_rows(self) -> npt.NDArray[np.intp]:
        """The row of each stored job (its newest copy, where a job is stored twice)."""
        rows: npt.NDArray[np.intp] = self._lookup.to_numpy()
        return rows

    def unsettled_ids(self, seen: npt.NDArray[np.bool_] | None = None) -> list[str]:
        """Stored ids that are not final (or failed), minus those ``seen`` this run."""
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[self._lookup.to_numpy()] = True
        mask &= ~self.settled
        if seen is not None:
            mask &= ~seen
        return [str(v) for v in self.ids[mask]]


@dataclass
class _JobColumns:
    """What decides between copies of a job, for every row of one data file."""

    ids: pa.ChunkedArray
    statuses: pa.ChunkedArray
    updated: pa.ChunkedArray  # microseconds since the epoch
    failed: pa.ChunkedArray
    newest: pd.Timestamp | None  # the newest created_at

    @classmethod
    def read(cls, root: Path, relative: str) -> _JobColumns:
        keys = _partition_keys(relative)
        schema = pq.read_schema(root / relative)
        names = ("id", "status", "updated_at", "fetch_error", "created_at")
        wanted = [c for c in names if c in schema.names]
        table = read_table(root / relative, columns=wanted)
        n = len(table)
        newest = (
            pc.max(table.column("created_at").cast(pa.timestamp("us", "UTC"))).as_py()
            if "created_at" in wanted
            else None
        )
        return cls(
            newest=None if newest is None else pd.Timestamp(newest),
            ids=table.column("id").cast(pa.string()),
            statuses=(
                table.column("status").cast(pa.string())
                if "status" in wanted
                else pa.chunked_array([pa.array([keys.get("status")] * n, type=pa.string())])
            ),
            updated=(
                table.column("updated_at").cast(pa.timestamp("us", "UTC")).cast(pa.int64())
                if "updated_at" in wanted
                else pa.chunked_array([pa.nulls(n, pa.int64())])
            ),
            failed=(
                table.column("fetch_error").is_valid()
                if "fetch_error" in wanted
                else pa.chunked_array([pa.array([False] * n)])
            ),
        )

    def key(self) -> npt.NDArray[np.int64]:
        return precedence(self.statuses, self.updated.fill_null(NAT).to_numpy(zero_copy_only=False))


def _joined(parts: list[pa.ChunkedArray], type_: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([chunk for part in parts for chunk in part.chunks], type=type_)


def _partition_keys(relative: str) -> dict[str, str]:
    keys = {}
    for segment in relative.split("/")[:-1]:
        name, _, value = segment.partition("=")
        keys[name] = unquote(value)
    return keys


# -- one run -----------------------------------------------------------------------------------


@dataclass
class _Run:
    """One export or sync: streams frames into a staging directory, counts, then commits.

    Counting is per job, not per row: ``_seen`` records what became of each stored row, and
    the added/failed counts of new jobs are corrected when :meth:`_dedup` drops repeats.
    """

    target: Path
    partition_by: tuple[str, ...]
    nested: bool
    generation: int
    full: bool = True  # list everything the filters match (an export; sync_parquet's full=)
    margin: dt.timedelta = SYNC_MARGIN
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    dropped: int = 0
    fetched_at: str | None = None
    base_url: str | None = None
    foreign: list[str] = field(default_factory=list)  # files here that are not the dataset's
    _seen: npt.NDArray[np.int8] | None = None  # per stored row: _SEEN_* or 0
    _hashes: list[npt.NDArray[np.uint64]] = field(default_factory=list)  # ids written

    def execute(
        self,
        job_ids: Iterable[str] | None,
        client: ClassifyClient | None,
        batch_size: int,
        progress: bool | None,
        options: dict[str, Any],
        stored: _Stored | None,
    ) -> SyncSummary:
        started = time.monotonic()
        given = {k: options.pop(k, None) for k in sorted(LIST_FILTER_NAMES)}
        filters = {k: v for k, v in given.items() if v is not None}
        if job_ids is not None and filters:
            msg = f"give job_ids or list filters, not both (got {sorted(filters)})"
            raise ExportError(msg)
        if client is not None and options:
            msg = f"unexpected options with a client: {sorted(options)}"
            raise ExportError(msg)
        source = _source(stored, job_ids, filters)
        if stored is not None:
            self._seen = np.zeros(len(stored.ids), dtype=np.int8)
        from ..client import borrow_or_make  # the HTTP stack, only when a run needs it

        staging = new_staging(self.target)
        writer = DatasetWriter(staging, self.partition_by, prefix=f"part-{self.generation:05d}")
        try:
            with borrow_or_make(client, options) as active:
                self.base_url = active.settings.base_url
                for frame in self._frames(active, job_ids, source, stored, batch_size, progress):
                    self._take(frame, stored, writer)
            files = writer.finish()
            self._count_stored()
            if stored is not None and not files and not self._must_rewrite(stored):
                shutil.rmtree(staging, ignore_errors=True)
                return self._summary(stored.manifest, started, committed=False)
            manifest = self._commit(staging, writer, files, stored, source)
            swap_in(staging, self.target)
        except BaseException as exc:
            writer.abort()
            written = _staged_bytes(staging)
            shutil.rmtree(staging, ignore_errors=True)
            if _out_of_space(exc):
                raise ExportError(_space_message(self.target, written)) from None
            raise
        return self._summary(manifest, started, committed=True)

    def _frames(
        self,
        client: ClassifyClient,
        job_ids: Iterable[str] | None,
        source: dict[str, Any],
        stored: _Stored | None,
        batch_size: int,
        progress: bool | None,
    ) -> Iterator[pd.DataFrame]:
        kw: dict[str, Any] = {"batch_size": batch_size, "nested": self.nested, "progress": progress}
        self.fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if job_ids is not None:
            wanted = list(dict.fromkeys([*job_ids, *(stored.lost if stored is not None else ())]))
            if stored is not None and self._seen is not None:
                positions = stored.positions(wanted)
                skip = (positions >= 0) & stored.settled[np.maximum(positions, 0)]
                self._seen[positions[skip]] = _SEEN_UNCHANGED
                wanted = [i for i, s in zip(wanted, skip, strict=True) if not s]
            if wanted:
                yield from client.iter_frames(wanted, **kw)
            return
        seen = np.zeros(len(stored.ids), dtype=bool) if stored is not None else None
        listed: set[str] = set()  # ids listed this run, when damaged rows are fetched again
        if source["kind"] == "list":
            filters = self._window(source["filters"], stored)
            for frame in client.iter_frames(**filters, **kw):
                if stored is not None and seen is not None:
                    positions = stored.positions(frame["id"])
                    seen[positions[positions >= 0]] = True
                    if stored.lost:
                        listed.update(frame["id"])
                yield frame
            if stored is not None and self._seen is not None and filters != source["filters"]:
                # final jobs created before the window: skipped, as a sync by ids skips them
                skipped = np.zeros(len(stored.ids), dtype=bool)
                skipped[stored.newest_rows()] = True
                skipped &= stored.settled & (self._seen == 0)
                self._seen[skipped] = _SEEN_UNCHANGED
        if stored is not None:
            refresh = stored.unsettled_ids(seen)
            refresh += [i for i in dict.fromkeys(stored.lost) if i not in listed]
            if refresh:
                yield from client.iter_frames(refresh, **kw)
        if source["kind"] == "unknown" and stored is not None:
            msg = (
                f"the manifest of {str(self.target)!r} was rebuilt and cannot say how its jobs "
                "were chosen: only the stored jobs not final were fetched. Pass the listing's "
                "filters (or the ids) to add new jobs; later syncs repeat them"
            )
            warnings.warn(msg, stacklevel=5)

    def _window(self, filters: dict[str, Any], stored: _Stored | None) -> dict[str, Any]:
        """The listing's filters, narrowed to jobs created since the newest stored one less
        the margin. Not narrowed: a full sync; filters other than the dataset's own (what it
        stores says nothing of theirs); a ``limit``; damaged rows whose ids are lost; and a
        status filter that leaves out PENDING or RUNNING (a job enters such a listing when it
        ends, however old)."""
        if self.full or stored is None or stored.newest is None or stored.unknown_lost:
            return filters
        recorded = (stored.manifest.get("source") or {}).get("filters")
        if "limit" in filters or filters != recorded:  # new filters: the dataset has no window
            return filters
        status = filters.get("status")
        if status is not None:
            statuses = {status} if isinstance(status, str) else set(status)
            if not {"PENDING", "RUNNING"} <= statuses:
                return filters
        since = stored.newest - self.margin
        given = filters.get("created_after")
        if given is not None and _utc(given) >= since:
            return filters
        return {**filters, "created_after": since.isoformat()}

    def _take(self, frame: pd.DataFrame, stored: _Stored | None, writer: DatasetWriter) -> None:
        """Count each row of ``frame`` and pass on those that go into the new version."""
        if frame.empty:
            return
        failed = frame["fetch_error"].notna().to_numpy()
        key = precedence(frame["status"].to_numpy(dtype=object), _micros(frame["updated_at"]))
        positions = np.full(len(frame), -1) if stored is None else stored.positions(frame["id"])
        known = positions >= 0
        take = ~known
        if stored is not None and self._seen is not None and known.any():
            safe = np.maximum(positions, 0)
            newer = ~failed & (stored.failed[safe] | (key > stored.key[safe]))
            take |= known & newer
            outcome = np.where(failed, _SEEN_FAILED, _SEEN_UNCHANGED)
            outcome[newer] = _SEEN_UPDATED
            np.maximum.at(self._seen, positions[known], outcome[known].astype(np.int8))
        self.added += int((~known & ~failed).sum())
        self.failed += int((~known & failed).sum())
        if take.any():
            kept = frame if take.all() else frame[take]
            writer.write(kept)
            self._hashes.append(pd.util.hash_array(kept["id"].to_numpy(dtype=object)))

    def _count_stored(self) -> None:
        if self._seen is None:
            return
        counts = np.bincount(self._seen, minlength=4)
        self.failed += int(counts[_SEEN_FAILED])
        self.unchanged += int(counts[_SEEN_UNCHANGED])
        self.updated += int(counts[_SEEN_UPDATED])

    def _must_rewrite(self, stored: _Stored) -> bool:
        """Whether the stored version changes though nothing new was written (a repair)."""
        replaced = self._seen is not None and bool((self._seen == _SEEN_UPDATED).any())
        rebuilt = bool(stored.manifest.get("rebuilt"))
        return replaced or bool(stored.duplicates) or bool(stored.damaged) or rebuilt

    def _commit(
        self,
        staging: Path,
        writer: DatasetWriter,
        files: list[FileInfo],
        stored: _Stored | None,
        source: dict[str, Any],
    ) -> dict[str, Any]:
        schema = writer.schema
        if stored is not None and stored.schema is not None:
            schema = unify(stored.schema, schema) if schema is not None else stored.schema
        if schema is not None:
            schema = portable(schema)
        self._dedup(staging, files, stored)
        if schema is not None:
            settle_files(staging, files, schema)
        kept: dict[str, int] = {info.path: info.rows for info in files if info.rows}
        for info in files:
            if not info.rows:
                (staging / info.path).unlink(missing_ok=True)
        if stored is not None:
            kept.update(self._carry_over(staging, stored, schema, writer))
            kept = compact(staging, kept, prefix=f"{writer.prefix}-c")
            self.dropped = len(stored.duplicates) + sum(stored.damaged.values())
        _keep_foreign(self.target, staging, self.foreign)
        partition_types = dict(stored.manifest.get("partition_types", {})) if stored else {}
        partition_types.update(writer.partition_types)
        meta = provenance({}, base_url=self.base_url, fetched_at=self.fetched_at)
        manifest = {
            **meta,
            "format": 1,
            "generation": self.generation,
            "partition_by": list(self.partition_by),
            "partition_types": partition_types,
            "nested": self.nested,
            "source": source,
            "rows": sum(kept.values()),
            "files": dict(sorted(kept.items())),
            "last_run": {
                "added": self.added, "updated": self.updated,
                "unchanged": self.unchanged, "failed": self.failed,
            },
        }  # fmt: skip
        write_manifest(staging, manifest, schema)
        return manifest

    def _dedup(self, staging: Path, files: list[FileInfo], stored: _Stored | None) -> None:
        """Keep one row per job among the rows written this run: the winning copy (rare: a
        listing that moved while it was paged repeats jobs, however far apart).

        Streaming keeps only a 64-bit hash per written row (8 bytes a job); the files are read
        again only when two hashes are equal, and only the id and precedence columns.
        """
        if not self._hashes:
            return
        hashes = np.concatenate(self._hashes)
        self._hashes.clear()
        ordered = np.sort(hashes)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if not len(repeated):
            return
        candidates = []
        for number, info in enumerate(files):
            columns = _JobColumns.read(staging, info.path)
            ids = columns.ids.to_numpy(zero_copy_only=False)
            rows = np.flatnonzero(np.isin(pd.util.hash_array(ids.astype(object)), repeated))
            if not len(rows):
                continue
            candidates.append(
                pd.DataFrame(
                    {
                        "id": ids[rows],
                        "file": number,
                        "row": rows,
                        "fetched": ~columns.failed.to_numpy(zero_copy_only=False)[rows],
                        "key": columns.key()[rows],
                    }
                )
            )
        table = pd.concat(candidates, ignore_index=True)
        table = table.sort_values(["id", "fetched", "key", "file", "row"], kind="stable")
        losers = table[table.duplicated("id", keep="last")]
        # a stored job's copies count once already (see _seen): correct only new jobs' counts
        losers_new = losers if stored is None else losers[stored.positions(losers["id"]) < 0]
        self.added -= int(losers_new["fetched"].sum())
        self.failed -= int((~losers_new["fetched"]).sum())
        for number in losers["file"].unique():
            group = losers[losers["file"] == number]
            info = files[int(number)]
            path = staging / info.path
            table_ = read_table(path, schema=info.schema)
            keep = np.ones(len(table_), dtype=bool)
            keep[group["row"].to_numpy()] = False
            table_ = table_.filter(pa.array(keep))
            path.unlink()
            write_table(table_, path)
            info.rows = len(table_)

    def _carry_over(
        self, staging: Path, stored: _Stored, schema: pa.Schema | None, writer: DatasetWriter
    ) -> dict[str, int]:
        """Link every stored file into the new version, rewriting those that lose rows to
        newer versions or lack a column the new rows brought."""
        kept: dict[str, int] = {}
        rows = stored.manifest.get("files", {})
        replaced = np.zeros(len(stored.ids), dtype=bool)
        if self._seen is not None:
            replaced |= self._seen == _SEEN_UPDATED
        replaced[list(stored.duplicates)] = True
        for number, relative in enumerate(stored.files):
            source = stored.root / relative
            drop_here = replaced & (stored.file_of == number)
            file_schema = pq.read_schema(source)
            if not drop_here.any() and (schema is None or file_schema.equals(schema)):
                link_or_copy(source, staging / relative)
                kept[relative] = int(rows.get(relative, 0))
                continue
            try:
                table = read_table(source)
            except (OSError, pa.ArrowException) as exc:
                damaged = {relative: reason(exc)}
                problem, ways = damaged_message(stored.root, damaged, rows, what="sync")
                raise ExportError(problem, hint=ways) from None
            if drop_here.any():
                keep = np.ones(len(table), dtype=bool)
                keep[np.flatnonzero(drop_here) - stored.first_row[number]] = False
                table = table.filter(pa.array(keep))
            if not len(table):
                continue
            if schema is not None:
                table = conform(table, schema)
            name = relative.rsplit("/", 1)
            new_name = f"{writer.prefix}-r{number:05d}.parquet"
            new_relative = f"{name[0]}/{new_name}" if len(name) == 2 else new_name
            (staging / new_relative).parent.mkdir(parents=True, exist_ok=True)
            write_table(table, staging / new_relative)
            kept[new_relative] = len(table)
        return kept

    def _summary(self, manifest: dict[str, Any], started: float, *, committed: bool) -> SyncSummary:
        return SyncSummary(
            path=self.target,
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            failed=self.failed,
            rows=int(manifest.get("rows", 0)),
            files=len(manifest.get("files", {})),
            seconds=time.monotonic() - started,
            committed=committed,
            dropped=self.dropped,
        )


def compact(staging: Path, files: dict[str, int], *, prefix: str) -> dict[str, int]:
    """Merge the files of each partition that has more than ``_MAX_FILES`` small ones, so that
    daily syncs do not leave thousands of tiny files. Streams row groups: one in memory at most.
    """
    by_partition: dict[str, list[str]] = {}
    for relative in files:
        by_partition.setdefault(relative.rpartition("/")[0], []).append(relative)
    out = dict(files)
    for number, (segment, members) in enumerate(sorted(by_partition.items())):
        small = [m for m in members if files[m] < ROWS_PER_FILE // 4]
        if len(small) <= _MAX_FILES:
            continue
        name = f"{prefix}{number:05d}.parquet"
        merged = f"{segment}/{name}" if segment else name
        schema = pq.read_schema(staging / small[0])
        with pq.ParquetWriter(staging / merged, schema, **WRITE_OPTIONS) as writer:
            for relative in small:
                with pq.ParquetFile(staging / relative, page_checksum_verification=True) as source:
                    for group in range(source.num_row_groups):
                        writer.write_table(source.read_row_group(group))
                (staging / relative).unlink()
                out[merged] = out.get(merged, 0) + out.pop(relative)
    return out


def _foreign_files(target: Path, files: Iterable[str], *, replacing: bool) -> list[str]:
    """Paths under ``target`` (files, links, empty directories) that are not the dataset's:
    a user's notes or analyses, kept across every new version. When ``replacing`` it, the old
    dataset's own part files are the dataset's even if its manifest cannot say so."""
    ours = {MANIFEST, *files}
    found: list[str] = []
    for folder, dirs, names in os.walk(target):
        here = Path(folder)
        links = [d for d in dirs if (here / d).is_symlink()]
        dirs[:] = sorted(d for d in dirs if d not in links)
        for name in sorted([*names, *links]):
            relative = (here / name).relative_to(target).as_posix()
            if relative in ours or (replacing and OUR_PART.fullmatch(name)):
                continue
            found.append(relative)
        empty = not dirs and not names and here != target
        if empty and "=" not in here.name:  # an empty partition directory is ours
            found.append(here.relative_to(target).as_posix() + "/")
    data = [f for f in found if f.lower().endswith(_DATA_SUFFIXES) and _visible(f)]
    if data:
        shown = ", ".join(data[:5]) + (f" and {len(data) - 5} more" if len(data) > 5 else "")
        msg = (
            f"{str(target)!r} holds Parquet files that are not part of the dataset: {shown}. "
            "They are kept, and read_parquet ignores them, but DuckDB, Polars and pyarrow read "
            "their rows as the dataset's: move them out of the dataset directory"
        )
        warnings.warn(msg, stacklevel=3)
    return found


def _visible(relative: str) -> bool:
    """Whether other engines' dataset discovery sees a path (they skip ``_x`` and ``.x``)."""
    return not any(part.startswith(("_", ".")) for part in relative.split("/"))


def _keep_foreign(target: Path, staging: Path, foreign: list[str]) -> None:
    """Carry the foreign files into the new version: hard links (no copy), links as links."""
    for relative in foreign:
        source, destination = target / relative, staging / relative
        if relative.endswith("/"):
            destination.mkdir(parents=True, exist_ok=True)
            continue
        if destination.exists() or destination.is_symlink():
            msg = (
                f"{str(source)!r} is not part of the dataset but has the name of a file this run "
                "writes: move it out of the dataset directory and run again"
            )
            raise ExportError(msg)
        if source.is_symlink():
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(source), destination)
        elif source.exists():
            link_or_copy(source, destination)


def _staged_bytes(staging: Path) -> int:
    """Bytes this run wrote into ``staging`` (hard links to the old version cost nothing)."""
    total = 0
    for path in staging.rglob("*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        if path.is_file() and info.st_nlink == 1:
            total += info.st_size
    return total


def _out_of_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a full disk; pyarrow says so only in words."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(seen) or "Disk quota exceeded" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _space_message(target: Path, written: int) -> str:
    free = shutil.disk_usage(target.parent).free
    return (
        f"no space left on the disk holding {str(target)!r}: the new version needs more than "
        f"{_megabytes(written)} (what this run had written when the disk filled), and "
        f"{_megabytes(free)} is free now that the partial copy is removed. Free more space "
        "and run again; the dataset is unchanged"
    )


def _megabytes(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB"


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _micros(values: pd.Series) -> npt.NDArray[np.int64]:
    """Microseconds since the epoch; NaT becomes NAT (int64's minimum), older than anything."""
    naive = pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.as_unit("us")
    return naive.to_numpy().view(np.int64)


def _source(
    stored: _Stored | None, job_ids: Iterable[str] | None, filters: dict[str, Any]
) -> dict[str, Any]:
    """How the jobs are chosen, recorded so that a bare ``sync_parquet(DIR)`` can replay it."""
    if job_ids is not None:
        return {"kind": "ids"}
    if filters or stored is None:
        return {"kind": "list", "filters": {k: _jsonable(v) for k, v in filters.items()}}
    recorded: dict[str, Any] = stored.manifest.get("source") or {"kind": "list", "filters": {}}
    return recorded


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value
