"""``python -m classify_frames.emulator``: the same as ``classify-frames emulator``."""

from __future__ import annotations

from ..cli import command

if __name__ == "__main__":
    command("emulator")(prog_name="python -m classify_frames.emulator")
