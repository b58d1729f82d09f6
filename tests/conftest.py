"""Shared fixtures: the local emulator of the Classify API, over real loopback sockets.

- ``emulator``: one emulator for the whole session (2,000 jobs, seed 0, ``mixed`` schema). Read
  from it freely; do not create, cancel or delete its jobs. Faults a test sets on it are turned
  off again after that test.
- ``make_emulator(**kw)``: a fresh, started :class:`Emulator` per call (500 jobs, seed 0 unless
  given), stopped after the test; for tests that change jobs or need their own faults.
- ``chromium``: Debian's headless Chromium for the browser tests (tests/browser), one per test
  module (Playwright's sync API allows one at a time).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from classify_frames.emulator import Emulator, Faults

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in the tests even when pytest was started in the
    background (``cmd &`` in a script), which starts Python with SIGINT ignored: the Ctrl-C tests
    would then test nothing, and fail."""
    before = signal.getsignal(signal.SIGINT)
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="session")
def _session_emulator() -> Iterator[Emulator]:
    with Emulator(jobs=2_000, seed=0, schema="mixed") as emu:
        yield emu


@pytest.fixture
def emulator(_session_emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator; faults set during a test are cleared after it."""
    yield _session_emulator
    if _session_emulator.faults != Faults():
        _session_emulator.clear_faults()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators of your own: ``emu = make_emulator(jobs=100, fail_rate=0.5)``."""
    started: list[Emulator] = []

    def make(**kw: Any) -> Emulator:
        kw.setdefault("jobs", 500)
        emu = Emulator(**kw).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by one module's browser tests."""
    from chromium import launch  # tests/browser/chromium.py, on the path of the tests using it

    with launch() as browser:
        yield browser
