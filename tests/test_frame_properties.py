"""Property-based tests: jobs_to_frame never crashes, keeps every row, round-trips via Parquet."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import classify_frames as cf
from classify_frames.frame._rule_sets import RuleSetDtype
from classify_frames.frame._schema import REPEATED_COLUMNS

# Generated jobs are misshapen on purpose; the warnings that say so are tested in test_frame.py.
pytestmark = [
    pytest.mark.filterwarnings("ignore:not the expected JSON:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*collides with a contract column:UserWarning"),
]

text = st.text(max_size=30) | st.text(alphabet="éß文档🚀\u200b\n\"'\\<>&", max_size=20)
huge = st.integers(min_value=1, max_value=3).map(lambda n: "x" * (50_000 * n))
scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


rule = st.fixed_dictionaries(
    {}, optional={"description": maybe(text), "type": maybe(text), "weight": scalar}
)
configuration = st.fixed_dictionaries(
    {},
    optional={
        "rules": st.lists(rule, max_size=3) | scalar,
        "mode": maybe(text),
        "parsing_configuration": st.fixed_dictionaries(
            {}, optional={"lang": maybe(text), "max_pages": scalar, "target_pages": scalar}
        )
        | scalar,
        "extra": json_value,
    },
)
result = st.fixed_dictionaries(
    {},
    optional={
        "type": maybe(text),
        "confidence": scalar | st.sampled_from(["0.9", "high", "NaN"]),
        "reasoning": maybe(text | huge),
        "scores": json_value,
    },
)
job = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=20)},
    optional={
        "status": st.sampled_from(["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED",
                                   "QUEUED", ""]) | scalar,
        "created_at": st.sampled_from(["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.123456+02:00",
                                       "yesterday", ""]) | scalar,
        "updated_at": maybe(st.just("2026-03-02T00:00:00.5Z")),
        "document_input_value": maybe(text),
        "file_input": maybe(text),
        "configuration": configuration | scalar,
        "result": result | scalar,
        "usage": st.fixed_dictionaries({}, optional={"credits": scalar}) | scalar,
        "error_message": maybe(text | huge),
        "unknown": json_value,
        "result.type": scalar,
    },
)  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(job, max_size=6))
@example([{"id": "0", "configuration": {"rules": [{"weight": None}]}}])  # only unknown fields
@example([{"id": "0", "configuration": {"rules": [{"weight": False}, {"weight": 0}]}}])  # mixed
def test_any_jobs_give_one_row_each_and_the_contract_dtypes(jobs: list[dict[str, Any]]) -> None:
    frame = cf.jobs_to_frame(jobs)
    assert frame["id"].tolist() == [j["id"] for j in jobs]
    categoricals = ["status", *REPEATED_COLUMNS]
    contract = cf.empty_frame().dtypes.drop([*categoricals, "configuration.rules"])
    assert frame.dtypes[contract.index].equals(contract)
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in categoricals)
    assert frame["configuration.rules"].dtype == RuleSetDtype()
    rule_lists = frame["configuration.rules"].array.categories.type
    assert pa.types.is_list(rule_lists)
    rules = rule_lists.value_type  # extra rule fields kept
    assert {"description", "type"} <= {f.name for f in rules}
    assert frame["result.confidence"].dtype == "float64"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(job, max_size=5))
@example([{"id": "0", "unknown": [None, None]}])  # Arrow cannot combine its chunks
def test_json_lines_path_agrees_with_dict_path(jobs: list[dict[str, Any]]) -> None:
    try:
        lines = b"\n".join(orjson.dumps(j) for j in jobs)
    except TypeError:  # an integer JSON cannot carry in 64 bits
        assume(False)
    parsed = [orjson.loads(line) for line in lines.splitlines()]  # inf became null, etc.
    pd.testing.assert_frame_equal(cf.jobs_to_frame(parsed), cf.jobs_to_frame(lines))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(jobs=st.lists(job, max_size=5), nested=st.booleans())
def test_parquet_round_trip_is_exact(
    jobs: list[dict[str, Any]], nested: bool, tmp_path_factory: Any
) -> None:
    frame = cf.jobs_to_frame(jobs, nested=nested)
    path = Path(tmp_path_factory.mktemp("rt")) / "jobs.parquet"
    cf.to_parquet(frame, path)
    pd.testing.assert_frame_equal(cf.read_parquet(path), frame)


# -- SDK-shaped jobs (llama-cloud 2.19's ClassifyGetResponse), rules with keys of their own ------

sdk_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
sdk_rule = st.fixed_dictionaries(
    {
        "description": st.text(min_size=10, max_size=40),
        "type": st.text(min_size=1, max_size=12),
    },
    optional={  # keys a newer server may add to some rules only: each keeps its own type
        "weight": st.none() | st.integers(-5, 5),
        "examples": st.lists(sdk_text, max_size=2),
        "note": st.none() | sdk_text,
    },
)
stamp = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.isoformat(timespec="microseconds").replace("+00:00", "Z"))
sdk_job = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "configuration": st.fixed_dictionaries(
            {"rules": st.lists(sdk_rule, min_size=1, max_size=4)},
            optional={
                "mode": st.just("FAST"),
                "parsing_configuration": st.fixed_dictionaries(
                    {},
                    optional={
                        "lang": st.sampled_from(["en", "de"]),
                        "max_pages": st.integers(1, 50),
                        "target_pages": st.just("1-3"),
                    },
                ),
            },
        ),
        "document_input_type": st.sampled_from(["url", "file_id", "parse_job_id"]),
        "file_input": st.uuids().map(lambda u: f"dfl-{u}"),
        "project_id": st.uuids().map(str),
        "status": st.sampled_from(["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]),
        "user_id": st.uuids().map(str),
    },
    optional={
        "configuration_id": st.uuids().map(lambda u: f"cfg-{u}"),
        "created_at": stamp,
        "updated_at": stamp,
        "error_message": st.none() | sdk_text,
        "parse_job_id": st.none() | st.uuids().map(lambda u: f"pjb-{u}"),
        "result": st.none()
        | st.fixed_dictionaries(
            {
                "confidence": st.floats(0, 1),
                "reasoning": sdk_text,
                "type": st.none() | st.text(min_size=1, max_size=12),
            }
        ),
        "transaction_id": st.none() | sdk_text,
        "usage": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "credits": st.none() | st.floats(0, 100),
                "parse_credits": st.none() | st.floats(0, 100),
            },
        ),
    },
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(jobs=st.lists(sdk_job, min_size=1, max_size=6), lines=st.booleans())
@example(  # the case: one rule with a key of its own, and one rule with none
    jobs=[
        {
            "id": "a",
            "configuration": {
                "rules": [
                    {"description": "an invoice with a total", "type": "invoice", "weight": 2},
                    {"description": "a till receipt, paid", "type": "receipt"},
                ]
            },
            "document_input_type": "file_id",
            "file_input": "dfl-1",
            "project_id": "p",
            "status": "COMPLETED",
            "user_id": "u",
        }
    ],
    lines=False,
)
def test_sdk_shaped_jobs_round_trip_exactly(
    jobs: list[dict[str, Any]], lines: bool, tmp_path_factory: Any
) -> None:
    from llama_cloud.types import ClassifyGetResponse

    for job in jobs:
        ClassifyGetResponse.model_validate(job)  # what the SDK accepts, nothing else
    source = b"\n".join(orjson.dumps(j) for j in jobs) if lines else jobs
    frame = cf.jobs_to_frame(source)
    path = Path(tmp_path_factory.mktemp("sdk")) / "jobs.parquet"
    cf.to_parquet(frame, path)
    for df in (frame, cf.read_parquet(path)):
        assert df["id"].tolist() == [j["id"] for j in jobs]
        assert df["file_input"].tolist() == [j["file_input"] for j in jobs]
        assert df["status"].astype(str).tolist() == [j["status"] for j in jobs]
        for i, job in enumerate(jobs):
            rules = job["configuration"]["rules"]
            assert df["configuration.rules"].iloc[i] == rules  # each rule: its keys, no more
            result = job.get("result") or {}
            got = df["result.confidence"].iloc[i]
            assert (pd.isna(got) and result.get("confidence") is None) or got == result.get(
                "confidence"
            )
            usage = job.get("usage") or {}
            for key in ("credits", "parse_credits"):
                value = df[f"usage.{key}"].iloc[i]
                assert (pd.isna(value) and usage.get(key) is None) or value == usage.get(key)
            for key in ("created_at", "updated_at"):
                if key in job:
                    assert df[key].iloc[i] == pd.Timestamp(job[key])
        every = [r for j in jobs for r in j["configuration"]["rules"]]
        exploded = df.explode("configuration.rules")
        assert exploded["configuration.rules"].tolist() == every
        assert exploded["id"].tolist() == [
            j["id"] for j in jobs for _ in j["configuration"]["rules"]
        ]
        long = df.classify.rules()
        assert len(long) == len(every)
        assert long["type"].tolist() == [r["type"] for r in every]
        assert long["rule"].tolist() == [
            k for j in jobs for k in range(len(j["configuration"]["rules"]))
        ]
        if "weight" in long.columns:
            assert [None if pd.isna(w) else w for w in long["weight"]] == [
                r.get("weight") for r in every
            ]
