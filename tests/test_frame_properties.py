"""Property-based tests: jobs_to_frame never crashes, keeps every row, round-trips via Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import classify_frames as cf
from classify_frames._rule_sets import RuleSetDtype
from classify_frames._schema import REPEATED_COLUMNS

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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
