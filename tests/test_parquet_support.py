"""Shared pieces of the Parquet tests: job dicts, and a client that serves frames from memory.

``MemoryClient`` has the two things export and sync use from ``ClassifyClient``, ``settings``
and ``iter_frames``, and records every call, so the tests can say exactly what was fetched.
The emulator-backed tests (test_export_emulator.py) cover the real client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from classify_frames.client import Settings
from classify_frames.frame import build_frame, jobs_to_frame

if TYPE_CHECKING:  # to mypy a ClassifyClient, so it passes where one is wanted
    from classify_frames import ClassifyClient as _Client
else:
    _Client = object


def job(
    n: int,
    *,
    status: str = "COMPLETED",
    month: int = 3,
    updated: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One job as the API sends it."""
    return {
        "id": f"cls-{n:06d}",
        "status": status,
        "project_id": "p1",
        "configuration_id": f"cfg-{n % 3}",
        "document_input_type": "url",
        "document_input_value": f"https://example.com/{n}.pdf",
        "created_at": f"2026-{month:02d}-{1 + n % 28:02d}T10:00:00Z",
        "updated_at": updated or f"2026-{month:02d}-{1 + n % 28:02d}T10:05:00Z",
        "configuration": {
            "rules": [{"description": "An invoice with a total.", "type": "invoice"}],
            "mode": "FAST",
            "parsing_configuration": {"lang": "en", "max_pages": 5, "target_pages": None},
        },
        "result": {"type": "invoice", "confidence": 0.5 + (n % 50) / 100, "reasoning": "total"},
        **extra,
    }


def _settings() -> Settings:
    return Settings(api_key="llx-memory", base_url="http://127.0.0.1:9")


@dataclass
class MemoryClient(_Client):
    """Serves ``jobs`` like the listing (no ids) or by id (unknown ids become failed rows)."""

    jobs: list[dict[str, Any]]
    settings: Settings = field(default_factory=_settings)
    calls: list[tuple[list[str] | None, dict[str, Any]]] = field(default_factory=list)
    block_after: int | None = None  # frames to yield before blocking forever (kill tests)
    fail_after: int | None = None  # frames to yield before raising

    def iter_frames(
        self,
        job_ids: Iterable[str] | None = None,
        *,
        batch_size: int = 1_000,
        nested: bool = False,
        progress: bool | None = None,
        **filters: Any,
    ) -> Iterator[pd.DataFrame]:
        ids = None if job_ids is None else list(job_ids)
        self.calls.append((ids, filters))
        for count, frame in enumerate(self._memory_frames(ids, batch_size, nested, filters)):
            if self.block_after is not None and count == self.block_after:
                print("blocked", flush=True)
                threading.Event().wait()
            if self.fail_after is not None and count == self.fail_after:
                raise ConnectionError("the network went away")
            yield frame

    def _memory_frames(
        self, ids: list[str] | None, batch_size: int, nested: bool, filters: dict[str, Any]
    ) -> Iterator[pd.DataFrame]:
        if ids is None:
            wanted = filters.get("status")
            items = [
                j
                for j in self.jobs
                if (wanted is None or j["status"] in _as_list(wanted)) and _created_in(j, filters)
            ]
            for start in range(0, len(items), batch_size):
                yield jobs_to_frame(items[start : start + batch_size], nested=nested)
            return
        by_id = {j["id"]: j for j in self.jobs}
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            yield build_frame(
                [by_id.get(i, {"id": i}) for i in chunk],
                fetch_errors=[None if i in by_id else "404: no such job" for i in chunk],
                http_status=[200 if i in by_id else 404 for i in chunk],
                nested=nested,
            )

    def jobs_in_month(self, month: int) -> list[str]:
        """The ids of the jobs created in ``month`` (of 2026)."""
        return [j["id"] for j in self.jobs if j["created_at"].startswith(f"2026-{month:02d}")]

    def fetched_ids(self) -> list[str]:
        """Every id asked for by id (not through the listing)."""
        return [i for ids, _ in self.calls if ids is not None for i in ids]


def _created_in(job: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether ``job`` passes the listing's date bounds (both inclusive, as the API's)."""
    created = pd.Timestamp(job["created_at"])
    after, before = filters.get("created_after"), filters.get("created_before")
    return (after is None or created >= _utc(after)) and (before is None or created <= _utc(before))


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]
