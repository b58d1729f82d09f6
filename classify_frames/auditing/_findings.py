"""The audit's answers as plain sentences with their numbers (``report.findings``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._prepare import NO_MATCH

if TYPE_CHECKING:
    from ._report import AuditReport

__all__ = ["Findings", "findings"]

#: Targets the findings certify a threshold for when none is given: the usual ones, highest
#: first.
TARGETS = (0.95, 0.9)


class Findings(list[str]):
    """``report.findings``: the sentences, certifying a threshold at the usual targets (95%,
    else 90%, with 95% confidence). Call it for the target that matters to you:

    >>> report.findings(target_accuracy=0.8, delta=0.1)   # doctest: +SKIP
    """

    def __init__(self, sentences: list[str], report: AuditReport) -> None:
        super().__init__(sentences)
        self._report = report

    def __call__(self, target_accuracy: float | None = None, *, delta: float = 0.05) -> Findings:
        """The findings with a threshold certified at ``target_accuracy`` with probability at
        least ``1 - delta`` (see :meth:`AuditReport.recommend_threshold`)."""
        return Findings(self._report._findings_at(target_accuracy, delta), self._report)


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.0%}"


def _ci(low: float, high: float) -> str:
    return f"95% CI {low * 100:.0f}–{high * 100:.0f}%"


def _strength(auc: float) -> str:
    """How well an AUROC separates right from wrong, as the start of a sentence."""
    if auc < 0.6:
        return "Confidence barely separates right from wrong"
    for limit, word in ((0.7, "weakly"), (0.8, "fairly well"), (0.9, "well")):
        if auc < limit:
            return f"Confidence separates right from wrong {word}"
    return "Confidence separates right from wrong very well"


def findings(
    report: AuditReport, target_accuracy: float | None = None, delta: float = 0.05
) -> list[str]:
    """Sentences for a person in a notebook: what the frame holds, and with labels how
    accurate it is (with the interval and label count), which threshold is certified (at
    ``target_accuracy`` with probability ``1 - delta``; without a target at 95%, else 90%),
    how well confidence is calibrated and separates right from wrong, and what to do next."""
    if target_accuracy is not None and not 0 < target_accuracy < 1:
        msg = f"target_accuracy must be in (0, 1), got {target_accuracy!r}"
        raise ValueError(msg)
    if not 0 < delta < 1:
        msg = f"delta must be in (0, 1), got {delta!r}"
        raise ValueError(msg)
    out = _frame_sentences(report)
    if report.truth is None:
        out.append(
            "No labels yet: to measure accuracy, label a random sample, e.g. "
            "report.review_queue(budget=400, strategy='stratified'), and pass the filled-in "
            "file back as audit(df, labels=...)."
        )
        return out
    out += _label_sentences(report, target_accuracy, delta)
    return out


def _frame_sentences(report: AuditReport) -> list[str]:
    summary = report.summary["value"]
    jobs, completed = int(summary["jobs"]), int(summary["completed"])
    parts = [f"{jobs:,} jobs: {completed:,} completed"]
    if int(summary["failed"]):
        parts.append(f"{int(summary['failed']):,} failed ({summary['failure_rate']:.1%})")
    out = []
    not_fetched = int(summary["not_fetched"])
    if not_fetched:
        parts.append(f"{not_fetched:,} could not be fetched (fetch errors, not job failures)")
    sentence = ", ".join(parts) + "."
    if completed:
        sentence += f" {summary['no_match_rate']:.0%} of completed jobs matched no rule."
    out.append(sentence)
    impossible = int(summary["confidence_impossible"])
    if impossible:
        out.append(
            f"{impossible:,} jobs state an impossible confidence (outside 0–1 or infinite); "
            "they are left out of calibration and thresholds."
        )
    return out


def _label_sentences(report: AuditReport, target_accuracy: float | None, delta: float) -> list[str]:
    out: list[str] = []
    sample = report.sample
    labelled = len(report._labelled[0])
    if sample is None:
        out.append(
            f"The {labelled:,} labels were chosen (a 'lowest' or 'margin' queue), not drawn at "
            "random, so they say nothing about the population: use them to find errors, and "
            "label report.review_queue(budget=400, strategy='stratified') to measure accuracy."
        )
        return out
    est = report.accuracy_estimate
    design = {
        "stratified": f"a stratified sample, {len(sample.names)} strata",
        "random": "taken as a simple random sample",
        "unchecked": "no sampling design, and not shown to be random",
    }.get(sample.kind, sample.kind)
    if est.labels >= est.jobs:
        lead = f"Every completed job is labelled ({est.labels:,}): accuracy is "
        lead += f"{est.estimate:.1%}, exactly."
    else:
        noun = "label" if est.labels == 1 else "labels"
        lead = f"From {est.labels:,} {noun} ({design}), accuracy is {_pct(est.estimate)} "
        lead += f"({_ci(est.low, est.high)}) over {est.jobs:,} completed jobs."
    if sample.kind == "unchecked":
        lead += " Treat it with care: the labels' mix differs from the frame's."
    if est.unlabelled > 0:
        lead += (
            f" {est.unlabelled:.0%} of the jobs are in strata with no label; the interval "
            "allows any accuracy there."
        )
    out.append(lead)
    out += _threshold_sentences(report, target_accuracy, delta)
    out += _type_sentences(report)
    out += _confidence_sentences(report)
    return out


def _threshold_sentences(
    report: AuditReport, target_accuracy: float | None, delta: float
) -> list[str]:
    if report.sample is None or not report.sample.trusted:
        return ["No threshold is certified: the labels are not known to be a random sample."]
    targets = TARGETS if target_accuracy is None else (target_accuracy,)
    sure = f"{1 - delta:.0%}"
    for target in targets:
        row = report.recommend_threshold(target, delta).loc["overall"].to_dict()
        if math.isfinite(float(row["threshold"])):
            return [
                f"Auto-accepting at ≥ {row['threshold']:g} keeps {row['coverage']:.0%} of jobs "
                f"({int(row['accepted']):,}) at ≥ {target:.0%} accuracy, certified at {sure} "
                f"confidence (estimated {_pct(float(row['accuracy']))}, "
                f"{_ci(float(row['accuracy_lo']), float(row['accuracy_hi']))}, from "
                f"{int(row['labelled'])} labels)."
            ]
    lowest = targets[-1]
    return [
        f"No threshold can be certified at ≥ {lowest:.0%} accuracy with {sure} confidence "
        f"from these labels; report.plan_labels(target_accuracy={lowest:g}) says how many "
        "more labels could change that."
    ]


def _type_sentences(report: AuditReport) -> list[str]:
    table = report.by_type
    if "accuracy" not in table.columns:
        return []
    rated = table[np.isfinite(table["accuracy"].to_numpy(float)) & (table["count"] > 0)]
    if len(rated) < 2:
        return []
    worst_name = str(rated["accuracy"].idxmin())
    worst = rated.loc[worst_name].to_dict()
    name = "no match" if worst_name == NO_MATCH else worst_name
    return [
        f"The least accurate type is {name}: {_pct(float(worst['accuracy']))} "
        f"({_ci(float(worst['accuracy_lo']), float(worst['accuracy_hi']))}, "
        f"{int(worst['accuracy_labels'])} labels, {int(worst['count']):,} jobs)."
    ]


def _confidence_sentences(report: AuditReport) -> list[str]:
    out = []
    auc, (lo, hi) = report.auroc, report.auroc_ci
    if math.isfinite(auc):
        # An interval holding 0.5 does not show confidence is useless, only that chance is
        # not ruled out: "no better than chance" would contradict a "fairly well" before it.
        chance = ", so chance (0.5) is not ruled out" if lo <= 0.5 <= hi else ""
        out.append(f"{_strength(auc)} (AUROC {auc:.2f}, 95% CI {lo:.2f}–{hi:.2f}){chance}.")
    ece = report.ece_debiased
    if math.isfinite(ece):
        stated = report.calibration()
        weights = stated["count"].to_numpy(float)
        mean_conf = float(np.sum(weights * stated["confidence"]) / weights.sum())
        accuracy = report.accuracy
        direction = "above" if mean_conf > accuracy else "below"
        e_lo, e_hi = report.ece_ci
        out.append(
            f"Stated confidence averages {mean_conf:.0%}, {abs(mean_conf - accuracy) * 100:.0f} "
            f"points {direction} the accuracy; calibration error (ECE, debiased) "
            f"{ece:.3f} (95% CI {e_lo:.3f}–{e_hi:.3f})."
        )
    return out
