"""The audit report as a document a reviewer reads: findings first, then one section per
question (Can we auto-accept? Where is it wrong? Is it calibrated? Did anything drift? Did a
rule change matter?), any rule-set experiment, then the appendix of every headline number;
each plot by the table it explains.

Python picks what each section shows (tables as :class:`._htmltable.TableView`, figures as
:class:`._page.Picture`); the section's template in ``templates/`` writes the markup, with
autoescape. It is a view of an :class:`~classify_frames.auditing.AuditReport` (any
:class:`._data.AuditView`): every number is read from
the report's own tables and properties (each table names its call under it and carries the
raw values in ``data-*`` attributes, see :mod:`._htmltable`), written by :mod:`._format`,
never computed a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _format as fmt
from . import _page, _tables
from ._comparison_page import comparison_section
from ._data import AuditView
from ._evidence import MIN_GROUP_LABELS
from ._findings import confidence_sentences, type_sentences
from ._htmltable import TYPE, Column, Kind, view
from ._page import Section, Templates, picture

if TYPE_CHECKING:
    from ._comparison_page import ComparedRuns

__all__ = [
    "Goal",
    "Section",
    "compact",
    "configuration_names",
    "context",
    "document",
    "findings",
    "glance",
    "sections",
    "title",
]


@dataclass(frozen=True)
class Goal:
    """What the report judges against: the accuracy an auto-accepted share must reach, and
    the chance ``delta`` a certified threshold is allowed to miss it."""

    target_accuracy: float = 0.95
    delta: float = 0.05


def _value(report: AuditView, metric: str) -> object:
    return report.summary.loc[metric, "value"]


def _labelled(report: AuditView) -> bool:
    return report.data.truth is not None


def _sampled(report: AuditView) -> bool:
    """Labels that are a random sample: the population figures exist (a "lowest" or
    "margin" queue is chosen, not drawn, and has none)."""
    return report.data.sample is not None


def _interval(report: AuditView, low: object, high: object) -> str:
    """A 95% interval in words, or "exact" on a fully labelled frame (no interval there)."""
    sample = report.data.sample
    if sample is not None and sample.exact:
        return "exact: every completed job is labelled"
    return f"95% CI {fmt.interval(low, high)}"


_CHOSEN = (
    "The labels were chosen, not drawn at random (a 'lowest' or 'margin' queue): {what} needs "
    "a random sample, report.review_queue(budget=400, strategy='stratified')."
)


# -- marks ------------------------------------------------------------------------------------


def _against(target: float, low: str, high: str) -> Callable[[pd.Series], str]:
    """``miss`` where the interval lies below ``target``, ``unsure`` where it straddles it,
    ``ok`` where it lies at or above."""

    def mark(row: pd.Series) -> str:
        lo, hi = row[low], row[high]
        if fmt.is_missing(lo) or fmt.is_missing(hi):
            return ""
        return "miss" if hi < target else "unsure" if lo < target else "ok"

    return mark


def _calibration_mark(row: pd.Series) -> str:
    """``over`` where the stated confidence lies above the accuracy's interval, ``under`` where
    below."""
    if row["confidence"] > row["accuracy_hi"]:
        return "over"
    return "under" if row["confidence"] < row["accuracy_lo"] else ""


def _severity(row: pd.Series) -> str:
    return str(row["drift"]) if row["drift"] in ("major", "moderate") else ""


def _signal_mark(reason: str) -> Callable[[pd.Series], str]:
    """The period's severity on the cell of a signal the audit named among its reasons (a
    large PSI that is not significant, or in too small a period, is not marked)."""

    def mark(row: pd.Series) -> str:
        return _severity(row) if reason in str(row["reasons"]) else ""

    return mark


Legend = list[tuple[str, str]]


def _target_legend(target: float, *more: tuple[str, str]) -> Legend:
    """What the marks of a table judged against ``target`` mean: (css class, text) pairs."""
    goal = fmt.goal(target)
    return [
        ("ok", f"95% interval at or above {goal}"),
        ("unsure", f"interval straddles {goal}"),
        ("miss", f"interval below {goal}"),
        *more,
    ]


def _rest(shown: int, names: Sequence[object], what: str = "types") -> str:
    """``12 of 22 types shown; the rest: a, b, c.``, or ``""`` when every one is shown."""
    if shown >= len(names):
        return ""
    rest = ", ".join(str(n) for n in names[shown:])
    return f"{shown} of {len(names)} {what} shown; the rest: {rest}."


# -- the headline -----------------------------------------------------------------------------


def title(report: AuditView) -> str:
    """``Confidence audit of 20,000 Classify jobs``."""
    return f"Confidence audit of {fmt.count(_value(report, 'jobs'))} Classify jobs"


def context(report: AuditView) -> str:
    """Which jobs, when created, fetched when and from which server (host only, never a key),
    how many labels and which threshold."""
    parts = [f"{fmt.count(_value(report, 'completed'))} completed"]
    jobs = report.data.jobs
    created = jobs["created_at"].dropna()
    if len(created):  # a row of counted cells holds its newest job in ``last_seen``
        first, last = created.min(), jobs.get("last_seen", jobs["created_at"]).max()
        parts.append(f"created {first:%d %b %Y} – {last:%d %b %Y}")
    source = report.data.provenance
    fetched = source.get("fetched_at")
    host = _page.host_of(source.get("base_url"))
    if fetched or host:
        when = f" {fmt.timestamp(fetched)}" if fetched else ""
        where = f" from {host}" if host else ""
        parts.append(f"fetched{when}{where}")
    if _labelled(report):
        parts.append(f"{fmt.count(_value(report, 'labelled'))} labelled")
    parts.append(f"auto-accept threshold {fmt.confidence(report.threshold)}")
    return " · ".join(parts)


def _overall_answers(report: AuditView) -> list[str]:
    return [
        f"No job of the {fmt.count(_value(report, 'jobs'))} completed, so there is nothing to "
        "show about confidence yet; see the status and errors below."
    ]


# -- Can we auto-accept? ----------------------------------------------------------------------


def _recommend_columns(target: float) -> list[Column]:
    return [
        Column("threshold", "threshold", "confidence", help="lowest confidence accepted"),
        Column("coverage", "jobs accepted", "percent", help="share of the completed jobs"),
        Column("accepted", "jobs", "count"),
        Column(
            "accuracy",
            "accuracy",
            "percent",
            low="accuracy_lo",
            high="accuracy_hi",
            mark=_against(target, "accuracy_lo", "accuracy_hi"),
            help="estimated accuracy of the accepted jobs (95% interval)",
        ),
        Column("labelled", "labels", "count", help="labels among the accepted jobs"),
        Column("p_value", "p-value", "number", help="of the last test passed"),
        Column("method", "how", "text", css="wide"),
    ]


def _risk_columns(report: AuditView, target: float) -> tuple[list[Column], list[Column]]:
    def current(row: pd.Series) -> str:
        return "current" if row.name == report.threshold else ""

    index = [Column("threshold", "threshold", "confidence", mark=current)]
    columns = [
        Column("accepted", "jobs accepted", "count"),
        Column("coverage", "coverage", "percent", help="share of the completed jobs accepted"),
        Column("labelled", "labels", "count", help="labels among the accepted jobs"),
        Column(
            "accuracy",
            "accuracy",
            "percent",
            low="accuracy_lo",
            high="accuracy_hi",
            mark=_against(target, "accuracy_lo", "accuracy_hi"),
        ),
        Column("risk", "error rate", "percent"),
    ]
    return index, columns


def _auto_accept_answers(report: AuditView, goal: Goal) -> list[str]:
    target, wanted = goal.target_accuracy, fmt.goal(goal.target_accuracy)
    if not _labelled(report):
        return [
            f"Auto-accepting needs labels: {fmt.percent(_value(report, 'below_threshold'))} of "
            f"completed jobs state less than {fmt.confidence(report.threshold)}, but nothing "
            "yet says how many of the rest are right. Label a random sample: "
            'report.review_queue(budget=400, strategy="stratified").'
        ]
    recommended = report.recommend_threshold(target_accuracy=target, delta=goal.delta)
    overall = recommended.loc["overall"]
    sure = fmt.goal(1 - goal.delta)
    if str(overall["method"]).startswith("refused"):
        first = f"No threshold is certified: {overall['method']}."
    elif fmt.is_missing(overall["threshold"]):
        first = (
            f"No threshold is certified at ≥ {wanted} accuracy with {sure} confidence from "
            f"these {fmt.count(overall['labelled'])} labels; "
            f"report.plan_labels(target_accuracy={target:g}) says how many more could change "
            "that."
        )
    else:
        first = (
            f"Auto-accepting at confidence ≥ {fmt.confidence(overall['threshold'])} keeps "
            f"{fmt.percent(overall['coverage'])} of completed jobs "
            f"({fmt.count(overall['accepted'])}) at ≥ {wanted} accuracy, certified with {sure} "
            f"confidence (estimated {fmt.percent(overall['accuracy'])}, "
            f"{_interval(report, overall['accuracy_lo'], overall['accuracy_hi'])}, from "
            f"{fmt.count(overall['labelled'])} labels)."
        )
    reached = int(recommended["threshold"].iloc[1:].notna().sum())
    verb = "has" if reached == 1 else "have"
    types = len(recommended) - 1
    return [first, f"{reached} of {types} types {verb} a certified threshold of their own."]


def _auto_accept_body(report: AuditView, goal: Goal, templates: Templates) -> str:
    if not _labelled(report):
        return ""
    target, wanted = goal.target_accuracy, fmt.goal(goal.target_accuracy)
    source = f"report.recommend_threshold(target_accuracy={target:g}, delta={goal.delta:g})"
    recommended = report.recommend_threshold(target_accuracy=target, delta=goal.delta)
    columns = _recommend_columns(target)
    reached = recommended["threshold"].notna().to_numpy()
    # the overall row always shows (with its method when nothing is certified); the types
    # without a certified threshold fold below
    met = [p for p in range(len(recommended)) if p == 0 or reached[p]]
    unmet = [p for p in range(1, len(recommended)) if not reached[p]]
    shown: dict[str, Any] = {
        "recommended": view(recommended, columns, source=source, index=[TYPE], rows=met),
        "unmet": None,
        "risk": None,
    }
    if not _sampled(report):  # no population figure: the refusal says why, nothing to plot
        return templates.render("auto_accept.html", **shown)
    if unmet:
        shown["unmet"] = view(recommended, columns, source=source, index=[TYPE], rows=unmet)
        shown["unmet_names"] = ", ".join(str(recommended.index[p]) for p in unmet)
        shown["wanted"] = wanted
    index, risk_columns = _risk_columns(report, target)
    shown["risk_legend"] = _target_legend(
        target, ("current", f"the audit's threshold, {report.threshold:g}")
    )
    shown["risk"] = view(
        report.risk_coverage, risk_columns, source="report.risk_coverage", index=index
    )
    shown["risk_plot"] = picture(
        report.plot_risk_coverage(),
        "Risk-coverage curve",
        "Risk against coverage at each threshold, with the 95% interval of the accepted "
        "jobs' accuracy as a band.",
    )
    return templates.render("auto_accept.html", **shown)


# -- Where is it wrong? -----------------------------------------------------------------------


def _by_type_columns(report: AuditView, target: float) -> list[Column]:
    plain = [
        Column("count", "jobs", "count"),
        Column("share", "share", "percent"),
        Column("confidence_mean", "mean confidence", "number"),
        Column("confidence_median", "median", "confidence"),
        Column("confidence_p10", "p10", "confidence"),
        Column("confidence_p90", "p90", "confidence"),
        Column("below_threshold", f"below {report.threshold:g}", "percent"),
    ]
    if not _labelled(report):
        return plain

    def over(row: pd.Series) -> str:
        return "over" if row["overconfident"] is True or row["overconfident"] == 1 else ""

    return [
        *plain[:3],
        Column("accuracy_labels", "labels", "count", help="labels the accuracy rests on"),
        Column(
            "accuracy",
            "accuracy",
            "percent",
            low="accuracy_lo",
            high="accuracy_hi",
            mark=_against(target, "accuracy_lo", "accuracy_hi"),
            help="share of the type's jobs that are right (its precision), design-weighted "
            "(95% interval)",
        ),
        Column(
            "recall",
            "recall",
            "percent",
            low="recall_lo",
            high="recall_hi",
            help=(
                "share of the jobs truly of the type that are classified as it, design-weighted "
                "(95% interval)"
            ),
        ),
        Column("f1", "F1", "percent"),
        Column("support", "labels of type", "count", help="labelled jobs whose label is the type"),
        Column("gap", "confidence − accuracy", "points"),
        Column("ece", "ECE", "number"),
        Column("brier", "Brier", "number"),
        Column("overconfident", "over-confident", "flag", mark=over),
        plain[-1],
    ]


def _confusion_columns(matrix: pd.DataFrame) -> list[Column]:
    def cell(name: str) -> Callable[[pd.Series], str]:
        def mark(row: pd.Series) -> str:
            return "diag" if row.name == name else "zero" if row[name] == 0 else ""

        return mark

    return [Column(str(c), str(c), "count", mark=cell(str(c))) for c in matrix.columns]


DISAGREEMENTS = [
    Column("id", "id", "id"),
    Column("result.type", "predicted", "text"),
    Column("label", "label", "text"),
    Column("result.confidence", "confidence", "confidence"),
    Column("file_input", "document", "text", css="wide"),
    Column("result.reasoning", "reasoning", "text", css="wide"),
]
STATUS = [Column("jobs", "jobs", "count"), Column("share", "share", "percent")]
ERRORS = [Column("jobs", "jobs", "count"), Column("share_of_failed", "of failed", "percent")]


def _where_answers(report: AuditView, goal: Goal) -> list[str]:
    by_type = report.by_type
    out = []
    if _sampled(report):
        # which types are surely less accurate: the findings' evidence rule (enough labels,
        # Holm over the types tested), not a small sample's lowest point estimate
        out += type_sentences(report)
    if _labelled(report):
        matrix = report.confusion
        counts = matrix.to_numpy().copy()
        np.fill_diagonal(counts, 0)
        if counts.size and counts.max() > 0:
            i, j = (int(k) for k in np.unravel_index(int(counts.argmax()), counts.shape))
            out.append(
                f"Most frequent mistake: {matrix.index[i]} documents classified as "
                f"{matrix.columns[j]} ({fmt.count(matrix.iat[i, j])} labelled jobs)."
            )
    if not _labelled(report) and by_type["confidence_mean"].notna().any():
        means = by_type["confidence_mean"].to_numpy(float)
        lowest = int(np.nanargmin(means))
        out.append(
            f"Lowest stated confidence: {by_type.index[lowest]} (mean "
            f"{fmt.number(means[lowest])}); "
            "labels would say whether that is where it is wrong."
        )
    failed = _value(report, "failed")
    if failed:
        out.append(
            f"{fmt.count(failed)} jobs failed ({fmt.percent(_value(report, 'failure_rate'))}), "
            f"most often: {_value(report, 'top_error')}."
        )
    return out


#: Types drawn in the per-type accuracy chart and the confidence histograms at most.
ACCURACY_TYPES = HISTOGRAM_TYPES = 30


def _where_body(report: AuditView, goal: Goal, templates: Templates) -> str:
    from . import _plots  # matplotlib on the first figure, not with the audit

    by_type = report.by_type
    every = _plots.histogram_types(report.data.jobs)
    shown = every[:HISTOGRAM_TYPES]
    histograms = _plots.confidence_histograms(report.data.jobs, shown)
    parts: dict[str, Any] = {
        "target_legend": _target_legend(goal.target_accuracy) if _labelled(report) else None,
        "by_type": view(
            by_type,
            _by_type_columns(report, goal.target_accuracy),
            source="report.by_type",
            index=[TYPE],
        ),
        "accuracy_plot": None,
        "confidence_plot": picture(
            histograms,
            "Stated confidence per predicted type",
            _rest(len(shown), every) or f"Every type with a stated confidence ({len(every)}).",
        ),
        "confusion": None,
        "status": view(
            report.status, STATUS, source="report.status", index=[Column("status", "status")]
        ),
        "errors": view(
            report.errors,
            ERRORS,
            source="report.errors",
            index=[Column("error_message", "error", "text", css="wide")],
            empty="no job failed",
        ),
    }
    if _sampled(report):
        drawn = by_type.iloc[:ACCURACY_TYPES]
        parts["accuracy_plot"] = picture(
            _plots.type_accuracy(drawn, goal.target_accuracy),
            "Accuracy per predicted type with 95% intervals",
            "Accuracy of each predicted type (report.by_type), design-weighted, with its 95% "
            "interval and the labels behind it. "
            + (_rest(len(drawn), list(by_type.index)) or f"Every type ({len(by_type)})."),
        )
    if _labelled(report):
        matrix = report.confusion
        parts |= {
            "confusion": view(
                matrix,
                _confusion_columns(matrix),
                source="report.confusion",
                index=[Column("label", "label", "text")],
            ),
            "confusion_plot": picture(
                _plots.confusion_heatmap(matrix),
                "Confusion heatmap of the labelled jobs",
                f"{fmt.count(matrix.to_numpy().sum())} labelled jobs (report.confusion); each "
                "cell's colour is its share of the row.",
            ),
            "threshold": fmt.confidence(report.threshold),
            "disagreements": view(
                report.disagreements, DISAGREEMENTS, source="report.disagreements"
            ),
        }
    return templates.render("wrong.html", **parts)


# -- Is it calibrated? ------------------------------------------------------------------------

CALIBRATION = [
    Column("count", "jobs", "count"),
    Column("labels", "labels", "count"),
    Column("confidence", "stated", "confidence", help="mean stated confidence of the bin"),
    Column(
        "accuracy",
        "right",
        "percent",
        low="accuracy_lo",
        high="accuracy_hi",
        mark=_calibration_mark,
    ),
    Column("gap", "stated − right", "points"),
]


def _calibrated_answers(report: AuditView, goal: Goal) -> list[str]:
    if not _labelled(report):
        return ["Calibration needs labels: audit(df, labels=...) with a labelled sample."]
    if not _sampled(report):
        return [_CHOSEN.format(what="calibration")]
    calibration = report.calibration()
    answers = confidence_sentences(report)
    if len(calibration):
        top = calibration.iloc[-1]
        answers.append(
            f"Jobs stated at {calibration.index[-1]} are {fmt.percent(top['accuracy'])} right "
            f"({_interval(report, top['accuracy_lo'], top['accuracy_hi'])}, "
            f"{fmt.count(top['labels'])} labels)."
        )
    by_type = report.by_type
    # the evidence rule of a type's figure: enough labels of that type
    flagged = by_type["overconfident"].fillna(False).astype(bool)
    enough = by_type["support"].fillna(0) >= MIN_GROUP_LABELS
    over = [
        f"{t} ({int(by_type.loc[t, 'support'])} labels)" for t in by_type.index[flagged & enough]
    ]
    if over:
        answers.append(
            "Over-confident types (sure of their documents more often than right about them; "
            f"types with at least {MIN_GROUP_LABELS} labels): " + ", ".join(over) + "."
        )
    return answers


def _calibrated_body(report: AuditView, goal: Goal, templates: Templates) -> str:
    truth = report.data.truth
    if truth is None:
        return ""
    from . import _plots  # matplotlib on the first figure, not with the audit

    calibration = report.calibration()
    y_true, y_pred, stated = _tables.labelled(report.data.jobs, truth)
    right = y_true == y_pred
    unstated = int(np.isnan(stated).sum())
    caption = (
        f"{fmt.count(len(right))} labelled jobs: {fmt.count(right.sum())} right, "
        f"{fmt.count((~right).sum())} wrong (the diagonal of report.confusion and the rest)"
        + (f"; {fmt.count(unstated)} state no confidence." if unstated else ".")
    )
    return templates.render(
        "calibrated.html",
        marks=[
            ("over", "stated above the interval: over-confident"),
            ("under", "stated below it: under-confident"),
        ],
        calibration=view(
            calibration,
            CALIBRATION,
            source="report.calibration()",
            index=[Column("bin", "bin", "text")],
        ),
        reliability_plot=picture(
            report.plot_reliability(),
            "Reliability diagram",
            "Accuracy per bin with its 95% interval; under it the labels each interval rests "
            "on, then the jobs in each bin (report.calibration()).",
        ),
        right_wrong_plot=picture(
            _plots.right_and_wrong(stated, right),
            "Stated confidence of the labelled jobs, right and wrong",
            caption,
        ),
    )


# -- Did anything drift? ----------------------------------------------------------------------


DRIFT = [
    Column("jobs", "jobs", "count"),
    Column("confidence_mean", "mean confidence", "number"),
    Column("below_threshold", "below threshold", "percent"),
    Column("no_match_rate", "no match", "percent"),
    Column("no_match_change", "no match vs baseline", "points", mark=_signal_mark("no-match rate")),
    Column("accuracy_labels", "labels", "count", help="labels the period's accuracy rests on"),
    Column(
        "accuracy",
        "accuracy",
        "percent",
        low="accuracy_lo",
        high="accuracy_hi",
        help="the period's jobs, design-weighted from the random sample (95% interval)",
    ),
    Column("accuracy_change", "accuracy vs baseline", "points", mark=_signal_mark("accuracy")),
    Column("psi_confidence", "PSI confidence", "number", mark=_signal_mark("confidence PSI")),
    Column("psi_type", "PSI type mix", "number", mark=_signal_mark("type mix PSI")),
    Column("baseline", "baseline", "flag"),
    Column("drift", "drift", "text", mark=_severity),
    Column("reasons", "why", "text", css="wide"),
]


def _drift_answers(report: AuditView, goal: Goal) -> list[str]:
    if not report.data.has_times:
        return ["No completed job has a creation time, so drift cannot be judged."]
    drift = report.drift()
    flagged = drift[drift["drift"] != ""]
    base = ", ".join(str(p) for p in drift.index[drift["baseline"].to_numpy(bool)])
    if flagged.empty:
        return [f"No month of {len(drift)} drifted against the baseline ({base})."]
    listed = "; ".join(
        f"{period} ({row['drift']}: {row['reasons']})" for period, row in flagged.iterrows()
    )
    return [
        f"{len(flagged)} of {len(drift)} months drifted against the baseline ({base}; each "
        f"signal Benjamini-Hochberg adjusted over the months tested): {listed}."
    ]


def _drift_body(report: AuditView, goal: Goal, templates: Templates) -> str:
    if not report.data.has_times:
        return ""
    drift = report.drift()
    period = [Column("period", "month", "text")]
    shares = [
        Column(str(c), str(c).removeprefix("share."), "percent")
        for c in drift.columns
        if str(c).startswith("share.")
    ]
    return templates.render(
        "drift.html",
        marks=[
            ("major", "flagged major: PSI ≥ 0.25 or a rate moved ≥ 10 pts"),
            (
                "moderate",
                "moderate: PSI ≥ 0.1 or ≥ 5 pts (each significant: Benjamini-Hochberg adjusted "
                "p < 0.001 over the months; accuracy from 20+ labels on each side)",
            ),
        ],
        drift_plot=picture(report.plot_drift(), "Confidence, no-match rate and PSI per month"),
        drift=view(drift, DRIFT, source="report.drift()", index=period),
        shares=view(drift, shares, source="report.drift()", index=period),
    )


# -- Did a rule change matter? ----------------------------------------------------------------


def configuration_names(df: pd.DataFrame) -> dict[str, str]:
    """``configuration_id`` → ``"name v3"`` where the frame names its configurations
    (``configuration.name`` and ``configuration.version``, as a server sends them or
    ``cf.with_configuration_names`` adds them); the last name seen wins.

    >>> configuration_names(pd.DataFrame({"configuration_id": ["c1"],
    ...     "configuration.name": ["invoices"], "configuration.version": [3]}))
    {'c1': 'invoices v3'}
    """
    if "configuration_id" not in df.columns or "configuration.name" not in df.columns:
        return {}
    named = df.dropna(subset=["configuration_id", "configuration.name"])
    if "configuration.version" in df.columns:
        versions = named["configuration.version"].tolist()
    else:
        versions = [None] * len(named)
    out = {}
    for config, name, version in zip(
        named["configuration_id"].tolist(),
        named["configuration.name"].tolist(),
        versions,
        strict=True,
    ):
        label = str(name)
        if not fmt.is_missing(version) and str(version):
            label += f" {version}" if str(version).startswith("v") else f" v{version}"
        out[str(config)] = label
    return out


def _config_index(report: AuditView) -> list[Column]:
    names = report.data.configuration_names
    return [
        Column("configuration_id", "configuration", "id", names=names),
        Column("rule_set", "rule set", "id"),
    ]


BY_CONFIGURATION = [
    Column("jobs", "jobs", "count"),
    Column("no_match_rate", "no match", "percent", low="no_match_lo", high="no_match_hi"),
    Column("confidence_mean", "mean confidence", "number"),
    Column("below_threshold", "below threshold", "percent"),
    Column("rules", "rules", "count"),
    Column("first_seen", "first job", "time"),
    Column("last_seen", "last job", "time"),
]
RULE_CHANGES = [
    Column("from_rule_set", "from", "id"),
    Column("to_rule_set", "to", "id"),
    Column("type", "type", "text"),
    Column("change", "change", "text"),
    Column("old_description", "before", "text", css="wide"),
    Column("new_description", "after", "text", css="wide"),
]
RECLASSIFIED = [
    Column("documents", "documents", "count"),
    Column("agreement", "same type", "percent", low="agreement_lo", high="agreement_hi"),
]
UNUSED = [
    Column("rule_set", "rule set", "id"),
    Column("type", "type", "text"),
    Column("description", "description", "text", css="wide"),
    Column("jobs_under_rule_set", "jobs under it", "count"),
]
UNKNOWN = [
    Column("rule_set", "rule set", "id"),
    Column("type", "type", "text"),
    Column("jobs", "jobs", "count"),
]


def _rules_answers(report: AuditView, goal: Goal) -> list[str]:
    configs = report.by_configuration
    if configs.empty:
        return ["No completed job: there is no configuration to compare."]
    out = [
        f"{configs.index.get_level_values('configuration_id').nunique()} configurations, "
        f"{configs.index.get_level_values('rule_set').nunique()} rule-set versions."
    ]
    reclassified, refused = _reclassified(report)
    if refused:
        out.append(f"Documents classified under two rule sets are not compared: {refused}.")
    pairs = zip(
        reclassified.index.get_level_values("from_rule_set").tolist(),
        reclassified.index.get_level_values("to_rule_set").tolist(),
        range(len(reclassified)),
        strict=True,
    )
    for old, new, position in pairs:
        row = reclassified.iloc[position]
        out.append(
            f"{fmt.count(row['documents'])} documents were classified under rule set "
            f"{fmt.short_id(old)} and again under {fmt.short_id(new)}: "
            f"{fmt.percent(row['agreement'])} kept their type "
            f"(95% CI {fmt.interval(row['agreement_lo'], row['agreement_hi'])})."
        )
    if reclassified.empty and not refused and len(report.rule_changes):
        out.append(
            f"{len(report.rule_changes)} rules changed between versions, but no document was "
            "classified under both, so their effect cannot be measured directly."
        )
    if len(report.unknown_types):
        out.append(f"{len(report.unknown_types)} result types are not among their job's rules.")
    return out


def _matrix_columns(frame: pd.DataFrame, kind: Kind) -> list[Column]:
    return [Column(str(c), str(c), kind) for c in frame.columns]


def _reclassified(report: AuditView) -> tuple[pd.DataFrame, str]:
    """``report.reclassified``, or an empty table and why the report refuses it (an audit
    counted in cells: the pairs are a join over every job)."""
    try:
        return report.reclassified, ""
    except NotImplementedError as exc:
        pairs = pd.MultiIndex.from_arrays([[], []], names=["from_rule_set", "to_rule_set"])
        return pd.DataFrame(index=pairs), str(exc)


def _rules_body(report: AuditView, goal: Goal, templates: Templates) -> str:
    mix = report.configuration_mix
    reclassified, refused = _reclassified(report)
    flips = pd.DataFrame() if refused else report.flips()
    flip_index = [Column(str(flips.index.name), str(flips.index.name), "text")]
    flip_columns = [
        Column(
            str(c),
            str(c),
            "count",
            mark=lambda row, c=c: "diag" if row.name == c else "",  # type: ignore[misc]
        )
        for c in flips.columns
    ]
    return templates.render(
        "rules.html",
        by_configuration=view(
            report.by_configuration,
            BY_CONFIGURATION,
            source="report.by_configuration",
            index=_config_index(report),
        ),
        mix=view(
            mix,
            _matrix_columns(mix, "percent"),
            source="report.configuration_mix",
            index=_config_index(report),
        ),
        rule_changes=view(
            report.rule_changes, RULE_CHANGES, source="report.rule_changes", empty="none"
        ),
        reclassified=view(
            reclassified,
            RECLASSIFIED,
            source="report.reclassified",
            index=[Column("from_rule_set", "from", "id"), Column("to_rule_set", "to", "id")],
            empty=refused or "none",
        ),
        flips=view(
            flips,
            flip_columns,
            source="report.flips()",
            index=flip_index if len(flips) else [],
            note="rows: type under the old rule set; columns: under the new one",
            empty=refused or "none",
        ),
        unused=view(report.unused_rules, UNUSED, source="report.unused_rules", empty="none"),
        unknown=view(report.unknown_types, UNKNOWN, source="report.unknown_types", empty="none"),
    )


# -- every headline number --------------------------------------------------------------------

_COUNTS = {"jobs", "completed", "failed", "no_match", "labelled"}
_SHARES = ("_share", "_rate", "below_threshold", "accuracy", "accuracy_lo", "accuracy_hi")


def _summary_kind(row: pd.Series) -> Kind:
    """How a summary metric is written, from its name (and text as text)."""
    name, value = str(row.name), row["value"]
    if isinstance(value, str):
        return "text"
    if name in _COUNTS or name.endswith(("_missing", "_impossible", "_labels", "not_fetched")):
        return "count"
    if name.endswith(_SHARES):
        return "percent"
    return "confidence" if name.startswith("confidence_") or name == "threshold" else "number"


QUEUE = [
    Column("id", "id", "text"),
    Column("result.type", "predicted", "text", blank="no match"),
    Column("result.confidence", "confidence", "confidence"),
    Column("file_input", "document", "text", css="wide"),
    Column("result.reasoning", "reasoning", "text", css="wide"),
]


def _numbers_body(report: AuditView, goal: Goal, templates: Templates) -> str:
    return templates.render(
        "numbers.html",
        summary=view(
            report.summary,
            [Column("value", "value", _summary_kind)],
            source="report.summary",
            index=[Column("metric", "metric", "text")],
            fold=False,
        ),
        queue=view(report.review_queue(25), QUEUE, source="report.review_queue(25)"),
    )


# -- an audit at a glance ----------------------------------------------------------------------

#: The headline numbers of ``report.summary`` an audit at a glance shows.
GLANCE_ROWS = (
    "jobs",
    "completed",
    "failed",
    "no_match",
    "no_match_rate",
    "confidence_p50",
    "threshold",
    "below_threshold",
    "accuracy",
    "ece",
)
GLANCE_TYPES = 12
GLANCE_COLUMNS = [
    Column("count", "jobs", "count"),
    Column("share", "share", "percent"),
    Column("confidence_mean", "mean confidence", "number"),
    Column("below_threshold", "below threshold", "percent"),
    Column("accuracy", "accuracy", "percent", low="accuracy_lo", high="accuracy_hi"),
]


def glance(report: AuditView) -> str:
    """The headline numbers of ``report.summary`` and the commonest types of
    ``report.by_type`` (the rest named), with the table component's stylesheet: what the
    explorer shows for "Audit this selection"."""
    summary, by_type = report.summary, report.by_type
    rest = by_type.iloc[GLANCE_TYPES:]
    note = ""
    if len(rest):
        names = ", ".join(str(n) for n in rest.index)
        note = f"and {len(rest)} more types, {fmt.count(rest['count'].sum())} jobs: {names}"
    return Templates().render(
        "glance.html",
        summary=view(
            summary,
            [Column("value", "value", _summary_kind)],
            source="report.summary",
            index=[Column("metric", "metric", "text")],
            rows=[int(i) for i in summary.index.get_indexer(pd.Index(GLANCE_ROWS)) if i >= 0],
            fold=False,
        ),
        by_type=view(
            by_type,
            GLANCE_COLUMNS,
            source="report.by_type",
            index=[TYPE],
            rows=range(min(GLANCE_TYPES, len(by_type))),
            note=note,
            fold=False,
        ),
    )


# -- a rule-set experiment -------------------------------------------------------------------

# -- the whole ---------------------------------------------------------------------------------


def _none(report: AuditView, goal: Goal) -> list[str]:
    return []


@dataclass(frozen=True)
class _Question:
    anchor: str
    title: str
    answers: Callable[[AuditView, Goal], list[str]]
    body: Callable[[AuditView, Goal, Templates], str]


QUESTIONS = (
    _Question("auto-accept", "Can we auto-accept?", _auto_accept_answers, _auto_accept_body),
    _Question("wrong", "Where is it wrong?", _where_answers, _where_body),
    _Question("calibrated", "Is it calibrated?", _calibrated_answers, _calibrated_body),
    _Question("drift", "Did anything drift?", _drift_answers, _drift_body),
    _Question("rules", "Did a rule change matter?", _rules_answers, _rules_body),
)
#: The appendix: after the questions and any rule-set experiment.
APPENDIX = _Question("numbers", "Every headline number", _none, _numbers_body)


def sections(
    report: AuditView, goal: Goal = Goal(), templates: Templates | None = None
) -> list[Section]:
    """The report's questions in order, each with its answers and body, then the appendix."""
    templates = templates or Templates()
    return [
        Section(q.anchor, q.title, q.answers(report, goal), q.body(report, goal, templates))
        for q in (*QUESTIONS, APPENDIX)
    ]


def findings(report: AuditView, goal: Goal = Goal()) -> list[str]:
    """The conclusions the document states first: ``report.findings``, then what the
    document adds (the most frequent mistake, drift, rule changes)."""
    if _value(report, "completed") == 0:
        return [*report.findings, *_overall_answers(report)]
    extra = [a for a in _where_answers(report, goal) if a.startswith("Most frequent")]
    return [
        *report.findings,
        *extra,
        *_drift_answers(report, goal),
        *_rules_answers(report, goal),
    ]


def document(
    report: AuditView, goal: Goal = Goal(), comparisons: Sequence[ComparedRuns] = ()
) -> str:
    """The whole report as one self-contained HTML page; each rule-set experiment
    (:func:`classify_frames.compare`) a section of its own after the questions, before the
    appendix of every headline number."""
    templates = Templates()
    parts = sections(report, goal, templates)
    experiments = [
        comparison_section(c, f"experiment-{i}", templates, f"Rule-set experiment {i}")
        for i, c in enumerate(comparisons, 1)
    ]
    return templates.render(
        "page.html",
        title=title(report),
        context=context(report),
        found=findings(report, goal),
        sections=[*parts[:-1], *experiments, parts[-1]],
    )


def compact(report: AuditView, goal: Goal = Goal()) -> str:
    """What Jupyter shows: title, context, findings and the headline plot, not every table."""
    if _sampled(report):
        headline = picture(report.plot_risk_coverage(), "Risk-coverage curve")
    else:
        headline = picture(report.plot_confidence(), "Stated confidence per predicted type")
    return Templates().render(
        "compact.html",
        title=title(report),
        context=context(report),
        found=findings(report, goal),
        headline=headline,
    )
