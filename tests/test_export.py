"""export_jobs: hive-partitioned datasets that other engines read, written in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from test_parquet_support import MemoryClient, job

import classify_frames as cf
from classify_frames import ExportError
from classify_frames.emulator._data import Schema
from classify_frames.parquet import (
    _dataset,
    export_jobs,
    read_metadata,
    read_parquet,
    sync_parquet,
)
from classify_frames.parquet._dataset import DatasetWriter


def jobs_over_three_months(n: int = 600) -> list[dict[str, Any]]:
    return [
        job(i, month=1 + i % 3, status="RUNNING" if i % 7 == 0 else "COMPLETED") for i in range(n)
    ]


def data_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def test_export_writes_month_partitions_and_a_manifest(tmp_path: Path) -> None:
    client = MemoryClient(jobs_over_three_months())
    summary = export_jobs(
        [*(f"cls-{i:06d}" for i in range(600)), "cls-gone"], path=tmp_path / "ds",
        client=client, batch_size=100,
    )  # fmt: skip
    assert (summary.added, summary.failed, summary.rows) == (600, 1, 601)
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == [
        "_classify_frames.json", "created_month=2026-01", "created_month=2026-02",
        "created_month=2026-03", "created_month=unknown",
    ]  # fmt: skip
    meta = read_metadata(tmp_path / "ds")
    assert meta["rows"] == 601 and meta["base_url"] == "http://127.0.0.1:9"
    assert meta["version"] == cf.__version__ and meta["fetched_at"]
    back = read_parquet(tmp_path / "ds").sort_values("id", ignore_index=True)
    expected = cf.jobs_to_frame([*jobs_over_three_months(), {"id": "cls-gone"}])
    expected.loc[600, "fetch_error"] = "404: no such job"
    expected.loc[600, "http_status"] = 404
    expected["http_status"] = expected["http_status"].where(expected["fetch_error"].notna(), 200)
    pd.testing.assert_frame_equal(back, expected.sort_values("id", ignore_index=True))


def test_files_share_one_schema_even_when_a_late_batch_brings_new_fields(tmp_path: Path) -> None:
    jobs = jobs_over_three_months(300)
    jobs[250]["priority"] = 3  # an unknown field, first seen in the third batch
    jobs[260]["priority"] = "high"  # ... and with two types
    jobs[270]["configuration"]["rules"][0]["weight"] = 1.5  # a new field inside rules
    jobs[280]["note"] = None  # a field that is never anything but null
    export_jobs(path=tmp_path / "ds", client=MemoryClient(jobs), batch_size=100)
    schemas = {pq.read_schema(p) for p in data_files(tmp_path / "ds")}
    assert len(data_files(tmp_path / "ds")) == 3
    assert len({s.to_string() for s in schemas}) == 1
    schema = schemas.pop()
    assert schema.field("priority").type == pa.string()
    assert schema.field("note").type == pa.string()
    assert b"pandas" not in (schema.metadata or {})
    back = read_parquet(tmp_path / "ds").set_index("id")
    assert back.loc["cls-000250", "priority"] == "3"
    assert back["configuration.rules"]["cls-000270"][0]["weight"] == 1.5


def test_partition_by_month_and_status(tmp_path: Path) -> None:
    export_jobs(
        path=tmp_path / "ds", partition_by=("created_month", "status"),
        client=MemoryClient(jobs_over_three_months()),
    )  # fmt: skip
    dirs = {p.parent.relative_to(tmp_path / "ds").as_posix() for p in data_files(tmp_path / "ds")}
    assert "created_month=2026-02/status=RUNNING" in dirs
    assert "status" not in pq.read_schema(data_files(tmp_path / "ds")[0]).names
    back = read_parquet(tmp_path / "ds")
    assert back["status"].dtype == cf.jobs_to_frame([job(1)])["status"].dtype
    assert (back["status"] == "RUNNING").sum() == len([i for i in range(600) if i % 7 == 0])


def test_partition_by_an_integer_column_keeps_its_type(tmp_path: Path) -> None:
    export_jobs(
        [f"cls-{i:06d}" for i in range(5)] + ["cls-gone"], path=tmp_path / "ds",
        partition_by=["http_status"], client=MemoryClient([job(i) for i in range(5)]),
    )  # fmt: skip
    back = read_parquet(tmp_path / "ds")
    assert str(back["http_status"].dtype) == "Int64"
    assert sorted(back["http_status"].tolist()) == [200] * 5 + [404]


def test_nested_frames_export(tmp_path: Path) -> None:
    export_jobs(path=tmp_path / "ds", nested=True, client=MemoryClient(jobs_over_three_months(50)))
    back = read_parquet(tmp_path / "ds")
    assert isinstance(back["result"].dtype, pd.ArrowDtype)
    assert pa.types.is_struct(back["result"].dtype.pyarrow_dtype)
    assert len(back) == 50


_READERS = {
    "pyarrow": """
import pyarrow.dataset as ds
t = ds.dataset(ROOT, format="parquet", partitioning="hive").to_table()
assert t.num_rows == 600, t.num_rows
""",
    "duckdb": """
import duckdb
n = duckdb.sql(f"select count(*) from read_parquet('{ROOT}/**/*.parquet') "
               "where created_month = '2026-02' and status = 'RUNNING'").fetchall()[0][0]
assert n == len([i for i in range(600) if i % 3 == 1 and i % 7 == 0]), n
""",
    "polars": """
import polars as pl
p = pl.scan_parquet(ROOT + "/**/*.parquet", hive_partitioning=True).collect()
assert p.height == 600 and p["created_month"].dtype == pl.String
""",
    "dask": """
import dask.dataframe as dd
d = dd.read_parquet(ROOT).compute()
assert len(d) == 600 and set(d["created_month"].astype(str)) == {"2026-01", "2026-02", "2026-03"}
""",
}


@pytest.mark.parametrize("engine", sorted(_READERS))
def test_other_engines_read_it_without_this_package(tmp_path: Path, engine: str) -> None:
    pytest.importorskip(engine)
    export_jobs(
        path=tmp_path / "ds", partition_by=("created_month", "status"),
        client=MemoryClient(jobs_over_three_months()),
    )  # fmt: skip
    script = f"import sys\nROOT = {str(tmp_path / 'ds')!r}\n{_READERS[engine]}"
    script += 'assert "classify_frames" not in sys.modules\nprint("ok")\n'
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_writer_memory_is_bounded(tmp_path: Path) -> None:
    frame = cf.jobs_to_frame([job(i, month=1 + i % 12) for i in range(300)])
    cap = 4 * int(frame.memory_usage(deep=True).sum())
    writer = DatasetWriter(tmp_path, ["created_month"], prefix="part", row_group_rows=500,
                           max_buffered_bytes=cap)  # fmt: skip
    peak = 0
    for _ in range(40):
        writer.write(frame)
        peak = max(peak, sum(writer._buffered.values()))
    files = writer.finish()
    assert peak <= cap
    assert sum(f.rows for f in files) == 12_000
    assert pads.dataset(tmp_path, format="parquet").count_rows() == 12_000


def test_existing_datasets_are_replaced_only_when_asked(tmp_path: Path) -> None:
    export_jobs(path=tmp_path / "ds", client=MemoryClient([job(1)]))
    with pytest.raises(ExportError, match=r"sync_parquet|overwrite"):
        export_jobs(path=tmp_path / "ds", client=MemoryClient([job(2)]))
    summary = export_jobs(path=tmp_path / "ds", client=MemoryClient([job(2)]), overwrite=True)
    assert summary.rows == 1
    assert read_parquet(tmp_path / "ds")["id"].tolist() == ["cls-000002"]
    manifest = json.loads((tmp_path / "ds" / "_classify_frames.json").read_text())
    assert manifest["generation"] == 2
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not a classify_frames dataset"):
        export_jobs(path=tmp_path / "other", client=MemoryClient([job(1)]), overwrite=True)


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path) -> None:
    export_jobs(path=tmp_path / "ds", client=MemoryClient([job(1)]))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    broken = MemoryClient(jobs_over_three_months(), fail_after=2)
    with pytest.raises(ConnectionError):
        export_jobs(path=tmp_path / "ds", client=broken, batch_size=100, overwrite=True)
    with pytest.raises(ConnectionError):
        export_jobs(path=tmp_path / "new", client=broken, batch_size=100)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert read_parquet(tmp_path / "ds")["id"].tolist() == ["cls-000001"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "missing/ds"}, "does not exist"),
        ({"path": "jobs.parquet"}, "looks like a file"),
        ({"path": "ds", "partition_by": ["nope"]}, "cannot partition by 'nope'"),
        ({"path": "ds", "partition_by": ["configuration.rules"]}, "cannot partition by"),
        ({"path": "ds", "partition_by": ["a/b"]}, "partition_by must be"),
    ],
)
def test_bad_arguments_are_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExportError, match=message):
        export_jobs(client=MemoryClient([job(1)]), **kwargs)
    assert not (tmp_path / "ds").exists()


def test_unknown_option_is_named(tmp_path: Path) -> None:
    """As the client names one (a TypeError, with the closest known name), filters included."""
    with pytest.raises(TypeError, match=r"export_jobs\(\) got an unknown option 'colour'"):
        export_jobs(path=tmp_path / "ds", colour="red", api_key="llx-x")
    with pytest.raises(TypeError, match=r"'statuss' \(did you mean 'status'\?\)"):
        sync_parquet(tmp_path / "ds", statuss="COMPLETED", api_key="llx-x")
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("schema", ["current", "mixed"])
def test_emulator_jobs_come_back_as_the_frame_fetch_would_build(
    tmp_path: Path, schema: Schema
) -> None:
    from classify_frames.emulator import Dataset

    jobs = list(Dataset.generate(2_000, seed=3, schema=schema).jobs())  # "mixed": unknown fields
    export_jobs(path=tmp_path / "ds", client=MemoryClient(jobs), batch_size=300,
                partition_by=("created_month", "status"))  # fmt: skip
    back = read_parquet(tmp_path / "ds").sort_values("id", ignore_index=True)
    expected = cf.jobs_to_frame(jobs).sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back, expected)


def test_text_and_nested_pieces_become_one_chunk_exactly() -> None:
    values = ["a", None, "", "bcd", None, "é" * 3, "", "x" * 50]
    whole = pa.array(values * 3, type=pa.large_string())
    pieces = [whole.slice(0, 5), whole.slice(5, 0), whole.slice(5, 11), whole.slice(16)]
    nested = pa.array([[1], None, [], [2, 3]] * 6, type=pa.list_(pa.int64()))
    numbers = pa.chunked_array([pa.array([1, 2] * 6), pa.array([3] * 12)])
    table = pa.table(
        {
            "text": pa.chunked_array(pieces),
            "nested": pa.chunked_array([nested.slice(0, 7), nested.slice(7)]),
            "numbers": numbers,
        }
    )
    joined = _dataset._one_chunk_each([table], pa.default_memory_pool())
    assert joined.column("text").num_chunks == joined.column("nested").num_chunks == 1
    assert joined.column("text").chunk(0).equals(whole)
    assert joined.column("nested").chunk(0).equals(nested)
    assert joined.column("numbers").num_chunks == 2  # pandas makes numpy of those anyway
    joined.validate(full=True)


@pytest.mark.parametrize("rows", [0, 3, 24, 10_000])  # a guess too small, right, too large
def test_text_joined_as_the_scan_goes_is_the_text_exactly(rows: int) -> None:
    values = ["a", None, "", "bcd", None, "é" * 3, "", "x" * 50]
    whole = pa.array(values * 3, type=pa.large_string())
    pieces = [whole.slice(0, 5), whole.slice(5, 0), whole.slice(5, 11), whole.slice(16)]
    text = _dataset._Text(rows)
    for piece in pieces:
        text.add(piece)
    joined = text.array()
    assert joined.num_chunks == 1 and joined.chunk(0).equals(whole)
    assert joined.null_count == whole.null_count
    joined.validate(full=True)
    none = _dataset._Text(rows)
    none.add(pa.array(["p", "", "q"], type=pa.large_string()).slice(1))
    assert none.array().to_pylist() == ["", "q"] and none.array().null_count == 0
    assert len(_dataset._Text(rows).array()) == 0  # no row matched


def test_a_dataset_of_many_files_reads_text_in_one_chunk(tmp_path: Path) -> None:
    export_jobs(path=tmp_path / "ds", client=MemoryClient(jobs_over_three_months()), batch_size=50)
    whole = read_parquet(tmp_path / "ds")
    assert len(data_files(tmp_path / "ds")) > 1  # so the scan hands over several batches
    for name in ("id", "result.reasoning", "error_message"):
        assert whole[name].array._pa_array.num_chunks == 1  # type: ignore[attr-defined]


def test_a_dataset_stored_without_parquet_dictionaries_reads_the_same(tmp_path: Path) -> None:
    """Ids, statuses and rules are read as the dictionaries Parquet stores; a file written
    without them (plain encoding, row groups of a few rows) gives the same frame."""
    rules = [{"description": f"rule {k}", "type": t} for k, t in enumerate("abcab")]
    jobs = [
        job(i, month=1 + i % 3, status=["COMPLETED", "ARCHIVED", "FAILED"][i % 3],
            project_id=None if i % 5 == 0 else f"p{i % 4}",
            configuration={"rules": rules[: i % 6], "mode": None if i % 7 else "FAST"})
        for i in range(300)
    ]  # fmt: skip
    export_jobs(path=tmp_path / "ds", client=MemoryClient(jobs), batch_size=40)
    expected = read_parquet(tmp_path / "ds")
    for path in data_files(tmp_path / "ds"):
        pq.write_table(pq.read_table(path), path, use_dictionary=False, row_group_size=7)
    back = read_parquet(tmp_path / "ds")
    pd.testing.assert_frame_equal(back, expected)
    assert list(back["status"].cat.categories[-1:]) == ["ARCHIVED"]
    assert back["project_id"].isna().sum() == 60
    assert back["configuration.rules"].array.codes.max() == 5  # six distinct rule sets
    in_order = cf.jobs_to_frame(jobs).sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(back.sort_values("id", ignore_index=True), in_order)
