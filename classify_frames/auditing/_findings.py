"""The audit's answers as plain sentences with their numbers (``report.findings``).

Each kind of sentence follows a stated evidence rule (:mod:`._evidence`): every labelled figure
says how many labels it rests on; a sample's figure has an interval, a fully labelled frame's
is exact and says so; a type is called less accurate than the rest only from enough labels and
after Holm's adjustment over the types tested; calibration needs enough labels; and when many
drawn jobs came back unlabelled, the sentences lead with bounds that hold whatever those labels
are.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._exceptions import Sentence
from ._advice import LABELS, QUEUE, plan
from ._data import AuditData, AuditView
from ._evidence import (
    FAMILY_ALPHA,
    MIN_CALIBRATION_LABELS,
    MIN_EACH_OUTCOME,
    MIN_GROUP_LABELS,
    NONRESPONSE_LIMIT,
    difference,
    holm,
)
from ._prepare import NO_MATCH
from ._sample import LabelledSample, bounded, bounds, cell_counts, combine, share

__all__ = [
    "Findings",
    "Stuck",
    "StuckJobs",
    "confidence_sentences",
    "findings",
    "stuck_jobs",
    "type_sentences",
]

#: Targets the findings certify a threshold for when none is given: the usual ones, highest
#: first.
TARGETS = (0.95, 0.9)

_EXACT = "exact: every completed job is labelled"

#: A job still PENDING or RUNNING this long after it was created is named as stuck (the
#: service finishes most jobs within minutes; hours mean it will not finish by itself).
STUCK_AFTER = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class Stuck:
    """The jobs PENDING or RUNNING created at or before a time: how many, and the oldest one's
    creation time and id (the smallest id among equally old ones)."""

    jobs: int
    oldest: pd.Timestamp
    oldest_id: str


#: What finds the stuck jobs created at or before a time (``None`` when there are none): by
#: default :func:`stuck_jobs` on the prepared frame; an audit counted in cells asks its engine.
StuckJobs = Callable[[pd.Timestamp], "Stuck | None"]


def stuck_jobs(jobs: pd.DataFrame, before: pd.Timestamp) -> Stuck | None:
    """:class:`Stuck` from the prepared frame: its PENDING or RUNNING jobs created at or
    before ``before``."""
    waiting = jobs["status"].astype(str).isin(["PENDING", "RUNNING"]).to_numpy(bool)
    created = jobs.loc[waiting, "created_at"]
    stuck = created <= before  # no NaT past this: a comparison drops them
    if not stuck.any():
        return None
    oldest = created[stuck].min()
    ids = jobs.loc[waiting, "id"][stuck & (created == oldest)].dropna().astype(str)
    return Stuck(int(stuck.sum()), oldest, min(ids, default="(no id)"))


class Findings(list[str]):
    """``report.findings``: the sentences, certifying a threshold at the usual targets (95%,
    else 90%, with 95% confidence). ``print(report.findings)`` prints them one per line; call
    it for the target that matters to you:

    >>> report.findings(target_accuracy=0.8, delta=0.1)   # doctest: +SKIP
    """

    def __init__(
        self, sentences: list[str], make: Callable[[float | None, float], list[str]]
    ) -> None:
        super().__init__(sentences)
        self._make = make

    def __call__(self, target_accuracy: float | None = None, *, delta: float = 0.05) -> Findings:
        """The findings with a threshold certified at ``target_accuracy`` with probability at
        least ``1 - delta`` (see :meth:`AuditReport.recommend_threshold`)."""
        return Findings(self._make(target_accuracy, delta), self._make)

    def __str__(self) -> str:
        return "\n".join(f"- {s}" for s in self)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self)
        return f"<ul class='cf-findings'>{items}</ul>"


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.0%}"


def _ci(low: float, high: float, exact: bool = False) -> str:
    """A 95% interval in words; ``exact`` for a fully labelled frame (no interval there)."""
    if exact:
        return _EXACT
    return f"95% CI {low * 100:.0f}–{high * 100:.0f}%"


def _labels(n: int) -> str:
    return f"{n:,} label" if n == 1 else f"{n:,} labels"


def _strength(auc: float) -> str:
    """How well an AUROC separates right from wrong, as the start of a sentence."""
    if auc < 0.6:
        return "Confidence barely separates right from wrong"
    for limit, word in ((0.7, "weakly"), (0.8, "fairly well"), (0.9, "well")):
        if auc < limit:
            return f"Confidence separates right from wrong {word}"
    return "Confidence separates right from wrong very well"


def findings(
    view: AuditView,
    target_accuracy: float | None = None,
    delta: float = 0.05,
    *,
    stuck: StuckJobs | None = None,
) -> list[str]:
    """Sentences for a person in a notebook: what the frame holds, and with labels how
    accurate it is (with the interval and label count, or bounds when many drawn jobs are
    unlabelled), which threshold is certified (at ``target_accuracy`` with probability
    ``1 - delta``; without a target at 95%, else 90%), which types are shown less accurate,
    how well confidence is calibrated and separates right from wrong, and what to do next.
    ``stuck`` finds the stuck jobs (see :data:`StuckJobs`)."""
    if target_accuracy is not None and not 0 < target_accuracy < 1:
        msg = f"target_accuracy must be in (0, 1), got {target_accuracy!r}"
        raise ValueError(msg)
    if not 0 < delta < 1:
        msg = f"delta must be in (0, 1), got {delta!r}"
        raise ValueError(msg)
    out = _frame_sentences(view, stuck)
    if view.data.truth is None:
        out.append(
            Sentence([
                "No labels yet: to measure accuracy, label a random sample, e.g. ", QUEUE,
                ", and pass the filled-in file back as ", LABELS, ".",
            ])
        )  # fmt: skip
        return out
    out += _label_sentences(view, target_accuracy, delta)
    return out


def _frame_sentences(view: AuditView, stuck: StuckJobs | None) -> list[str]:
    summary = view.summary["value"]
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
    out += _stuck_sentences(view, stuck)
    impossible = int(summary["confidence_impossible"])
    if impossible:
        out.append(
            f"{impossible:,} jobs state an impossible confidence (outside 0–1 or infinite); "
            "they are left out of calibration and thresholds."
        )
    return out


def _stuck_sentences(view: AuditView, find: StuckJobs | None) -> list[str]:
    """Jobs PENDING or RUNNING for longer than :data:`STUCK_AFTER` when the frame was
    fetched (its ``fetched_at``; when the frame does not say, at the newest job it holds,
    never the clock of the machine reading it), with the oldest one."""
    jobs = view.data.jobs
    if not jobs["status"].astype(str).isin(["PENDING", "RUNNING"]).any():
        return []
    recorded = view.data.provenance.get("fetched_at")
    fetched = pd.Timestamp(recorded) if isinstance(recorded, str) and recorded else None
    if fetched is not None:
        fetched = fetched.tz_localize("UTC") if fetched.tzinfo is None else fetched
    # the newest job: a row of counted cells holds its cell's newest in ``last_seen``
    newest = jobs["last_seen" if "last_seen" in jobs.columns else "created_at"].max()
    now = fetched if fetched is not None else newest
    if pd.isna(now):
        return []
    found = (find or (lambda before: stuck_jobs(jobs, before)))(now - STUCK_AFTER)
    if found is None:
        return []
    hours = (now - found.oldest).total_seconds() / 3600
    since = f"{hours:,.0f} hours" if hours < 48 else f"{hours / 24:,.0f} days"
    when = "before the fetch" if fetched is not None else "before the newest job of the frame"
    limit = STUCK_AFTER.total_seconds() / 3600
    count = found.jobs
    return [
        f"{count:,} {'jobs have' if count != 1 else 'job has'} been PENDING or "
        f"RUNNING for more than {limit:g} hour(s), "
        "so stuck (in no figure of this audit); the oldest, "
        f"{found.oldest_id}, was created {since} {when} "
        f"({found.oldest:%Y-%m-%d %H:%M} UTC). Cancel them (cf.cancel_jobs(ids)) and run them "
        "again, or ask support."
    ]


def _material(sample: LabelledSample) -> bool:
    """Whether nonresponse is large enough for the findings to lead with the bounds."""
    return sample.nonresponse > NONRESPONSE_LIMIT


def _label_sentences(view: AuditView, target_accuracy: float | None, delta: float) -> list[str]:
    data = view.data
    sample = data.sample
    if sample is None:
        return [
            Sentence([
                f"The {data.labelled:,} labels were chosen (a 'lowest' or 'margin' queue), not "
                "drawn at random, so they say nothing about the population: use them to find "
                "errors, and label ", QUEUE, " to measure accuracy.",
            ])
        ]  # fmt: skip
    if sample.kind == "other frame":
        return [
            Sentence([
                f"The {sample.labels:,} labels come from a review queue drawn on another frame: "
                "they are a random sample of that frame, not of this one, so no accuracy, "
                "threshold or calibration is stated here. Audit the frame the queue was drawn "
                "from, or label ", QUEUE, " drawn from this one.",
            ])
        ]  # fmt: skip
    out = [_accuracy_sentence(data, sample)]
    out += _threshold_sentences(view, target_accuracy, delta)
    out += type_sentences(view)
    out += confidence_sentences(view)
    return out


def _accuracy_sentence(data: AuditData, sample: LabelledSample) -> str:
    est = share(sample, data.correct)
    if sample.exact:
        return (
            f"Every completed job is labelled ({est.labels:,} labels): accuracy is "
            f"{est.estimate:.1%}, exact (no sampling error)."
        )
    design = {
        "stratified": f"a stratified sample, {len(sample.names)} strata",
        "random": "taken as a simple random sample",
        "unchecked": "no sampling design, and not shown to be random",
    }.get(sample.kind, sample.kind)
    missing, drawn = len(sample.missing), sample.drawn
    from_labels = (
        f"From {_labels(est.labels)} ({design}), accuracy is {_pct(est.estimate)} "
        f"({_ci(est.low, est.high)}) over {est.jobs:,} completed jobs"
    )
    if not missing:
        lead = from_labels + "."
    else:
        low, high = bounds(sample, data.correct)
        skipped = (
            f"{missing:,} of the {drawn:,} jobs drawn for labelling ({sample.nonresponse:.0%})"
        )
        ranged = (
            f"between {low.estimate:.1%} (all of them wrong) and {high.estimate:.1%} (all "
            f"right), 95% CI {low.low * 100:.0f}–{high.high * 100:.0f}% (Manski bounds, from "
            f"{_labels(est.labels)} and {missing:,} unlabelled drawn jobs)"
        )
        if _material(sample):
            lead = (
                f"{skipped} have no label, more than the {NONRESPONSE_LIMIT:.0%} these findings "
                f"treat as negligible: whatever their labels, accuracy over {est.jobs:,} "
                f"completed jobs is {ranged}. Read as missing at random it would be "
                f"{_pct(est.estimate)} ({_ci(est.low, est.high)}, from {_labels(est.labels)}), "
                "but reviewers who skip hard cases break that assumption; label the skipped "
                "jobs to narrow the bounds."
            )
        else:
            lead = (
                f"{from_labels}. {skipped} have no label: whatever their labels, accuracy is "
                f"{ranged}."
            )
    if sample.kind == "unchecked":
        lead += " Treat it with care: the labels' mix differs from the frame's."
    if est.unlabelled > 0:
        lead += (
            f" {est.unlabelled:.0%} of the jobs are in strata with no label; the interval "
            "allows any accuracy there."
        )
    return lead


def _threshold_sentences(view: AuditView, target_accuracy: float | None, delta: float) -> list[str]:
    sample = view.data.sample
    if sample is None or not sample.trusted:
        return ["No threshold is certified: the labels are not known to be a random sample."]
    targets = TARGETS if target_accuracy is None else (target_accuracy,)
    sure = f"{1 - delta:.0%}"
    skipped = (
        f" (the {len(sample.missing):,} unlabelled drawn jobs counted wrong)"
        if len(sample.missing)
        else ""
    )
    for target in targets:
        row = view.recommend_threshold(target, delta).loc["overall"].to_dict()
        if math.isfinite(float(row["threshold"])):
            low, high = float(row["accuracy_lo"]), float(row["accuracy_hi"])
            return [
                f"Auto-accepting at ≥ {row['threshold']:g} keeps {row['coverage']:.0%} of jobs "
                f"({int(row['accepted']):,}) at ≥ {target:.0%} accuracy, certified at {sure} "
                f"confidence (estimated {_pct(float(row['accuracy']))}, "
                f"{_ci(low, high, sample.exact)}, from {_labels(int(row['labelled']))})"
                f"{skipped}."
            ]
    lowest = targets[-1]
    return [
        Sentence([
            f"No threshold can be certified at ≥ {lowest:.0%} accuracy with {sure} confidence "
            f"from these labels{skipped}; ", plan(lowest), " says how many more labels could "
            "change that.",
        ])
    ]  # fmt: skip


def type_sentences(view: AuditView) -> list[str]:
    """Which types are less accurate than the rest of the jobs, by the evidence rule: each
    type with at least :data:`MIN_GROUP_LABELS` labels is compared with all other jobs (a
    two-sided test of the two design-weighted accuracies, :func:`._evidence.difference`), and
    the p-values are Holm-adjusted over the types tested (family-wise error 5%). With many
    drawn jobs unlabelled, each comparison takes the type's missing labels as right and the
    rest's as wrong, so a type is named only if it is less accurate whatever they are. On a
    fully labelled frame the least accurate type is named exactly."""
    data = view.data
    sample = data.sample
    if sample is None or data.truth is None or sample.kind == "other frame":
        return []
    types = data.jobs.loc[data.completed, "type"]
    names = [str(c) for c in types.cat.categories]
    codes = types.cat.codes.to_numpy(np.int64)
    # jobs per type: a row of counted cells stands for its ``weight`` jobs
    done = data.jobs.loc[data.completed]
    each = done["weight"].to_numpy(np.int64) if "weight" in done.columns else np.ones(len(codes))
    known = codes >= 0
    counts = np.bincount(codes[known], weights=each[known], minlength=len(names)).astype(np.int64)
    present = [t for t in range(len(names)) if counts[t] > 0]
    if len(present) < 2:
        return []

    def shown(t: int) -> str:
        return "no match" if names[t] == NO_MATCH else names[t]

    if sample.exact:
        out = combine(*cell_counts(sample, codes, len(names), data.correct))
        worst = min(present, key=lambda t: float(out["estimate"][t]))
        return [
            f"The least accurate type is {shown(worst)}: {out['estimate'][worst]:.1%} of its "
            f"{counts[worst]:,} jobs are right ({_EXACT})."
        ]
    material = _material(sample)
    rows = []
    for t in present:
        groups = np.where(codes == t, 0, 1)
        widened, outcome = sample, data.correct
        if material:  # the claim must hold whatever the missing labels are
            favour = (codes[sample.missing] == t).astype(float)
            widened, outcome = bounded(sample, data.correct, favour)
        out = combine(*cell_counts(widened, groups, 2, outcome))
        labels = out["labels"]
        tested = bool(labels[0] >= MIN_GROUP_LABELS and labels[1] >= MIN_GROUP_LABELS)
        test = difference(
            float(out["estimate"][0]),
            float(out["var"][0]),
            float(out["n_eff"][0]),
            float(out["estimate"][1]),
            float(out["var"][1]),
            float(out["n_eff"][1]),
        )
        rows.append((t, tested, out, test))
    tested_rows = [r for r in rows if r[1]]
    adjusted = holm([r[3][3] for r in tested_rows]) if tested_rows else np.zeros(0)
    k = len(tested_rows)
    rule = (
        f"Holm-adjusted over the {k} type{'s' if k != 1 else ''} with at least "
        f"{MIN_GROUP_LABELS} labels, {FAMILY_ALPHA:.0%} family-wise error"
    )
    called = [
        (row, float(p))
        for row, p in zip(tested_rows, adjusted, strict=True)
        if p < FAMILY_ALPHA and row[3][0] < 0
    ]
    untested = len(rows) - k
    if not tested_rows:
        most = max(int(r[2]["labels"][0]) for r in rows)
        return [
            f"No type is compared with the rest: the evidence rule asks for at least "
            f"{MIN_GROUP_LABELS} labels of a type, and the most any type has is {most}."
        ]
    if not called:
        note = (
            f"; {untested} type{'s' if untested != 1 else ''} with fewer labels "
            f"{'were' if untested != 1 else 'was'} not compared"
            if untested
            else ""
        )
        return [f"No type is shown less accurate than the rest of the jobs ({rule}){note}."]
    out_sentences = []
    for (t, _, out, test), p in sorted(called, key=lambda c: c[0][3][0])[:3]:
        diff, low, high, _ = test
        bounded_note = (
            " (its unlabelled drawn jobs counted right, the rest's wrong)" if material else ""
        )
        interval = _ci(float(out["low"][0]), float(out["high"][0]))
        out_sentences.append(
            f"{shown(t)} is less accurate than the rest of the jobs: "
            f"{_pct(float(out['estimate'][0]))} ({interval}, "
            f"{_labels(int(out['labels'][0]))}, {counts[t]:,} jobs) against "
            f"{_pct(float(out['estimate'][1]))} ({_labels(int(out['labels'][1]))}); difference "
            f"{diff * 100:+.0f} points (95% CI {low * 100:+.0f} to {high * 100:+.0f}), "
            f"p = {p:.2g} {rule}{bounded_note}."
        )
    return out_sentences


def confidence_sentences(view: AuditView) -> list[str]:
    """How well confidence separates right from wrong (AUROC) and how calibrated it is (ECE),
    each with the labels it rests on, by the evidence rule: at least
    :data:`MIN_CALIBRATION_LABELS` labels, and for the AUROC at least
    :data:`MIN_EACH_OUTCOME` right and as many wrong; exact on a fully labelled frame."""
    data = view.data
    sample = data.sample
    if sample is None or sample.kind == "other frame":
        return []
    n = sample.labels
    wrong = int(n - np.sum(data.correct))
    exact = sample.exact
    if not exact and n < MIN_CALIBRATION_LABELS:
        return [
            f"Calibration and separation are not judged from {_labels(n)}: the evidence rule "
            f"asks for at least {MIN_CALIBRATION_LABELS} (below that the binned calibration "
            "error is biased upward and its interval unreliable)."
        ]
    if _material(sample):
        return [
            f"Calibration and separation are not judged: {len(sample.missing):,} of the "
            f"{sample.drawn:,} drawn jobs ({sample.nonresponse:.0%}) have no label, and jobs "
            "skipped for being hard would make confidence look better calibrated than it is."
        ]
    out = []
    auc, (lo, hi) = view.auroc, view.auroc_ci
    if math.isfinite(auc):
        if exact:
            out.append(f"{_strength(auc)} (AUROC {auc:.2f}, {_EXACT}).")
        elif min(wrong, n - wrong) < MIN_EACH_OUTCOME:
            out.append(
                f"Separation (AUROC) is not judged: {wrong:,} of the {_labels(n)} are wrong and "
                f"{n - wrong:,} right; the evidence rule asks for at least {MIN_EACH_OUTCOME} "
                "of each."
            )
        elif hi > lo:
            # An interval holding 0.5 does not show confidence is useless, only that chance
            # is not ruled out: "no better than chance" would contradict a "fairly well".
            chance = ", so chance (0.5) is not ruled out" if lo <= 0.5 <= hi else ""
            out.append(
                f"{_strength(auc)} (AUROC {auc:.2f}, 95% CI {lo:.2f}–{hi:.2f}, from "
                f"{_labels(n)}){chance}."
            )
    ece = view.ece if exact else view.ece_debiased
    e_lo, e_hi = view.ece_ci
    # a bootstrap interval that misses its own debiased estimate (all labels of a bin alike)
    # is no interval to state
    if math.isfinite(ece) and (exact or (e_lo <= ece <= e_hi and e_hi > e_lo)):
        stated = view.calibration()
        weights = stated["count"].to_numpy(float)
        mean_conf = float(np.sum(weights * stated["confidence"]) / weights.sum())
        accuracy = share(sample, data.correct).estimate
        direction = "above" if mean_conf > accuracy else "below"
        error = (
            f"calibration error (ECE) {ece:.3f} ({_EXACT})"
            if exact
            else f"calibration error (ECE, debiased) {ece:.3f} (95% CI {e_lo:.3f}–{e_hi:.3f}, "
            f"from {_labels(n)})"
        )
        out.append(
            f"Stated confidence averages {mean_conf:.0%}, {abs(mean_conf - accuracy) * 100:.0f} "
            f"points {direction} the accuracy; {error}."
        )
    return out
