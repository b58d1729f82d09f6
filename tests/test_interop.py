"""``df.classify.to_arrow()`` / ``to_polars()`` and ``read_parquet(backend="polars")``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import cast

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import classify_frames as cf
from classify_frames.emulator import Dataset, Emulator


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return cf.jobs_to_frame(list(Dataset.generate(400, seed=5).jobs()))


def _data_address(column: pa.ChunkedArray | pa.Array) -> int:
    chunk = column.chunk(0) if isinstance(column, pa.ChunkedArray) else column
    buffer = chunk.buffers()[1]
    assert buffer is not None
    return int(buffer.address)


def test_to_arrow_shares_the_arrow_backed_columns(df: pd.DataFrame) -> None:
    table = df.classify.to_arrow()
    assert table.column_names == df.columns.tolist() and table.num_rows == len(df)
    for name in ("id", "result.type"):  # Arrow-backed: the same buffers
        assert _data_address(table.column(name)) == _data_address(df[name].array.__arrow_array__())
    rules = table.column("configuration.rules")  # each set held once: written out as plain lists
    assert pa.types.is_list(rules.type)
    assert rules.to_pylist() == df["configuration.rules"].tolist()
    confidence = df["result.confidence"].to_numpy()
    assert _data_address(table.column("result.confidence")) == confidence.ctypes.data
    assert table.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert pa.types.is_dictionary(table.schema.field("status").type)
    assert table.to_pandas(types_mapper=pd.ArrowDtype)["id"].tolist() == df["id"].tolist()


def test_to_polars_keeps_every_column_and_shares_numbers(df: pd.DataFrame) -> None:
    frame = df.classify.to_polars()
    assert isinstance(frame, pl.DataFrame) and frame.columns == df.columns.tolist()
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert frame.schema["configuration.rules"] == pl.List(
        pl.Struct({"description": pl.String, "type": pl.String})
    )
    assert frame["id"].to_list() == df["id"].tolist()
    assert frame["result.confidence"].null_count() == int(df["result.confidence"].isna().sum())
    shared = df.classify.to_arrow().column("result.confidence")
    assert _data_address(frame["result.confidence"].to_arrow()) == _data_address(shared)
    by_type = frame.group_by("result.type").len().sort("result.type", nulls_last=True)
    expected = df["result.type"].value_counts(dropna=False)
    assert dict(by_type.iter_rows()) == {
        (None if pd.isna(cast(str | None, k)) else k): v for k, v in expected.items()
    }


def test_read_parquet_with_the_polars_backend(df: pd.DataFrame, tmp_path: Path) -> None:
    path = cf.to_parquet(df, tmp_path / "jobs.parquet")
    frame = cf.read_parquet(path, backend="polars")
    assert isinstance(frame, pl.DataFrame)
    assert frame.equals(cf.read_parquet(path).classify.to_polars())
    with pytest.raises(ValueError, match="backend must be 'pandas' or 'polars'"):
        cf.read_parquet(path, backend="spark")  # type: ignore[call-overload]


def test_without_polars_the_error_says_how_to_install_it(
    df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # what Python does for a missing module
    with pytest.raises(ImportError, match=r"pip install 'classify-frames\[polars\]'"):
        df.classify.to_polars()


#: pandas' own writers on a fetched frame with a failed row (a null rule set). Run in a child
#: process: an Arrow dictionary of lists with null indices made ``to_json`` segfault.
_PANDAS_WRITERS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import pandas as pd
    import classify_frames as cf

    def sizes(column):
        return [None if r is None or r is pd.NA else len(r) for r in column]

    base_url, real, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    df = cf.fetch_jobs(["nope", real], base_url=base_url, progress=False)  # key: environment
    df.to_json(out / "jobs.jsonl", orient="records", lines=True, date_format="iso")
    df.to_parquet(out / "pandas.parquet")
    records = df.to_dict("records")
    values = df.to_numpy()
    from_json = pd.read_json(out / "jobs.jsonl", lines=True)
    # pd.read_parquet cannot: pandas' metadata names the list dtype as text it cannot parse
    from_parquet = cf.read_parquet(out / "pandas.parquet")
    print(json.dumps({
        "failed": df["fetch_error"].notna().tolist(),
        "rules": sizes(df["configuration.rules"].tolist()),
        "records": sizes(r["configuration.rules"] for r in records),
        "numpy": [list(values.shape), sizes(values[:, df.columns.get_loc("configuration.rules")])],
        "json_ids": from_json["id"].tolist(),
        "json_rules": from_json["configuration.rules"].tolist()[1],
        "expected_rules": df["configuration.rules"].tolist()[1],
        "parquet_ids": from_parquet["id"].tolist(),
        "parquet_rules": sizes(from_parquet["configuration.rules"].tolist()),
    }))
    """
)


def test_pandas_own_writers_take_a_frame_with_failed_rows(
    emulator: Emulator, tmp_path: Path
) -> None:
    real = str(emulator.dataset.ids[0])
    child = subprocess.run(
        [sys.executable, "-c", _PANDAS_WRITERS, emulator.base_url, real, str(tmp_path)],
        env={**os.environ, "LLAMA_CLOUD_API_KEY": emulator.api_key},  # not in the process list
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-2000:]}"
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    assert seen["failed"] == [True, False]
    rules = seen["rules"][1]
    assert seen["rules"][0] is None and rules > 0
    assert seen["records"] == seen["rules"]
    assert seen["numpy"] == [[2, seen["numpy"][0][1]], seen["rules"]]
    assert seen["json_ids"] == ["nope", real] and seen["json_rules"] == seen["expected_rules"]
    assert seen["parquet_ids"] == ["nope", real] and seen["parquet_rules"] == [None, rules]
