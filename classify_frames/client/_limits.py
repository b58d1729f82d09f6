"""Limits a client keeps for its whole life: a rate pacer and a circuit breaker.

Both are owned by the client's one :class:`~classify_frames.client._transport.Transport`, on
the client's one event loop, so they hold across calls and across the threads that share the
client (creation has a pacer of its own, kept by the client as long).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["COOL_DOWN", "TRIP_AFTER", "Breaker", "Pacer"]

_MIN_SPACING = 0.005  # seconds between requests after a first 429 (then doubled per pause)
_MAX_SPACING = 0.5  # seconds between requests at the slowest a 429 storm makes us go
_WINDOW_MARGIN = 1.05  # the service's one-second window, with room for arrival jitter
_EASE = 0.98  # spacing kept per success after a 429: halved back in 35 successes
TRIP_AFTER = 10  # requests given up on in a row (no success between) that open the breaker
COOL_DOWN = 30.0  # seconds the breaker stays open before requests are tried again


class Pacer:
    """Spaces requests so that no window of the service's sees more than ``rate`` of them.

    Two rules, both counted from the moment each request was let go, for the pacer's whole
    life (so across calls, rounds and pauses alike): consecutive requests are ``1 / rate``
    apart, and no ``floor(rate)`` + 1 of them fall within one second (with a 5% margin: a
    request let go later can still reach the server sooner, on a warmer connection). Below
    one a second, the window is ``1 / rate`` seconds and holds one request. This is how the
    service (and the emulator) count: a sliding window, not a spacing.

    Waiters go one at a time: a waiter woken late (a busy event loop) cannot bring the ones
    queued behind it along in a burst. A pause that lands while one waits is honoured too.

    A server's 429 pauses everyone, and doubles the spacing (once per pause, however many
    429s it brings): otherwise the whole queue leaves in one burst when the pause ends, into
    a window with room for a few, and requests burn their attempts on 429 after 429. Each
    success then eases the spacing back towards the configured rate.

    ``clock`` and ``sleep`` are injectable, so tests need no real waiting.
    """

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._paused_until = 0.0
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._sent: deque[float] = deque()
        self.set_rate(rate)

    def set_rate(self, rate: float | None) -> None:
        """Pace at ``rate`` from now on, keeping what was sent (it still counts)."""
        self._floor = 1.0 / rate if rate else 0.0
        self._interval = self._floor
        self._window = (1.0 if rate >= 1 else 1.0 / rate) * _WINDOW_MARGIN if rate else 0.0
        self._room = max(1, math.floor(rate)) if rate else 0
        while len(self._sent) > self._room:
            self._sent.popleft()

    async def wait(self) -> None:
        async with self._lock():
            while (delay := self._slot() - self._clock()) > 0:
                await self._sleep(delay)
            now = self._clock()
            self._next = now + self._interval
            if self._room:
                self._sent.append(now)
                if len(self._sent) > self._room:
                    self._sent.popleft()

    def _lock(self) -> asyncio.Lock:
        # One lock per event loop: a client closed and used again runs on a new loop, and its
        # pacer (kept for the client's life) must not be bound to the old one.
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            self._locks = {loop: asyncio.Lock()}  # a loop of the past never comes back
            lock = self._locks[loop]
        return lock

    def _slot(self) -> float:
        """The earliest moment the next request may go."""
        slot = self._next
        if self._room and len(self._sent) == self._room:
            slot = max(slot, self._sent[0] + self._window)
        return slot

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (a server asked us to), then go slower."""
        now = self._clock()
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
