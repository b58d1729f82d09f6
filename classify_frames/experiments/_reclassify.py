"""Re-run jobs on the same inputs under new rules, idempotently, and wait for the answers.

>>> import classify_frames as cf
>>> after = cf.reclassify(sample, rules=better, experiment="invoice-v3")   # doctest: +SKIP
>>> cf.compare(sample, after, labels="labels.csv")                          # doctest: +SKIP

Each new job's ``transaction_id`` is made from the experiment's name, the source job's id and
the rule set's fingerprint, so running the same call again (after a crash, a Ctrl-C, or just
once more) creates nothing new: the service answers with the jobs it made the first time.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Unpack, overload

import pandas as pd

from .._exceptions import Call, ConfigurationError, Opt, Parts
from ..client import ClassifyClient, ClientOptions, borrow_or_make
from ..frame import build_frame
from ._create import DEFAULT_CREATE_RATE, InputStyle, JobRequest, creation_error
from ._rules import Rule, RulesInput, check_rules, fingerprint
from ._webhooks import Webhook, webhook_fields

__all__ = ["ReclassifyPlan", "reclassify", "transaction_id"]

_STRING = pd.StringDtype("pyarrow")
_MAX_EXPERIMENT = 100
_SOURCE_COLUMNS = frozenset(
    {"id", "document_input_value", "file_input", "document_input_type", "parse_job_id"}
    | {"fetch_error"}
    | {f"configuration.parsing_configuration.{k}" for k in ("lang", "max_pages", "target_pages")}
)


def transaction_id(experiment: str, source_id: str, rule_set: str) -> str:
    """The idempotency key of re-running ``source_id`` under ``rule_set`` in ``experiment``."""
    text = "\x1f".join((experiment, source_id, rule_set)).encode()
    return "cfx-" + hashlib.sha256(text).hexdigest()[:40]


@dataclass(frozen=True)
class ReclassifyPlan:
    """What ``reclassify(..., dry_run=True)`` would do; nothing was sent."""

    experiment: str
    rule_set: str
    jobs: int
    without_input: int
    credits: float | None
    credits_known: int

    def __str__(self) -> str:
        text = (
            f"Experiment {self.experiment!r} (rule set {self.rule_set}) would create at most "
            f"{self.jobs:,} job(s), one per source job with an input (fewer when some were "
            "created by an earlier run: those are reused, not paid twice)"
        )
        if self.without_input:
            text += f"; {self.without_input:,} row(s) have no input to re-run"
        if self.credits is None:
            return text + (
                ". No credits estimate: the source jobs carry no usage (fetch or list them "
                "with credits=True)."
            )
        return (
            f"{text}. Estimated cost: about {self.credits:,.0f} credits, from the source jobs' "
            f"usage (known for {self.credits_known:,} of {self.jobs:,})."
        )

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p><b>Dry run.</b> {escape(str(self))}</p>"


@dataclass(frozen=True)
class _Source:
    row: int
    job_id: str
    request: JobRequest | None
    problem: str | None


@overload
def reclassify(
    jobs: pd.DataFrame | Iterable[str],
    *,
    experiment: str,
    rules: RulesInput | None = ...,
    configuration_id: str | None = ...,
    wait: bool = ...,
    wait_timeout: float = ...,
    dry_run: Literal[False] = ...,
    rate: float = ...,
    input_style: InputStyle = ...,
    webhooks: Sequence[Webhook] | None = ...,
    webhook_configuration_ids: Sequence[str] | None = ...,
    client: ClassifyClient | None = ...,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame: ...
@overload
def reclassify(
    jobs: pd.DataFrame | Iterable[str],
    *,
    experiment: str,
    rules: RulesInput | None = ...,
    configuration_id: str | None = ...,
    wait: bool = ...,
    wait_timeout: float = ...,
    dry_run: Literal[True],
    rate: float = ...,
    input_style: InputStyle = ...,
    webhooks: Sequence[Webhook] | None = ...,
    webhook_configuration_ids: Sequence[str] | None = ...,
    client: ClassifyClient | None = ...,
    **client_options: Unpack[ClientOptions],
) -> ReclassifyPlan: ...
def reclassify(
    jobs: pd.DataFrame | Iterable[str],
    *,
    experiment: str,
    rules: RulesInput | None = None,
    configuration_id: str | None = None,
    wait: bool = True,
    wait_timeout: float = 1800.0,
    dry_run: bool = False,
    rate: float = DEFAULT_CREATE_RATE,
    input_style: InputStyle = "file_input",
    webhooks: Sequence[Webhook] | None = None,
    webhook_configuration_ids: Sequence[str] | None = None,
    client: ClassifyClient | None = None,
    **client_options: Unpack[ClientOptions],
) -> pd.DataFrame | ReclassifyPlan:
    """Re-run each job on its input under ``rules`` (or a saved ``configuration_id``).

    Returns a frame in the column contract, one row per row of ``jobs`` and in its order, with
    ``source_id`` (the job re-run) and ``experiment``; a job that could not be created is a row
    with ``fetch_error``. Idempotent: the same call again returns the same jobs and creates
    none. ``wait=True`` polls until every new job is final (progress bar; Ctrl-C stops
    waiting, and the same call resumes). ``dry_run=True`` sends nothing and returns a
    :class:`ReclassifyPlan` (how many jobs, credits estimated from the originals' usage).

    Args:
        jobs: a frame of jobs (``fetch_jobs``, ``list_jobs``), or their ids (fetched first).
        experiment: a name for this trial; with the rules it makes the transaction ids.
        rules: the candidate rule set (checked before any request; see ``check_rules``).
        configuration_id: a saved configuration to use instead of ``rules``.
        rate: creations per second (the service allows 40; the free tier ``20 / 60``).
        input_style: ``"file_input"`` sends each input as ``file_input`` (a file id or a parse
            job id, the only inputs the create call documents; a URL job is re-run on the
            parse job it ran, its ``parse_job_id``, so nothing is parsed again); ``"legacy"``
            sends ``file_id`` / ``parse_job_id`` instead, for old servers.
        webhooks: webhook configurations every new job notifies (``webhook_url``, and
            optionally ``webhook_events``, ``webhook_headers``, ``webhook_output_format``,
            ``webhook_signing_secret``), as the SDK's create takes them.
        webhook_configuration_ids: saved webhook configurations to notify.
        client: a :class:`ClassifyClient` to use; otherwise one is made from ``client_options``.
    """
    name = _check_experiment(experiment)
    checked, rule_set = _rule_set(rules, configuration_id)
    hooks = webhook_fields(webhooks, webhook_configuration_ids)
    if dry_run:
        if not isinstance(jobs, pd.DataFrame):
            msg = "dry_run needs the frame of jobs (their usage estimates the credits), not ids"
            raise TypeError(msg)
        return _plan(jobs, name, rule_set, checked, configuration_id)
    with borrow_or_make(client, client_options) as active:
        return _reclassify(
            active, jobs, name, rule_set, checked, configuration_id,
            wait=wait, wait_timeout=wait_timeout, rate=rate, style=input_style,
            progress=client_options.get("progress"), extra=hooks,
        )  # fmt: skip


def _check_experiment(experiment: object) -> str:
    if not isinstance(experiment, str) or not experiment.strip():
        msg = f"experiment must be a non-empty name (it keys the new jobs), got {experiment!r}"
        raise ValueError(msg)
    if len(experiment) > _MAX_EXPERIMENT:
        msg = f"experiment names have at most {_MAX_EXPERIMENT} characters, got {len(experiment)}"
        raise ValueError(msg)
    return experiment


def _rule_set(
    rules: RulesInput | None, configuration_id: str | None
) -> tuple[list[Rule] | None, str]:
    if (rules is None) == (configuration_id is None):
        said: Parts = ["give the new rules (", Opt("rules", ...), ") or a saved configuration (",
                       Opt("configuration_id", ...), ")"]  # fmt: skip
        raise ConfigurationError(said)
    if rules is not None:
        checked = check_rules(rules)
        return checked, fingerprint(checked)
    if not isinstance(configuration_id, str) or not configuration_id:
        msg = f"configuration_id must be a non-empty string, got {configuration_id!r}"
        raise ValueError(msg)
    return None, f"configuration {configuration_id}"


def _value(row: dict[Any, Any], name: str) -> Any:
    value = row.get(name)
    if value is None or (not isinstance(value, list | dict | str) and pd.isna(value)):
        return None
    return value


def _sources(
    frame: pd.DataFrame, experiment: str, rule_set: str, rules: list[Rule] | None,
    configuration_id: str | None,
) -> list[_Source]:  # fmt: skip
    if "id" not in frame.columns:
        hint: Parts = ["pass jobs from ", Call("fetch_jobs"), " or ", Call("list_jobs")]
        msg = "the jobs frame has no 'id' column"
        raise ConfigurationError(msg, hint=hint)
    _one_configuration(frame)
    out = []
    wanted = [c for c in frame.columns if c in _SOURCE_COLUMNS]
    for k, row in enumerate(frame[wanted].to_dict("records")):
        job_id = _value(row, "id")
        value = _value(row, "file_input") or _value(row, "document_input_value")
        kind = _value(row, "document_input_type")
        if job_id is None:
            out.append(_Source(k, "", None, "no source job id"))
            continue
        if value is None:
            why = _value(row, "fetch_error")
            problem = (
                f"no input to re-run: the source job could not be fetched ({why})"
                if why
                else "no input to re-run: the source job has no file_input"
            )
            out.append(_Source(k, job_id, None, problem))
            continue
        if kind not in ("url", "file_id", "parse_job_id"):
            kind = "url" if str(value).startswith(("http://", "https://")) else "file_id"
        if kind == "url":  # the create call takes file ids and parse job ids, not URLs
            value, kind = _value(row, "parse_job_id"), "parse_job_id"
            if value is None:
                problem = (
                    "no input to re-run: a URL input, which the create call does not take "
                    "(file ids dfl-… and parse job ids pjb-… only), and no parse job of it"
                )
                out.append(_Source(k, job_id, None, problem))
                continue
        configuration: dict[str, Any] | None = None
        if rules is not None:
            parsing = {
                key: v
                for key in ("lang", "max_pages", "target_pages")
                if (v := _value(row, f"configuration.parsing_configuration.{key}")) is not None
            }
            if "max_pages" in parsing:
                parsing["max_pages"] = int(parsing["max_pages"])
            configuration = {"rules": rules, "mode": "FAST"}
            if parsing:
                configuration["parsing_configuration"] = parsing
        request = JobRequest(
            input_type=kind,
            input_value=str(value),
            transaction_id=transaction_id(experiment, job_id, rule_set),
            configuration=configuration,
            configuration_id=configuration_id,
        )
        out.append(_Source(k, job_id, request, None))
    return out


def _one_configuration(frame: pd.DataFrame) -> None:
    """Refuse jobs of several source configurations (configuration ids, or rule sets): one new
    rule set for all of them would mix the rule change with the change of configuration, and
    the comparison would credit the new rules with both."""
    groups: dict[str, pd.Series] = {}
    if "configuration_id" in frame.columns:
        groups["configuration_id"] = frame["configuration_id"].astype(object)
    if "configuration.rules" in frame.columns:
        from ..auditing import rule_set_ids  # the audit's fingerprint of each row

        groups["rule set"] = rule_set_ids(frame["configuration.rules"])[0].astype(object)
    for what, values in groups.items():
        counts = values.dropna().value_counts()
        if len(counts) > 1:
            listed = ", ".join(f"{k} ({n:,} jobs)" for k, n in counts.head(5).items())
            more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
            msg = (
                f"the jobs span {len(counts)} source configurations by {what}: {listed}{more}. "
                "Re-running them all under one rule set mixes the rule change with the change "
                "of configuration (unchanged rules would seem to move accuracy too). Re-run "
                "one configuration at a time, e.g. jobs[jobs['configuration_id'] == ...] (one "
                "rule-set version: cf.audit(jobs).jobs['rule_set']), and compare each with its "
                "own jobs"
            )
            raise ValueError(msg)


def _plan(
    frame: pd.DataFrame, experiment: str, rule_set: str, rules: list[Rule] | None,
    configuration_id: str | None,
) -> ReclassifyPlan:  # fmt: skip
    sources = _sources(frame, experiment, rule_set, rules, configuration_id)
    runnable = [s for s in sources if s.request is not None]
    credits = None
    known = 0
    if "usage.credits" in frame.columns and runnable:
        values = pd.to_numeric(
            frame["usage.credits"].iloc[[s.row for s in runnable]], errors="coerce"
        )
        known = int(values.notna().sum())
        if known:
            credits = float(values.mean()) * len(runnable)
    return ReclassifyPlan(
        experiment=experiment,
        rule_set=rule_set,
        jobs=len(runnable),
        without_input=len(sources) - len(runnable),
        credits=credits,
        credits_known=known,
    )


def _reclassify(
    client: ClassifyClient,
    jobs: pd.DataFrame | Iterable[str],
    experiment: str,
    rule_set: str,
    rules: list[Rule] | None,
    configuration_id: str | None,
    *,
    wait: bool,
    wait_timeout: float,
    rate: float,
    style: InputStyle,
    progress: bool | None,
    extra: dict[str, Any],
) -> pd.DataFrame:
    if isinstance(jobs, pd.DataFrame):
        frame = jobs
    else:
        frame = client.fetch_jobs(list(dict.fromkeys(jobs)), progress=progress)
    sources = _sources(frame, experiment, rule_set, rules, configuration_id)
    runnable = [s for s in sources if s.request is not None]
    bodies = [{**s.request.body(style), **extra} for s in runnable if s.request is not None]
    try:
        creations = client.create_jobs(bodies, rate=rate, progress=progress)
    except KeyboardInterrupt:
        _hint(
            f"stopped while creating {len(bodies):,} jobs. Nothing is lost or paid twice: run "
            "the same call again; it reuses the jobs already made and creates only the rest."
        )
        raise
    created = [c.job["id"] for c in creations if c.job is not None]
    latest = _wait_for(client, created, wait_timeout, progress) if wait else None
    jobs_by_row: dict[int, dict[str, Any]] = {}
    errors: dict[int, tuple[str, int | None]] = {s.row: (s.problem or "", None) for s in sources}
    for source, creation in zip(runnable, creations, strict=True):
        if creation.job is not None:
            jobs_by_row[source.row] = creation.job
            errors.pop(source.row, None)
        else:
            errors[source.row] = (creation_error(creation, rules), creation.status)
    return _assemble(sources, jobs_by_row, errors, latest, experiment, client.frame_attrs())


def _wait_for(
    client: ClassifyClient, created: list[str], timeout: float, progress: bool | None
) -> pd.DataFrame:
    """The new jobs once each is final (or gone), or as they are when ``timeout`` passes."""
    try:
        latest = client.wait_jobs(created, timeout=timeout, progress=progress)
    except KeyboardInterrupt:
        _hint(
            f"stopped waiting for {len(set(created)):,} new jobs. They keep running on the "
            "service; run the same call again to pick them up (it creates nothing new)."
        )
        raise
    left = int(latest["status"].isin(["PENDING", "RUNNING"]).sum())
    if left:
        msg = (
            f"{left:,} new job(s) still PENDING/RUNNING after {timeout:g} s; run the same call "
            "again to keep waiting (it creates nothing new)"
        )
        warnings.warn(msg, stacklevel=4)
    return latest


def _hint(message: str) -> None:
    warnings.warn(message, stacklevel=2)


def _assemble(
    sources: list[_Source],
    jobs_by_row: dict[int, dict[str, Any]],
    errors: dict[int, tuple[str, int | None]],
    latest: pd.DataFrame | None,
    experiment: str,
    attrs: dict[str, Any],
) -> pd.DataFrame:
    """One row per source row, in order: the new job as last seen, or why there is none."""
    if latest is None:
        unique = {job["id"]: job for job in jobs_by_row.values()}
        latest = build_frame(list(unique.values()))
    position = {job_id: k for k, job_id in enumerate(latest["id"].tolist())}
    ok_rows = [s.row for s in sources if s.row in jobs_by_row]
    err_rows = [s.row for s in sources if s.row not in jobs_by_row]
    parts = [latest.iloc[[position[jobs_by_row[r]["id"]] for r in ok_rows]]]
    if err_rows:
        parts.append(
            build_frame(
                [{} for _ in err_rows],
                fetch_errors=[errors[r][0] for r in err_rows],
                http_status=[errors[r][1] for r in err_rows],
            )
        )
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    out["status"] = out["status"].astype(parts[0]["status"].dtype)
    out.index = pd.Index(ok_rows + err_rows)
    out = out.sort_index().reset_index(drop=True)
    tail = list(out.columns).index("fetch_error")
    source_ids = [s.job_id or None for s in sorted(sources, key=lambda s: s.row)]
    out.insert(tail, "experiment", pd.Series([experiment] * len(out), dtype=_STRING))
    out.insert(tail, "source_id", pd.Series(source_ids, dtype=_STRING))
    out.attrs.update(attrs)
    return out
