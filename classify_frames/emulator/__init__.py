"""A local emulator of the LlamaCloud Classify API, with synthetic jobs and a hidden truth."""

from __future__ import annotations

from ._data import Dataset

__all__ = ["Dataset"]
