"""Files and datasets of jobs written by other engines (Polars, DuckDB) are read into the
column contract, or refused naming the column (issue 21, item 10)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_parquet_support import job

import classify_frames as cf
from classify_frames import ExportError
from classify_frames.frame._rule_sets import RuleSetDtype

pytestmark = pytest.mark.filterwarnings("ignore:.*lost its manifest")


def contract_frame() -> pd.DataFrame:
    """Jobs with every column kind: two rule sets, missing values, a failed job, two months."""
    jobs = [
        job(
            i,
            status="RUNNING" if i % 4 == 0 else "COMPLETED",
            month=1 + i % 2,
            configuration={
                "rules": [{"description": "An invoice with a total.", "type": "invoice"}]
                + ([{"description": "A receipt from a shop.", "type": "receipt"}] if i % 3 else []),
                "mode": "FAST",
                "parsing_configuration": {"lang": "en", "max_pages": None if i % 5 else 5},
            },
        )
        for i in range(30)
    ]
    return cf.jobs_to_frame(jobs)


def polars_of(frame: pd.DataFrame) -> pl.DataFrame:
    """The frame as a Polars user holds it: built from plain Python values, not our Arrow."""
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    rows = [
        {k: (list(v) if k == "configuration.rules" and v is not None else v) for k, v in r.items()}
        for r in records
    ]
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("status").cast(pl.Categorical)
    )


def same_contract(back: pd.DataFrame, expected: pd.DataFrame) -> None:
    back = back.sort_values("id", ignore_index=True)[list(expected.columns)]
    expected = expected.sort_values("id", ignore_index=True)
    assert isinstance(back["configuration.rules"].dtype, RuleSetDtype)
    assert back["configuration.parsing_configuration.max_pages"].dtype == "Int64"
    assert back["http_status"].dtype == "Int64"
    pd.testing.assert_frame_equal(back, expected, check_categorical=False)
    sizes = back.groupby("configuration.rules", observed=True).size()
    assert sorted(sizes.tolist()) == [10, 20]


def test_a_polars_file_reads_into_the_contract(tmp_path: Path) -> None:
    frame = contract_frame()
    polars_of(frame).write_parquet(tmp_path / "jobs.parquet")
    same_contract(cf.read_parquet(tmp_path / "jobs.parquet"), frame)


def test_a_duckdb_file_reads_into_the_contract(tmp_path: Path) -> None:
    frame = contract_frame()
    source = polars_of(frame).to_arrow()  # noqa: F841 - DuckDB reads it by name
    out = tmp_path / "jobs.parquet"
    duckdb.sql(f"copy (select * from source) to '{out}' (format parquet)")
    same_contract(cf.read_parquet(out), frame)


def test_hive_datasets_of_polars_and_duckdb_read_into_the_contract(tmp_path: Path) -> None:
    frame = contract_frame()
    data = polars_of(frame)
    data.write_parquet(tmp_path / "by_polars", partition_by=["status"])
    source = data.to_arrow()  # noqa: F841 - DuckDB reads it by name
    duckdb.sql(
        f"copy (select * from source) to '{tmp_path / 'by_duckdb'}' "
        "(format parquet, partition_by (status))"
    )
    for name in ("by_polars", "by_duckdb"):
        same_contract(cf.read_parquet(tmp_path / name), frame)


def test_ids_another_writer_stored_as_dictionaries_read_as_sorted_categoricals(
    tmp_path: Path,
) -> None:
    """Ids Polars wrote from categoricals: dictionary-encoded in Arrow, each row group with
    its own dictionary in the order Polars met the values (not sorted), several files."""
    frame = contract_frame()
    ids = ["id", "project_id", "configuration_id", "document_input_type"]
    data = polars_of(frame).with_columns(pl.col(ids).cast(pl.Categorical)).reverse()
    assert data.schema["configuration_id"] == pl.Categorical
    data.write_parquet(tmp_path / "ds", partition_by=["status"], row_group_size=4)
    back = cf.read_parquet(tmp_path / "ds")
    same_contract(back, frame)
    for name in ids[1:]:
        categories = back[name].cat.categories.tolist()
        assert categories == sorted(categories) and len(categories) > 0
    assert back["id"].dtype == frame["id"].dtype  # unique ids stay text


def test_a_column_that_does_not_convert_is_refused_by_name(tmp_path: Path) -> None:
    frame = polars_of(contract_frame()).with_columns(pl.lit("high").alias("result.confidence"))
    frame.write_parquet(tmp_path / "jobs.parquet")
    with pytest.raises(
        ExportError, match=r"jobs.parquet.*column 'result.confidence' holds (large_)?string"
    ):
        cf.read_parquet(tmp_path / "jobs.parquet")
    as_text = polars_of(contract_frame()).with_columns(
        pl.col("configuration.rules").list.eval(pl.element().struct.json_encode()).list.join(",")
    )
    as_text.write_parquet(tmp_path / "text.parquet")
    with pytest.raises(
        ExportError, match=r"column 'configuration.rules' holds .*list of \{description, type\}"
    ):
        cf.read_parquet(tmp_path / "text.parquet")


def test_a_spark_shaped_dataset_reads_into_the_contract(tmp_path: Path) -> None:
    """What Spark writes from the API's JSON (``spark.read.json(...).write.partitionBy``):
    nested structs, INT96 timestamps without a zone, the partition column only in directory
    names, ``part-00000-<uuid>-c000.snappy.parquet`` files beside ``_SUCCESS`` and ``.crc``
    files. (PySpark is not installed here; pyarrow writes Spark's conventions.)"""
    frame = contract_frame()
    nested = pa.Table.from_pylist(
        [
            {
                **{k: v for k, v in row.items() if "." not in str(k) and k != "status"},
                "created_at": row["created_at"].tz_convert(None).to_pydatetime(),
                "updated_at": row["updated_at"].tz_convert(None).to_pydatetime(),
                "configuration": {
                    "mode": row["configuration.mode"],
                    "parsing_configuration": {
                        "lang": row["configuration.parsing_configuration.lang"],
                        "max_pages": row["configuration.parsing_configuration.max_pages"],
                        "target_pages": row["configuration.parsing_configuration.target_pages"],
                    },
                    "rules": row["configuration.rules"],
                },
                "result": {
                    "type": row["result.type"],
                    "confidence": row["result.confidence"],
                    "reasoning": row["result.reasoning"],
                },
                "usage": {"credits": row["usage.credits"], "parse_credits": None},
            }
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
        ]
    )
    root = tmp_path / "spark"
    for status in ("COMPLETED", "RUNNING"):
        part = root / f"status={status}"
        part.mkdir(parents=True)
        rows = nested.filter(pa.array((frame["status"] == status).to_numpy()))
        name = "part-00000-6f1c2a4e-9b7d-4e0b-8f43-2d1c0e5a7b19.c000.snappy.parquet"
        pq.write_table(
            rows, part / name, compression="snappy", use_deprecated_int96_timestamps=True
        )
        (part / f".{name}.crc").write_bytes(b"crc")
    (root / "_SUCCESS").write_bytes(b"")
    assert pq.read_schema(next(root.rglob("*.parquet"))).field("created_at").type == pa.timestamp(
        "ns"
    )  # INT96, no zone: Spark's session time zone, UTC here
    back = cf.read_parquet(root)
    same_contract(back, frame)
