"""The table part of a confidence audit of 1,000,000 jobs (with labels), and scikit-learn on
the same arrays for the metrics it has (precision/recall/F1, confusion matrix, Brier,
calibration curve), and the tables as a user would otherwise write them in pandas (a groupby or
crosstab of the names), each printed as seconds (ours | theirs) and their ratio.

    python benchmarks/bench_audit.py [--jobs 1000000] [--base 100000]

The frame is ``--base`` emulator jobs repeated (with fresh ids and documents) up to ``--jobs``,
which keeps the emulator's distributions without spending a minute generating JSON.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, confusion_matrix, precision_recall_fscore_support

import classify_frames as cf
from classify_frames.auditing import NO_MATCH
from classify_frames.auditing._stats import calibration_table
from classify_frames.auditing._tables import confusion
from classify_frames.emulator import Dataset


def timed(name: str, run) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall and CPU seconds of ``run()`` (CPU time is the steadier figure on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {name:<42} {wall:7.3f} s wall {cpu:7.3f} s CPU", flush=True)
    return wall, cpu


def frame(jobs: int, base: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = Dataset.generate(base, seed=0)
    one, truth = cf.jobs_to_frame(ds.jobs()), ds.labels()
    copies = -(-jobs // base)
    parts, labels = [], []
    for k in range(copies):
        suffix = f"-{k}"
        parts.append(
            one.assign(
                id=one["id"] + suffix,
                file_input=one["file_input"] + suffix,
            )
        )
        labels.append(truth.assign(id=truth["id"] + suffix))
    df = pd.concat(parts, ignore_index=True).iloc[:jobs]
    return df, pd.concat(labels, ignore_index=True).iloc[:jobs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--base", type=int, default=100_000)
    args = parser.parse_args()
    df, labels = frame(args.jobs, args.base)
    print(f"{len(df):,} jobs, {len(labels):,} labels")
    warnings.simplefilter("ignore")
    report: cf.AuditReport | None = None

    def build() -> None:
        nonlocal report
        report = cf.audit(df, labels)

    totals = [timed("audit(df, labels) (prepare, join)", build)]
    assert report is not None
    r = report
    # every table of the report (what to_html renders, without the plots), in its order
    steps = {
        "summary": lambda: r.summary,
        "by_type (P/R/F1, ECE, Brier per type)": lambda: r.by_type,
        "recommend_threshold": lambda: r.recommend_threshold(),
        "status, errors": lambda: (r.status, r.errors),
        "confusion": lambda: r.confusion,
        "calibration": lambda: r.calibration(),
        "risk_coverage": lambda: r.risk_coverage,
        "disagreements": lambda: r.disagreements,
        "drift (monthly)": lambda: r.drift("M"),
        "by_configuration + mix": lambda: (r.by_configuration, r.configuration_mix),
        "rule_changes, unused, unknown": lambda: (r.rule_changes, r.unused_rules, r.unknown_types),
        "reclassified + flips": lambda: (r.reclassified, r.flips()),
        "review_queue (lowest)": lambda: r.review_queue(25),
    }
    totals += [timed(name, run) for name, run in steps.items()]
    wall, cpu = (sum(t[i] for t in totals) for i in (0, 1))
    print(f"table part of the audit of {len(df):,} jobs: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print("more, on demand:")
    extras = {
        "drift (weekly)": lambda: r.drift("W"),
        "calibration (uniform, quantile)": lambda: [
            r.calibration(b) for b in ("uniform", "quantile")
        ],
        "review_queue (stratified, margin)": lambda: [
            r.review_queue(50, s) for s in ("stratified", "margin")
        ],
    }
    for name, run in extras.items():
        timed(name, run)

    print("from a labelled sample (a 400-label stratified queue through a CSV file):")
    base = cf.audit(df)
    truth = labels.set_index("id")["label"]
    path = Path(tempfile.mkdtemp()) / "queue.csv"

    def label_queue() -> None:
        queue = base.review_queue(strategy="stratified", budget=400)
        queue.assign(label=truth[queue["id"]].to_numpy()).to_csv(path, index=False)

    sampled: list[cf.AuditReport] = []
    timed("review_queue(budget=400) + CSV", label_queue)
    timed(
        "with_labels(queue.csv) (design read back)", lambda: sampled.append(base.with_labels(path))
    )
    s = sampled[0]
    timed("accuracy_ci", lambda: s.accuracy_ci)
    timed("recommend_threshold (certified)", lambda: s.recommend_threshold(0.9))
    timed("ece_ci + auroc_ci (bootstrap, 1,000)", lambda: (s.ece_ci, s.auroc_ci))
    timed("findings", lambda: s.findings)
    timed("plan_labels(target_accuracy=0.9)", lambda: s.plan_labels(target_accuracy=0.9))

    y_true, y_pred, conf = r._labelled
    correct = y_true == y_pred
    has = ~np.isnan(conf)
    order = list(r.by_type.index)
    assert NO_MATCH in order
    print("the metrics scikit-learn also has, on the same arrays (ours | scikit-learn):")
    pairs = {
        "confusion matrix": (
            lambda: confusion(y_true, y_pred, order),
            lambda: confusion_matrix(y_true, y_pred, labels=order),
        ),
        "precision, recall, F1, support": (
            lambda: confusion(y_true, y_pred, order),  # ours derives them from the matrix
            lambda: precision_recall_fscore_support(y_true, y_pred, labels=order, zero_division=0),
        ),
        "Brier (top-label)": (
            lambda: float(np.mean((conf[has] - correct[has]) ** 2)),
            lambda: brier_score_loss(correct[has], conf[has]),
        ),
        "calibration curve (uniform, 10 bins)": (
            lambda: calibration_table(conf[has], correct[has], "uniform"),
            lambda: calibration_curve(correct[has], conf[has], n_bins=10),
        ),
    }
    for name, (ours, theirs) in pairs.items():
        a, b = _once(ours), _once(theirs)
        print(f"  {name:<42} {a:7.3f} s | {b:7.3f} s   {b / a:5.1f}x", flush=True)

    print("tables a user would otherwise write in pandas (groupby/crosstab of the names):")
    fresh = cf.audit(df, threshold=0.9)
    plain = _plain(df)
    versus = {
        "by_type (count, confidence stats)": (
            lambda: fresh.by_type,
            lambda: _naive_by_type(plain),
        ),
        "by_configuration + configuration_mix": (
            lambda: (fresh.by_configuration, fresh.configuration_mix),
            lambda: _naive_by_configuration(plain),
        ),
        "drift (ours: all of it; pandas: type mix)": (
            lambda: fresh.drift("M"),
            lambda: _naive_type_mix(plain),
        ),
        "reclassified documents (latest type)": (
            lambda: fresh.reclassified,
            lambda: _naive_reclassified(plain),
        ),
    }
    for name, (ours, theirs) in versus.items():
        a, b = _once(ours), _once(theirs)
        print(f"  {name:<42} {a:7.3f} s | {b:7.3f} s   {b / a:5.1f}x", flush=True)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """The completed jobs with their names as plain Python strings, as one would start."""
    done = df[df["status"] == "COMPLETED"]
    return pd.DataFrame(
        {
            "type": done["result.type"].astype(object).fillna(NO_MATCH),
            "confidence": done["result.confidence"].astype(float),
            "configuration_id": done["configuration_id"].astype(object).fillna("(none)"),
            "rules": done["configuration.rules"].map(lambda r: repr(list(r))),
            "document": done["file_input"].astype(object),
            "created_at": done["created_at"],
        }
    )


def _naive_by_type(rows: pd.DataFrame) -> pd.DataFrame:
    grouped = rows.groupby("type")["confidence"]
    stats = [grouped.size(), grouped.mean(), grouped.median(), grouped.quantile(0.1)]
    return pd.concat(stats, axis=1)


def _naive_by_configuration(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = [rows["configuration_id"], rows["rules"]]
    table = rows.groupby(keys)["confidence"].agg(["size", "mean", "median"])
    return table, pd.crosstab(keys, rows["type"], normalize="index")


def _naive_type_mix(rows: pd.DataFrame) -> pd.DataFrame:
    month = rows["created_at"].dt.tz_convert(None).dt.to_period("M")
    return pd.crosstab(month, rows["type"], normalize="index")


def _naive_reclassified(rows: pd.DataFrame) -> pd.Series:
    latest = rows.sort_values("created_at").drop_duplicates(["document", "rules"], keep="last")
    again = latest[latest["document"].duplicated(keep=False)]
    by_doc = again.pivot(index="document", columns="rules", values="type")
    return by_doc.notna().sum()


def _once(run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
