"""A local emulator of the LlamaCloud Classify API, with synthetic jobs and a hidden truth.

>>> from classify_frames.emulator import Emulator
>>> with Emulator(jobs=1_000, seed=0) as emu:
...     emu.base_url.startswith("http://127.0.0.1:"), len(emu.labels())
(True, 1000)

:class:`Emulator` serves a :class:`Dataset` over real HTTP (uvicorn on loopback) with the API's
routes, auth, errors and optional :class:`Faults`; ``classify-frames emulator`` does the same
from the command line. ``Emulator(clock=ManualClock())`` lets a test step the emulator's time.
"""

from __future__ import annotations

from ._clock import ManualClock
from ._data import Dataset
from ._faults import Faults
from ._server import Emulator

__all__ = ["Dataset", "Emulator", "Faults", "ManualClock"]
