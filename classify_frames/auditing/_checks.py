"""Pass/fail checks on the audit's figures, for a CI job to gate on (``audit --check``).

A check is ``metric OP value`` (``accuracy>=0.9``, ``ece<=0.05``, ``failure_rate<0.02``,
``accuracy[invoice]>=85%``). Figures counted from the frame (``failure_rate``, ``coverage``
...) are exact and compared as they are. A figure estimated from labels (``accuracy``, ``ece``
...) is judged by the bound of its 95% interval on the far side of the claim: ``>=`` and ``>``
compare the lower bound, ``<=`` and ``<`` the upper bound, so ``accuracy>=0.9`` passes only when
the data rule out an accuracy below 0.9 (one side of a 95% interval: nominally 97.5%
confidence; ``benchmarks/sim_gate.py`` measures it, 95–96% overall for 40 labels per type). A
gate that passes only when every check passes is
an intersection-union test (Berger 1982): its chance of passing when some claim is false is at
most the largest of the single checks', so several checks need no multiplicity correction.
``estimate=True`` (``--check-estimate``) compares the point estimate instead, and says so.

Everything here reads :class:`~classify_frames.auditing.AuditReport`'s public API only.

>>> parse_check("accuracy>=0.9")
Check(text='accuracy>=0.9', metric='accuracy', op='>=', target=0.9, type=None, estimate=False)
>>> parse_check("accuracy[no match] >= 85%").type, parse_check("ece<=5%").target
('no match', 0.05)
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Literal

from .._exceptions import Call, ConfigurationError, Opt, Parts
from . import _format

if TYPE_CHECKING:
    from ._report import AuditReport

__all__ = [
    "ESTIMATED",
    "EXACT",
    "PER_TYPE",
    "Check",
    "CheckError",
    "CheckResult",
    "evaluate",
    "parse_check",
]

Kind = Literal["exact", "interval", "estimate"]
#: Judge the point estimate, not its interval (``--check-estimate`` on the command line).
_ESTIMATE = Opt("estimate", True)
Unit = Literal["share", "count", "score"]


class CheckError(ConfigurationError):
    """A check that cannot be parsed or asked of this report (its message says what to use,
    naming ``estimate=True`` as data: the command line says ``--check-estimate``)."""


@dataclasses.dataclass(frozen=True)
class _Figure:
    """One figure of the report: exact (``low``/``high`` None) or an estimate with its 95%
    interval and the labels behind it."""

    value: float
    low: float | None = None
    high: float | None = None
    labels: int | None = None
    jobs: int | None = None


@dataclasses.dataclass(frozen=True)
class _Metric:
    what: str
    unit: Unit
    read: Callable[[AuditReport], _Figure]
    interval: bool = True  # an estimate without an interval can only be checked as one


def _summary(name: str) -> Callable[[AuditReport], _Figure]:
    def read(report: AuditReport) -> _Figure:
        return _Figure(_float(report.summary["value"][name]))

    return read


def _coverage(report: AuditReport) -> _Figure:
    return _Figure(1.0 - _float(report.summary["value"]["below_threshold"]))


def _labels(report: AuditReport) -> int:
    return int(report.summary["value"]["sample_labels"])


def _accuracy(report: AuditReport) -> _Figure:
    est = report.accuracy_estimate
    return _Figure(est.estimate, est.low, est.high, est.labels, est.jobs)


def _with_ci(
    point: Callable[[AuditReport], float], ci: Callable[[AuditReport], tuple[float, float]]
) -> Callable[[AuditReport], _Figure]:
    def read(report: AuditReport) -> _Figure:
        low, high = ci(report)
        completed = int(report.summary["value"]["completed"])
        return _Figure(point(report), low, high, _labels(report), completed)

    return read


def _point(point: Callable[[AuditReport], float]) -> Callable[[AuditReport], _Figure]:
    def read(report: AuditReport) -> _Figure:
        completed = int(report.summary["value"]["completed"])
        return _Figure(point(report), None, None, _labels(report), completed)

    return read


#: Figures counted from the frame, compared as they are (the names of ``report.summary``;
#: ``coverage`` is ``1 - below_threshold``).
_EXACT: tuple[tuple[str, str, Unit], ...] = (
    ("jobs", "jobs in the file", "count"),
    ("completed", "completed jobs", "count"),
    ("completed_share", "share of jobs completed", "share"),
    ("failed", "failed jobs", "count"),
    ("failure_rate", "share of jobs that failed", "share"),
    ("not_fetched", "rows that could not be fetched", "count"),
    ("not_fetched_share", "share of rows that could not be fetched", "share"),
    ("no_match", "completed jobs that matched no rule", "count"),
    ("no_match_rate", "share of completed jobs that matched no rule", "share"),
    ("below_threshold", "share of completed jobs stated below the threshold", "share"),
    ("confidence_mean", "mean stated confidence", "score"),
    ("confidence_missing", "completed jobs without a confidence", "count"),
    ("confidence_impossible", "jobs stating an impossible confidence", "count"),
)
EXACT: dict[str, _Metric] = {
    name: _Metric(what, unit, _summary(name)) for name, what, unit in _EXACT
} | {
    "coverage": _Metric(
        "share of completed jobs stated at or above the threshold (1 - below_threshold)",
        "share",
        _coverage,
    )
}

#: Figures estimated from the labels: judged by their 95% interval (``mce`` and ``aurc`` have
#: none in the report, so only ``--check-estimate`` takes them).
ESTIMATED: dict[str, _Metric] = {
    "accuracy": _Metric("accuracy of the completed jobs", "share", _accuracy),
    "ece": _Metric(
        "calibration error (plug-in; its interval is the bias-corrected bootstrap's)",
        "score",
        _with_ci(lambda r: r.ece, lambda r: r.ece_ci),
    ),
    "ece_debiased": _Metric(
        "calibration error, debiased",
        "score",
        _with_ci(lambda r: r.ece_debiased, lambda r: r.ece_ci),
    ),
    "brier": _Metric("Brier score", "score", _with_ci(lambda r: r.brier, lambda r: r.brier_ci)),
    "auroc": _Metric(
        "AUROC of confidence for correctness",
        "score",
        _with_ci(lambda r: r.auroc, lambda r: r.auroc_ci),
    ),
    "mce": _Metric("maximum calibration error", "score", _point(lambda r: r.mce), interval=False),
    "aurc": _Metric("area under risk-coverage", "score", _point(lambda r: r.aurc), interval=False),
}


def _type_column(column: str) -> Callable[[AuditReport, str], _Figure]:
    def read(report: AuditReport, name: str) -> _Figure:
        return _Figure(_float(report.by_type.loc[name, column]))

    return read


def _type_accuracy(report: AuditReport, name: str) -> _Figure:
    row = report.by_type.loc[name]
    return _Figure(
        _float(row["accuracy"]),
        _float(row["accuracy_lo"]),
        _float(row["accuracy_hi"]),
        int(_float(row.get("accuracy_labels", 0))),  # absent when no label is a random sample
        int(_float(row["count"])),
    )


#: Per predicted type, ``metric[type]`` (columns of ``report.by_type``): whether each is
#: estimated from labels, and how it is read.
PER_TYPE: dict[str, tuple[str, bool, Unit]] = {
    "accuracy": ("the type's accuracy (its precision)", True, "share"),
    "count": ("jobs predicted as the type", False, "count"),
    "share": ("share of completed jobs predicted as the type", False, "share"),
    "below_threshold": ("share of the type's jobs stated below the threshold", False, "share"),
}

_OPS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    ">=": (">=", operator.ge),
    "≥": (">=", operator.ge),
    "<=": ("<=", operator.le),
    "≤": ("<=", operator.le),
    ">": (">", operator.gt),
    "<": ("<", operator.lt),
}
_SIGN = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
_NEGATION = {">=": "<", "<=": ">", ">": "≤", "<": "≥"}
_SYNTAX = re.compile(
    r"^\s*(?P<metric>[A-Za-z_]\w*)\s*(?:\[(?P<type>[^\]]+)\])?\s*"
    r"(?P<op>>=|<=|≥|≤|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(?P<pct>%)?\s*$"
)


@dataclasses.dataclass(frozen=True)
class Check:
    """One parsed check: ``metric`` (of ``type``, when given) ``op`` ``target``; ``estimate``
    compares the point estimate instead of the interval's bound."""

    text: str
    metric: str
    op: str
    target: float
    type: str | None = None
    estimate: bool = False

    @property
    def needs_labels(self) -> bool:
        """Whether the figure is estimated from labels."""
        if self.type is not None:
            return PER_TYPE[self.metric][1]
        return self.metric in ESTIMATED


def vocabulary() -> Parts:
    """The metric names a check may use, for an error message."""
    estimated = [name for name, m in ESTIMATED.items() if m.interval]
    point_only = [name for name, m in ESTIMATED.items() if not m.interval]
    return [
        f"exact (no labels needed): {', '.join(EXACT)}; "
        f"from labels, judged by their 95% interval: {', '.join(estimated)}; "
        "from labels, point estimate only (", _ESTIMATE, f"): {', '.join(point_only)}; "
        f"per type, as metric[type]: {', '.join(PER_TYPE)}",
    ]  # fmt: skip


def parse_check(text: str, *, estimate: bool = False) -> Check:
    """``"accuracy>=0.9"`` as a :class:`Check`; a :class:`CheckError` names what is wrong and
    the valid metrics. Values may be written as shares (``0.9``) or percentages (``90%``)."""
    match = _SYNTAX.match(text)
    if match is None:
        msg = (
            f"cannot read the check {text!r}: write METRIC OP VALUE, e.g. 'accuracy>=0.9' or "
            "'failure_rate<2%' (OP one of >=, <=, >, <)"
        )
        raise CheckError(msg)
    metric, type_name = match["metric"], match["type"]
    target = float(match["value"]) / (100 if match["pct"] else 1)
    op = _OPS[match["op"]][0]
    known = PER_TYPE if type_name is not None else {**EXACT, **ESTIMATED}
    if metric not in known:
        close = difflib.get_close_matches(metric, list(known), n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        where = "per-type metric" if type_name is not None else "metric"
        raise CheckError([f"unknown {where} {metric!r} in {text!r}: {guess}valid metrics are ",
                          *vocabulary()])  # fmt: skip
    if (
        type_name is None
        and not estimate
        and metric in ESTIMATED
        and not ESTIMATED[metric].interval
    ):
        msg = f"{metric} has no interval in the report, so {text!r} cannot be judged by one"
        instead = Call("parse_check", repr(text), _ESTIMATE)
        hint: Parts = ["check its point estimate instead: ", instead]
        raise CheckError(msg, option="estimate", hint=hint)
    return Check(
        text.strip(), metric, op, target, type_name.strip() if type_name else None, estimate
    )


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """A check judged: ``compared`` is the figure held against ``check.target`` (the exact
    value, the interval's ``bound``, or the point estimate); ``passed`` False when it fails
    or cannot be judged (``reason`` says which)."""

    check: Check
    kind: Kind
    passed: bool
    compared: float | None
    estimate: float | None
    low: float | None
    high: float | None
    bound: Literal["lower", "upper"] | None
    labels: int | None
    jobs: int | None
    reason: str

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.check.text}: {self.reason}"


def evaluate(report: AuditReport, checks: Iterable[Check]) -> list[CheckResult]:
    """Each check judged against ``report`` (see the module's docstring for the rule).

    Raises :class:`CheckError` for a check this report cannot answer at all: a figure from
    labels without labels, or a type the frame does not hold."""
    return [_evaluate(report, check) for check in checks]


def _evaluate(report: AuditReport, check: Check) -> CheckResult:
    if check.needs_labels and report.truth is None:
        msg = f"{check.text!r} needs labels: {check.metric} is estimated from them"
        raise CheckError(msg)
    if check.type is not None:
        names = [str(name) for name in report.by_type.index]
        if check.type not in names:
            msg = f"no type {check.type!r} in {check.text!r}: the types are {', '.join(names)}"
            raise CheckError(msg)
        unit = PER_TYPE[check.metric][2]
        read = _type_accuracy if check.metric == "accuracy" else _type_column(check.metric)
        figure = read(report, check.type)
    else:
        metric = EXACT.get(check.metric) or ESTIMATED[check.metric]
        unit, figure = metric.unit, metric.read(report)
    op = _OPS[check.op][1]
    fmt = _formatter(unit)
    against = f"{_SIGN[check.op]} {fmt(check.target)}"
    behind = _behind(figure, fmt)
    kind: Kind = "estimate" if check.estimate else "interval"
    if not check.needs_labels:
        kind = "exact"
    if not math.isfinite(figure.value):
        why = "no figure: the frame has no completed jobs"
        if check.needs_labels:
            why = "no estimate from these labels"
            if report.sample is None:
                why = "no estimate: the labels are not a random sample"
        return CheckResult(
            check, kind, False, None, None, None, None, None, figure.labels, figure.jobs, why
        )
    if kind == "exact":
        return _result(
            check,
            kind,
            figure,
            figure.value,
            None,
            fmt(figure.value),
            against,
            "exact: counted, not estimated",
            op,
        )
    if check.estimate:
        text = f"point estimate {fmt(figure.value)}"
        note = f"{behind}; the interval is not used" if figure.low is not None else behind
        return _result(check, "estimate", figure, figure.value, None, text, against, note, op)
    bound: Literal["lower", "upper"] = "lower" if check.op in (">=", ">") else "upper"
    value = figure.low if bound == "lower" else figure.high
    assert value is not None  # every metric judged by an interval has one
    exact = figure.labels is not None and figure.jobs is not None and figure.labels >= figure.jobs
    result = _result(
        check,
        "interval",
        figure,
        value,
        bound,
        fmt(value) if exact else f"{bound} 95% bound {fmt(value)}",
        against,
        behind,
        op,
    )
    if not result.passed and op(figure.value, check.target):
        reason = result.reason + f"; the estimate {fmt(figure.value)} passes, its interval does not"
        return dataclasses.replace(result, reason=reason)
    return result


def _result(
    check: Check,
    kind: Kind,
    figure: _Figure,
    value: float,
    bound: Literal["lower", "upper"] | None,
    text: str,
    against: str,
    note: str,
    op: Callable[[float, float], bool],
) -> CheckResult:
    passed = math.isfinite(value) and op(value, check.target)
    sign = against if passed else f"{_NEGATION[check.op]} {against.split(' ', 1)[1]}"
    reason = f"{text} {sign} ({note})"
    exact = kind == "exact"
    return CheckResult(
        check,
        kind,
        passed,
        value if math.isfinite(value) else None,
        None if exact else figure.value,
        None if exact else figure.low,
        None if exact else figure.high,
        bound,
        figure.labels,
        figure.jobs,
        reason,
    )


def _behind(figure: _Figure, fmt: Callable[[float], str]) -> str:
    """The estimate, its interval and the labels behind it, in words."""
    labels = f"{figure.labels:,} labels" if figure.labels is not None else "labels"
    if figure.low is None or figure.high is None:
        return f"estimate {fmt(figure.value)} from {labels}, no interval"
    if figure.labels is not None and figure.jobs is not None and figure.labels >= figure.jobs:
        return f"exact: every one of the {figure.jobs:,} completed jobs is labelled"
    if fmt is _format.percent:
        ci = _format.interval(figure.low, figure.high)
    else:
        ci = f"{fmt(figure.low)}–{fmt(figure.high)}"
    return f"estimate {fmt(figure.value)}, 95% CI {ci}, {labels}"


def _formatter(unit: str) -> Callable[[float], str]:
    return {"share": _format.percent, "count": _format.count}.get(unit, _format.number)


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
