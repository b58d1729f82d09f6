"""Limits a client keeps for its whole life: a rate pacer and a circuit breaker.

Both are owned by the client's one :class:`~classify_frames._http.Transport`, on the client's
one event loop, so they hold across calls and across the threads that share the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["COOL_DOWN", "TRIP_AFTER", "Breaker", "Pacer"]

_MIN_SPACING = 0.005  # seconds between requests after a first 429 (then doubled per pause)
_MAX_SPACING = 0.5  # seconds between requests at the slowest a 429 storm makes us go
_EASE = 0.98  # spacing kept per success after a 429: halved back in 35 successes
TRIP_AFTER = 10  # requests given up on in a row (no success between) that open the breaker
COOL_DOWN = 30.0  # seconds the breaker stays open before requests are tried again


class Pacer:
    """Spaces requests so that no second ever sees more than ``rate`` of them.

    Waiters go one at a time and each next slot is counted from the moment the previous
    request really left: a waiter woken late (a busy event loop) cannot bring the ones queued
    behind it along in a burst. A pause that lands while one waits is honoured too.

    A server's 429 pauses everyone, and doubles the spacing (once per pause, however many
    429s it brings): otherwise the whole queue leaves in one burst when the pause ends, into
    a window with room for a few, and requests burn their attempts on 429 after 429. Each
    success then eases the spacing back towards the configured rate.
    """

    def __init__(self, rate: float | None) -> None:
        self._floor = 1.0 / rate if rate else 0.0
        self._interval = self._floor
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            while (delay := self._next - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            self._next = time.monotonic() + self._interval

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (a server asked us to), then go slower."""
        now = time.monotonic()
        if now >= self._paused_until:
            # Capped: a server whose Retry-After is already past (an HTTP date has whole
            # seconds) starts a new pause with every 429, and uncapped doubling once grew the
            # spacing to days and hung a fetch.
            doubled = max(2 * self._interval, _MIN_SPACING)
            self._interval = min(doubled, max(_MAX_SPACING, self._floor))
        self._paused_until = max(self._paused_until, now + seconds)
        self._next = max(self._next, now + seconds)

    def ease(self) -> None:
        """A request went through: a little less spacing, down to the configured rate's."""
        if self._interval > self._floor:
            self._interval = max(self._floor, self._interval * _EASE)


class Breaker:
    """Stops sending to a service that is down, instead of hammering it for hours.

    Once ``TRIP_AFTER`` requests in a row have been given up on after all their retries (no
    success in between), every request is answered at once, unsent, for ``COOL_DOWN`` seconds;
    then requests go out again, and the next one given up on opens it again. A success closes
    it. Without it, an outage cost 10,000 ids 66 s of backoff (1,000,000 ids would cost hours),
    to learn the same thing 100 times over.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, cool_down: float = COOL_DOWN
    ) -> None:
        self._clock = clock
        self._cool_down = cool_down
        self._streak = 0
        self._until = 0.0
        self._why = ""

    def refusal(self) -> str | None:
        """Why a request is not sent now, or None when it may go."""
        left = self._until - self._clock()
        if left <= 0:
            return None
        return (
            f"not sent: the service failed the last {self._streak} requests after all their "
            f"retries (last: {self._why}); requests resume in {left:.0f} s"
        )

    def record(self, *, gave_up: bool, status: int | None, error: str | None) -> None:
        """Count a request's outcome: given up on, or answered (which closes the breaker)."""
        if gave_up:
            self._streak += 1
            self._why = error or "no answer"
            if self._streak >= TRIP_AFTER:
                self._until = self._clock() + self._cool_down
        elif status is not None and status < 500:
            self._streak, self._until = 0, 0.0
