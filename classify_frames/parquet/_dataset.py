"""Hive-partitioned Parquet datasets: the streaming writer, the manifest, and reading back.

Layout, readable by pyarrow.dataset, DuckDB, Polars, Dask and Spark with no help from us::

    DIR/_classify_frames.json                          provenance, schema, file list (we read it)
    DIR/created_month=2026-03/part-00001-00000.parquet
    DIR/created_month=unknown/part-00001-00001.parquet  rows with no created_at (failed fetches)

Every data file has the same Arrow schema (columns added by a later batch are added, as nulls,
to files written before), no pandas metadata, and partition values that are plain strings; the
partition columns live in the directory names only, as Hive and Spark expect.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from .._atomic import atomic_path
from .._exceptions import ClassifyFramesWarning, ExportError
from ..frame import (
    JOB_TYPE,
    KNOWN_COLUMNS,
    REPEATED_COLUMNS,
    TAIL_COLUMNS,
    empty_frame,
    encode_table,
)
from ._contract import canonical, contract_frame, from_other_writer, holds_jobs
from ._file import ROW_GROUP_ROWS, WRITE_OPTIONS, Pushdown, check_file, read_table, write_table
from ._manifest import (
    MANIFEST,
    REBUILD_HINT,
    damaged_message,
    encode_schema,
    manifest_schema,
    provenance,
    read_manifest,
    reason,
)

__all__ = [
    "DERIVED",
    "OUR_PART",
    "ROWS_PER_FILE",
    "DatasetWriter",
    "FileInfo",
    "bad_files",
    "batch_table",
    "conform",
    "partition_segments",
    "portable",
    "read_dataset",
    "rebuild_manifest",
    "settle_files",
    "table_to_frame",
    "unify",
]

DERIVED = "created_month"
UNKNOWN_MONTH = "unknown"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # what Hive, Spark and pyarrow read as null
ROWS_PER_FILE = 1_000_000
ROW_GROUP_BYTES = 24 << 20  # a partition's buffer is written as a row group at this size...
MAX_BUFFERED_BYTES = 48 << 20  # ...and the largest goes when all buffers together hold this
MAX_OPEN_FILES = 64

_KNOWN = frozenset(KNOWN_COLUMNS) | frozenset(TAIL_COLUMNS) | frozenset(JOB_TYPE.names)


@dataclass
class FileInfo:
    """One data file of a dataset: its path relative to the root, rows, and schema."""

    path: str
    rows: int
    schema: pa.Schema


# -- Arrow tables of job frames --------------------------------------------------------------


def batch_table(frame: pd.DataFrame) -> pa.Table:
    """A job frame as Arrow with portable types: categories and large strings become strings,
    and unknown columns holding only nulls take no type, so a later batch decides it."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        if pa.types.is_dictionary(t):
            column = column.cast(t.value_type)
            t = column.type
        if pa.types.is_large_string(t):
            column = column.cast(pa.string())
        if name not in _KNOWN and column.null_count == len(column):
            column = pa.nulls(len(column), pa.null())
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def unify(first: pa.Schema | None, second: pa.Schema) -> pa.Schema:
    """Both schemas' columns in a canonical order; conflicting types widen, else become text."""
    if first is None:
        return canonical(second)
    try:
        merged = pa.unify_schemas([first, second], promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        fields = {f.name: f for f in first}
        for f in second:
            old = fields.get(f.name)
            if old is None or old.type == f.type:
                fields.setdefault(f.name, f)
                continue
            try:
                fields[f.name] = pa.unify_schemas(
                    [pa.schema([old]), pa.schema([f])], promote_options="permissive"
                ).field(0)
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                fields[f.name] = pa.field(f.name, pa.string())
        merged = pa.schema(list(fields.values()))
    return canonical(merged)


def portable(schema: pa.Schema) -> pa.Schema:
    """``schema`` with columns that were never anything but null typed as text (Spark and others
    cannot read Parquet's null type)."""
    return pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in schema]
    )


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: missing ones as nulls, others cast."""
    columns = []
    for f in schema:
        if f.name not in table.column_names:
            columns.append(pa.nulls(len(table), f.type))
            continue
        column = table.column(f.name)
        if column.type != f.type:
            try:
                column = column.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                # only text can hold anything: a value Arrow cannot cast is kept as JSON
                values = [
                    v if v is None or isinstance(v, str) else orjson.dumps(v, default=str).decode()
                    for v in column.to_pylist()
                ]
                column = pa.chunked_array([pa.array(values, type=pa.string())])
        columns.append(column)
    return pa.table(columns, schema=schema)


# -- the streaming writer ----------------------------------------------------------------------


@dataclass
class _Open:
    writer: pq.ParquetWriter
    info: FileInfo


@dataclass
class DatasetWriter:
    """Writes frames into hive partitions under ``root`` as they come, in bounded memory.

    Rows wait in per-partition buffers until a row group's worth is there (or the buffers
    together hold ``max_buffered_bytes``), then go to that partition's open file. Memory is
    bounded by bytes, not rows, since jobs range from a few hundred bytes to many kilobytes.
    """

    root: Path
    partition_by: Sequence[str]
    prefix: str
    row_group_rows: int = ROW_GROUP_ROWS
    rows_per_file: int = ROWS_PER_FILE
    row_group_bytes: int = ROW_GROUP_BYTES
    max_buffered_bytes: int = MAX_BUFFERED_BYTES
    schema: pa.Schema | None = None
    partition_types: dict[str, str] = field(default_factory=dict)
    files: list[FileInfo] = field(default_factory=list)
    _buffers: dict[str, list[pa.Table]] = field(default_factory=dict)
    _buffered: dict[str, int] = field(default_factory=dict)  # bytes per partition
    _open: dict[str, _Open] = field(default_factory=dict)
    _seq: int = 0

    def write(self, frame: pd.DataFrame) -> None:
        """Add the rows of one job frame."""
        if frame.empty:
            return
        segments = partition_segments(frame, self.partition_by)
        self._record_partition_types(frame)
        table = batch_table(frame.drop(columns=[c for c in self.partition_by if c != DERIVED]))
        schema = unify(self.schema, table.schema)
        if self.schema is not None and not schema.equals(self.schema):
            self._close_all()  # files already open keep their schema; settle_files fixes them
        self.schema = schema
        codes, uniques = pd.factorize(segments)
        if len(uniques) == 1:
            self._buffer(str(uniques[0]), table)
        else:
            for i, segment in enumerate(uniques):
                self._buffer(str(segment), table.take(pa.array((codes == i).nonzero()[0])))
        while sum(self._buffered.values()) > self.max_buffered_bytes:
            self._flush(max(self._buffered, key=self._buffered.__getitem__))

    def finish(self) -> list[FileInfo]:
        """Flush and close everything; the files written, each with its own schema."""
        for segment in list(self._buffers):
            self._flush(segment)
        self._close_all()
        return self.files

    def abort(self) -> None:
        """Close open files without flushing (the caller deletes the directory). Never raises:
        on a full disk closing a file fails too, and the caller must still clean up."""
        for handle in self._open.values():
            with contextlib.suppress(OSError, pa.ArrowException):
                handle.writer.close()
        self._open.clear()
        self._buffers.clear()
        self._buffered.clear()

    def _record_partition_types(self, frame: pd.DataFrame) -> None:
        for name in self.partition_by:
            if name == DERIVED:
                continue
            if name not in frame.columns:
                msg = f"cannot partition by {name!r}: no such column (columns: {list(frame)[:8]}…)"
                raise ExportError(msg)
            type_ = batch_table(frame[[name]]).schema[0].type
            if not pa.types.is_null(type_):
                self.partition_types.setdefault(name, str(type_))

    def _buffer(self, segment: str, table: pa.Table) -> None:
        self._buffers.setdefault(segment, []).append(table)
        self._buffered[segment] = self._buffered.get(segment, 0) + table.nbytes
        rows = sum(len(t) for t in self._buffers[segment])
        if self._buffered[segment] >= self.row_group_bytes or rows >= self.row_group_rows:
            self._flush(segment)

    def _flush(self, segment: str) -> None:
        tables = self._buffers.pop(segment, [])
        self._buffered.pop(segment, None)
        if not tables or self.schema is None:
            return
        data = pa.concat_tables([conform(t, self.schema) for t in tables])
        handle = self._open.get(segment)
        if handle is None:
            if len(self._open) >= MAX_OPEN_FILES:
                self._close(next(iter(self._open)))
            handle = self._open_file(segment)
        handle.writer.write_table(data, row_group_size=len(data))
        handle.info.rows += len(data)
        if handle.info.rows >= self.rows_per_file:
            self._close(segment)

    def _open_file(self, segment: str) -> _Open:
        assert self.schema is not None
        name = f"{self.prefix}-{self._seq:05d}.parquet"
        relative = f"{segment}/{name}" if segment else name
        self._seq += 1
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = pq.ParquetWriter(path, self.schema, **WRITE_OPTIONS)
        handle = _Open(writer, FileInfo(relative, 0, self.schema))
        self._open[segment] = handle
        self.files.append(handle.info)
        return handle

    def _close(self, segment: str) -> None:
        handle = self._open.pop(segment)
        handle.writer.close()

    def _close_all(self) -> None:
        for segment in list(self._open):
            self._close(segment)


def rebuild_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the dataset at ``root`` made again from its data files (``part-*``
    files; others are a user's): layout from their directories, schema and rows from their
    footers. How the jobs were chosen is not in the files: ``source`` becomes ``unknown``."""
    infos: list[FileInfo] = []
    for path in sorted(root.rglob("part-*.parquet")):
        relative = path.relative_to(root).as_posix()
        if not OUR_PART.fullmatch(path.name) or not all("=" in d for d in relative.split("/")[:-1]):
            continue
        try:
            info = pq.read_metadata(path)
        except (OSError, pa.ArrowException):
            continue  # a file whose footer is gone is no part of the rebuilt dataset
        infos.append(FileInfo(relative, info.num_rows, info.schema.to_arrow_schema()))
    schema: pa.Schema | None = None
    for info in infos:
        schema = unify(schema, info.schema)
    layout = [d.split("=", 1)[0] for d in infos[0].path.split("/")[:-1]] if infos else [DERIVED]
    generations = [int(i.path.rsplit("/", 1)[-1].split("-")[1]) for i in infos]  # part-N-…
    return {
        **provenance({}),
        "format": 1,
        "generation": max(generations, default=0),
        "partition_by": layout,
        "partition_types": {},
        "nested": schema is not None and "configuration" in schema.names,
        "source": {"kind": "unknown"},
        "rows": sum(i.rows for i in infos),
        "files": {i.path: i.rows for i in infos},
        "schema": encode_schema(portable(schema) if schema is not None else None),
        "rebuilt": True,
    }


def partition_segments(frame: pd.DataFrame, partition_by: Sequence[str]) -> pd.Series:
    """Each row's directory under the root, e.g. ``created_month=2026-03/status=RUNNING``."""
    out = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    for depth, name in enumerate(partition_by):
        if name == DERIVED:
            stamps = frame["created_at"]
            codes, uniques = pd.factorize(stamps.dt.year * 100 + stamps.dt.month)
            labels = [f"{int(u) // 100:04d}-{int(u) % 100:02d}" for u in uniques]
            missing = UNKNOWN_MONTH
        elif name not in frame.columns:
            msg = f"cannot partition by {name!r}: no such column"
            raise ExportError(msg)
        else:
            column = frame[name]
            if not _plain(column.dtype):
                msg = f"cannot partition by {name!r}: it holds {column.dtype}, not text or integers"
                raise ExportError(msg)
            codes, uniques = pd.factorize(column)
            labels = [quote(str(u), safe=" ._-:+@") for u in uniques]
            missing = NULL_PARTITION
        # factorize gives -1 for a missing value: the last label
        names = np.array([f"{name}={v}" for v in [*labels, missing]], dtype=object)
        level = names[codes]
        out = pd.Series(level, index=frame.index) if depth == 0 else out + "/" + level
    return out


def _plain(dtype: Any) -> bool:
    """Whether a column's values make sensible directory names (text, whole numbers, flags)."""
    if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype):
        return True
    if isinstance(dtype, pd.ArrowDtype):
        t = dtype.pyarrow_dtype
        return bool(pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_boolean(t))
    return bool(pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def settle_files(root: Path, files: Iterable[FileInfo], schema: pa.Schema) -> None:
    """Rewrite, one at a time, the files whose schema is not ``schema`` (rare: a batch brought
    a new unknown column or widened a type after they were written)."""
    for info in files:
        if info.schema.equals(schema):
            continue
        path = root / info.path
        table = conform(read_table(path, schema=info.schema), schema)
        with atomic_path(path) as tmp:
            write_table(table, tmp)
        info.schema = schema


# -- reading -----------------------------------------------------------------------------------


def read_dataset(
    root: Path,
    on_bad_files: Literal["raise", "skip"] = "raise",
    *,
    shown: Path | None = None,
    wanted: Pushdown | None = None,
) -> pd.DataFrame:
    """The rows of the dataset at ``root`` as a typed jobs frame (contract dtypes): all of
    them, or the columns and rows ``wanted`` asks for, which the scan alone reads.

    Data files that cannot be read are named in the error, or with ``on_bad_files="skip"``
    left out with a warning. ``shown`` is the path to name in messages (``root`` may be the
    side copy a crash left).
    """
    shown, wanted = shown or root, wanted or Pushdown()
    if not (root / MANIFEST).exists():
        return _read_without_manifest(root, shown, on_bad_files, wanted)
    manifest = read_manifest(root)
    schema = manifest_schema(manifest)
    partition_by = [p for p in manifest.get("partition_by", []) if p != DERIVED]
    nested = bool(manifest.get("nested"))
    if schema is None:
        return empty_frame(nested=nested)
    output = wanted.output([*schema.names, *partition_by], shown, [DERIVED])
    keys = [(p, pa.string()) for p in manifest.get("partition_by", [])]
    wanted.check_filter(pa.schema([*schema, *keys]), shown)
    recorded: dict[str, Any] = manifest.get("files", {})
    files = list(recorded)
    try:
        table = _scan(root, files, schema, manifest, output, wanted.filter)
    except (OSError, pa.ArrowException) as exc:
        good = _good_files(root, files, recorded, shown, on_bad_files, exc)
        try:
            table = _scan(root, good, schema, manifest, output, wanted.filter)
        except (OSError, pa.ArrowException) as again:
            msg = f"cannot read the dataset {str(shown)!r}: {again}"
            raise ExportError(msg) from None
    owned = [table]
    del table
    frame = table_to_frame(owned, manifest.get("partition_types", {}), nested=nested)
    for pool in (scan_pool(), pa.default_memory_pool()):
        pool.release_unused()  # what the read let go, back to the OS
    return frame if wanted.columns is None else frame[output]


def _scan(
    root: Path,
    files: list[str],
    schema: pa.Schema,
    manifest: dict[str, Any],
    output: list[str],
    where: pc.Expression | None,
) -> pa.Table:
    """The rows asked for, decoded by Arrow's threads a few batches ahead, repeated ids and
    the rules' text as the files store them (dictionaries: 10 million ids as text would take
    440 MB a column, the rules 8 GB) and encoded once at the end; each text column copied into
    one chunk as the batches come (:class:`_Text`), nested ones joined at the end."""
    keys = pa.schema([(p, pa.string()) for p in manifest.get("partition_by", [])])
    sample = root / files[0] if files else None
    schema, text = _rule_text_as_dictionary(schema, sample)
    schema, ids = _ids_as_dictionary(schema, sample)
    dataset = pads.dataset(
        [str(root / path) for path in files],
        schema=pa.schema([*_wide_text(schema), *keys]),
        format=pads.ParquetFileFormat(
            read_options=pads.ParquetReadOptions(dictionary_columns=[*text, *ids]),
            default_fragment_scan_options=_CHECKSUMS,
        ),
        partitioning=pads.partitioning(keys, flavor="hive"),
        partition_base_dir=str(root),
    )
    pool = scan_pool()
    types = {name: dataset.schema.field(name).type for name in output}
    rows = sum(int(manifest.get("files", {}).get(path, 0)) for path in files)
    texts = {name: _Text(rows) for name, t in types.items() if pa.types.is_large_string(t)}
    pieces: dict[str, list[pa.Array]] = {name: [] for name in output if name not in texts}
    # a few batches ahead keep both cores decoding; Arrow's default (16 batches of 4 files)
    # peaked at 1.64 GB for 2 million jobs, against 1.56 (one run each)
    batches = dataset.to_batches(
        columns=output, filter=where, memory_pool=pool, batch_readahead=4, fragment_readahead=1
    )
    for batch in batches:
        for name, column in zip(output, batch.columns, strict=True):
            if name in texts:
                texts[name].add(column)
            else:
                pieces[name].append(column)
        del batch  # its text goes back to the pool, for the next batches
    columns = [
        texts[name].array() if name in texts else pa.chunked_array(pieces.pop(name), types[name])
        for name in output
    ]
    owned = [encode_table(pa.table(columns, names=output))]
    del columns
    return _one_chunk_each(owned, pool)


class _Text:
    """A text column joined as the scan goes: each batch's bytes copied into one buffer, so
    the batches' own memory is reused by the next ones and the column is written once. The
    buffer is sized from the first batch's bytes a row times the ``rows`` the files hold
    (pages never written are never resident: a filtered read costs address space only), and
    shrunk in place at the end; it grows by a copy only when that guess falls short."""

    def __init__(self, rows: int) -> None:
        self.expected = rows
        self.data = np.empty(0, dtype=np.uint8)
        self.size = 0
        self.offsets = np.zeros(1, dtype=np.int64)  # room for the rows the files hold, at once
        self.nulls: list[tuple[int, np.ndarray]] = []
        self.rows = 0

    def add(self, piece: pa.Array) -> None:
        o = _value_offsets(piece)
        size, n = int(o[-1] - o[0]), len(piece)
        if self.size + size > len(self.data):
            guess = (size * max(self.expected, 1) * 11) // (10 * max(n, 1))
            self.data = _grown(self.data, self.size, max(self.size + size, guess))
        if self.rows + n + 1 > len(self.offsets):
            self.offsets = _grown(
                self.offsets, self.rows + 1, max(self.expected, self.rows + n) + 1
            )
        if size:
            data = np.frombuffer(piece.buffers()[2], dtype=np.uint8)[o[0] : o[-1]]
            self.data[self.size : self.size + size] = data
        np.add(o[1:], self.size - o[0], out=self.offsets[self.rows + 1 : self.rows + n + 1])
        if piece.null_count:
            self.nulls.append((self.rows, piece.is_valid().to_numpy(zero_copy_only=False)))
        self.size += size
        self.rows += n

    def array(self) -> pa.ChunkedArray:
        """The column in one chunk (the buffers shrunk to their bytes, in place)."""
        self.data.resize(self.size, refcheck=False)  # realloc, smaller: nothing copied
        self.offsets.resize(self.rows + 1, refcheck=False)
        bitmap, nulls = None, 0
        if self.nulls:
            valid = np.ones(self.rows, dtype=bool)
            for at, part in self.nulls:
                valid[at : at + len(part)] = part
            nulls = self.rows - int(np.count_nonzero(valid))
            bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        buffers = [bitmap, pa.py_buffer(self.offsets), pa.py_buffer(self.data)]
        text = pa.Array.from_buffers(pa.large_string(), self.rows, buffers, null_count=nulls)
        return pa.chunked_array([text])


def _grown(array: np.ndarray, used: int, size: int) -> np.ndarray:
    """``array`` with room for ``size`` items, its first ``used`` copied (never at least
    doubling less: a guess that falls short costs a few copies, not one a batch)."""
    grown = np.empty(max(2 * len(array), size), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


def _value_offsets(piece: pa.Array) -> np.ndarray:
    offsets: np.ndarray = np.frombuffer(piece.buffers()[1], dtype=np.int64)
    return offsets[piece.offset : piece.offset + len(piece) + 1]


def scan_pool() -> pa.MemoryPool:
    """The Arrow memory pool a read decodes into: jemalloc where pyarrow has it (as Polars
    uses), else the system's allocator; not pyarrow's default mimalloc, whose fresh memory
    costs 2-3x the decode itself in the kernel on Linux (huge pages compacted at each first
    touch: 1.5-1.9 s of system time for a million jobs' 0.35 GB, against 0.3 s)."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a build without it (Windows)
        return pa.system_memory_pool()


def _one_chunk_each(owned: list[pa.Table], pool: pa.MemoryPool) -> pa.Table:
    """``table`` with each text or nested column in one chunk: pandas filters a frame with
    ``take``, which joins a many-chunk text column first, every time (10 s for ten million rows
    in 10 chunks). Column by column, each column's pieces are let go once joined (the table is
    taken out of ``owned``), so no column is held twice."""
    table = owned.pop()  # the only reference: each column's pieces go once it is joined
    for i, f in enumerate(table.schema):
        column = table.column(i)
        if column.num_chunks > 1 and (
            pa.types.is_large_string(f.type) or pa.types.is_nested(f.type)
        ):
            joined = column.combine_chunks(memory_pool=pool)
            del column
            table = table.set_column(i, f.name, pa.chunked_array([joined], type=f.type))
            del joined
    return table


def _rule_text_as_dictionary(schema: pa.Schema, sample: Path | None) -> tuple[pa.Schema, list[str]]:
    """The schema with the rules' text fields read as Parquet stores them, dictionary-encoded,
    and their column paths: ten million jobs' rules are 8 GB of text once decoded, and a few
    kilobytes of distinct rule sets (numbered from the dictionary indices, never decoded)."""
    name = "configuration.rules"
    if name not in schema.names or sample is None:
        return schema, []
    kind = schema.field(name).type
    if not pa.types.is_list(kind) or not pa.types.is_struct(kind.value_type):
        return schema, []
    try:
        with pq.ParquetFile(sample) as file:
            stored = file.schema
            paths = [stored.column(i).path for i in range(len(stored))]
    except (OSError, pa.ArrowException):
        return schema, []
    paths = [path for path in paths if path.startswith(name + ".")]
    fields = [
        f.with_type(pa.dictionary(pa.int32(), f.type)) if pa.types.is_string(f.type) else f
        for f in kind.value_type
    ]
    wanted = {f.name for f in fields if pa.types.is_dictionary(f.type)}
    text = [path for path in paths if path.rsplit(".", 1)[-1] in wanted]
    if len(text) != len(wanted):
        return schema, []
    rules = pa.list_(kind.value_field.with_type(pa.struct(fields)))
    return schema.set(schema.get_field_index(name), schema.field(name).with_type(rules)), text


def _ids_as_dictionary(schema: pa.Schema, sample: Path | None) -> tuple[pa.Schema, list[str]]:
    """The schema with the repeated ids and ``status`` read as Parquet stores them,
    dictionary-encoded (each row a 4-byte index, only the few distinct values decoded), and
    those columns' names; only text columns the files hold at the top level qualify."""
    if sample is None:
        return schema, []
    try:
        stored = pq.read_schema(sample)
    except (OSError, pa.ArrowException):
        return schema, []
    names = [
        name
        for name in ("status", *REPEATED_COLUMNS)
        if name in schema.names
        and pa.types.is_string(schema.field(name).type)
        and name in stored.names
        and pa.types.is_string(stored.field(name).type)
    ]
    for name in names:
        at = schema.get_field_index(name)
        schema = schema.set(
            at, schema.field(name).with_type(pa.dictionary(pa.int32(), pa.string()))
        )
    return schema, names


def _wide_text(schema: pa.Schema) -> pa.Schema:
    """Text read as pandas holds it (64-bit offsets), not decoded and then copied; repeated
    ids stay narrow, for they become categoricals."""
    return pa.schema(
        [
            f.with_type(pa.large_string())
            if pa.types.is_string(f.type) and f.name not in REPEATED_COLUMNS
            else f
            for f in schema
        ],
        metadata=schema.metadata,
    )


_CHECKSUMS = pads.ParquetFragmentScanOptions(page_checksum_verification=True)
_VERIFIED = pads.ParquetFileFormat(default_fragment_scan_options=_CHECKSUMS)
#: The names our writers give data files (DatasetWriter, a sync's rewrites and compaction), and
#: no other engine's (Spark's ``part-00000-<uuid>-c000.snappy.parquet``).
OUR_PART = re.compile(r"part-\d{5,}-[cr]?\d{5,}\.parquet")


def _good_files(
    root: Path,
    files: list[str],
    recorded: dict[str, Any],
    shown: Path,
    on_bad_files: Literal["raise", "skip"],
    exc: BaseException,
) -> list[str]:
    """After a failed scan: the files that read whole. The others are named in the error, or
    with ``on_bad_files="skip"`` in a warning."""
    bad = bad_files(root, files)
    if not bad:
        msg = f"cannot read the dataset {str(shown)!r}: {exc}"
        raise ExportError(msg) from None
    problem, ways = damaged_message(shown, bad, recorded, what="read")
    if on_bad_files != "skip":
        raise ExportError(problem, hint=ways) from None
    warnings.warn(ClassifyFramesWarning(f"skipped them: {problem}", hint=ways), stacklevel=4)
    return [f for f in files if f not in bad]


def bad_files(root: Path, files: Iterable[str]) -> dict[str, str]:
    """The data files that cannot be read whole (missing, truncated, a damaged page), with the
    reason. Decodes every page: for the error path and repairs, not for every read."""
    bad = {}
    for relative in files:
        try:
            check_file(root / relative)
        except (OSError, pa.ArrowException) as exc:
            bad[relative] = reason(exc)
    return bad


def _read_without_manifest(
    root: Path, shown: Path, on_bad_files: Literal["raise", "skip"], wanted: Pushdown
) -> pd.DataFrame:
    """A directory of Parquet files with no manifest: one written by another engine (Polars,
    DuckDB, Spark: hive partitions or not), or ours with its manifest lost."""
    try:
        files = [
            Path(f).relative_to(root).as_posix() for f in pads.dataset(root, format=_VERIFIED).files
        ]
    except (OSError, pa.ArrowException) as exc:
        msg = f"cannot read {str(shown)!r} as a Parquet dataset: {exc}"
        raise ExportError(msg) from None
    if any(OUR_PART.fullmatch(f.rsplit("/", 1)[-1]) for f in files):
        msg = (
            f"the dataset {str(shown)!r} has lost its manifest ({MANIFEST}); read from its data "
            "files"
        )
        warnings.warn(ClassifyFramesWarning(msg, hint=REBUILD_HINT), stacklevel=4)
    try:
        table = _scan_other(root, files, wanted, shown)
    except ExportError:  # what was asked for does not fit the files: no file is to blame
        raise
    except (OSError, pa.ArrowException) as exc:
        good = _good_files(root, files, {}, shown, on_bad_files, exc)
        try:
            table = _scan_other(root, good, wanted, shown)
        except (OSError, pa.ArrowException) as again:
            msg = f"cannot read the dataset {str(shown)!r}: {again}"
            raise ExportError(msg) from None
    if holds_jobs(table.schema) or wanted.columns is not None:
        table = from_other_writer(table, shown)
    frame = table_to_frame(table, partition_types={}, nested=False)
    return frame if wanted.columns is None else frame[list(wanted.columns)]


def _scan_other(root: Path, files: list[str], wanted: Pushdown, shown: Path) -> pa.Table:
    """Every row of ``files`` under ``root``: the files' columns (their schemas unified), and
    as text the hive keys of their directories that the files do not hold themselves (Polars
    keeps a partition column in its files, DuckDB and Spark drop it)."""
    schemas = [pq.read_schema(root / f) for f in files]
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else None
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        schema = schemas[0]
    held = set(schema.names) if schema is not None else set()
    keys = dict.fromkeys(d.split("=", 1)[0] for f in files for d in f.split("/")[:-1] if "=" in d)
    extra = pa.schema([(k, pa.string()) for k in keys if k not in held])
    dataset = pads.dataset(
        [str(root / f) for f in files],
        schema=pa.schema([*(schema or []), *extra]),
        format=_VERIFIED,
        partitioning=pads.partitioning(extra, flavor="hive"),
        partition_base_dir=str(root),
    )
    output = wanted.output(dataset.schema.names, shown)
    wanted.check_filter(dataset.schema, shown)
    table = dataset.to_table(columns=output, filter=wanted.filter)
    for name in [n for n in extra.names if n in output]:  # Hive's, Spark's and our null key
        column = table.column(name)
        column = pc.if_else(pc.equal(column, NULL_PARTITION), None, column)
        table = table.set_column(table.column_names.index(name), name, column)
    return table


def table_to_frame(
    table: pa.Table | list[pa.Table], partition_types: dict[str, str], *, nested: bool
) -> pd.DataFrame:
    """Arrow rows of a dataset as a frame with the dtypes ``jobs_to_frame`` gives.

    A table handed over in a list is taken out of it: with no other reference left, each
    column's Arrow memory is freed as soon as it is converted.
    """
    if isinstance(table, list):
        table = table.pop()
    if DERIVED in table.column_names:
        table = table.drop_columns([DERIVED])
    for name, type_name in partition_types.items():
        if name in table.column_names:
            column = table.column(name)
            column = pc.if_else(pc.equal(column, NULL_PARTITION), None, column)
            index = table.column_names.index(name)
            table = table.set_column(index, name, column.cast(pa.type_for_alias(type_name)))
    owned = [table]
    del table
    return contract_frame(owned)
