"""The audit on hand-made frames: metrics against scikit-learn, and clear answers on edge cases."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    brier_score_loss,
    confusion_matrix,
    precision_recall_fscore_support,
)

import classify_frames as cf
from classify_frames.auditing import NO_MATCH, AuditReport, AuditWarning
from classify_frames.auditing._stats import wilson_interval

TYPES = ["invoice", "receipt", "contract"]
SCORES = [0.6, 0.7, 0.8, 0.9, 0.95, 0.99]
RULES_V1 = [{"type": t, "description": f"A document that is a {t}."} for t in TYPES]


def make_jobs(n: int = 600, seed: int = 0, **overrides: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Jobs with a known truth: errors more likely on 'receipt', a few no-matches and failures."""
    rng = np.random.default_rng(seed)
    jobs, labels = [], []
    for i in range(n):
        truth = TYPES[rng.integers(3)] if rng.random() > 0.1 else "none"
        conf = float(rng.choice(SCORES))
        right = rng.random() < conf - (0.35 if truth == "receipt" else 0.05)
        pred = (
            (truth if truth != "none" else None)
            if right
            else rng.choice(np.array([*TYPES, None], dtype=object))
        )
        status = "FAILED" if rng.random() < 0.05 else "COMPLETED"
        job: dict[str, Any] = {
            "id": f"job-{i:05d}",
            "status": status,
            "configuration_id": "cfg-1",
            "configuration": {"rules": RULES_V1},
            "document_input_value": f"doc-{i:05d}.pdf",
            "created_at": f"2026-{1 + i * 6 // n:02d}-{1 + i % 27:02d}T10:00:00Z",
        }
        if status == "COMPLETED":
            job["result"] = {"type": pred, "confidence": conf, "reasoning": f"reason {i}"}
        else:
            job["error_message"] = ["parse timeout", "bad file"][i % 2]
        job.update(overrides)
        jobs.append(job)
        labels.append({"id": job["id"], "label": truth})
    return cf.jobs_to_frame(jobs), pd.DataFrame(labels)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_jobs()


@pytest.fixture(scope="module")
def report(data: tuple[pd.DataFrame, pd.DataFrame]) -> AuditReport:
    return cf.audit(data[0], data[1], threshold=0.8)


def truth_and_pred(df: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    done = df[df["status"] == "COMPLETED"].merge(labels, on="id")
    return pd.DataFrame(
        {
            "y_true": done["label"].replace({"none": NO_MATCH}).astype(object),
            "y_pred": done["result.type"].astype(object).fillna(NO_MATCH),
            "conf": done["result.confidence"].astype(float),
        }
    )


def test_precision_recall_f1_support_match_sklearn(data: Any, report: AuditReport) -> None:
    ref = truth_and_pred(*data)
    order = list(report.by_type.index)
    p, r, f, s = precision_recall_fscore_support(
        ref["y_true"], ref["y_pred"], labels=order, zero_division=0
    )
    np.testing.assert_allclose(report.by_type["precision"], p)
    np.testing.assert_allclose(report.by_type["recall"], r)
    np.testing.assert_allclose(report.by_type["f1"], f)
    np.testing.assert_array_equal(report.by_type["support"], s)


def test_confusion_and_accuracy_match_sklearn(data: Any, report: AuditReport) -> None:
    ref = truth_and_pred(*data)
    order = list(report.confusion.index)
    assert NO_MATCH in order and order == list(report.confusion.columns)
    expected = confusion_matrix(ref["y_true"], ref["y_pred"], labels=order)
    np.testing.assert_array_equal(report.confusion.to_numpy(), expected)
    assert report.accuracy == pytest.approx(float((ref["y_true"] == ref["y_pred"]).mean()))


def test_brier_and_per_type_brier_match_sklearn(data: Any, report: AuditReport) -> None:
    ref = truth_and_pred(*data)
    correct = ref["y_true"] == ref["y_pred"]
    assert report.brier == pytest.approx(brier_score_loss(correct, ref["conf"]))
    for name, group in ref.groupby("y_pred"):
        hit = group["y_true"] == group["y_pred"]
        expected = brier_score_loss(hit, group["conf"]) if hit.nunique() > 1 else None
        if expected is not None:
            assert report.by_type["brier"][name] == pytest.approx(expected)


def test_overconfident_type_is_found(report: AuditReport) -> None:
    by_type = report.by_type
    assert by_type["label_gap"].idxmax() == "receipt"
    assert bool(by_type.loc["receipt", "overconfident"])


def test_risk_coverage_by_brute_force(data: Any, report: AuditReport) -> None:
    ref = truth_and_pred(*data)
    correct = ref["y_true"] == ref["y_pred"]
    table = report.risk_coverage
    assert list(table.index) == sorted(ref["conf"].unique())
    for t, row in table.iterrows():
        accepted = ref["conf"] >= t
        assert row["accepted"] == accepted.sum()
        assert row["accuracy"] == pytest.approx(correct[accepted].mean())
        assert row["coverage"] == pytest.approx(accepted.mean())
    # AURC: every job ranked by confidence, ties entering together
    steps = table.sort_index(ascending=False)
    added = np.diff(np.concatenate([[0.0], steps["coverage"].to_numpy()]))
    assert report.aurc == pytest.approx(float(np.sum(added * steps["risk"])))


def test_wilson_scan_is_lowest_meeting_wilson_bound(report: AuditReport) -> None:
    target = 0.8
    table = report.wilson_scan_threshold(target_accuracy=target)
    curve = report.risk_coverage
    lo, _ = wilson_interval(curve["accuracy"] * curve["labelled"], curve["labelled"])
    meets = curve[lo >= target]
    overall = table.loc["overall"]
    assert overall["threshold"] == meets.index.min()
    assert overall["accepted"] == meets["labelled"].iloc[0]
    assert overall["kept"] >= overall["accepted"]
    assert np.isnan(
        cast(float, report.wilson_scan_threshold(target_accuracy=1.0).loc["overall", "threshold"])
    )


def test_disagreements_are_confident_and_wrong(report: AuditReport, data: Any) -> None:
    table = report.disagreements
    labels = data[1].set_index("id")["label"].replace({"none": NO_MATCH})
    assert len(table) > 0 and (table["result.confidence"] >= 0.8).all()
    predicted = table["result.type"].fillna(NO_MATCH).astype(object)
    assert (predicted != labels[table["id"]].to_numpy()).all()


def test_summary_numbers(data: Any, report: AuditReport) -> None:
    df = data[0]
    summary = report.summary["value"]
    completed = df[df["status"] == "COMPLETED"]
    assert summary["jobs"] == len(df)
    assert summary["completed"] == len(completed)
    assert summary["no_match_rate"] == pytest.approx(completed["result.type"].isna().mean())
    assert summary["confidence_p50"] == completed["result.confidence"].quantile(0.5)
    assert summary["below_threshold"] == pytest.approx(
        (completed["result.confidence"] < 0.8).mean()
    )
    assert summary["top_error"] in {"parse timeout", "bad file"}


def test_review_queue_round_trip(tmp_path: Path, data: Any) -> None:
    df, labels = data
    report = cf.audit(df)
    queue = report.review_queue(n=5, strategy="stratified")
    assert queue["label"].eq("").all()
    assert queue.groupby(queue["result.type"].fillna(NO_MATCH).astype(object)).size().max() == 5
    lowest = report.review_queue(n=10)
    assert lowest["result.confidence"].is_monotonic_increasing
    margin = report.review_queue(n=10, strategy="margin")
    assert (margin["result.confidence"] - 0.8).abs().max() <= 0.1 + 1e-9
    truth = labels.set_index("id")["label"]
    queue.loc[:7, "label"] = truth[queue.loc[:7, "id"]].to_numpy()  # a human labels 8 of them
    path = tmp_path / "queue.csv"
    queue.to_csv(path, index=False)
    back = cf.audit(df, labels=path)  # labelled from the top: the rest were not reached
    assert back.summary.loc["labelled", "value"] == 8


def test_accessor_and_html(tmp_path: Path, data: Any) -> None:
    df, labels = data
    report = df.classify.audit(labels, threshold=0.9)
    assert isinstance(report, AuditReport) and report.threshold == 0.9
    html = report._repr_html_()
    assert "Findings" in html and "data:image/png;base64," in html
    out = report.to_html(tmp_path / "audit.html")
    page = out.read_text(encoding="utf-8")
    for title in ("auto-accept?", "wrong?", "calibrated?", "drift?", "rule change matter?"):
        assert title in page
    assert "<script" not in page and "http://" not in page  # self-contained, nothing to fetch
    assert [p.name for p in tmp_path.iterdir()] == ["audit.html"]  # no temp file left


def test_no_matplotlib_global_state_changed(data: Any) -> None:
    import matplotlib

    backend = matplotlib.get_backend()
    cf.audit(data[0], data[1]).figures()
    assert matplotlib.get_backend() == backend


def test_recalibrate_maps_to_observed_accuracy(data: Any, report: AuditReport) -> None:
    calibrator = report.recalibrate()
    calibrated = calibrator.transform(data[0])
    ref = truth_and_pred(*data)
    assert calibrated.index.equals(data[0].index)
    assert calibrated[data[0]["status"] != "COMPLETED"].isna().all()
    overall = calibrator.table[calibrator.table["rule_set"] == "(all)"]
    assert overall["calibrated"].is_monotonic_increasing
    # the pooled top score maps to its observed accuracy when no pooling was needed there
    top = ref[ref["conf"] == 0.99]
    assert overall["calibrated"].iloc[-1] <= 1.0
    assert abs(overall["calibrated"].iloc[-1] - (top["y_true"] == top["y_pred"]).mean()) < 0.2


# -- edge cases ---------------------------------------------------------------------------


def test_no_completed_jobs() -> None:
    df = cf.jobs_to_frame(
        [{"id": f"j{i}", "status": "FAILED", "error_message": "boom"} for i in range(3)]
    )
    report = cf.audit(df)
    assert report.summary.loc["completed", "value"] == 0
    assert np.isnan(report.summary["value"]["confidence_p50"])
    assert report.by_type.empty
    assert report.errors.loc["boom", "jobs"] == 3
    assert report.review_queue(5).empty
    assert "nothing to show" in report._repr_html_()
    with pytest.raises(ValueError, match="created_at"):
        report.drift()


def test_empty_frame() -> None:
    report = cf.audit(cf.empty_frame())
    assert report.summary.loc["jobs", "value"] == 0
    assert report.by_configuration.empty and report.rule_changes.empty


def test_all_one_type() -> None:
    df, labels = make_jobs(200)
    df["result.type"] = df["result.type"].where(df["status"] != "COMPLETED", "invoice")
    report = cf.audit(df, labels.assign(label="invoice"))
    assert list(report.by_type.index) == ["invoice"]
    assert report.accuracy == 1.0
    assert report.by_type.loc["invoice", "f1"] == 1.0


def test_no_labels_matching_names_the_join_key(data: Any) -> None:
    df, labels = data
    with pytest.raises(ValueError, match="join_on='file_input'") as info:
        cf.audit(df, labels.assign(id=labels["id"] + "-x"))
    assert "'id'" in str(info.value)
    by_doc = labels.assign(file_input=df["file_input"]).drop(columns="id")
    report = cf.audit(df, by_doc, join_on="file_input")
    assert report.accuracy == pytest.approx(cf.audit(df, labels).accuracy)


def test_label_errors_are_clear(data: Any, tmp_path: Path) -> None:
    df, labels = data
    with pytest.raises(ValueError, match="no 'label' column"):
        cf.audit(df, labels.rename(columns={"label": "truth"}))
    assert cf.audit(df, labels.rename(columns={"label": "truth"}), label_col="truth").accuracy
    with pytest.raises(FileNotFoundError, match="no such labels file"):
        cf.audit(df, tmp_path / "missing.csv")
    (tmp_path / "labels.xlsx").write_bytes(b"PK\x03\x04")  # a spreadsheet, as saved
    with pytest.raises(ValueError, match=r"must be a \.csv, .*labels\.xlsx.*save a spreadsheet"):
        cf.audit(df, tmp_path / "labels.xlsx")
    with pytest.raises(ValueError, match=r"blank.*fill in 'label'"):
        cf.audit(df, labels.assign(label=""))
    with pytest.raises(ValueError, match="no row; fill in 'label'"):  # an empty plan, saved
        cf.audit(df, labels.head(0))
    report = cf.audit(df)
    with pytest.raises(ValueError, match="needs ground truth"):
        _ = report.accuracy


def test_unknown_label_types_warn_and_count_as_misses(data: Any) -> None:
    df, labels = data
    odd = labels.copy()
    odd.loc[:9, "label"] = "mystery_type"
    with pytest.warns(AuditWarning, match="mystery_type"):
        report = cf.audit(df, odd)
    assert "mystery_type" in report.confusion.index
    assert report.by_type.loc["mystery_type", "recall"] == 0.0


def test_partial_labels_warn_about_unmatched(data: Any) -> None:
    df, labels = data
    extra = pd.concat([labels, pd.DataFrame({"id": ["ghost"], "label": ["invoice"]})])
    with pytest.warns(AuditWarning, match="1 of 601 labels match no job"):
        cf.audit(df, extra)


def test_nan_confidences_are_left_out_of_confidence_metrics(data: Any) -> None:
    df, labels = data
    holes = df.copy()
    holes.loc[::4, "result.confidence"] = np.nan
    report = cf.audit(holes, labels)
    completed = holes["status"] == "COMPLETED"
    assert report.summary.loc["confidence_missing", "value"] == int(
        (completed & holes["result.confidence"].isna()).sum()
    )
    assert report.risk_coverage["accepted"].iloc[0] == int(
        (completed & holes["result.confidence"].notna()).sum()
    )
    assert report.accuracy == pytest.approx(cf.audit(df, labels).accuracy)  # no confidence needed
    assert np.isfinite(report.ece) and np.isfinite(report.brier)


def test_minimal_frame_without_optional_columns() -> None:
    df = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "result.type": ["x", None, "y"],
            "result.confidence": [0.9, 0.5, 0.7],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = cf.audit(df, pd.DataFrame({"id": ["a", "b", "c"], "label": ["x", "none", "x"]}))
    assert report.accuracy == pytest.approx(2 / 3)
    assert report.by_configuration.empty or len(report.by_configuration) == 1
    assert "Drift" not in report.figures()
    assert report.review_queue(2)["id"].tolist() == ["b", "c"]


def test_nested_frame_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="nested=True"):
        cf.audit(cf.jobs_to_frame([{"id": "a", "result": {"type": "x"}}], nested=True))


def test_bad_options() -> None:
    df, _ = make_jobs(30)
    with pytest.raises(ValueError, match="threshold"):
        cf.audit(df, threshold=1.5)
    with pytest.raises(ValueError, match="strategy"):
        cf.audit(df).review_queue(strategy="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bins"):
        cf.audit(df, make_jobs(30)[1], bins="log").calibration()  # type: ignore[arg-type]


def test_rule_set_change_and_reclassification() -> None:
    v2 = [r for r in RULES_V1 if r["type"] != "contract"]
    v2 = [*v2, {"type": "credit_note", "description": "A credit note from a supplier."}]
    v2[0] = {"type": "invoice", "description": "A bill asking for payment."}
    old, _ = make_jobs(300, seed=1)
    new, _ = make_jobs(
        300,
        seed=2,
        configuration={"rules": v2},
        configuration_id="cfg-2",
        created_at="2026-08-01T00:00:00Z",
    )
    new["file_input"] = old["file_input"]  # every document done again
    new["id"] = new["id"] + "-v2"
    report = cf.audit(pd.concat([old, new], ignore_index=True))
    changes = report.rule_changes.set_index("type")["change"].to_dict()
    assert changes == {"contract": "removed", "credit_note": "added", "invoice": "edited"}
    assert report.rule_changes["to_configuration"].unique().tolist() == ["cfg-2"]
    assert set(report.unused_rules["type"]) == {"credit_note"}
    unknown = report.unknown_types
    assert set(unknown["type"]) == {"contract"}  # v2 jobs still answering a removed type
    both = (old["status"] == "COMPLETED") & (new["status"] == "COMPLETED")
    assert report.reclassified["documents"].iloc[0] == int(both.sum())
    flips = report.flips()
    assert int(flips.to_numpy().sum()) == int(both.sum())
    assert len(report.by_configuration) == 2


def test_a_key_labelled_twice_keeps_the_last_label_with_a_warning(data: Any) -> None:
    df, labels = data
    first = labels["id"].iloc[0]
    twice = pd.concat([pd.DataFrame({"id": [first], "label": ["mystery_type"]}), labels])
    with pytest.warns(AuditWarning, match="1 id\\(s\\) labelled more than once"):
        report = cf.audit(df, twice)
    assert report.accuracy == pytest.approx(cf.audit(df, labels).accuracy)


def test_an_auroc_interval_holding_chance_does_not_contradict_the_estimate() -> None:
    from types import SimpleNamespace

    from classify_frames.auditing._findings import confidence_sentences

    sample = SimpleNamespace(kind="stratified", labels=200, exact=False, nonresponse=0.0)
    data = SimpleNamespace(sample=sample, correct=np.r_[np.ones(150), np.zeros(50)])
    nan = float("nan")
    report = SimpleNamespace(
        data=data, auroc=0.75, auroc_ci=(0.50, 1.00), ece_debiased=nan, ece_ci=(nan, nan)
    )
    [sentence] = confidence_sentences(report)  # type: ignore[arg-type]
    assert sentence.startswith("Confidence separates right from wrong fairly well")
    assert "no better than chance" not in sentence
    assert "chance (0.5) is not ruled out" in sentence
