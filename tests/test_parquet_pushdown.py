"""read_parquet(path, columns=..., filters=...): a slice of a file or dataset, read from the
files alone, equal to the same slice of the whole (issue 24)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest
from test_parquet_support import MemoryClient, job

import classify_frames as cf
from classify_frames import ExportError


def jobs() -> list[dict[str, object]]:
    return [
        job(i, month=1 + i % 3, status="RUNNING" if i % 7 == 0 else "COMPLETED") for i in range(90)
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ds"
    cf.export_jobs(path=path, client=MemoryClient(jobs()), partition_by=["created_month", "status"])
    return path


def sliced(
    frame: pd.DataFrame, rows: pd.Series | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    out = frame if rows is None else frame[rows]
    out = out if columns is None else out[columns]
    return out.sort_values("id", ignore_index=True)


def same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = got.sort_values("id", ignore_index=True) if "id" in got else got
    pd.testing.assert_frame_equal(got, expected, check_categorical=False)
    assert list(got.dtypes.astype(str)) == list(expected.dtypes.astype(str))


def test_a_month_of_a_dataset_reads_only_its_files(root: Path) -> None:
    whole = cf.read_parquet(root)
    for other in root.glob("created_month=2026-0[13]/*/*.parquet"):
        other.write_bytes(b"not parquet")  # pruned by the partition: never opened
    march = cf.read_parquet(root, filters=[("created_month", "==", "2026-02")])
    same(march, sliced(whole, whole["created_at"].dt.month == 2))
    assert len(march) == 30
    with pytest.raises(ExportError, match="cannot be read"):
        cf.read_parquet(root)


def test_columns_and_row_filters_give_the_slice_of_the_whole(root: Path) -> None:
    whole = cf.read_parquet(root)
    wanted = ["id", "status", "result.confidence", "configuration.rules"]
    same(cf.read_parquet(root, columns=wanted), sliced(whole, columns=wanted))
    high = whole["result.confidence"] > 0.9
    same(cf.read_parquet(root, filters=[("result.confidence", ">", 0.9)]), sliced(whole, high))
    either = [[("status", "==", "RUNNING")], [("result.confidence", "<", 0.55)]]
    rows = (whole["status"] == "RUNNING") | (whole["result.confidence"] < 0.55)
    same(cf.read_parquet(root, filters=either), sliced(whole, rows))
    expression = (pc.field("status") == "RUNNING") & (pc.field("configuration_id") == "cfg-1")
    rows = (whole["status"] == "RUNNING") & (whole["configuration_id"] == "cfg-1")
    got = cf.read_parquet(root, columns=["id", "configuration_id"], filters=expression)
    same(got, sliced(whole, rows, ["id", "configuration_id"]))


def test_a_filter_matching_nothing_gives_the_columns_empty(root: Path) -> None:
    whole = cf.read_parquet(root)
    none = cf.read_parquet(root, filters=[("status", "==", "FAILED")])
    assert none.empty and list(none.columns) == list(whole.columns)
    assert list(none.dtypes.astype(str)) == list(whole.dtypes.astype(str))


def test_unknown_columns_and_bad_filters_are_refused_by_name(root: Path) -> None:
    with pytest.raises(ExportError, match=r"has no column 'result\.score'"):
        cf.read_parquet(root, columns=["id", "result.score"])
    with pytest.raises(ExportError, match=r"has no column 'score'"):
        cf.read_parquet(root, filters=[("score", ">", 1)])
    with pytest.raises(ExportError, match=r"cannot filter .*score"):
        cf.read_parquet(root, filters=pc.field("score") > 1)
    with pytest.raises(ExportError, match=r"cannot filter .*a value of its type \(pd.Timestamp"):
        cf.read_parquet(root, filters=[("created_at", ">=", "2026-02-01")])
    after = pd.Timestamp("2026-02-01", tz="UTC")
    assert len(cf.read_parquet(root, filters=[("created_at", ">=", after)])) == 60
    path = cf.to_parquet(cf.read_parquet(root), root.parent / "jobs.parquet")
    with pytest.raises(ExportError, match=r"cannot filter '.*jobs.parquet' by"):
        cf.read_parquet(path, filters=[("result.confidence", ">", "high")])
    polars_dir = root.parent / "by_polars"
    cf.read_parquet(root).classify.to_polars().write_parquet(polars_dir, partition_by=["status"])
    with pytest.raises(ExportError, match=r"has no column 'score'"):
        cf.read_parquet(polars_dir, filters=[("score", ">", 1)])
    with pytest.raises(ValueError, match="list of column names"):
        cf.read_parquet(root, columns="id")
    with pytest.raises(ValueError, match=r"filters must be .*\('status', '==', 'COMPLETED'\)"):
        cf.read_parquet(root, filters=[("status", "is about", "x")])


def test_a_file_reads_a_slice_too(tmp_path: Path) -> None:
    frame = cf.jobs_to_frame(jobs())
    path = cf.to_parquet(frame, tmp_path / "jobs.parquet")
    got = cf.read_parquet(
        path, columns=["id", "result.confidence"], filters=[("status", "==", "RUNNING")]
    )
    expected = frame.loc[frame["status"] == "RUNNING", ["id", "result.confidence"]]
    same(got, expected.reset_index(drop=True))
    polars_file = tmp_path / "polars.parquet"
    frame.classify.to_polars().write_parquet(polars_file)
    got = cf.read_parquet(polars_file, filters=[("status", "==", "RUNNING")])
    assert len(got) == 13 and got["configuration.rules"].dtype == frame["configuration.rules"].dtype
