"""Deterministic, invertible, random-looking identifiers.

A job's id is a UUID-shaped string computed from its row number, so a dataset of a million jobs
needs no id table: :func:`make_id` formats row ``i`` and :func:`parse_id` gives ``i`` back (or
``None`` for a string no dataset of that key produced).
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_id", "make_ids", "mix", "parse_id"]

_MASK = (1 << 64) - 1
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_C1_INV = pow(_C1, -1, 1 << 64)
_C2_INV = pow(_C2, -1, 1 << 64)
_CHECK = 0x9E3779B97F4A7C15
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def mix(x: int) -> int:
    """A bijection of 64-bit integers that looks random (a splitmix64-style finaliser)."""
    x ^= x >> 32
    x = (x * _C1) & _MASK
    x ^= x >> 32
    x = (x * _C2) & _MASK
    return x ^ (x >> 32)


def _unmix(x: int) -> int:
    x ^= x >> 32
    x = (x * _C2_INV) & _MASK
    x ^= x >> 32
    x = (x * _C1_INV) & _MASK
    return x ^ (x >> 32)


def _mix_array(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(32)
        x *= np.uint64(_C1)
        x ^= x >> np.uint64(32)
        x *= np.uint64(_C2)
        x ^= x >> np.uint64(32)
    return x


def _format(high: int, low: int) -> str:
    h = f"{high:016x}{low:016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def make_id(i: int, key: int) -> str:
    """The id of row ``i`` for a dataset keyed by ``key``."""
    low = mix((i + key) & _MASK)
    return _format(mix(low ^ _CHECK ^ key), low)


def make_ids(rows: np.ndarray, key: int) -> list[str]:
    """:func:`make_id` of many rows at once (vectorised mixing, then formatting)."""
    if len(rows) < 64:  # numpy's per-call overhead outweighs the vectorised mixing
        return [make_id(i, key) for i in rows.tolist()]
    with np.errstate(over="ignore"):
        low = _mix_array(rows.astype(np.uint64) + np.uint64(key))
    high = _mix_array(low ^ np.uint64(_CHECK ^ key))
    raw = np.stack([high, low], axis=1).astype(">u8").view(np.uint8).reshape(-1, 16)
    digits = np.empty((len(raw), 32), dtype=np.uint8)
    digits[:, 0::2] = _HEX[raw >> 4]
    digits[:, 1::2] = _HEX[raw & 15]
    text = np.full((len(raw), 36), ord("-"), dtype=np.uint8)
    for start, stop in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)):
        shift = (start >= 8) + (start >= 12) + (start >= 16) + (start >= 20)
        text[:, start + shift : stop + shift] = digits[:, start:stop]
    return text.view("S36").ravel().astype("U36").tolist()  # type: ignore[no-any-return]


def parse_id(text: str, key: int) -> int | None:
    """The row number an id was made from, or None when this key never made it."""
    if len(text) != 36 or text[8] != "-" or text[13] != "-" or text[18] != "-" or text[23] != "-":
        return None
    digits = text.replace("-", "")
    try:
        high, low = int(digits[:16], 16), int(digits[16:], 16)
    except ValueError:
        return None
    if digits != digits.lower() or mix(low ^ _CHECK ^ key) != high:
        return None
    return (_unmix(low) - key) & _MASK
