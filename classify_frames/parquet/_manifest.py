"""What a file or dataset records about itself: provenance, and a dataset's manifest.

A dataset's ``_classify_frames.json`` holds its provenance, layout, data schema (base64 Arrow
IPC) and file list. It is written last, atomically, so it always describes whole files; when it
is lost or damaged, :func:`~classify_frames.parquet._dataset.rebuild_manifest` makes it again
from the data files (``sync_parquet(path, repair=True)``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
import pyarrow as pa

from .._atomic import atomic_path
from .._exceptions import Call, ExportError, Opt, Parts
from .._version import VERSION

__all__ = [
    "MANIFEST",
    "REBUILD_HINT",
    "damaged_message",
    "encode_schema",
    "manifest_schema",
    "provenance",
    "read_manifest",
    "reason",
    "write_manifest",
]

MANIFEST = "_classify_frames.json"
#: What rebuilds a lost or damaged manifest, as a hint's parts (the CLI names its command).
REBUILD_HINT: tuple[Call, ...] = (
    Call(
        "sync_parquet", "...", Opt("repair", True),
        does=" rebuilds it from the data files and brings the dataset up to date",
    ),
)  # fmt: skip


def provenance(
    attrs: dict[Any, Any],
    *,
    base_url: str | None = None,
    fetched_at: str | dt.datetime | None = None,
) -> dict[str, Any]:
    """Toolkit version, base URL and fetch time to record: arguments first, then ``attrs``."""
    recorded = attrs.get("classify_frames")
    recorded = recorded if isinstance(recorded, dict) else {}
    when = fetched_at if fetched_at is not None else recorded.get("fetched_at")
    if isinstance(when, dt.datetime):
        when = when.isoformat(timespec="seconds")
    return {
        "toolkit": "classify_frames",
        "version": VERSION,
        "base_url": base_url or recorded.get("base_url"),
        "fetched_at": when,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_manifest(root: Path, manifest: dict[str, Any], schema: pa.Schema | None) -> None:
    """Write ``_classify_frames.json`` (schema as base64 Arrow IPC) atomically."""
    data = dict(manifest)
    data["schema"] = encode_schema(schema)
    with atomic_path(root / MANIFEST) as tmp:
        tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def encode_schema(schema: pa.Schema | None) -> str | None:
    """A schema as the manifest holds it: base64 of its Arrow IPC form."""
    return None if schema is None else base64.b64encode(schema.serialize().to_pybytes()).decode()


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the dataset at ``root``; ExportError, saying what to run, if it is
    missing or damaged."""
    path = root / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError:
        msg = f"{str(root)!r} is not a classify_frames dataset (no {MANIFEST})"
        hint: Parts = ["create one with ", Call("export_jobs"), " or ", Call("sync_parquet")]
        raise ExportError(msg, hint=hint) from None
    except (OSError, ValueError) as exc:
        raise _refused(root, f"it cannot be read ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", {}), dict):
        raise _refused(root, "it does not hold a file list")
    for relative in manifest.get("files", {}):
        if not _inside(root, relative):
            raise _refused(root, f"it names {relative!r}, outside the dataset")
    try:
        manifest_schema(manifest)
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise _refused(root, f"its schema cannot be read ({exc})") from None
    return manifest


def _inside(root: Path, relative: str) -> bool:
    """Whether a manifest's file path stays in the dataset, symbolic links resolved."""
    path = PurePosixPath(relative)
    if path.is_absolute() or not path.parts or ".." in path.parts or "\\" in relative:
        return False
    base = root.resolve()
    return (base / relative).resolve().is_relative_to(base)


def _refused(root: Path, why: str) -> ExportError:
    reads = Call("read_parquet", does=" reads the data files without it once it is deleted; ")
    msg = f"the manifest of {str(root)!r} ({MANIFEST}) is damaged: {why}"
    return ExportError(msg, hint=[reads, *REBUILD_HINT])


def manifest_schema(manifest: dict[str, Any]) -> pa.Schema | None:
    """The data schema recorded in a manifest."""
    encoded = manifest.get("schema")
    if not encoded:
        return None
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(encoded)))


def reason(exc: BaseException) -> str:
    """Why a data file could not be read, in a few words."""
    if isinstance(exc, FileNotFoundError):
        return "missing"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def damaged_message(
    root: Path, damaged: dict[str, str], recorded: dict[str, Any], *, what: str
) -> tuple[str, Parts]:
    """What is damaged in a dataset, and the ways forward as a hint's parts (``what``: "read"
    or "sync")."""
    shown = "; ".join(f"{name} ({why})" for name, why in list(damaged.items())[:5])
    more = f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
    rows = sum(int(recorded.get(name) or 0) for name in damaged)
    ways: list[str | Opt | Call] = ["ways forward: "]
    if what == "read":
        skip = Opt("on_bad_files", "skip")
        ways.append(Call("read_parquet", "...", skip, does=" reads the rest; "))
    ways += [
        Call("sync_parquet", "...", Opt("repair", True),
             does=" drops them and fetches their jobs again; "),
        Call("export_jobs", "...", Opt("overwrite", True), does=" rebuilds the dataset"),
    ]  # fmt: skip
    problem = (
        f"the dataset {str(root)!r} is damaged: {len(damaged)} data file(s) cannot be read, "
        f"holding {rows} of its {sum(int(v or 0) for v in recorded.values())} rows: "
        f"{shown}{more}"
    )
    return problem, ways
