"""Fault injection: what can go wrong between a client and the Classify API, on demand.

Every fault is off by default. Rates are probabilities per request, drawn from a RNG seeded by
``seed`` (reseeded whenever the faults change), so a single-connection run is reproducible.

Per request, in this order: the rate limit (429), latency (with jitter and spikes), then at most
one answer fault — a 5xx, an HTML page, a 200 that is not a job, or the real answer dropped
mid-body, truncated or malformed. List answers may also carry pagination faults.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

__all__ = ["ANSWER_FAULTS", "Counters", "FaultDraws", "Faults", "RateLimiter"]

#: Answer faults, in the order their rates are stacked (one draw picks at most one).
ANSWER_FAULTS = (
    "server_error",
    "html_error",
    "html_200",
    "not_a_job",
    "dropped",
    "truncated",
    "malformed",
)
_RATE_FIELDS = {
    "server_error": "fail_rate",
    "html_error": "html_rate",
    "html_200": "html_200_rate",
    "not_a_job": "not_a_job_rate",
    "dropped": "drop_rate",
    "truncated": "truncate_rate",
    "malformed": "malformed_rate",
}


@dataclass(frozen=True)
class Faults:
    """The faults an emulator injects; change them with ``Emulator.set_faults(**fields)``.

    Attributes:
        latency_ms, jitter_ms: added delay per request, mean and +/- uniform jitter.
        spike_rate, spike_s: probability of a latency spike, and its length in seconds.
        rate_limit, rate_period: at most ``rate_limit`` requests per ``rate_period`` seconds
            (1 = per second, 60 = per minute, like the free tier's 20/min); the rest get 429.
        retry_after: the 429's ``Retry-After`` form, ``"seconds"`` or ``"http-date"``.
        retry_after_ms: also send ``retry-after-ms``.
        fail_rate, fail_statuses: share of requests answered with one of these 5xx statuses.
        no_retry: send ``x-should-retry: false`` with those 5xx answers.
        html_rate: share answered by a proxy's 502 HTML page.
        html_200_rate: share answered 200 with an HTML page (a captive portal or login page).
        not_a_job_rate: share answered 200 with JSON that is not a job (``{"ok": true}``, ``[]``).
        drop_rate: share whose connection closes after the headers and part of the body.
        truncate_rate: share whose JSON body is cut short (Content-Length matching the cut).
        malformed_rate: share whose JSON body is syntactically broken.
        page_loop_rate: share of list pages whose ``next_page_token`` is the token just used.
        duplicate_rate: share of list pages that repeat items of the previous page.
        lying_total_rate: share of list pages whose ``total_size`` is wrong.
        oversize_rate: share of list pages holding more items than ``page_size``.
        ignore_job_ids: the list endpoint ignores ``job_ids`` (a proxy dropping the filter).
        create_rate_limit, create_rate_period: at most this many creations (``POST
            /api/v2/classify``) per period, the rest get 429: the service's 40 per second, or
            the free tier's 20 per 60 s.
        no_configurations: answer 404 on the configurations API, as an older server does.
        list_usage: the list endpoint honours ``expand=usage`` too. Off by default: the SDK's
            list takes no ``expand``, and whether the service's listings can carry ``usage``
            is not documented.
        seed: seeds the RNG that draws every fault.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    spike_rate: float = 0.0
    spike_s: float = 0.0
    rate_limit: float | None = None
    rate_period: float = 1.0
    retry_after: Literal["seconds", "http-date"] = "seconds"
    retry_after_ms: bool = False
    fail_rate: float = 0.0
    fail_statuses: tuple[int, ...] = (500, 502, 503, 504)
    no_retry: bool = False
    html_rate: float = 0.0
    html_200_rate: float = 0.0
    not_a_job_rate: float = 0.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    page_loop_rate: float = 0.0
    duplicate_rate: float = 0.0
    lying_total_rate: float = 0.0
    oversize_rate: float = 0.0
    ignore_job_ids: bool = False
    create_rate_limit: float | None = None
    create_rate_period: float = 1.0
    no_configurations: bool = False
    list_usage: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        rates = [f.name for f in fields(self) if f.name.endswith("_rate")]
        for name in rates:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value <= 1):
                msg = f"{name} must be a probability between 0 and 1, got {value!r}"
                raise ValueError(msg)
        if sum(getattr(self, f) for f in _RATE_FIELDS.values()) > 1:
            msg = "the answer fault rates (fail, html, not_a_job, drop, ...) add up to more than 1"
            raise ValueError(msg)
        if self.rate_limit is not None and not self.rate_limit > 0:
            msg = f"rate_limit must be a positive number or None, got {self.rate_limit!r}"
            raise ValueError(msg)
        if self.create_rate_limit is not None and not self.create_rate_limit > 0:
            limit = self.create_rate_limit
            msg = f"create_rate_limit must be a positive number or None, got {limit!r}"
            raise ValueError(msg)
        if not self.rate_period > 0 or not self.create_rate_period > 0:
            msg = "rate_period and create_rate_period must be positive numbers of seconds"
            raise ValueError(msg)
        if self.retry_after not in ("seconds", "http-date"):
            msg = f"retry_after must be 'seconds' or 'http-date', got {self.retry_after!r}"
            raise ValueError(msg)
        if not self.fail_statuses or any(not 500 <= s <= 599 for s in self.fail_statuses):
            msg = f"fail_statuses must be 5xx statuses, got {self.fail_statuses!r}"
            raise ValueError(msg)
        for name in ("latency_ms", "jitter_ms", "spike_s"):
            if not getattr(self, name) >= 0:
                msg = f"{name} must be >= 0, got {getattr(self, name)!r}"
                raise ValueError(msg)

    def updated(self, **changes: Any) -> Faults:
        """A copy with ``changes``; unknown names raise ValueError (a typo must not pass)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            msg = f"unknown fault setting(s) {unknown}; known: {sorted(known)}"
            raise ValueError(msg)
        if "fail_statuses" in changes:
            changes["fail_statuses"] = tuple(changes["fail_statuses"])
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able settings (what ``GET /_emulator/faults`` returns)."""
        data = asdict(self)
        data["fail_statuses"] = list(self.fail_statuses)
        return data


class RateLimiter:
    """A sliding-window limit: at most ``limit`` admissions in any ``period`` seconds."""

    def __init__(self, rate: float, period: float) -> None:
        # Below one request per period, admit one per (period / rate) seconds instead.
        self._limit = max(1, math.floor(rate))
        self._period = period if rate >= 1 else period / rate
        self._times: deque[float] = deque()

    def admit(self, now: float) -> float:
        """0.0 when the request is admitted, else the seconds until it would be."""
        times = self._times
        while times and now - times[0] >= self._period:
            times.popleft()
        if len(times) < self._limit:
            times.append(now)
            return 0.0
        return self._period - (now - times[0])


class Counters:
    """Requests served: in total, by endpoint, by status code and by fault injected."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start counting from zero."""
        self.requests = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_fault: Counter[str] = Counter()
        self.jobs_created = 0  # new jobs made by POST /api/v2/classify
        self.creations_replayed = 0  # creations answered with the job of a known transaction_id

    def snapshot(self) -> dict[str, Any]:
        """The counts as plain dicts (what ``GET /_emulator/counters`` returns)."""
        return {
            "requests": self.requests,
            "by_endpoint": dict(self.by_endpoint),
            "by_status": dict(self.by_status),
            "by_fault": dict(self.by_fault),
            "jobs_created": self.jobs_created,
            "creations_replayed": self.creations_replayed,
        }


class FaultDraws:
    """The RNG side of :class:`Faults`: which fault, if any, hits the next request."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._limiter = (
            RateLimiter(faults.rate_limit, faults.rate_period) if faults.rate_limit else None
        )
        self._create_limiter = (
            RateLimiter(faults.create_rate_limit, faults.create_rate_period)
            if faults.create_rate_limit
            else None
        )
        self._answer = [(name, getattr(faults, field)) for name, field in _RATE_FIELDS.items()]
        self._any_answer = any(rate for _, rate in self._answer)

    def rate_limited(self, now: float) -> float:
        """Seconds to wait when this request is over the limit, else 0.0."""
        return self._limiter.admit(now) if self._limiter else 0.0

    def create_limited(self, now: float) -> float:
        """Seconds to wait when this creation is over the creation limit, else 0.0."""
        return self._create_limiter.admit(now) if self._create_limiter else 0.0

    def delay(self) -> tuple[float, bool]:
        """Seconds to sleep before answering, and whether that is a spike."""
        f = self.faults
        if f.spike_rate and self._rng.random() < f.spike_rate:
            return f.spike_s, True
        if not f.latency_ms and not f.jitter_ms:
            return 0.0, False
        jitter = self._rng.uniform(-f.jitter_ms, f.jitter_ms) if f.jitter_ms else 0.0
        return max(0.0, f.latency_ms + jitter) / 1000, False

    def answer_fault(self) -> str | None:
        """The answer fault of this request, if any (at most one)."""
        if not self._any_answer:
            return None
        draw = self._rng.random()
        for name, rate in self._answer:
            if draw < rate:
                return name
            draw -= rate
        return None

    def chance(self, rate: float) -> bool:
        """True with probability ``rate`` (no RNG draw when the rate is 0)."""
        return bool(rate) and self._rng.random() < rate

    def pick(self, options: tuple[Any, ...]) -> Any:
        """One of ``options``, drawn from the seeded RNG."""
        return options[self._rng.randrange(len(options))]
