"""The explorer's fast paths against plain pandas: random frames, random filters, same rows.

Small blocks and a small sample make a few hundred rows take every path that 10 million take:
blocks skipped by their byte pairs or by the other filters, groups of rows looked at as one
string, fields searched once per distinct value, a scan reused by a later change, pages found
without listing every row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classify_frames.explorer import FilterState, JobIndex, explore
from classify_frames.explorer._index import _combine
from classify_frames.explorer._search import TextSearch
from classify_frames.frame import build_frame

SEARCHED = ("id", "file_input", "result.reasoning")
# letters whose case folds in unusual ways (the Kelvin sign folds to k, the long s to s, "ß" and
# "İ" change length when lowered), a separator, and plain ASCII
ALPHABET = "abcdkKsSſKÉéßİi1-_ ./\x1f"
STATUSES = ["COMPLETED", "FAILED", "PENDING", "RUNNING"]
TYPES = ["invoice", "receipt", "résumé", "Contract"]
CONFIGS = ["cfg-a", "cfg-b", "cfg-c"]


def random_text(rng: np.random.Generator, longest: int) -> str:
    return "".join(rng.choice(list(ALPHABET), size=int(rng.integers(0, longest + 1))))


def random_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    reasons = [random_text(rng, 12) for _ in range(5)]  # few: searched once per distinct value
    records: list[dict[str, Any]] = []
    for i in range(n):
        status = str(rng.choice(STATUSES))
        record: dict[str, Any] = {
            "id": f"{random_text(rng, 6)}-{i}",
            "status": status,
            "configuration_id": str(rng.choice(CONFIGS)),
            "document_input_value": random_text(rng, 10) if rng.random() < 0.9 else None,
        }
        if rng.random() < 0.9:
            day = dt.date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 90)))
            record["created_at"] = f"{day.isoformat()}T{int(rng.integers(0, 24)):02d}:00:00Z"
        if status == "COMPLETED":
            record["result"] = {
                "type": str(rng.choice(TYPES)) if rng.random() < 0.8 else None,
                "confidence": float(rng.random()) if rng.random() < 0.9 else None,
                "reasoning": str(rng.choice(reasons)),
            }
        records.append(record)
    errors = [("timed out" if rng.random() < 0.05 else None) for _ in range(n)]
    return build_frame(records, fetch_errors=errors)


def random_query(rng: np.random.Generator, df: pd.DataFrame) -> str:
    """A piece of some row's text with its case shuffled, some spaces, or a random string."""
    if rng.random() < 0.2:
        return ""
    if rng.random() < 0.3:
        return random_text(rng, 3)
    text = df[str(rng.choice(SEARCHED))].dropna()
    value = str(text.iloc[int(rng.integers(0, len(text)))]) if len(text) else ""
    start = int(rng.integers(0, len(value) + 1))
    piece = value[start : start + int(rng.integers(1, 5))]
    piece = "".join(c.swapcase() if rng.random() < 0.5 else c for c in piece)
    return " " + piece if rng.random() < 0.2 else piece


def random_state(rng: np.random.Generator, df: pd.DataFrame) -> dict[str, Any]:
    def some(values: list[Any]) -> list[Any]:
        size = int(rng.integers(0, len(values) + 1))  # past half of them: the complement
        picked = rng.choice(len(values), size=size, replace=False)
        return [values[i] for i in picked]

    low = float(rng.choice([0.0, 0.3, 0.5]))
    start = dt.date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 80)))
    return {
        "status": some(sorted(df["status"].dropna().unique().tolist())),
        "result_type": some(sorted(explorer_type(df).dropna().unique().tolist())),
        "configuration": None if rng.random() < 0.6 else str(rng.choice(CONFIGS)),
        "confidence": None if rng.random() < 0.5 else (low, low + 0.4),
        "created": [
            (None, None),
            (start, start + dt.timedelta(days=int(rng.integers(0, 30)))),
            (start, None),
            (None, start),
        ][int(rng.integers(0, 4))],
        "search": random_query(rng, df),
        "no_match_only": bool(rng.random() < 0.15),
        "failed_only": bool(rng.random() < 0.15),
    }


def explorer_type(df: pd.DataFrame) -> pd.Series:
    """``result.type``, and "no match" for a completed job without one (as the audit says)."""
    kind = df["result.type"].astype(object)
    no_match = (df["status"] == "COMPLETED").fillna(False) & kind.isna()
    return kind.mask(no_match, "no match")


def reference(df: pd.DataFrame, f: dict[str, Any], *, ignore: str = "") -> pd.Series:
    """Which rows match, written the obvious pandas way (``ignore``: leave that facet out)."""
    keep = pd.Series(True, index=df.index)
    if f["status"] and ignore != "status":
        keep &= df["status"].isin(f["status"]).fillna(False)
    if f["result_type"] and ignore != "result_type":
        keep &= explorer_type(df).isin(f["result_type"]).fillna(False)
    if f["configuration"] and ignore != "configuration":
        keep &= (df["configuration_id"] == f["configuration"]).fillna(False)
    if f["confidence"]:
        keep &= df["result.confidence"].between(*f["confidence"]).fillna(False)
    start, end = f["created"]
    if start:
        keep &= (df["created_at"] >= pd.Timestamp(start, tz="UTC")).fillna(False)
    if end:
        last = pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
        keep &= (df["created_at"] < last).fillna(False)
    needle = f["search"].strip()
    if needle:
        found = pd.Series(False, index=df.index)
        for column in SEARCHED:
            found |= df[column].str.contains(needle, case=False, regex=False).fillna(False)
        keep &= found
    if f["no_match_only"]:
        keep &= (df["status"] == "COMPLETED").fillna(False) & df["result.type"].isna()
    if f["failed_only"]:
        keep &= (df["status"] == "FAILED").fillna(False) | df["fetch_error"].notna()
    return keep.astype(bool)


def test_filters_counts_and_pages_agree_with_pandas_on_a_randomized_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("classify_frames.explorer._search._BLOCK", 16)
    monkeypatch.setattr("classify_frames.explorer._search._SAMPLE", 40)
    monkeypatch.setattr("classify_frames.explorer._search._GROUP", 3)
    monkeypatch.setattr("classify_frames.explorer._index._PAGE_SCAN", 8)
    monkeypatch.setattr("classify_frames.explorer._index._COMBINED", 64)  # cells renumbered
    rng = np.random.default_rng(14)
    df = random_frame(rng, 600)
    e = explore(df, page_size=10)
    index = e._index
    assert index.search._values and index.search._scanned  # both ways of searching are used
    for _ in range(80):
        state = random_state(rng, df)
        if rng.random() < 0.3:  # typing on: the new query extends the last one
            state["search"] = e.filters["search"] + random_query(rng, df)
        e.set_filters(**state)
        keep = reference(df, state)
        pd.testing.assert_frame_equal(e.filtered, df[keep])
        view = e._view
        assert view.matched == int(keep.sum())
        conf = df.loc[keep, "result.confidence"].to_numpy(dtype=float, na_value=np.nan)
        bins = np.clip(np.floor(conf[~np.isnan(conf)] * 20), 0, 19).astype(int)
        assert view.histogram.tolist() == np.bincount(bins, minlength=20).tolist()
        assert view.no_confidence == int(np.isnan(conf).sum())
        for facet, column in (
            ("status", df["status"]),
            ("result_type", explorer_type(df)),
            ("configuration", df["configuration_id"]),
        ):
            under = column[reference(df, state, ignore=facet)]
            expected = under.astype(object).where(under.notna(), None).value_counts(dropna=False)
            got = dict(zip(index.facets[facet].values, view.facet_counts[facet], strict=True))
            assert {k: v for k, v in got.items() if v} == expected.to_dict(), facet
        # a page found from the start of the order is the same page of the full list
        sort = str(rng.choice(["", "result.confidence", "id"]))
        fresh = index.view(FilterState.from_options(**state), sort or None, rng.random() < 0.5)
        number = int(rng.integers(0, fresh.pages(10) + 1))
        page = fresh.page(number, 10)
        assert page.tolist() == fresh.rows[number * 10 : (number + 1) * 10].tolist() or (
            number >= fresh.pages(10) and page.tolist() == fresh.page(number - 1, 10).tolist()
        )
        assert sorted(fresh.rows.tolist()) == np.flatnonzero(keep.to_numpy()).tolist()


def test_a_search_never_matches_across_two_fields() -> None:
    df = build_frame(
        [
            {"id": "job-ab", "status": "COMPLETED", "document_input_value": "cd.pdf"},
            {"id": "job-x", "status": "COMPLETED", "document_input_value": "ab\x1fcd"},
        ]
    )
    e = explore(df)
    e.set_filters(search="ab\x1fcd")
    assert e.filtered["id"].tolist() == ["job-x"]  # the old joined text matched "job-ab" too
    e.set_filters(search="b\x1fc")
    assert e.filtered["id"].tolist() == ["job-x"]


texts = st.lists(st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=8)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    plain=texts,
    repeated=st.lists(st.sampled_from(["Kelvin", "ſtraße", "İi", "abc"]), max_size=40),
    query=st.text(alphabet=ALPHABET, min_size=1, max_size=3),
    more=st.text(alphabet=ALPHABET, max_size=2),
    needed=st.lists(st.booleans(), max_size=40),
)
def test_text_search_is_str_contains(
    plain: list[str | None], repeated: list[str], query: str, more: str, needed: list[bool]
) -> None:
    n = min(len(plain), len(repeated))
    columns = [
        pd.Series(plain[:n], dtype="string[pyarrow]"),
        pd.Series(repeated[:n], dtype="string[pyarrow]"),
    ]

    def expected_for(text: str) -> np.ndarray:
        held = np.zeros(n, dtype=bool)
        for column in columns:
            found = column.str.contains(text.strip(), case=False, regex=False)
            held |= found.fillna(False).to_numpy(dtype=bool)
        return held

    expected = expected_for(query)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("classify_frames.explorer._search._BLOCK", 4)
        patch.setattr("classify_frames.explorer._search._SAMPLE", 3)
        patch.setattr("classify_frames.explorer._search._GROUP", 2)
        search = TextSearch(columns, n)
        wanted = np.resize(np.array(needed or [True], dtype=bool), n)
        first = search.mask(query, wanted).copy()
        assert (first[wanted] == expected[wanted]).all()
        assert (search.mask(query) == expected).all()  # the rest scanned, the first part kept
        longer = query + more  # looked for among the rows holding query, in its blocks
        if longer.strip():
            first = search.mask(longer, ~wanted).copy()
            assert (first[~wanted] == expected_for(longer)[~wanted]).all()
            assert (search.mask(longer) == expected_for(longer)).all()


def test_the_byte_pairs_skip_blocks_that_cannot_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("classify_frames.explorer._search._BLOCK", 2)
    ids = pd.Series(["0a1f", "b2c3", "9e8d", "ab12", "Receipt 4"], dtype="string[pyarrow]")
    search = TextSearch([ids], len(ids))
    scanned: list[int] = []
    real = search._scanned[0].may_hold

    def spy(pairs: Any) -> Any:
        held = real(pairs)
        scanned.extend(np.flatnonzero(held).tolist())
        return held

    monkeypatch.setattr(search._scanned[0], "may_hold", spy)
    assert search.mask("RECEIPT").tolist() == [False, False, False, False, True]
    assert scanned == [2]  # only the block holding "Receipt 4" was read


def test_a_frame_of_many_chunks_with_a_categorical_text_field() -> None:
    base = pd.DataFrame(
        {
            "id": pd.array(["a-1", "B-2", None, "c-3"], dtype="string[pyarrow]"),
            "result.reasoning": pd.Categorical(["Total due", None, "total", "none"]),
        }
    )
    df = pd.concat([base, base], ignore_index=True)
    index = JobIndex(df)
    view = index.view(FilterState(search="TOTAL"))
    assert view.rows.tolist() == [0, 2, 4, 6]
    assert index.view(FilterState(search="b-")).rows.tolist() == [1, 5]


def test_combined_codes_are_one_per_combination_even_past_64_bits() -> None:
    rng = np.random.default_rng(0)
    parts = [rng.integers(0, 3, 500) * (2**31 - 3) for _ in range(3)]  # sizes of 2^31 each
    codes, cells = _combine([(p, 2**31) for p in parts], 500)
    combos = list(zip(*(p.tolist() for p in parts), strict=True))
    assert cells == len(set(combos)) and codes.max() < cells
    first: dict[tuple[int, ...], int] = {}
    for combo, code in zip(combos, codes.tolist(), strict=True):
        assert first.setdefault(combo, code) == code
    assert len(set(first.values())) == len(first)
