"""``cf.audit`` of jobs where they lie (a dataset path, a DuckDB relation, a Polars frame, a
PySpark DataFrame) gives the in-memory audit's tables: without labels, and with labels from a
stratified queue (the in-memory one's, and one drawn in the engine), a "lowest" queue and
design-less random labels, some drawn jobs left blank; on a randomized frame with every edge the
audit branches on and on the emulator's export. What needs every job is refused, naming it."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_audit_cells import random_jobs, write
from test_report_document import parse

import classify_frames as cf
from classify_frames.auditing import AuditReport, AuditWarning
from classify_frames.auditing._sources import REFUSED, CellsReport

polars = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")

UNLABELLED = (
    "summary",
    "status",
    "errors",
    "by_type",
    "by_configuration",
    "configuration_mix",
    "rule_changes",
    "unused_rules",
    "unknown_types",
)
#: drift's frequencies and baselines: months, weeks, days with a small minimum, a named month
DRIFTS: tuple[tuple[Any, ...], ...] = (("M",), ("W",), ("D", None, 20), ("M", "2026-02"))
LABELLED: dict[str, Callable[[AuditReport], Any]] = {
    "summary": lambda r: r.summary,
    "by_type": lambda r: r.by_type,
    "confusion": lambda r: r.confusion,
    "risk_coverage": lambda r: r.risk_coverage,
    "disagreements": lambda r: r.disagreements.reset_index(drop=True),
    "accuracy": lambda r: (r.accuracy, *r.accuracy_ci),
    "ece": lambda r: (r.ece, r.ece_debiased, *r.ece_ci, r.mce),
    "brier": lambda r: (r.brier, *r.brier_ci),
    "auroc": lambda r: (r.auroc, *r.auroc_ci),
    "calibration": lambda r: r.calibration(),
    "calibration_uniform": lambda r: r.calibration("uniform", 5),
    "thresholds": lambda r: r.recommend_threshold(0.5),
    "thresholds_joint": lambda r: r.recommend_threshold(0.3, joint=True),
    "sample": lambda r: None if r.sample is None else (r.sample.kind, r.sample.labels),
    "drift": lambda r: r.drift("M"),
    "findings": lambda r: list(r.findings),
    "findings_at": lambda r: list(r.findings(0.5, delta=0.1)),
}


def same(got: Any, want: Any, name: str) -> None:
    """Equal: integers and text exactly, floats to 1e-12 (sums taken in another order)."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(
            got,
            want,
            check_exact=False,
            rtol=1e-12,
            check_dtype=False,
            check_categorical=False,
            check_index_type=False,
            obj=name,
        )
    elif isinstance(want, tuple):
        assert len(got) == len(want), name
        for a, b in zip(got, want, strict=True):
            if isinstance(b, float) and math.isnan(b):
                assert isinstance(a, float) and math.isnan(a), name
            elif isinstance(b, float):
                assert a == pytest.approx(b, rel=1e-12, abs=1e-15), name
            else:
                assert a == b, name
    else:
        assert got == want, name


def quiet(make: Callable[[], AuditReport]) -> AuditReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        return make()


@pytest.fixture(scope="module")
def randomized(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """The cells tests' randomized jobs in time order (``rule_changes`` names a rule set's
    configuration by its first row in memory, by its earliest job from cells)."""
    df = random_jobs().sort_values("created_at", kind="stable").reset_index(drop=True)
    return df, write(df, tmp_path_factory.mktemp("sources") / "jobs.parquet")


def sources(path: Path) -> dict[str, Callable[[], Any]]:
    return {
        "duckdb": lambda: path,
        "duckdb-relation": lambda: duckdb.read_parquet(str(path)),
        "polars": lambda: polars.scan_parquet(path),
        "polars-frame": lambda: polars.read_parquet(path),
    }


@pytest.mark.parametrize("engine", ["duckdb", "duckdb-relation", "polars", "polars-frame"])
def test_unlabelled_tables_equal_the_in_memory_audit(
    randomized: tuple[pd.DataFrame, Path], engine: str
) -> None:
    df, path = randomized
    memory = quiet(lambda: cf.audit(df))
    counted = quiet(lambda: cf.audit(sources(path)[engine]()))
    assert isinstance(counted, CellsReport)
    for name in UNLABELLED:
        same(getattr(counted, name), getattr(memory, name), name)
    for args in DRIFTS:
        same(counted.drift(*args), memory.drift(*args), f"drift{args}")
    assert any("stuck" in s for s in memory.findings)  # the frame has waiting jobs
    same(list(counted.findings), list(memory.findings), "findings")
    assert f"{len(df)} jobs" in repr(counted)


def labels_file(df: pd.DataFrame, queue: pd.DataFrame, path: Path) -> Path:
    """``queue`` labelled from a random truth (types, "none"), three drawn jobs left blank."""
    rng = np.random.default_rng(3)
    truth = pd.Series(rng.choice(["invoice", "cv", "nda", "none"], len(df)), index=df["id"])
    queue = queue.assign(label=truth[queue["id"]].to_numpy())
    queue.loc[queue.index[5:8], "label"] = ""
    queue.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module", params=["stratified", "engine-queue", "lowest", "random"])
def labelled(
    request: pytest.FixtureRequest,
    randomized: tuple[pd.DataFrame, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[AuditReport, AuditReport]:
    df, path = randomized
    memory = quiet(lambda: cf.audit(df))
    kind = request.param
    if kind == "stratified":
        queue = memory.review_queue(budget=300, strategy="stratified", seed=1)
    elif kind == "engine-queue":
        queue = quiet(lambda: cf.audit(path)).review_queue(
            budget=300, strategy="stratified", seed=1
        )
    elif kind == "lowest":
        queue = memory.review_queue(n=100)
    else:
        queue = df.sample(200, random_state=4)[["id"]]
    file = labels_file(df, queue, tmp_path_factory.mktemp("labels") / f"{kind}.csv")
    return quiet(lambda: cf.audit(df, labels=file)), quiet(lambda: cf.audit(path, labels=file))


@pytest.mark.parametrize("name", list(LABELLED))
def test_labelled_tables_equal_the_in_memory_audit(
    labelled: tuple[AuditReport, AuditReport], name: str
) -> None:
    memory, counted = labelled
    same(LABELLED[name](counted), LABELLED[name](memory), name)


def test_the_engine_queue_is_a_stratified_sample_reproducible_from_its_seed(
    randomized: tuple[pd.DataFrame, Path],
) -> None:
    df, path = randomized
    memory = quiet(lambda: cf.audit(df))
    counted = quiet(lambda: cf.audit(path))
    queue = counted.review_queue(budget=300, strategy="stratified", seed=5)
    again = quiet(lambda: cf.audit(polars.scan_parquet(path))).review_queue(
        budget=300, strategy="stratified", seed=5
    )
    pd.testing.assert_frame_equal(queue, again)  # the same draw on another engine
    inside = memory.review_queue(budget=300, strategy="stratified", seed=5)
    # the same design (strata, sizes, allocation, frame): only the jobs drawn differ
    design = ["design.stratum", "design.stratum_size", "design.population", "design.frame"]
    want = inside[design].sort_values(design).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        queue[design].sort_values(design).reset_index(drop=True), want, check_dtype=False
    )
    done = df[df["status"].str.upper().eq("COMPLETED") & df["fetch_error"].isna()]
    assert set(queue["id"]) <= set(done["id"])


@pytest.mark.parametrize("strategy", ["lowest", "margin"])
def test_lowest_and_margin_queues_pick_the_in_memory_jobs(
    randomized: tuple[pd.DataFrame, Path], strategy: Any
) -> None:
    df, path = randomized
    memory = quiet(lambda: cf.audit(df)).review_queue(n=60, strategy=strategy)
    counted = quiet(lambda: cf.audit(path)).review_queue(n=60, strategy=strategy)
    assert counted["id"].tolist() == memory["id"].tolist()
    columns = ["result.type", "result.confidence", "design.strategy", "design.population"]
    pd.testing.assert_frame_equal(counted[columns], memory[columns], check_dtype=False)


def test_a_second_round_leaves_the_labelled_jobs_out(
    labelled: tuple[AuditReport, AuditReport],
) -> None:
    _, counted = labelled
    if counted.sample is None:
        pytest.skip("no random sample among these labels")
    done = counted.jobs["completed"].to_numpy(bool)
    taken = set(counted.jobs.loc[done, "id"].iloc[counted.sample.rows])
    queue = counted.review_queue(budget=200, strategy="stratified", seed=9)
    assert not taken & set(queue["id"])


def test_what_needs_every_job_is_refused_naming_why(
    randomized: tuple[pd.DataFrame, Path],
) -> None:
    counted = quiet(lambda: cf.audit(randomized[1]))
    calls: dict[str, Callable[[], Any]] = {
        "reclassified": lambda: counted.reclassified,
        "flips": lambda: counted.flips(),
    }
    for name, call in calls.items():
        assert REFUSED[name]
        with pytest.raises(NotImplementedError, match=re.escape(f"{name} is not available")):
            call()
    with pytest.raises(ValueError, match="a day or more"):
        counted.drift("h")
    with pytest.raises(TypeError, match="baseline period"):
        counted.drift("M", ("2026-01-01", "2026-02-01"))
    with pytest.raises(ValueError, match="join_on='document'"):
        cf.audit(randomized[1], join_on="document")
    with pytest.raises(ValueError, match="by='x'"):
        cf.audit(randomized[1], by="x")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    """The emulator's jobs exported over loopback, partitioned by month and status."""
    root = tmp_path_factory.mktemp("exported") / "jobs"
    with cf.Emulator(jobs=3_000, seed=3) as emu:
        cf.export_jobs(
            path=root,
            partition_by=("created_month", "status"),
            base_url=emu.base_url,
            api_key=emu.api_key,
            progress=False,
        )
    return cf.read_parquet(root), root


def test_the_emulator_export_audits_the_same_from_cells(
    exported: tuple[pd.DataFrame, Path], tmp_path: Path
) -> None:
    df, root = exported
    memory = quiet(lambda: cf.audit(df))
    counted = quiet(lambda: cf.audit(root))
    for name in UNLABELLED:
        same(getattr(counted, name), getattr(memory, name), name)
    same(counted.drift("M"), memory.drift("M"), "drift")
    same(list(counted.findings), list(memory.findings), "findings")
    queue = memory.review_queue(budget=200, strategy="stratified", seed=2)
    file = labels_file(df, queue, tmp_path / "labels.csv")
    memory = quiet(lambda: cf.audit(df, labels=file))
    counted = quiet(lambda: cf.audit(root, labels=file))
    assert counted.sample is not None and counted.sample.kind == "stratified"
    for name, get in LABELLED.items():
        same(get(counted), get(memory), name)


@pytest.mark.spark
def test_a_pyspark_dataframe_audits_the_same_as_in_memory(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path
) -> None:
    """PySpark in local mode (Java 17): the unlabelled and labelled tables, and the engine's
    queue is the DuckDB one."""
    pyspark_sql = pytest.importorskip(
        "pyspark.sql", reason="pyspark is not installed (pip install 'classify-frames[spark]')"
    )
    df, path = randomized
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("classify-frames-audit")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    try:
        jobs = spark.read.parquet(str(path))
        memory = quiet(lambda: cf.audit(df))
        counted = quiet(lambda: cf.audit(jobs))
        assert counted.cells.engine == "pyspark"  # type: ignore[attr-defined]
        for name in UNLABELLED:
            same(getattr(counted, name), getattr(memory, name), name)
        queue = counted.review_queue(budget=150, strategy="stratified", seed=1)
        duck = quiet(lambda: cf.audit(path)).review_queue(budget=150, strategy="stratified", seed=1)
        pd.testing.assert_frame_equal(queue, duck)
        file = labels_file(df, queue, tmp_path / "labels.csv")
        memory = quiet(lambda: cf.audit(df, labels=file))
        counted = quiet(lambda: cf.audit(jobs, labels=file))
        for name, get in LABELLED.items():
            same(get(counted), get(memory), name)
    finally:
        spark.stop()


def test_labels_of_its_own_queue_need_no_second_read(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``with_labels`` on the labels of the report's own queue reuses the jobs the draw read
    (no scan for them), and gives the tables of a fresh audit with those labels."""
    df, path = randomized
    counted = quiet(lambda: cf.audit(path))
    queue = counted.review_queue(budget=200, strategy="stratified", seed=4)
    file = labels_file(df, queue, tmp_path / "labels.csv")
    fresh = quiet(lambda: cf.audit(path, labels=file))

    def no_scan(*args: Any) -> None:
        raise AssertionError("read the labelled jobs again")

    monkeypatch.setattr("classify_frames.auditing._sources.labelled_rows", no_scan)
    again = quiet(lambda: counted.with_labels(file))
    for name, get in LABELLED.items():
        same(get(again), get(fresh), name)


def numbers(page: str) -> dict[str, list[tuple[str, str, str, str]]]:
    """The page's numeric cells per source table: (row, column, value, text as written)."""
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for cell in parse(page).cells:
        row = (cell["row"], cell["data-col"], cell["data-value"], cell["text"])
        out.setdefault(cell["source"], []).append(row)
    return out


def same_value(got: str, want: str) -> bool:
    try:
        return float(got) == pytest.approx(float(want), rel=1e-12, abs=1e-15, nan_ok=True)
    except ValueError:
        return got == want


@pytest.mark.parametrize("kind", ["unlabelled", "labelled"])
def test_the_html_report_and_its_figures_come_from_cells(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path, kind: str
) -> None:
    """``to_html()`` on a DuckDB path: every number of the in-memory report's page, but the
    reclassified documents', which the page says are not available and why; the histograms'
    counts and the figures are the in-memory ones."""
    from classify_frames.auditing import _plots

    df, path = randomized
    file = None
    if kind == "labelled":
        queue = quiet(lambda: cf.audit(df)).review_queue(budget=300, strategy="stratified", seed=1)
        file = labels_file(df, queue, tmp_path / "labels.csv")
    memory = quiet(lambda: cf.audit(df, labels=file))
    counted = quiet(lambda: cf.audit(path, labels=file))
    assert _plots.histogram_types(counted.jobs) == _plots.histogram_types(memory.jobs)
    want = _plots.histogram_counts(memory.jobs)
    got = _plots.histogram_counts(counted.jobs)
    assert list(got) == list(want)
    for name in want:
        pd.testing.assert_series_equal(got[name], want[name], obj=name)
    assert list(counted.figures()) == list(memory.figures())
    # Jupyter's view: the findings and the same headline figure (as PNG)
    images = [re.findall(r"base64,([^\"]+)", r._repr_html_()) for r in (counted, memory)]
    assert images[0] == images[1] and len(images[0]) == 1
    pages = {}
    for name, report in (("memory", memory), ("counted", counted)):
        written = report.to_html(tmp_path / f"{name}.html")
        pages[name] = written.read_text(encoding="utf-8")
    refused = "not compared: reclassified is not available for jobs counted in cells"
    assert refused in pages["counted"] and refused not in pages["memory"]
    assert pages["counted"].count("a join over every job") >= 3  # the sentence, both tables
    want_numbers, got_numbers = numbers(pages["memory"]), numbers(pages["counted"])
    skipped = {"report.reclassified", "report.flips()"}
    assert set(got_numbers) == set(want_numbers) - skipped
    assert "report.summary" in got_numbers and "report.by_type" in got_numbers
    for source, cells in want_numbers.items():
        if source in skipped:
            continue
        assert len(got_numbers[source]) == len(cells), source
        for (row, col, value, text), (row2, col2, value2, text2) in zip(
            got_numbers[source], cells, strict=True
        ):
            where = f"{source} row {row2} {col2}"
            assert (row, col, text) == (row2, col2, text2), where
            assert same_value(value, value2), where


@pytest.mark.parametrize("kind", ["unlabelled", "labelled"])
def test_a_margin_plan_from_cells_is_the_in_memory_plan(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path, kind: str
) -> None:
    """``plan_labels(margin=...)``: the per-stratum plan and its sentence of the in-memory
    audit, the queue drawn in the engine with the same design (only the jobs drawn differ,
    none of them labelled before)."""
    df, path = randomized
    file = None
    if kind == "labelled":
        queue = quiet(lambda: cf.audit(df)).review_queue(budget=300, strategy="stratified", seed=1)
        file = labels_file(df, queue, tmp_path / "labels.csv")
    memory = quiet(lambda: cf.audit(df, labels=file))
    counted = quiet(lambda: cf.audit(path, labels=file))
    for margin in (0.02, 0.05):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AuditWarning)
            want = memory.plan_labels(margin=margin, seed=3)
            got = counted.plan_labels(margin=margin, seed=3)
        same(got.attrs["plan"], want.attrs["plan"], "plan")
        assert str(got.attrs["summary"]) == str(want.attrs["summary"])
        design = [c for c in want.columns if c.startswith("design.")]
        assert [c for c in got.columns if c.startswith("design.")] == design
        pd.testing.assert_frame_equal(
            got[design].sort_values(design).reset_index(drop=True),
            want[design].sort_values(design).reset_index(drop=True),
            check_dtype=False,
        )
        if counted.sample is not None:
            done = counted.jobs["completed"].to_numpy(bool)
            taken = set(counted.jobs.loc[done, "id"].iloc[counted.sample.rows])
            assert not taken & set(got["id"])


@pytest.mark.parametrize("kind", ["unlabelled", "labelled"])
def test_a_target_plan_from_cells_simulates_the_in_memory_plan(
    randomized: tuple[pd.DataFrame, Path], tmp_path: Path, kind: str
) -> None:
    """``plan_labels(target_accuracy=...)`` over cells: the same posterior, candidate
    threshold, expected accuracy and coverage as in memory (exact); its rounds draw other jobs
    (a cell's jobs, not rows), so the size and the chance are the in-memory ones within the
    simulation's noise; the queue is drawn in the engine."""
    df, path = randomized
    file = None
    if kind == "labelled":
        queue = quiet(lambda: cf.audit(df)).review_queue(budget=300, strategy="stratified", seed=1)
        file = labels_file(df, queue, tmp_path / "labels.csv")
    memory = quiet(lambda: cf.audit(df, labels=file))
    counted = quiet(lambda: cf.audit(path, labels=file))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        want = memory.plan_labels(target_accuracy=0.3, seed=3)
        got = counted.plan_labels(target_accuracy=0.3, seed=3)
    mine, theirs = got.attrs["plan"], want.attrs["plan"]
    assert mine.attrs["candidate"] == theirs.attrs["candidate"]
    key = next(k for k in memory._plan_chances if k[-1] == "expected")[:-1]
    for name in ("candidate", "expected", "coverage", "reachable"):
        assert counted._plan_chances[(*key, name)] == pytest.approx(
            memory._plan_chances[(*key, name)], rel=1e-12
        ), name
    same(mine[["jobs", "labelled", "correct"]], theirs[["jobs", "labelled", "correct"]], "plan")
    planned, wanted = int(mine["planned"].sum()), int(theirs["planned"].sum())
    assert abs(planned - wanted) <= 0.35 * wanted, (planned, wanted)
    assert mine.attrs["chance"] == pytest.approx(theirs.attrs["chance"], abs=0.15)
    assert len(got) == int(mine["more"].sum())
    assert set(got["id"]) <= set(df["id"])


def test_stuck_jobs_from_the_engine_name_the_oldest_as_in_memory(tmp_path: Path) -> None:
    """The stuck-jobs sentence from one engine query: the count, the oldest's time and, among
    equally old jobs, the smallest id (in memory too, whatever the rows' order)."""
    at = pd.Timestamp("2026-03-01 09:00", tz="UTC")
    df = pd.DataFrame(
        {
            "id": ["c", "b", "a", "d", "e", "f"],
            "status": ["RUNNING", "PENDING", "RUNNING", "RUNNING", "COMPLETED", "PENDING"],
            "created_at": [
                at + pd.Timedelta(hours=2),
                at,
                at,
                at + pd.Timedelta(hours=30),
                at,
                pd.NaT,
            ],
            "result.type": [None, None, None, None, "invoice", None],
            "result.confidence": [np.nan, np.nan, np.nan, np.nan, 0.9, np.nan],
        }
    )
    path = write(df, tmp_path / "jobs.parquet")
    memory = cf.audit(df).findings
    counted = cf.audit(path).findings
    [stuck] = [s for s in counted if "stuck" in s]
    assert stuck.startswith("3 jobs have been PENDING or RUNNING for more than 1 hour(s)")
    assert "the oldest, a, was created 30 hours before the newest job of the frame" in stuck
    assert list(counted) == list(memory)
    assert not [s for s in cf.audit(df.iloc[[3, 4]]).findings if "stuck" in s]
    young = write(df.iloc[[0, 3, 4]], tmp_path / "young.parquet")  # c is 28 hours old
    assert list(cf.audit(young).findings) == list(cf.audit(df.iloc[[0, 3, 4]]).findings)
    # a file written by cf.to_parquet keeps the fetch time: the stuck jobs are judged at it
    df.attrs["classify_frames"] = {"fetched_at": "2026-03-05T09:00:00+00:00"}
    fetched = cf.to_parquet(df, tmp_path / "fetched.parquet")
    memory = cf.audit(cf.read_parquet(fetched)).findings
    counted = cf.audit(fetched).findings
    [stuck] = [s for s in counted if "stuck" in s]
    assert (
        "4 jobs have been" in stuck
        and "the oldest, a, was created 4 days before the fetch" in stuck
    )
    assert list(counted) == list(memory)


def test_weighted_order_statistics_are_those_of_the_expanded_values() -> None:
    """numpy's percentiles and pandas' median and quantiles of weighted rows equal the
    libraries' own on the rows repeated by their weights (ties, NaN, one value, even counts)."""
    from classify_frames.auditing._weighted import median, numpy_percentiles, pandas_quantile

    rng = np.random.default_rng(0)
    for _ in range(300):
        size = int(rng.integers(1, 12))
        values = rng.choice([0.1, 0.5, 0.5, 0.9, 0.95, 1.0, np.nan], size)
        weights = rng.integers(0, 6, size)
        expanded = pd.Series(np.repeat(values, weights)).dropna()
        if expanded.empty:
            assert math.isnan(median(values, weights))
            continue
        percents = [10.0, 25.0, 50.0, 75.0, 90.0]
        assert numpy_percentiles(values, weights, percents) == list(
            np.percentile(expanded.to_numpy(), percents)
        )
        groups = pd.Series(0, index=expanded.index)
        assert median(values, weights) == expanded.groupby(groups).median().iloc[0]
        for q in (0.1, 0.9):
            got = pandas_quantile(values, weights, q)
            assert got == pytest.approx(expanded.groupby(groups).quantile(q).iloc[0], abs=1e-15)
