"""Findings that never overstate: the evidence rules of :mod:`classify_frames.auditing._evidence`
(few labels, drift from few labels, types compared with Holm), missing labels (a reviewer who
skips the jobs the classifier got wrong), and a queue drawn on another frame; with small
simulations of the rules' false-alarm rates."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np
import pandas as pd
import pytest
from audit_simulation import Population, skewed_population

import classify_frames as cf
from classify_frames.auditing import AuditWarning
from classify_frames.auditing._data import AuditData, AuditView
from classify_frames.auditing._evidence import MIN_GROUP_LABELS, benjamini_hochberg, holm
from classify_frames.auditing._findings import type_sentences
from classify_frames.auditing._sample import LabelledSample
from classify_frames.auditing._tables import drift


@pytest.fixture(scope="module")
def pop() -> Population:
    return skewed_population(6_000, seed=5)


def filled(pop: Population, queue: pd.DataFrame) -> pd.DataFrame:
    truth = pop.labels.set_index("id")["label"]
    return queue.assign(label=truth[queue["id"]].to_numpy())


def quietly(pop: Population, labels: pd.DataFrame | Path) -> cf.AuditReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)
        return pop.report.with_labels(labels)


ZERO_WIDTH = re.compile(r"CI (\d+(?:\.\d+)?)%?–\1\b")


def overstated(found: list[str]) -> list[str]:
    """Sentences that claim more than a handful of labels allow."""
    return [
        s
        for s in found
        if ZERO_WIDTH.search(s)
        or "ECE" in s
        or "AUROC" in s
        or "less accurate than" in s
        or "least accurate" in s
    ]


@pytest.mark.parametrize("budget", [2, 10])
def test_findings_from_a_few_labels_claim_only_what_they_support(
    pop: Population, budget: int
) -> None:
    queue = filled(pop, pop.report.review_queue(strategy="stratified", budget=budget))
    report = quietly(pop, queue)
    found = list(report.findings)
    assert not overstated(found), found
    text = " ".join(found)
    assert f"From {budget} labels" in text  # the accuracy sentence says what it rests on
    assert f"not judged from {budget} labels" in text  # calibration: the rule, in words
    assert "No type is compared with the rest" in text
    # a number about the labelled jobs is never without its label count
    for sentence in found[1:]:
        if "%" in sentence and "accuracy" in sentence:
            assert "label" in sentence, sentence


def test_every_labelled_job_makes_the_figures_exact(pop: Population) -> None:
    report = quietly(pop, pop.labels)
    found = list(report.findings)
    text = " ".join(found)
    assert "exact" in text and not ZERO_WIDTH.search(text), found
    worst = [s for s in found if s.startswith("The least accurate type is")]
    assert len(worst) == 1 and "exact" in worst[0]


def test_findings_print_as_sentences(pop: Population) -> None:
    report = quietly(pop, filled(pop, pop.report.review_queue(strategy="stratified", budget=300)))
    printed = str(report.findings)
    assert printed.splitlines() == [f"- {s}" for s in report.findings]
    assert repr(report.findings) == printed
    assert report.findings._repr_html_().startswith("<ul")


def test_a_type_is_called_less_accurate_only_with_enough_labels(pop: Population) -> None:
    queue = filled(pop, pop.report.review_queue(strategy="stratified", budget=600))
    report = quietly(pop, queue)
    found = type_sentences(report)
    # the rare types of the skewed mix are far worse than the rest: shown, with the rule named
    named = [s for s in found if "less accurate than the rest" in s]
    assert named and all("Holm-adjusted" in s and "labels" in s for s in named), found
    truth = pd.Series(pop.correct).groupby(np.asarray(pop.names)[pop.strata]).mean()
    for sentence in named:
        kind = sentence.split(" is less accurate")[0]
        rest = pop.correct[np.asarray(pop.names)[pop.strata] != kind].mean()
        assert truth[kind] < rest


def test_drift_from_two_plus_eight_labels_raises_no_alarm() -> None:
    rng = np.random.default_rng(1)
    months = np.repeat(["2026-01-15", "2026-02-15", "2026-03-15"], 1000)
    frame = pd.DataFrame(
        {
            "id": [f"j{i}" for i in range(3000)],
            "status": "COMPLETED",
            "result.type": "invoice",
            "result.confidence": 0.9,
            "created_at": pd.to_datetime(months, utc=True),
        }
    )
    # a baseline of 2 + 8 labels (3 right), then a month of 100 labels all right
    base = (
        rng.choice(1000, 2, replace=False).tolist()
        + (1000 + rng.choice(1000, 8, replace=False)).tolist()
    )
    later = (2000 + rng.choice(1000, 100, replace=False)).tolist()
    label = ["invoice" if k < 3 else "receipt" for k in range(10)] + ["invoice"] * 100
    labels = pd.DataFrame({"id": [f"j{i}" for i in base + later], "label": label})
    report = cf.audit(frame, labels)
    table = report.drift(baseline=("2026-01-01", "2026-02-28"))
    march = table.iloc[-1]
    assert march["accuracy_change"] > 0.5  # a large estimated change ...
    assert "accuracy" not in march["reasons"]  # ... from too few labels to call (main: +70 pts)
    assert not march["accuracy_tested"] and march["baseline_labels"] == 10


def test_a_reviewer_who_skips_the_wrong_jobs(pop: Population, tmp_path: Path) -> None:
    queue = filled(pop, pop.report.review_queue(strategy="stratified", budget=300))
    said = queue["result.type"].fillna("none")
    queue.loc[said != queue["label"], "label"] = ""  # skipped: the hard (wrong) cases
    skipped = int((queue["label"] == "").sum())
    path = tmp_path / "skipped.csv"
    queue.to_csv(path, index=False)
    with pytest.warns(AuditWarning, match=f"{skipped} of the 300 jobs the queue drew have no"):
        report = pop.report.with_labels(path)
    assert report.sample is not None and len(report.sample.missing) == skipped
    assert report.accuracy == 1.0  # read as missing at random: every label right
    text = " ".join(report.findings)
    assert f"{skipped} of the 300 jobs drawn for labelling" in text and "Manski bounds" in text
    sentence = next(s for s in report.findings if "Manski" in s)
    found = re.findall(r"95% CI (\d+)–(\d+)% \(Manski bounds", sentence)[0]
    low, high = (float(v) / 100 for v in found)
    assert low <= pop.accuracy <= high  # the bounds hold the truth; the estimate does not
    method = report.recommend_threshold(0.9)["method"].iloc[0]
    assert f"{skipped} unlabelled drawn jobs counted wrong" in method
    # deleting the skipped rows from the file hides nothing: the design counts them
    kept = queue[queue["label"] != ""]
    with pytest.warns(AuditWarning, match=f"{skipped} of the 300 jobs"):
        again = pop.report.with_labels(kept)
    assert again.sample is not None and len(again.sample.missing) == skipped


def test_a_queue_from_another_frame(pop: Population) -> None:
    half = cf.audit(pop.frame.iloc[: len(pop.frame) // 2])
    queue = filled(pop, half.review_queue(strategy="stratified", budget=300))
    with pytest.warns(AuditWarning, match="drawn on another frame"):
        report = pop.report.with_labels(queue)
    assert report.sample is not None and report.sample.kind == "other frame"
    assert report.recommend_threshold(0.8)["method"].str.contains("another frame").all()
    assert any("drawn on another frame" in s for s in report.findings)
    assert not any("accuracy is" in s for s in report.findings)
    # the same frame in another order is the same frame
    same = cf.audit(pop.frame.iloc[::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = same.with_labels(
            filled(pop, pop.report.review_queue(strategy="stratified", budget=300))
        )
    assert again.sample is not None and again.sample.kind == "stratified"


def test_holm_matches_a_reference() -> None:
    from scipy.stats import false_discovery_control  # BH only; Holm by its definition

    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    expected = np.array([0.03, 0.06, 0.06, 0.02, np.nan])
    assert np.allclose(holm(p), expected, equal_nan=True)
    assert (holm(p[:4]) >= false_discovery_control(p[:4])).all()  # Holm is the stricter
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.random(12) ** 3
        assert np.allclose(benjamini_hochberg(q), false_discovery_control(q))


# -- the rules' false alarms, by simulation ------------------------------------------------


def _typed_view(kinds: np.ndarray, correct: np.ndarray, rows: np.ndarray) -> AuditView:
    names = ["a", "b", "c", "d", "e", "f"]
    jobs = pd.DataFrame(
        {
            "completed": True,
            "type": pd.Categorical.from_codes(kinds, categories=pd.Index(names)),
            "confidence": 0.9,
            "created_at": pd.NaT,
        }
    )
    sample = LabelledSample(kinds.astype(np.int64), rows, names, "stratified")
    data = AuditData(
        jobs=jobs,
        rules={},
        threshold=0.8,
        truth=pd.Series(["x"] * len(kinds)),
        sample=sample,
        correct=correct[rows],
    )
    return cast(AuditView, SimpleNamespace(data=data))


def test_less_accurate_types_keep_the_family_wise_error() -> None:
    rng = np.random.default_rng(0)
    n_jobs, reps, per_type = 6_000, 300, 30
    kinds = rng.choice(6, size=n_jobs, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
    false_alarms = found = 0
    for _ in range(reps):
        null = (rng.random(n_jobs) < 0.85).astype(float)  # every type 85% accurate
        worse = np.where(kinds == 5, rng.random(n_jobs) < 0.55, null > 0).astype(float)
        rows = np.concatenate(
            [rng.choice(np.flatnonzero(kinds == t), per_type, replace=False) for t in range(6)]
        )
        assert per_type >= MIN_GROUP_LABELS
        false_alarms += any(
            " is less accurate than" in s for s in type_sentences(_typed_view(kinds, null, rows))
        )
        found += any(
            s.startswith("f is less accurate")
            for s in type_sentences(_typed_view(kinds, worse, rows))
        )
    # family-wise error at most 5% (within Monte Carlo error), and a real gap is found
    print(f"types: false alarms {false_alarms / reps:.3f}, power {found / reps:.3f}")
    assert false_alarms / reps <= 0.05 + 2 * (0.05 * 0.95 / reps) ** 0.5
    assert found / reps >= 0.6  # 55% against 85% from 30 labels: z about 3, Holm over 6


def test_drift_accuracy_alarms_keep_the_family_wise_error() -> None:
    rng = np.random.default_rng(2)
    months, per_month, reps, alpha = 8, 500, 200, 0.05
    created = pd.to_datetime(
        np.repeat([f"2026-{m:02d}-10" for m in range(1, months + 1)], per_month), utc=True
    )
    n = months * per_month
    jobs = pd.DataFrame(
        {
            "completed": True,
            "type": pd.Categorical(np.where(rng.random(n) < 0.7, "a", "b")),
            "confidence": 0.9,
            "created_at": created,
        }
    )
    kinds = jobs["type"].cat.codes.to_numpy(np.int64)
    alarms = 0
    for _ in range(reps):
        correct = (rng.random(n) < np.where(kinds == 0, 0.9, 0.7)).astype(float)  # no change
        rows = np.sort(rng.choice(n, 400, replace=False))
        sample = LabelledSample(kinds, rows, ["a", "b"], "random")
        truth = pd.Series(np.full(n, None, dtype=object))
        truth[rows] = "x"
        table = drift(jobs, 0.8, "M", None, truth, 200, alpha, sample, correct[rows])
        alarms += bool(table["reasons"].str.contains("accuracy").any())
    print(f"drift: false alarms {alarms / reps:.3f} at alpha {alpha}")
    assert alarms / reps <= alpha + 2 * (alpha * (1 - alpha) / reps) ** 0.5


def test_findings_name_stuck_jobs_with_their_count_and_the_oldest() -> None:
    created = pd.to_datetime(
        ["2026-03-01 08:00", "2026-03-01 09:00", "2026-03-02 11:30", "2026-03-02 11:50"], utc=True
    )
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "status": ["COMPLETED", "PENDING", "RUNNING", "RUNNING"],
            "result.type": ["invoice", None, None, None],
            "result.confidence": [0.9, None, None, None],
            "created_at": created,
        }
    )
    frame.attrs["classify_frames"] = {"fetched_at": "2026-03-02T12:00:00+00:00"}
    found = cf.audit(frame).findings
    [stuck] = [s for s in found if "stuck" in s]
    # c and d are younger than an hour at the fetch: only b is stuck, a day and 3 hours old
    assert stuck.startswith("1 job has been PENDING or RUNNING for more than 1 hour(s)")
    assert "the oldest, b, was created 27 hours before the fetch (2026-03-01 09:00 UTC)" in stuck
    frame.attrs["classify_frames"] = {"fetched_at": "2026-03-01T09:30:00+00:00"}
    assert not [s for s in cf.audit(frame).findings if "stuck" in s]


def test_bounds_hold_the_truth_when_reviewers_skip_the_hard_cases() -> None:
    from classify_frames.auditing._sample import bounds, share

    rng = np.random.default_rng(4)
    n_jobs, reps = 5_000, 300
    strata = rng.choice(3, size=n_jobs, p=[0.6, 0.3, 0.1])
    right = (rng.random(n_jobs) < np.array([0.9, 0.75, 0.5])[strata]).astype(float)
    truth = right.mean()
    held = missed_at_random = 0
    for _ in range(reps):
        drawn = np.concatenate(
            [rng.choice(np.flatnonzero(strata == h), 60, replace=False) for h in range(3)]
        )
        skipped = (right[drawn] == 0) & (rng.random(len(drawn)) < 0.7)  # hard cases skipped
        sample = LabelledSample(
            strata.astype(np.int64), drawn[~skipped], ["a", "b", "c"], "stratified",
            missing=drawn[skipped],
        )  # fmt: skip
        low, high = bounds(sample, right[drawn[~skipped]])
        held += low.low <= truth <= high.high
        mar = share(sample, right[drawn[~skipped]])
        missed_at_random += not mar.low <= truth <= mar.high
    print(f"bounds hold the truth in {held / reps:.1%}; the MAR interval misses it in "
          f"{missed_at_random / reps:.1%}")  # fmt: skip
    assert held / reps >= 0.95 and missed_at_random / reps > 0.5


def test_stuck_jobs_without_a_fetch_time_are_judged_at_the_newest_job() -> None:
    created = pd.to_datetime(["2026-03-01 08:00", "2026-03-01 10:30"], utc=True)
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "status": ["PENDING", "COMPLETED"],
            "result.type": [None, "invoice"],
            "result.confidence": [None, 0.9],
            "created_at": created,
        }
    )
    [stuck] = [s for s in cf.audit(frame).findings if "stuck" in s]
    assert "the oldest, a, was created 2 hours before the newest job of the frame" in stuck
