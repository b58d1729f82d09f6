"""to_parquet / read_parquet: exact round trips, metadata, atomic writes, clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from test_parquet_support import job

import classify_frames as cf
from classify_frames import ExportError, jobs_to_frame
from classify_frames.parquet import read_metadata, read_parquet, to_parquet


def awkward_jobs() -> list[dict[str, Any]]:
    jobs = [job(i) for i in range(5)]
    jobs[1]["status"] = "ARCHIVED"  # a status this version does not know
    jobs[2]["configuration"]["rules"].append(
        {"description": "A receipt from a shop.", "type": "receipt", "weight": 2}
    )  # an unknown field inside a rule
    jobs[3]["priority"] = {"level": 3, "tags": ["a", "b"]}  # unknown nested fields
    jobs[4]["usage"] = {"credits": 1.5, "parse_credits": None}
    jobs.append({"id": "cls-missing"})  # what a failed fetch looks like
    return jobs


@pytest.fixture(params=[False, True], ids=["flat", "nested"])
def frame(request: pytest.FixtureRequest) -> pd.DataFrame:
    df = jobs_to_frame(awkward_jobs(), nested=request.param)
    df.loc[df.index[-1], "fetch_error"] = "404: no such job"
    df["http_status"] = pd.array([200] * (len(df) - 1) + [404], dtype="Int64")
    return df


def test_round_trip_is_exact(frame: pd.DataFrame, tmp_path: Path) -> None:
    path = to_parquet(frame, tmp_path / "jobs.parquet")
    back = read_parquet(path)
    pd.testing.assert_frame_equal(back, frame)
    assert list(back["status"].cat.categories)[-1] == "ARCHIVED"


@pytest.mark.parametrize("nested", [False, True])
def test_empty_frame_round_trips(nested: bool, tmp_path: Path) -> None:
    empty = cf.empty_frame(nested=nested)
    pd.testing.assert_frame_equal(read_parquet(to_parquet(empty, tmp_path / "e.parquet")), empty)


def test_filtered_frame_keeps_its_index(frame: pd.DataFrame, tmp_path: Path) -> None:
    part = frame[frame["status"] != "ARCHIVED"].iloc[::2]
    pd.testing.assert_frame_equal(read_parquet(to_parquet(part, tmp_path / "p.parquet")), part)
    indexed = frame.set_index(["id", "status"])
    back = read_parquet(to_parquet(indexed, tmp_path / "i.parquet"))
    pd.testing.assert_frame_equal(back, indexed)


def test_columns_a_user_added_round_trip(frame: pd.DataFrame, tmp_path: Path) -> None:
    df = frame.assign(
        label=pd.Categorical(["a", "b", "a", None, "b", "a"], categories=["b", "a", "z"]),
        ok=[True, False, True, True, False, True],
        score=pd.array([1.5, None, 2.0, 3.0, None, 1.0], dtype="Float64"),
        note=pd.Series(["x", None, "y", "z", None, "w"], dtype="str"),
    )
    pd.testing.assert_frame_equal(read_parquet(to_parquet(df, tmp_path / "u.parquet")), df)


def test_file_is_zstd_with_row_groups_and_metadata(tmp_path: Path) -> None:
    df = jobs_to_frame([job(i) for i in range(2_500)])
    df.attrs["classify_frames"] = {
        "base_url": "https://api.cloud.llamaindex.ai",
        "fetched_at": "2026-03-01T10:00:00+00:00",
    }
    path = to_parquet(df, tmp_path / "jobs.parquet", row_group_size=1_000)
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 3
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    meta = read_metadata(path)
    assert meta["rows"] == 2_500
    assert meta["version"] == cf.__version__
    assert meta["base_url"] == "https://api.cloud.llamaindex.ai"
    assert meta["fetched_at"] == "2026-03-01T10:00:00+00:00"
    assert read_parquet(path).attrs == df.attrs


def test_base_url_argument_wins_and_no_secret_is_written(tmp_path: Path) -> None:
    df = jobs_to_frame([job(1)])
    df.attrs.update(api_key="llx-SECRET-KEY", client={"auth_token": "llx-SECRET-KEY"})
    path = to_parquet(df, tmp_path / "jobs.parquet", base_url="http://127.0.0.1:8000")
    assert read_metadata(path)["base_url"] == "http://127.0.0.1:8000"
    assert b"SECRET" not in path.read_bytes()
    assert read_parquet(path).attrs == {"client": {}}


def test_accessor_writes_and_returns_the_path(tmp_path: Path) -> None:
    df = jobs_to_frame([job(1), job(2)])
    path = df.classify.to_parquet(tmp_path / "jobs.parquet")
    assert path == tmp_path / "jobs.parquet"
    pd.testing.assert_frame_equal(cf.read_parquet(path), df)


def test_failed_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = to_parquet(jobs_to_frame([job(1)]), tmp_path / "jobs.parquet")
    before = path.read_bytes()

    def broken(table: Any, where: Any, **_: Any) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(ExportError, match="No space left"):
        to_parquet(jobs_to_frame([job(2)]), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["jobs.parquet"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/jobs.parquet", "does not exist"),
        ("jobs.csv", r"does not end in \.parquet"),
        (".", "is a directory|does not end"),
    ],
)
def test_bad_paths_are_clear_errors(tmp_path: Path, where: str, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        to_parquet(jobs_to_frame([job(1)]), tmp_path / where)


def test_read_only_directory_is_a_clear_error() -> None:
    with pytest.raises(ExportError, match="cannot write"):
        to_parquet(jobs_to_frame([job(1)]), "/sys/jobs.parquet")


def test_reading_what_is_not_there_or_not_parquet(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        read_parquet(tmp_path / "nope.parquet")
    (tmp_path / "text.parquet").write_text("hello")
    with pytest.raises(ExportError, match="cannot read"):
        read_parquet(tmp_path / "text.parquet")


_statuses = st.sampled_from(["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "NEW"])
_jobs = st.lists(
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=8), "status": _statuses},
        optional={
            "created_at": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
                lambda d: d.isoformat()
            ),
            "result": st.fixed_dictionaries(
                {"confidence": st.floats(0, 1), "type": st.none() | st.text(max_size=5)}
            ),
            "extra": st.integers(-(2**40), 2**40) | st.text(max_size=4),
        },
    ),
    max_size=6,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(jobs=_jobs, nested=st.booleans())
def test_any_frame_of_jobs_round_trips(
    tmp_path: Path, jobs: list[dict[str, Any]], nested: bool
) -> None:
    df = jobs_to_frame(jobs, nested=nested)
    pd.testing.assert_frame_equal(read_parquet(to_parquet(df, tmp_path / "h.parquet")), df)
