"""The emulator's job store: the generated dataset plus what clients changed since.

Dataset jobs are served from the dataset's columns; cancelled or deleted ones are recorded on
the side. Created jobs live here and move PENDING -> RUNNING -> COMPLETED or FAILED over
``job_duration`` seconds of the store's clock (wall time unless a test injects one).
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from ._catalog import EVIDENCE
from ._classifier import classify_document
from ._data import CONFIDENCES, FILE, PARSE_JOB, STATUSES, Dataset, format_time
from ._ids import make_id, mix
from ._requests import CreateRequest, ListQuery

__all__ = ["JobStateError", "JobStore", "Selection", "decode_token", "encode_token"]

_FINAL = {"COMPLETED", "FAILED", "CANCELLED"}
_PENDING_SHARE = 0.2  # of job_duration spent PENDING before RUNNING
_ENCODED_CACHE = 8192  # dataset jobs kept as JSON bytes


class JobStateError(Exception):
    """The request is valid but the job's state forbids it (400: the SDK retries 409)."""


def encode_token(offset: int, key: str) -> str:
    """An opaque cursor: the offset into one filtered listing."""
    raw = orjson.dumps({"o": offset, "k": key})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str, key: str) -> int | None:
    """The offset of a token made for this listing, or None for a bad or foreign token."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("k") != key:
        return None
    offset = data.get("o")
    return offset if isinstance(offset, int) and offset >= 0 else None


@dataclass
class _Created:
    """A job created through the API, rendered at the moment it is read."""

    job: dict[str, Any]
    project: str
    start: float
    duration: float
    outcome: str
    result: dict[str, Any] | None
    parse_job_id: str
    pages: int
    legacy: bool
    cancelled_at: float | None = None

    def render(self, now: float, usage: bool = False) -> dict[str, Any]:
        """The job as read at ``now``; ``usage`` only when asked for (``expand=usage``)."""
        job = dict(self.job)
        running_at = self.start + self.duration * _PENDING_SHARE
        done_at = self.start + self.duration
        if self.cancelled_at is not None:
            status, changed = ("FAILED" if self.legacy else "CANCELLED"), self.cancelled_at
            if self.legacy:
                job["error_message"] = "Job was cancelled by the user"
        elif now < running_at:
            status, changed = "PENDING", self.start
        elif now < done_at:
            status, changed = "RUNNING", running_at
        else:
            status, changed = self.outcome, done_at
        job["status"] = status
        job["updated_at"] = format_time(int(changed * 1000))
        if status != "PENDING":
            job["parse_job_id"] = self.parse_job_id
        if status == "COMPLETED":
            job["result"] = self.result
        if status == "FAILED" and self.cancelled_at is None:
            job["error_message"] = "Timed out waiting for the parse job after 900 seconds"
        if not usage:
            job.pop("usage", None)
        elif "usage" in job and status in ("COMPLETED", "FAILED"):
            parse = None if job["document_input_type"] == "parse_job_id" else float(self.pages)
            job["usage"] = {"credits": parse or 0.0, "parse_credits": parse}
        return job


@dataclass(frozen=True)
class Selection:
    """The jobs of one listing, in order: dataset rows first, then created jobs."""

    rows: np.ndarray
    created: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.rows) + len(self.created)


class JobStore:
    """Every job a project can see, with the changes clients made to them."""

    def __init__(
        self,
        dataset: Dataset,
        job_duration: float = 2.0,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dataset = dataset
        self.job_duration = job_duration
        self.clock = clock  # seconds since the epoch; a test steps a fake one instead of sleeping
        self._deleted: set[int] = set()
        self._changed: dict[int, dict[str, Any]] = {}  # dataset rows cancelled since
        self._created: dict[str, _Created] = {}
        self._by_transaction: dict[tuple[str, str], str] = {}
        self.saved_configurations = {c["id"]: c for c in dataset.configurations}
        self._config_codes = {c["id"]: k for k, c in enumerate(dataset.configurations)}
        self._rows_cache: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()
        self._encoded: dict[tuple[int, bool], bytes] = {}  # by row and whether usage is in
        self._rng = random.Random(seed)
        self._key = mix(seed + 0xC4EA7E) >> 2  # ids of created jobs: no clash with the dataset's
        self._made = 0
        self._version = 0

    # -- reading ---------------------------------------------------------------------------

    def get(self, job_id: str, project: str, usage: bool = False) -> dict[str, Any] | None:
        """The job as its project sees it, or None (unknown, deleted or another project's);
        ``usage`` only when asked for, as the service sends it for ``expand=usage``."""
        made = self._created.get(job_id)
        if made is not None:
            return made.render(self.clock(), usage) if made.project == project else None
        row = self._row(job_id, project)
        if row is None:
            return None
        return _with_usage(self._changed.get(row) or self.dataset.job(row), usage)

    def get_bytes(self, job_id: str, project: str, usage: bool = False) -> bytes | None:
        """:meth:`get` as JSON bytes; recently served dataset jobs come from a small cache."""
        if job_id in self._created:
            job = self.get(job_id, project, usage)
            return None if job is None else orjson.dumps(job)
        row = self._row(job_id, project)
        if row is None:
            return None
        body = self._encoded.get((row, usage))
        if body is None:
            body = orjson.dumps(self.get(job_id, project, usage))
            self._encoded[(row, usage)] = body
            if len(self._encoded) > _ENCODED_CACHE:
                del self._encoded[next(iter(self._encoded))]  # the oldest entry
        return body

    def jobs(self, rows: np.ndarray, usage: bool = False) -> list[dict[str, Any]]:
        """The dataset jobs of ``rows``, with the changes clients made."""
        jobs = self.dataset.jobs_at(rows)
        if self._changed:
            for k, row in enumerate(rows.tolist()):
                if row in self._changed:
                    jobs[k] = dict(self._changed[row])
        if not usage:
            for job in jobs:
                job.pop("usage", None)
        return jobs

    def select(self, query: ListQuery, project: str, usage: bool = False) -> Selection:
        """Every job of ``project`` matching ``query``'s filters, in listing order."""
        key = (*query.filter_key(), project, self._version)
        rows = self._rows_cache.get(key)
        if rows is None:
            rows = self._select_rows(query, project)
            self._rows_cache[key] = rows
            if len(self._rows_cache) > 32:
                self._rows_cache.popitem(last=False)
        else:
            self._rows_cache.move_to_end(key)
        now = self.clock()
        wanted = set(query.job_ids) if query.job_ids is not None else None
        created = [
            job
            for job_id, made in self._created.items()
            if made.project == project and (wanted is None or job_id in wanted)
            for job in [made.render(now, usage)]
            if _matches(job, query)
        ]
        return Selection(rows, created)

    def listing_key(self, query: ListQuery, project: str) -> str:
        """A short digest of the filters, so a page token only works for its own listing."""
        text = repr((*query.filter_key(), project)).encode()
        return hashlib.blake2s(text, digest_size=6).hexdigest()

    def _row(self, job_id: str, project: str) -> int | None:
        if project != self.dataset.project_id:
            return None
        row = self.dataset.index_of(job_id)
        return None if row is None or row in self._deleted else row

    def _select_rows(self, query: ListQuery, project: str) -> np.ndarray:
        ds = self.dataset
        if project != ds.project_id:
            return np.empty(0, dtype=np.int64)
        if query.job_ids is not None:
            found = {ds.index_of(i) for i in query.job_ids}
            rows = np.array(sorted(r for r in found if r is not None), dtype=np.int64)
        else:
            low = 0 if query.after_ms is None else np.searchsorted(ds.created_ms, query.after_ms)
            high = (
                len(ds)
                if query.before_ms is None
                else np.searchsorted(ds.created_ms, query.before_ms, side="right")
            )
            rows = np.arange(low, max(low, high), dtype=np.int64)
        mask = np.ones(len(rows), dtype=bool)
        if query.after_ms is not None:
            mask &= ds.created_ms[rows] >= query.after_ms
        if query.before_ms is not None:
            mask &= ds.created_ms[rows] <= query.before_ms
        if query.status is not None:
            mask &= ds.status_codes[rows] == STATUSES.index(query.status)
        if query.configuration_id is not None:
            code = self._config_codes.get(query.configuration_id, -1)
            mask &= ds.config_codes[rows] == code
        edited = self._deleted | set(self._changed)
        if edited:
            mask &= ~np.isin(rows, np.fromiter(edited, dtype=np.int64))
        rows = rows[mask]
        if self._changed:
            extra = [
                r
                for r, job in self._changed.items()
                if _matches(job, query)
                and (query.job_ids is None or job["id"] in set(query.job_ids))
            ]
            rows = np.union1d(rows, np.array(extra, dtype=np.int64))
        return rows

    # -- changing --------------------------------------------------------------------------

    def create(self, request: CreateRequest, project: str) -> tuple[dict[str, Any], bool]:
        """The new job (or the original one for a reused transaction_id), and whether it is new.

        Raises:
            LookupError: ``configuration_id`` names no configuration.
        """
        if request.transaction_id is not None:
            original = self._by_transaction.get((project, request.transaction_id))
            if original is not None:
                return self._created[original].render(self.clock()), False
        configuration, config_id = self._configuration(request)
        now = self.clock()
        number = self._made
        self._made += 1
        job_id = make_id(number, self._key)
        legacy = self.dataset.schema == "seed"
        job: dict[str, Any] = {
            "id": job_id,
            "configuration": configuration,
            "document_input_type": request.input_type,
        }
        job["document_input_value" if legacy else "file_input"] = request.input_value
        job.update(
            project_id=project,
            status="PENDING",
            user_id=self.dataset.user_ids[0],
            configuration_id=config_id,
            created_at=format_time(int(now * 1000)),
            error_message=None,
            parse_job_id=None,
            result=None,
            transaction_id=request.transaction_id,
            updated_at=format_time(int(now * 1000)),
        )
        if not legacy:
            job["usage"] = {"credits": None, "parse_credits": None}
        source = self.dataset.original_input(request.input_value)
        kind = self.dataset.document_kind(source)
        result: dict[str, Any] | None
        if kind is None:  # not a document of the dataset: no truth to answer from
            failed, result = self._rng.random() < 0.1, self._result(configuration)
        else:
            # keyed by the document, not by how its id is spelled (``dfl-``/``pjb-`` or bare)
            document = source.removeprefix(FILE).removeprefix(PARSE_JOB)
            failed, result = classify_document(
                kind, configuration["rules"], self.dataset.seed, document
            )
        made = _Created(
            job=job,
            project=project,
            start=now,
            duration=self.job_duration,
            outcome="FAILED" if failed else "COMPLETED",
            result=result,
            parse_job_id=(
                request.input_value
                if request.input_type == "parse_job_id"
                else PARSE_JOB + make_id(number, self._key ^ 0x9A75E)
            ),
            pages=self._rng.randint(1, 12),
            legacy=legacy,
        )
        self._created[job_id] = made
        if request.transaction_id is not None:
            self._by_transaction[(project, request.transaction_id)] = job_id
        return made.render(now), True

    def cancel(self, job_id: str, project: str) -> dict[str, Any] | None:
        """Cancel a PENDING or RUNNING job; None when not found.

        Raises:
            JobStateError: the job has already finished.
        """
        now = self.clock()
        made = self._created.get(job_id)
        if made is not None and made.project == project:
            status = made.render(now)["status"]
            if status in _FINAL:
                msg = f"Job {job_id} is already {status} and cannot be cancelled"
                raise JobStateError(msg)
            made.cancelled_at = now
            return made.render(now)
        row = self._row(job_id, project)
        if row is None:
            return None
        job = dict(self._changed.get(row) or self.dataset.job(row))
        if job["status"] in _FINAL:
            msg = f"Job {job_id} is already {job['status']} and cannot be cancelled"
            raise JobStateError(msg)
        if self.dataset.schema == "seed" or "file_input" not in job:
            job.update(status="FAILED", error_message="Job was cancelled by the user")
        else:
            job["status"] = "CANCELLED"
        job["updated_at"] = format_time(int(now * 1000))
        if "usage" in job:  # billing stopped with the job: nothing recorded
            job["usage"] = {"credits": None, "parse_credits": None}
        self._changed[row] = job
        self._forget(row)
        self._version += 1
        return _with_usage(job, usage=False)

    def delete(self, job_id: str, project: str) -> bool:
        """Delete a finished job; False when not found.

        Raises:
            JobStateError: the job is PENDING or RUNNING (the service deletes terminal jobs
                only: cancel it first).
        """
        now = self.clock()
        made = self._created.get(job_id)
        if made is not None and made.project == project:
            _refuse_unfinished(job_id, made.render(now)["status"])
            del self._created[job_id]
            return True
        row = self._row(job_id, project)
        if row is None:
            return False
        _refuse_unfinished(job_id, (self._changed.get(row) or self.dataset.job(row))["status"])
        self._deleted.add(row)
        self._changed.pop(row, None)
        self._forget(row)
        self._version += 1
        return True

    def _forget(self, row: int) -> None:
        self._encoded.pop((row, False), None)
        self._encoded.pop((row, True), None)

    def _configuration(self, request: CreateRequest) -> tuple[dict[str, Any], str | None]:
        if request.configuration_id is not None and request.configuration is None:
            saved = self.saved_configurations.get(request.configuration_id)
            if saved is None:
                msg = f"Configuration {request.configuration_id} not found"
                raise LookupError(msg)
            return saved["configuration"], request.configuration_id
        given = request.configuration or {}
        parsing = given.get("parsing_configuration") or {}
        configuration = {
            "rules": [{"description": r["description"], "type": r["type"]} for r in given["rules"]],
            "mode": given.get("mode") or "FAST",
            "parsing_configuration": {
                "lang": parsing.get("lang", "en"),
                "max_pages": parsing.get("max_pages"),
                "target_pages": parsing.get("target_pages"),
            },
        }
        return configuration, request.configuration_id

    def _result(self, configuration: dict[str, Any]) -> dict[str, Any]:
        confidence = CONFIDENCES[self._rng.randrange(len(CONFIDENCES))]
        if self._rng.random() < 0.1:
            reasoning = "None of the rules describe this document."
            return {"confidence": confidence, "reasoning": reasoning, "type": None}
        rule = configuration["rules"][self._rng.randrange(len(configuration["rules"]))]
        evidence = EVIDENCE.get(rule["type"], ("matches the rule's description",))[0]
        reasoning = f"The document {evidence}, which matches the '{rule['type']}' rule."
        return {"confidence": confidence, "reasoning": reasoning, "type": rule["type"]}


def _with_usage(job: dict[str, Any], usage: bool) -> dict[str, Any]:
    if usage or "usage" not in job:
        return job
    return {k: v for k, v in job.items() if k != "usage"}


def _refuse_unfinished(job_id: str, status: str) -> None:
    if status not in _FINAL:
        msg = f"Job {job_id} is {status}: only a finished job can be deleted (cancel it first)"
        raise JobStateError(msg)


def _matches(job: dict[str, Any], query: ListQuery) -> bool:
    if query.status is not None and job["status"] != query.status:
        return False
    if query.configuration_id is not None and job["configuration_id"] != query.configuration_id:
        return False
    if query.after_ms is None and query.before_ms is None:
        return True
    created = _ms(job["created_at"])
    if query.after_ms is not None and created < query.after_ms:
        return False
    return query.before_ms is None or created <= query.before_ms


def _ms(stamp: str) -> int:
    return int(np.datetime64(stamp.rstrip("Z"), "ms").astype(np.int64))
