"""A clock that moves only when told, for driving the emulator's time in tests."""

from __future__ import annotations

import time

__all__ = ["ManualClock"]


class ManualClock:
    """Seconds since the epoch that change only through :meth:`advance`.

    Give it to ``Emulator(clock=...)``: created jobs then move PENDING -> RUNNING -> final, and
    rate-limit windows pass, when the test says so rather than after a sleep.

    >>> clock = ManualClock(start=1_700_000_000.0)
    >>> clock()
    1700000000.0
    >>> clock.advance(2.5)
    1700000002.5
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)

    def __call__(self) -> float:
        return self._now

    def __repr__(self) -> str:
        return f"<ManualClock at {self._now:.3f}>"

    def advance(self, seconds: float) -> float:
        """Move ``seconds`` forward (0 or more) and return the new time."""
        if seconds < 0:
            msg = f"a clock only moves forward: advance by 0 or more seconds, not {seconds:g}"
            raise ValueError(msg)
        self._now += seconds
        return self._now
