"""The column contract: jobs_to_frame on seed, current and odd job objects."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, cast

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import classify_frames as cf
from classify_frames import empty_frame, jobs_to_frame
from classify_frames.emulator import Dataset
from classify_frames.frame import frame_from_table
from classify_frames.frame._rule_sets import RuleSetArray, RuleSetDtype
from classify_frames.frame._schema import (
    KNOWN_COLUMNS,
    REPEATED_COLUMNS,
    RULE_TYPE,
    STATUSES,
    TAIL_COLUMNS,
)

SEED_PAGE = Path(__file__).parents[2] / "shared" / "seed" / "000_a3eb28ca5921c1cc.txt"


def seed_job() -> dict[str, Any]:
    if SEED_PAGE.is_file():
        example: dict[str, Any] = json.loads(SEED_PAGE.read_text().split("Returns Examples")[1])
        return example
    return {  # the same example, for a checkout without shared/
        "id": "id",
        "configuration": {
            "rules": [{"description": "contains invoice number, line items, and total amount",
                       "type": "invoice"}],
            "mode": "FAST",
            "parsing_configuration": {"lang": "en", "max_pages": 10, "target_pages": "1,3,5-7"},
        },
        "document_input_type": "url", "document_input_value": "document_input_value",
        "project_id": "project_id", "status": "PENDING", "user_id": "user_id",
        "configuration_id": "configuration_id", "created_at": "2019-12-27T18:11:19.117Z",
        "error_message": "error_message", "parse_job_id": "parse_job_id",
        "result": {"confidence": 0, "reasoning": "reasoning", "type": "type"},
        "transaction_id": "transaction_id", "updated_at": "2019-12-27T18:11:19.117Z",
    }  # fmt: skip


def test_seed_job_fills_every_contract_column() -> None:
    df = jobs_to_frame([seed_job()])
    assert list(df.columns) == [*KNOWN_COLUMNS, *TAIL_COLUMNS]
    row = df.iloc[0]
    assert row["configuration.parsing_configuration.max_pages"] == 10
    assert row["configuration.rules"][0]["type"] == "invoice"
    assert row["created_at"] == pd.Timestamp("2019-12-27T18:11:19.117Z")
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    assert row["result.confidence"] == 0.0
    assert pd.isna(row["fetch_error"])


def kinds(df: pd.DataFrame) -> list[str]:
    """Each column's dtype, a categorical as ``category[<dtype of its categories>]``."""
    return [
        f"category[{d.categories.dtype}]" if isinstance(d, pd.CategoricalDtype) else str(d)
        for d in df.dtypes
    ]


def test_dtypes_do_not_depend_on_which_jobs_came_back() -> None:
    full = kinds(jobs_to_frame([seed_job()]))
    assert kinds(empty_frame()) == full
    assert kinds(jobs_to_frame([{"id": "only-id"}])) == full
    assert kinds(jobs_to_frame([{"id": "x", "result": None, "configuration": None}])) == full
    assert full == [
        f"category[{d.categories.dtype}]" if isinstance(d, pd.CategoricalDtype) else str(d)
        for d in [*KNOWN_COLUMNS.values(), *TAIL_COLUMNS.values()]
    ]


def test_status_is_categorical_and_keeps_unknown_statuses() -> None:
    df = jobs_to_frame([{"id": "a", "status": "COMPLETED"}, {"id": "b", "status": "ARCHIVED"}])
    assert isinstance(df["status"].dtype, pd.CategoricalDtype)
    assert list(df["status"].cat.categories) == [*STATUSES, "ARCHIVED"]
    assert df["status"].tolist() == ["COMPLETED", "ARCHIVED"]


def test_null_result_leaves_result_columns_null_and_adds_no_bogus_column() -> None:
    df = jobs_to_frame([{"id": "a", "status": "PENDING", "result": None}])
    assert "result" not in df.columns
    assert df["result.type"].isna()[0] and df["result.confidence"].isna()[0]


def test_the_input_is_file_input_whatever_name_the_server_uses() -> None:
    jobs = [
        {"id": "a", "file_input": "dfl-1"},  # the service today (SDK 2.5 on)
        {"id": "b", "document_input_value": "pjb-2"},  # the seed's name, an older server
        {"id": "c", "file_input": "dfl-3", "document_input_value": "dfl-3"},  # mid-migration
    ]
    df = jobs_to_frame(jobs)
    assert df["file_input"].tolist() == ["dfl-1", "pjb-2", "dfl-3"]
    assert "document_input_value" not in df.columns
    lines = jobs_to_frame(b"\n".join(orjson.dumps(j) for j in jobs))
    assert lines["file_input"].tolist() == ["dfl-1", "pjb-2", "dfl-3"]
    both = jobs_to_frame([{"id": "d", "file_input": "dfl-4", "document_input_value": "other"}])
    assert both.loc[0, "file_input"] == "dfl-4" and both.loc[0, "document_input_value"] == "other"
    old = pa.table({"id": ["e"], "document_input_value": ["dfl-5"]})  # stored by older code
    assert frame_from_table(old)["file_input"].tolist() == ["dfl-5"]
    joined = pa.table(  # segments of both names, joined
        {"id": ["e", "f"], "file_input": [None, "dfl-6"], "document_input_value": ["dfl-5", None]}
    )
    read = frame_from_table(joined)
    assert read["file_input"].tolist() == ["dfl-5", "dfl-6"]
    assert "document_input_value" not in read.columns


def test_unknown_fields_are_kept_and_flattened() -> None:
    job = {
        **seed_job(),
        "priority": 3,
        "source": {"system": "sftp", "meta": {"batch": "b1"}},
        "result": {"type": "x", "confidence": 0.5, "reasoning": "r", "page_scores": [0.1, 0.2]},
    }
    df = jobs_to_frame([job, {"id": "other"}])
    assert df.loc[0, "priority"] == 3
    assert df.loc[0, "source.system"] == "sftp"
    assert df.loc[0, "source.meta.batch"] == "b1"
    assert list(df["result.page_scores"][0]) == [0.1, 0.2]
    assert df["priority"].isna()[1]
    assert df.columns[-2:].tolist() == ["fetch_error", "http_status"]


def test_a_literal_dotted_key_never_overwrites_the_nested_column() -> None:
    job = {"id": "a", "result": {"type": "invoice", "confidence": 0.9}, "result.type": "bogus"}
    df = jobs_to_frame([job])
    assert df.loc[0, "result.type"] == "invoice"
    assert df.loc[0, "[result.type]"] == "bogus"


def test_unknown_rule_fields_are_kept_in_the_rules_column() -> None:
    job = {"id": "a", "configuration": {"rules": [{"description": "d" * 12, "type": "t", "id": 7}]}}
    rules = jobs_to_frame([job])["configuration.rules"][0]
    assert rules[0]["id"] == 7 and rules[0]["type"] == "t"


@pytest.mark.filterwarnings("ignore:not the expected JSON:UserWarning")
def test_wrong_types_are_coerced_and_every_row_kept() -> None:
    jobs: list[dict[str, Any]] = [
        {"id": "a", "result": {"confidence": "0.75", "type": 5}},
        {"id": "b", "result": {"confidence": "high"}, "status": 3},
        {"id": "c", "configuration": {"parsing_configuration": {"max_pages": "12"}, "rules": "x"}},
    ]
    df = jobs_to_frame(jobs)
    assert df["id"].tolist() == ["a", "b", "c"]
    assert df.loc[0, "result.confidence"] == 0.75 and df.loc[0, "result.type"] == "5"
    assert df["result.confidence"].isna()[1]
    assert df.loc[2, "configuration.parsing_configuration.max_pages"] == 12


def test_mixed_type_unknown_field_becomes_json_text() -> None:
    tags = [1, "x", [1], True, None, 2.5]
    df = jobs_to_frame([{"id": str(i), "tag": tag} for i, tag in enumerate(tags)])
    assert df["tag"].tolist()[:4] == ["1", "x", "[1]", "true"]
    assert df["tag"].isna().tolist()[4] and df.loc[5, "tag"] == "2.5"


@pytest.mark.parametrize("nested", [False, True])
def test_json_lines_bytes_and_dicts_give_the_same_frame(nested: bool) -> None:
    jobs = [
        seed_job(),
        {"id": "b", "status": "FAILED", "error_message": "é 文档 🚀", "x": {"y": 1}},
    ]
    lines = b"\n".join(orjson.dumps(j) for j in jobs)
    pd.testing.assert_frame_equal(
        jobs_to_frame(jobs, nested=nested), jobs_to_frame(lines, nested=nested)
    )


def test_reads_pages_arrays_and_files(tmp_path: Path) -> None:
    jobs = [seed_job(), {"id": "b"}]
    page = orjson.dumps({"items": jobs, "next_page_token": None})
    assert jobs_to_frame(page)["id"].tolist() == ["id", "b"]
    assert jobs_to_frame(orjson.dumps(jobs))["id"].tolist() == ["id", "b"]
    path = tmp_path / "jobs.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(j) for j in jobs) + b"\n")
    assert jobs_to_frame(path)["id"].tolist() == ["id", "b"]
    assert jobs_to_frame(str(path))["id"].tolist() == ["id", "b"]


def test_nested_frame_has_struct_columns() -> None:
    df = jobs_to_frame([seed_job()], nested=True)
    assert "configuration" in df.columns and "result.type" not in df.columns
    assert df["result"][0]["type"] == "type"
    assert isinstance(df["configuration"].dtype, pd.ArrowDtype)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([1, {"id": "a"}], "position"),
        (b"{not json", "not JSON"),
        ("/no/such/file.jsonl", "no such file"),
    ],
)
def test_bad_input_names_the_problem(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        jobs_to_frame(bad)  # type: ignore[arg-type]


def test_no_warning_on_ordinary_jobs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jobs_to_frame([seed_job()] * 3)


def test_misshapen_known_objects_are_kept_not_dropped() -> None:
    jobs: list[dict[str, Any]] = [
        {"id": "a", "result": "oops", "configuration": {"rules": "x"}},
        {"id": "b"},
    ]
    with pytest.warns(UserWarning, match="not the expected JSON"):
        df = jobs_to_frame(jobs)
    assert df.loc[0, "result (unparsed)"] == "oops"
    assert df.loc[0, "configuration.rules (unparsed)"] == "x"
    # pandas-stubs: .loc's scalar type has Period, Interval and np.bool_, isna()'s does not
    assert pd.isna(df.loc[0, "result.type"]) and pd.isna(df.loc[1, "result (unparsed)"])  # type: ignore[arg-type]


UNCONVERTIBLE: list[dict[str, Any]] = [
    {
        "id": "a",
        "created_at": "yesterday",
        "result": {"type": "invoice", "confidence": "high"},
        "configuration": {"rules": ["junk", {"type": "invoice", "description": "d"}]},
        "usage": {"credits": "lots"},
    },
    {"id": "b", "created_at": 1767225600, "updated_at": 1767225600250},  # epoch s and ms
    {"id": "c", "created_at": "2026-01-01T00:00:00Z", "result": {"confidence": 0.5}},
]


@pytest.mark.parametrize("as_bytes", [False, True])
def test_unconvertible_values_are_kept_raw_with_one_warning(as_bytes: bool) -> None:
    jobs = b"\n".join(orjson.dumps(j) for j in UNCONVERTIBLE) if as_bytes else UNCONVERTIBLE
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = jobs_to_frame(jobs)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    for name in ("created_at", "result.confidence", "configuration.rules", "usage.credits"):
        assert repr(name) in messages[0]
    assert df["result.confidence (unparsed)"].tolist()[0] == "high"
    assert df["usage.credits (unparsed)"].tolist()[0] == "lots"
    assert df["created_at (unparsed)"].tolist()[0] == "yesterday"
    assert json.loads(cast(str, df.loc[0, "configuration.rules (unparsed)"]))[0] == "junk"
    rules = cast(list[dict[str, Any]], df.loc[0, "configuration.rules"])
    assert [r["type"] for r in rules] == ["invoice"]
    assert df["created_at (unparsed)"].isna().tolist() == [False, True, True]
    stamp = pd.Timestamp("2026-01-01", tz="UTC")
    assert df.loc[1, "created_at"] == stamp  # an epoch number is converted, not lost
    assert df.loc[1, "updated_at"] == stamp + pd.Timedelta(milliseconds=250)
    assert df.loc[2, "created_at"] == stamp and df.loc[2, "result.confidence"] == 0.5
    assert "updated_at (unparsed)" not in df.columns


@pytest.fixture(scope="module")
def emulator_frame() -> pd.DataFrame:
    return jobs_to_frame(list(Dataset.generate(5_000, seed=0, schema="current").jobs()))


def test_rule_sets_are_held_once_and_repeated_ids_keep_the_frame_compact(
    emulator_frame: pd.DataFrame,
) -> None:
    df = emulator_frame
    rules = pa.array(df["configuration.rules"])
    assert rules.type == pa.list_(RULE_TYPE)  # plain lists for Arrow: pandas' writers need them
    held = df["configuration.rules"].array
    assert isinstance(held, RuleSetArray) and len(held.categories) < 20
    assert df["configuration.rules"].memory_usage(deep=True, index=False) / len(df) < 8
    assert df.memory_usage(deep=True).sum() / len(df) < 400  # issue 14's target
    first = df.loc[0, "configuration.rules"]
    assert isinstance(first, list) and {"description", "type"} <= first[0].keys()
    assert df["configuration.rules"].iloc[:3].tolist()[0] == first
    ids = df.loc[:, list(REPEATED_COLUMNS)].memory_usage(deep=True, index=False)
    assert ids.sum() / len(df) < 20  # as strings: 177 bytes a job (issue 14)


def test_repeated_ids_behave_like_strings(emulator_frame: pd.DataFrame) -> None:
    df = emulator_frame
    as_text = df["configuration_id"].astype("string")
    some = as_text.iloc[0]
    assert ((df["configuration_id"] == some) == (as_text == some)).all()
    assert df["configuration_id"].isin([some]).sum() == (as_text == some).sum()
    assert df.groupby("configuration_id").size().to_dict() == as_text.value_counts().to_dict()
    assert df["configuration_id"].sort_values().astype("string").tolist() == sorted(as_text)
    assert df["user_id"].str[:4].notna().all()


def test_a_dataset_round_trip_gives_the_same_frame(
    emulator_frame: pd.DataFrame, tmp_path: Path
) -> None:
    df = emulator_frame
    cf.to_parquet(df, tmp_path / "jobs.parquet")
    pd.testing.assert_frame_equal(cf.read_parquet(tmp_path / "jobs.parquet"), df)
    table = pq.read_table(tmp_path / "jobs.parquet")
    assert pa.types.is_list(table.schema.field("configuration.rules").type)  # plain on disk
    (tmp_path / "plain").mkdir()  # a directory of plain Parquet, as another tool writes it
    pq.write_table(table, tmp_path / "plain" / "part-0.parquet")
    back = cf.read_parquet(tmp_path / "plain")
    assert back["configuration.rules"].tolist() == df["configuration.rules"].tolist()
    assert back["configuration.rules"].dtype == RuleSetDtype()
    assert isinstance(back["project_id"].dtype, pd.CategoricalDtype)


def test_dictionary_pieces_become_one_sorted_dictionary_exactly() -> None:
    """Ids as Parquet hands them over: each piece its own dictionary (entries in any order,
    unused and null ones too), or pieces sharing one; nulls among the rows."""
    import random

    from classify_frames.frame._dictionary import encode_ids

    rng = random.Random(0)
    for _ in range(100):
        pieces, rows = [], []
        for _ in range(rng.randint(1, 4)):
            values = [rng.choice(["b", "a", "é", "", "z1", None]) for _ in range(rng.randint(0, 9))]
            entries = [*{v for v in values if v is not None}, "unused", None]
            rng.shuffle(entries)
            at = {v: i for i, v in enumerate(entries)}
            indices = pa.array([None if v is None else at[v] for v in values], pa.int32())
            pieces.append(pa.DictionaryArray.from_arrays(indices, pa.array(entries, pa.string())))
            rows += values
        pieces.append(pieces[0].slice(1))  # a piece sharing another's dictionary
        rows += pieces[0].to_pylist()[1:]
        encoded = encode_ids(pa.chunked_array(pieces))
        assert encoded.to_pylist() == rows
        categories = encoded.dictionary.to_pylist()
        assert categories == sorted(categories) and len(set(categories)) == len(categories)
        assert None not in categories
        encoded.validate(full=True)
