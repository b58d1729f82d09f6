"""``python -m classify_frames.emulator``: the same as ``classify-frames emulator``."""

from __future__ import annotations

from ..cli._emulator import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="python -m classify_frames.emulator")
