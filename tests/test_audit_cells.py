"""The audit's cells counted by DuckDB, Polars, PySpark and pandas equal the counts of the
in-memory frame, exactly: on the emulator's jobs (exported over loopback) and on a randomized
frame with every edge the audit branches on (missing and odd statuses, fetch errors, no match,
impossible confidences, missing times, several rule sets, one in two orders)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import classify_frames as cf
from classify_frames.auditing import AuditWarning
from classify_frames.auditing._cells import (
    CELL_KEYS,
    FINGERPRINT,
    count_cells,
    labelled_rows,
    stratified_draw,
)
from classify_frames.auditing._prepare import prepare, rule_set_ids
from classify_frames.auditing._sample import stratum_names

polars = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")


def expected_cells(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cells from the in-memory audit's prepared frame (the stated confidence as given, so
    impossible values stay visible), grouped by pandas."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        jobs, rules = prepare(df)
    done = jobs["completed"].to_numpy(bool)
    raw = pd.to_numeric(df["result.confidence"], errors="coerce").astype("float64")
    frame = pd.DataFrame(
        {
            "status": jobs["status"].astype(object),
            "type": jobs["type"].astype(object),
            "confidence": raw.where(done).to_numpy(),
            "period": jobs["created_at"].dt.tz_convert(None).dt.floor("D").where(done),
            "configuration_id": jobs["configuration_id"].astype(object),
            "rule_set": jobs["rule_set"].astype(object),
            "error_message": jobs["error_message"].astype(object).where(jobs["status"] == "FAILED"),
            "created_at": jobs["created_at"],
        }
    )
    table = frame.groupby([*CELL_KEYS, "error_message"], dropna=False, sort=True).agg(
        jobs=("status", "size"),
        first_seen=("created_at", "min"),
        last_seen=("created_at", "max"),
    )
    return normal(table.reset_index()), {"rules": rules, "jobs": jobs}


def normal(cells: pd.DataFrame) -> pd.DataFrame:
    """One dtype per column (object strings with None, float, naive and UTC times), rows in
    key order, so that frames from any engine compare exactly."""
    out = pd.DataFrame(
        {
            "status": cells["status"].astype(object),
            "type": cells["type"].astype(object),
            "confidence": cells["confidence"].astype("float64"),
            "period": pd.to_datetime(cells["period"]).astype("datetime64[us]"),
            "configuration_id": cells["configuration_id"].astype(object),
            "rule_set": cells["rule_set"].astype(object),
            "error_message": cells["error_message"].astype(object),
            "jobs": cells["jobs"].astype("int64"),
            "first_seen": pd.to_datetime(cells["first_seen"], utc=True).astype(
                "datetime64[us, UTC]"
            ),
            "last_seen": pd.to_datetime(cells["last_seen"], utc=True).astype("datetime64[us, UTC]"),
        }
    )
    for name in ("status", "type", "configuration_id", "rule_set", "error_message"):
        out[name] = out[name].where(out[name].notna(), None)
    keys = [*CELL_KEYS, "error_message"]
    return out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


def assert_cells_equal(cells: Any, df: pd.DataFrame) -> None:
    want, prepared = expected_cells(df)
    got = normal(cells.cells)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert cells.rules.keys() >= set(want["rule_set"].dropna())
    for name in want["rule_set"].dropna().unique():
        assert cells.rules[name] == prepared["rules"][name]
    # what the in-memory audit derives from every row, derived from the cells
    conf = got["confidence"]
    impossible = got["confidence"].notna() & ~conf.between(0, 1)
    assert got.loc[impossible, "jobs"].sum() == prepared["jobs"]["confidence_impossible"].sum()
    status = got.groupby("status")["jobs"].sum().sort_index()
    counted = prepared["jobs"]["status"].value_counts()
    assert status.to_dict() == {str(k): int(v) for k, v in counted.items() if v > 0}
    failed = prepared["jobs"].loc[prepared["jobs"]["status"] == "FAILED", "error_message"]
    errors = failed.fillna("(no message)").value_counts()
    assert dict(zip(cells.errors["error_message"], cells.errors["jobs"], strict=True)) == dict(
        errors
    )


def random_jobs(n: int = 4_000, seed: int = 7) -> pd.DataFrame:
    """Jobs with every edge the audit branches on."""
    rng = np.random.default_rng(seed)
    rule_sets = [
        [{"description": "an invoice", "type": "invoice"}, {"description": "a CV", "type": "cv"}],
        [{"description": "a CV", "type": "cv"}, {"description": "an invoice", "type": "invoice"}],
        [
            {"description": "an invoice v2", "type": "invoice"},
            {"description": "nda", "type": "nda"},
        ],
        None,
    ]
    statuses = ["COMPLETED", "completed", "FAILED", "CANCELLED", None, "RUNNING"]
    confidences = [0.5, 0.9, 0.95, 1.0, 0.0, np.nan, 1.5, -0.2, np.inf]
    created = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 200 * 86_400_000_000, n), unit="us"
    )
    df = pd.DataFrame(
        {
            "id": [f"job-{i:06d}" for i in rng.permutation(n)],
            "status": rng.choice(
                np.array(statuses, dtype=object), n, p=[0.6, 0.1, 0.1, 0.05, 0.1, 0.05]
            ),
            "configuration_id": rng.choice(np.array(["cfg-a", "cfg-b", None], dtype=object), n),
            "document_input_value": [f"doc-{i}" for i in rng.integers(0, n // 2, n)],
            "error_message": rng.choice(np.array(["timeout", "bad pdf", None], dtype=object), n),
            "created_at": pd.Series(created).where(rng.random(n) > 0.05),
            "configuration.rules": [rule_sets[i] for i in rng.integers(0, 4, n)],
            "result.type": rng.choice(
                np.array(["invoice", "cv", "nda", "", None], dtype=object), n
            ),
            "result.confidence": rng.choice(confidences, n),
            "result.reasoning": rng.choice(np.array(["because", None], dtype=object), n),
            "fetch_error": rng.choice(np.array([None] * 19 + ["HTTP 404"], dtype=object), n),
        }
    )
    df["result.confidence"] = df["result.confidence"].where(rng.random(n) > 0.05)
    return df


def write(df: pd.DataFrame, path: Path) -> Path:
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, path, row_group_size=1_000)
    return path


@pytest.fixture(scope="module")
def randomized(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    df = random_jobs()
    return df, write(df, tmp_path_factory.mktemp("cells") / "jobs.parquet")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """The emulator's jobs exported over loopback into a dataset partitioned by month and
    status (so DuckDB reads the status from the directories), and read back."""
    root = tmp_path_factory.mktemp("exported") / "jobs"
    with cf.Emulator(jobs=6_000, seed=3) as emu:
        cf.export_jobs(
            path=root,
            partition_by=("created_month", "status"),
            base_url=emu.base_url,
            api_key=emu.api_key,
            progress=False,
        )
    return cf.read_parquet(root), root


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "polars"])
def test_cells_of_a_randomized_frame_equal_the_in_memory_counts(
    randomized: tuple[pd.DataFrame, Path], engine: str
) -> None:
    df, path = randomized
    sources: dict[str, Any] = {
        "pandas": lambda: df,
        "duckdb": lambda: path,
        "polars": lambda: polars.scan_parquet(path),
    }
    source = sources[engine]()
    cells = count_cells(source)
    assert_cells_equal(cells, df)
    assert cells.engine == engine


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "duckdb-relation", "polars"])
def test_cells_of_the_emulator_export_equal_the_in_memory_counts(
    exported: tuple[pd.DataFrame, Path], engine: str
) -> None:
    df, root = exported
    glob = str(root / "**" / "*.parquet")
    sources: dict[str, Any] = {
        "pandas": lambda: df,
        "duckdb": lambda: root,
        "duckdb-relation": lambda: duckdb.read_parquet(glob, hive_partitioning=True),
        "polars": lambda: polars.scan_parquet(glob, hive_partitioning=True),
    }
    source = sources[engine]()
    assert_cells_equal(count_cells(source), df)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_without_status_a_row_with_a_result_counts_as_completed(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path, engine: str
) -> None:
    df = randomized[0].drop(columns=["status"])
    source = df if engine == "pandas" else write(df, tmp_path / "jobs.parquet")
    assert_cells_equal(count_cells(source), df)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "polars"])
def test_a_minimal_frame_counts_its_missing_columns_as_missing(tmp_path: Path, engine: str) -> None:
    df = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "result.type": ["x", None, None],
            "result.confidence": [0.9, 0.5, None],
        }
    )
    path = write(df, tmp_path / "jobs.parquet")
    source = {"pandas": df, "duckdb": path, "polars": polars.scan_parquet(path)}[engine]
    cells = count_cells(source)
    assert_cells_equal(cells, df)
    assert cells.cells["jobs"].tolist() == [1, 1, 1]


def test_monthly_cells_add_up_the_daily_ones(randomized: tuple[pd.DataFrame, Path]) -> None:
    _df, path = randomized
    daily = count_cells(path).cells
    monthly = count_cells(path, period="month").cells
    daily["period"] = daily["period"].dt.to_period("M").dt.to_timestamp()
    keys = [*CELL_KEYS, "error_message"]
    again = daily.groupby(keys, dropna=False, sort=True)["jobs"].sum().reset_index()
    pd.testing.assert_frame_equal(normal_jobs(again), normal_jobs(monthly[[*keys, "jobs"]]))


def normal_jobs(cells: pd.DataFrame) -> pd.DataFrame:
    out = cells.copy()
    out["period"] = out["period"].astype("datetime64[us]")
    for name in ("status", "type", "configuration_id", "rule_set", "error_message"):
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    keys = [*CELL_KEYS, "error_message"]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def test_labelled_rows_are_the_labelled_jobs(randomized: tuple[pd.DataFrame, Path]) -> None:
    df, path = randomized
    ids = [*list(df["id"].sample(300, random_state=1)), "no-such-job"]
    rows = labelled_rows(path, ids).set_index("id").sort_index()
    assert len(rows) == 300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        jobs, _ = prepare(df)
    want = jobs.set_index("id").loc[rows.index]
    assert (
        rows["rule_set"].astype(object).fillna("-") == want["rule_set"].astype(object).fillna("-")
    ).all()
    same = pd.to_numeric(df.set_index("id").loc[rows.index, "result.confidence"])
    np.testing.assert_array_equal(rows["confidence"].to_numpy(), same.to_numpy(float))
    assert (rows["created_at"].isna() == want["created_at"].isna()).all()


@pytest.mark.parametrize("bands", [(), (0.9,)])
def test_the_draw_is_a_seeded_sample_of_each_stratum(
    randomized: tuple[pd.DataFrame, Path], bands: tuple[float, ...]
) -> None:
    df, path = randomized
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        jobs, _ = prepare(df)
    done = jobs[jobs["completed"]]
    names = stratum_names(done["type"], done["confidence"].to_numpy(float), bands)
    sizes = names.value_counts()
    counts = dict.fromkeys(sizes.index, 20)
    first = stratified_draw(path, counts, seed=5, bands=bands)
    # the same draw from any engine and any order of the rows
    shuffled = df.sample(frac=1.0, random_state=3)
    for source in (df, shuffled, polars.scan_parquet(path)):
        again = stratified_draw(source, counts, seed=5, bands=bands)
        assert list(again["id"]) == list(first["id"])
    assert list(stratified_draw(path, counts, seed=6, bands=bands)["id"]) != list(first["id"])
    # each job drawn from its own stratum, the right number of each, pools exact
    stratum_of = pd.Series(names.to_numpy(), index=done["id"].to_numpy())
    assert (stratum_of.loc[first["id"]].to_numpy() == first["stratum"].to_numpy()).all()
    drawn = first["stratum"].value_counts()
    assert drawn.to_dict() == {s: min(20, int(n)) for s, n in sizes.items()}
    assert (first["pool"] == first["stratum"].map(sizes)).all()
    assert first["id"].is_unique


def test_every_job_can_be_drawn(randomized: tuple[pd.DataFrame, Path]) -> None:
    """Over many seeds, a stratum's jobs are drawn about equally often (a uniform draw)."""
    df, _ = randomized
    completed = df["status"].eq("COMPLETED") & df["fetch_error"].isna()
    small = df[df["result.type"].eq("cv") & completed].head(40)
    seen = pd.concat(
        [stratified_draw(small, {"cv": 4}, seed=s)["id"] for s in range(120)]
    ).value_counts()
    assert len(seen) == 40
    # each of 40 jobs drawn 4/40 of 120 times = 12 on average; binomial sd ~ 3.3, and a job
    # outside 1-30 is a 3.4 sd event (400 seeds took 28 s for the same check)
    assert seen.between(1, 30).all()


def test_bad_sources_are_refused_naming_them(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="list"):
        count_cells([1, 2, 3])
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        count_cells(tmp_path / "nothing-here")
    with pytest.raises(ValueError, match=r"result\.type"):
        count_cells(pd.DataFrame({"id": ["a"]}))
    with pytest.raises(ValueError, match="period"):
        count_cells(pd.DataFrame({"result.type": ["a"]}), period="week")  # type: ignore[arg-type]


def test_without_duckdb_a_path_names_the_extra(
    randomized: tuple[pd.DataFrame, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"classify-frames\[scale\]"):
        count_cells(randomized[1])
    assert len(count_cells(polars.scan_parquet(randomized[1])).cells)  # other engines still count


@pytest.mark.spark
def test_spark_counts_the_same_cells(randomized: tuple[pd.DataFrame, Path]) -> None:
    """PySpark in local mode (Java 17) counts the same cells from the same Parquet file."""
    pyspark_sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed (pip install 'classify-frames[spark]')"
    )
    df, path = randomized
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("classify-frames-cells")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    try:
        cells = count_cells(spark.read.parquet(str(path)))
        assert cells.engine == "pyspark"
        assert_cells_equal(cells, df)
    finally:
        spark.stop()


def test_a_stored_fingerprint_counts_the_same_cells(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path
) -> None:
    """A dataset with the rule set's fingerprint per job (``configuration.rule_set``) is
    grouped by it, and its older files without the column by their lists: the same cells."""
    df, _ = randomized
    ids, _ = rule_set_ids(df["configuration.rules"])
    stored = df.assign(**{FINGERPRINT: ids.astype(object)})
    whole = write(stored, tmp_path / "stored.parquet")
    for source in (whole, polars.scan_parquet(whole)):
        assert_cells_equal(count_cells(source), df)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write(stored.iloc[:2_000], mixed / "new.parquet")
    write(df.iloc[2_000:], mixed / "old.parquet")  # written before the column
    assert_cells_equal(count_cells(mixed), df)


def test_a_fingerprint_that_names_other_rules_is_refused(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path
) -> None:
    df, _ = randomized
    ids, _ = rule_set_ids(df["configuration.rules"])
    wrong = ids.where(ids.isna(), "0123456789")
    path = write(df.assign(**{FINGERPRINT: wrong.astype(object)}), tmp_path / "edited.parquet")
    with pytest.raises(ValueError, match=r"configuration\.rule_set.*drop the column"):
        count_cells(path)
