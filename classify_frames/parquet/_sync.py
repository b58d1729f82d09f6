"""``export_jobs`` and ``sync_parquet``: stream jobs into a dataset, then keep it up to date.

Both stream ``ClassifyClient.iter_frames`` batches into a staging directory and swap it in at the
end (see :mod:`._commit`). A sync reads the stored ``id``/``status``/``updated_at`` columns only,
asks the service for the jobs that are new or not yet final, and rewrites only the files holding
rows it replaces; every other file is hard-linked into the new version.
"""

from __future__ import annotations

import datetime as dt
import html
import inspect
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
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

from .._exceptions import ExportError
from .._schema import FINAL_STATUSES
from ._commit import dataset_lock, link_or_copy, new_staging, recover, swap_in
from ._dataset import (
    DERIVED,
    MANIFEST,
    ROWS_PER_FILE,
    DatasetWriter,
    FileInfo,
    conform,
    manifest_schema,
    portable,
    read_manifest,
    settle_files,
    unify,
    write_manifest,
)
from ._file import ROW_GROUP_ROWS, provenance

if TYPE_CHECKING:
    import os

    from ..fetch import ClassifyClient

__all__ = ["SyncSummary", "compact", "export_jobs", "sync_parquet"]

_LIST_FILTERS = ("status", "configuration_id", "created_after", "created_before", "limit")
_NAT = np.iinfo(np.int64).min
_MAX_FILES = 8  # small files a partition may gather before a sync merges them


@dataclass(frozen=True)
class SyncSummary:
    """What an export or sync did. ``str()`` is the one-line summary the CLI prints.

    ``added``: jobs new to the dataset; ``updated``: stored jobs replaced by a newer version;
    ``unchanged``: stored jobs seen or skipped with nothing newer; ``failed``: jobs that could
    not be fetched this time (stored as rows with ``fetch_error`` when they are new).
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

    def __str__(self) -> str:
        what = "written" if self.committed else "nothing to write"
        return (
            f"{self.path}: {self.added} added, {self.updated} updated, {self.unchanged} "
            f"unchanged, {self.failed} failed; {self.rows} rows in {self.files} files "
            f"({what}, {self.seconds:.1f} s)"
        )

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td>{value}</td></tr>"
            for name, value in (
                ("added", self.added), ("updated", self.updated),
                ("unchanged", self.unchanged), ("failed", self.failed),
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

    >>> export_jobs(path="jobs", status="COMPLETED", base_url=url, api_key=key)  # doctest: +SKIP
    """
    target = _check_target(path)
    partition_by = _check_partition_by(partition_by)
    run = _Run(target, partition_by=partition_by, nested=nested, generation=1)
    with dataset_lock(target, lock_timeout):
        recover(target)
        if (target / MANIFEST).exists():
            if not overwrite:
                msg = (
                    f"{str(target)!r} already holds a dataset: use sync_parquet to update it, "
                    "or pass overwrite=True to replace it"
                )
                raise ExportError(msg)
            run.generation = int(read_manifest(target).get("generation", 0)) + 1
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
    **options: Any,
) -> SyncSummary:
    """Bring the dataset at ``path`` up to date, fetching only jobs that are new or not final.

    With ``job_ids``: those ids not stored yet, or stored as PENDING/RUNNING or failed. With list
    filters (``status=`` …): the listing, whose pages carry whole jobs, so final jobs cost no
    request of their own. With neither: the filters the dataset was made with. Stored jobs that
    are not final are always refreshed. Rows are upserted by ``id``, the newest ``updated_at``
    winning. A missing dataset is created (like :func:`export_jobs`).

    >>> sync_parquet("jobs", base_url=url, api_key=key)             # doctest: +SKIP
    SyncSummary(path=PosixPath('jobs'), added=12, updated=3, unchanged=9985, failed=0, ...)
    """
    target = _check_target(path)
    with dataset_lock(target, lock_timeout):
        recover(target)
        if not (target / MANIFEST).exists():
            if target.is_dir() and any(target.iterdir()):
                msg = f"{str(target)!r} exists and is not a classify_frames dataset"
                raise ExportError(msg)
            layout = _check_partition_by(partition_by or (DERIVED,))
            run = _Run(target, partition_by=layout, nested=bool(nested), generation=1)
            return run.execute(job_ids, client, batch_size, progress, options, stored=None)
        manifest = read_manifest(target)
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
            generation=int(manifest.get("generation", 0)) + 1,
        )  # fmt: skip
        try:
            stored = _Stored.load(target, manifest)
        except (OSError, pa.ArrowException) as exc:
            msg = f"cannot read the stored dataset {str(target)!r} (damaged?): {exc}"
            raise ExportError(msg) from None
        return run.execute(job_ids, client, batch_size, progress, options, stored=stored)


# -- checks ------------------------------------------------------------------------------------


def _check_target(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.suffix.lower() in (".parquet", ".pq", ".parq"):
        msg = f"{str(target)!r} looks like a file; a dataset is a directory (use to_parquet)"
        raise ExportError(msg)
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
        msg = f"partition_by must be distinct column names, got {list(names)!r}"
        raise ExportError(msg)
    return names


# -- what is stored ----------------------------------------------------------------------------


@dataclass
class _Stored:
    """The stored dataset: per row its id, whether it is settled, its ``updated_at`` and file."""

    root: Path
    manifest: dict[str, Any]
    schema: pa.Schema | None
    ids: pd.Index  # every stored row's id
    settled: npt.NDArray[np.bool_]  # final status and fetched fine: never fetched again
    failed: npt.NDArray[np.bool_]
    updated: npt.NDArray[np.int64]  # microseconds since the epoch, _NAT when unknown
    file_of: npt.NDArray[np.int32]
    files: list[str]
    first_row: list[int]  # where each file's rows start, in file order
    duplicates: set[int]  # rows of ids stored twice (older copies), dropped at the next commit
    _lookup: pd.Series  # id -> row, the newest copy of each id

    @classmethod
    def load(cls, root: Path, manifest: dict[str, Any]) -> _Stored:
        files = list(manifest.get("files", {}))
        ids, statuses, updated, failed, file_of = [], [], [], [], []
        for number, relative in enumerate(files):
            keys = _partition_keys(relative)
            schema = pq.read_schema(root / relative)
            wanted = [c for c in ("id", "status", "updated_at", "fetch_error") if c in schema.names]
            table = pq.read_table(root / relative, columns=wanted)
            n = len(table)
            ids.append(table.column("id").cast(pa.string()))
            status = (
                table.column("status").cast(pa.string())
                if "status" in wanted
                else pa.chunked_array([pa.array([keys.get("status")] * n, type=pa.string())])
            )
            statuses.append(status)
            updated.append(
                table.column("updated_at").cast(pa.timestamp("us", "UTC")).cast(pa.int64())
                if "updated_at" in wanted
                else pa.chunked_array([pa.nulls(n, pa.int64())])
            )
            failed.append(
                table.column("fetch_error").is_valid()
                if "fetch_error" in wanted
                else pa.chunked_array([pa.array([False] * n)])
            )
            file_of.append(np.full(n, number, dtype=np.int32))

        def joined(parts: list[pa.ChunkedArray], type_: pa.DataType) -> pa.ChunkedArray:
            chunks = [chunk for part in parts for chunk in part.chunks]
            return pa.chunked_array(chunks, type=type_)

        status_all = joined(statuses, pa.string())
        failed_all = joined(failed, pa.bool_()).to_numpy(zero_copy_only=False)
        settled = (
            pc.is_in(status_all, pa.array(sorted(FINAL_STATUSES))).to_numpy(zero_copy_only=False)
            & ~failed_all
        )
        all_ids = pd.Index(joined(ids, pa.string()).to_numpy(zero_copy_only=False))
        updated_all = joined(updated, pa.int64()).fill_null(_NAT).to_numpy(zero_copy_only=False)
        rows = pd.Series(np.arange(len(all_ids)), index=all_ids)
        duplicates: set[int] = set()
        if not all_ids.is_unique:  # repair: keep the newest copy of each id
            order = np.argsort(updated_all, kind="stable")
            newest = ~all_ids[order].duplicated(keep="last")
            duplicates = {int(i) for i in order[~newest]}
            rows = rows.iloc[np.sort(order[newest])]
        return cls(
            root=root,
            manifest=manifest,
            schema=manifest_schema(manifest),
            ids=all_ids,
            settled=settled,
            failed=failed_all,
            updated=updated_all,
            file_of=np.concatenate(file_of) if file_of else np.zeros(0, dtype=np.int32),
            files=files,
            first_row=list(np.cumsum([0, *(len(f) for f in file_of)])[:-1]),
            duplicates=duplicates,
            _lookup=rows,
        )

    def positions(self, ids: Iterable[str]) -> npt.NDArray[np.intp]:
        """The stored row of each id, -1 where it is not stored."""
        found = self._lookup.index.get_indexer(pd.Index(list(ids)))
        rows = self._lookup.to_numpy()
        return np.where(found >= 0, rows[np.maximum(found, 0)], -1) if len(rows) else found

    def unsettled_ids(self, seen: npt.NDArray[np.bool_] | None = None) -> list[str]:
        """Stored ids that are not final (or failed), minus those ``seen`` this run."""
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[self._lookup.to_numpy()] = True
        mask &= ~self.settled
        if seen is not None:
            mask &= ~seen
        return [str(v) for v in self.ids[mask]]


def _partition_keys(relative: str) -> dict[str, str]:
    keys = {}
    for segment in relative.split("/")[:-1]:
        name, _, value = segment.partition("=")
        keys[name] = unquote(value)
    return keys


# -- one run -----------------------------------------------------------------------------------


@dataclass
class _Run:
    """One export or sync: streams frames into a staging directory, counts, then commits."""

    target: Path
    partition_by: tuple[str, ...]
    nested: bool
    generation: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    fetched_at: str | None = None
    base_url: str | None = None
    _replaced: set[int] = field(default_factory=set)  # stored rows a newer version replaces
    _best: dict[str, int] = field(default_factory=dict)  # id -> updated_at taken this run
    _duplicates: set[str] = field(default_factory=set)

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
        filters = {k: v for k in _LIST_FILTERS if (v := options.pop(k, None)) is not None}
        if job_ids is not None and filters:
            msg = f"give job_ids or list filters, not both (got {sorted(filters)})"
            raise ExportError(msg)
        if client is not None and options:
            msg = f"unexpected options with a client: {sorted(options)}"
            raise ExportError(msg)
        source = _source(stored, job_ids, filters)
        staging = new_staging(self.target)
        writer = DatasetWriter(staging, self.partition_by, prefix=f"part-{self.generation:05d}")
        try:
            with ExitStack() as stack:
                if client is None:
                    client = stack.enter_context(_make_client(options))
                self.base_url = client.settings.base_url
                for frame in self._frames(client, job_ids, source, stored, batch_size, progress):
                    self._take(frame, stored, writer)
            files = writer.finish()
            if stored is not None and not files and not self._replaced and not stored.duplicates:
                shutil.rmtree(staging, ignore_errors=True)
                return self._summary(stored.manifest, started, committed=False)
            manifest = self._commit(staging, writer, files, stored, source)
            swap_in(staging, self.target)
        except BaseException:
            writer.abort()
            shutil.rmtree(staging, ignore_errors=True)
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
            wanted = list(dict.fromkeys(job_ids))
            if stored is not None:
                positions = stored.positions(wanted)
                skip = (positions >= 0) & stored.settled[np.maximum(positions, 0)]
                self.unchanged += int(skip.sum())
                wanted = [i for i, s in zip(wanted, skip, strict=True) if not s]
            if wanted:
                yield from client.iter_frames(wanted, **kw)
            return
        seen = np.zeros(len(stored.ids), dtype=bool) if stored is not None else None
        if source["kind"] == "list":
            for frame in client.iter_frames(**source["filters"], **kw):
                if stored is not None and seen is not None:
                    positions = stored.positions(frame["id"])
                    seen[positions[positions >= 0]] = True
                yield frame
        if stored is not None:
            refresh = stored.unsettled_ids(seen)
            if refresh:
                yield from client.iter_frames(refresh, **kw)

    def _take(self, frame: pd.DataFrame, stored: _Stored | None, writer: DatasetWriter) -> None:
        """Count each row of ``frame`` and pass on those that go into the new version."""
        if frame.empty:
            return
        failed = frame["fetch_error"].notna().to_numpy()
        updated = _micros(frame["updated_at"])
        positions = np.full(len(frame), -1) if stored is None else stored.positions(frame["id"])
        known = positions >= 0
        safe = np.maximum(positions, 0)
        stored_updated = stored.updated[safe] if stored is not None else np.full(len(frame), _NAT)
        stored_failed = stored.failed[safe] if stored is not None else np.zeros(len(frame), bool)
        newer = ~failed & (stored_failed | (updated > stored_updated))
        take = ~known | (known & newer)
        self.failed += int(failed.sum())
        self.unchanged += int((known & ~failed & ~newer).sum())
        keep = take
        if stored is None:  # a fresh dataset: the stream's ids are unique, nothing to replace
            self.added += int((~known & ~failed).sum())
        else:
            keep = self._newest_only(frame, take, known, failed, updated, positions)
        if keep.any():
            writer.write(frame if keep.all() else frame[keep])

    def _newest_only(
        self,
        frame: pd.DataFrame,
        take: npt.NDArray[np.bool_],
        known: npt.NDArray[np.bool_],
        failed: npt.NDArray[np.bool_],
        updated: npt.NDArray[np.int64],
        positions: npt.NDArray[np.intp],
    ) -> npt.NDArray[np.bool_]:
        """Count added/updated rows; a job met twice in one run keeps its newest version."""
        ids = frame["id"].to_numpy(dtype=object)
        keep = take.copy()
        for row in np.flatnonzero(take):
            job_id, when = ids[row], int(updated[row])
            best = self._best.get(job_id)
            if best is None:
                self._best[job_id] = when
                if known[row]:
                    self.updated += 1
                    self._replaced.add(int(positions[row]))
                elif not failed[row]:
                    self.added += 1
                continue
            self._duplicates.add(job_id)
            if failed[row]:
                self.failed -= 1
            keep[row] = when > best
            if keep[row]:
                self._best[job_id] = when
        return keep

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
        self._drop_duplicates(staging, files)
        if schema is not None:
            settle_files(staging, files, schema)
        kept: dict[str, int] = {info.path: info.rows for info in files if info.rows}
        for info in files:
            if not info.rows:
                (staging / info.path).unlink(missing_ok=True)
        if stored is not None:
            kept.update(self._carry_over(staging, stored, schema, writer))
            kept = compact(staging, kept, prefix=f"{writer.prefix}-c")
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

    def _drop_duplicates(self, staging: Path, files: list[FileInfo]) -> None:
        """Drop the older copies of jobs that came twice in this run (rare: a listing that
        shifted while paged)."""
        if not self._duplicates:
            return
        dupes = pa.array(sorted(self._duplicates), type=pa.string())
        for info in files:
            path = staging / info.path
            table = pq.read_table(path, schema=info.schema)
            best = pa.array(
                [self._best.get(i, _NAT) for i in table.column("id").to_pylist()], pa.int64()
            )
            when = table.column("updated_at").cast(pa.int64()).fill_null(_NAT)
            drop = pc.and_(pc.is_in(table.column("id"), dupes), pc.less(when, best))
            if pc.any(drop).as_py():
                table = table.filter(pc.invert(drop))
                path.unlink()
                pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP_ROWS)
                info.rows = len(table)

    def _carry_over(
        self, staging: Path, stored: _Stored, schema: pa.Schema | None, writer: DatasetWriter
    ) -> dict[str, int]:
        """Link every stored file into the new version, rewriting those that lose rows to
        newer versions or lack a column the new rows brought."""
        kept: dict[str, int] = {}
        rows = stored.manifest.get("files", {})
        replaced = np.zeros(len(stored.ids), dtype=bool)
        replaced[list(self._replaced | stored.duplicates)] = True
        for number, relative in enumerate(stored.files):
            source = stored.root / relative
            drop_here = replaced & (stored.file_of == number)
            file_schema = pq.read_schema(source)
            if not drop_here.any() and (schema is None or file_schema.equals(schema)):
                link_or_copy(source, staging / relative)
                kept[relative] = int(rows.get(relative, 0))
                continue
            table = pq.read_table(source)
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
            pq.write_table(
                table, staging / new_relative, compression="zstd", row_group_size=ROW_GROUP_ROWS
            )
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
        with pq.ParquetWriter(staging / merged, schema, compression="zstd") as writer:
            for relative in small:
                with pq.ParquetFile(staging / relative) as source:
                    for group in range(source.num_row_groups):
                        writer.write_table(source.read_row_group(group))
                (staging / relative).unlink()
                out[merged] = out.get(merged, 0) + out.pop(relative)
    return out


def _micros(values: pd.Series) -> npt.NDArray[np.int64]:
    """Microseconds since the epoch; NaT becomes _NAT (int64's minimum), older than anything."""
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


def _make_client(options: dict[str, Any]) -> ClassifyClient:
    from ..fetch import ClassifyClient

    accepted = set(inspect.signature(ClassifyClient).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        msg = f"unknown option(s) {unknown}; list filters are {list(_LIST_FILTERS)}"
        raise ExportError(msg)
    return ClassifyClient(**options)
