"""export_jobs and sync_parquet through the real ClassifyClient, over httpx.MockTransport.

A tiny in-memory Classify API (list with ``job_ids``/``status`` filters and cursors, GET by id)
counts the requests, so the tests can say that a sync with nothing new costs only the listing.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_parquet_support import job

import classify_frames as cf
from classify_frames.parquet import export_jobs, read_metadata, read_parquet, sync_parquet

KEY = "llx-canary-export-0123456789"


class FakeAPI:
    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = {j["id"]: j for j in jobs}
        self.requests: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path != "/api/v2/classify":
            self.requests["get"] += 1
            found = self.jobs.get(path.rsplit("/", 1)[-1])
            return httpx.Response(200, json=found) if found else httpx.Response(404, json={})
        params = request.url.params
        ids = params.get_list("job_ids")
        self.requests["by_ids" if ids else "list"] += 1
        items = [j for j in self.jobs.values() if not ids or j["id"] in ids]
        if params.get_list("status"):
            items = [j for j in items if j["status"] in params.get_list("status")]
        start = int(params.get("page_token") or 0)
        size = int(params.get("page_size") or 100)
        page = items[start : start + size]
        more = start + size < len(items)
        body = {"items": page, "next_page_token": str(start + size) if more else None}
        return httpx.Response(200, json=body)


def client(api: FakeAPI) -> cf.ClassifyClient:
    return cf.ClassifyClient(
        api_key=KEY, base_url="http://127.0.0.1:9", progress=False,
        transport=httpx.MockTransport(api),
    )  # fmt: skip


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI([job(i, month=1 + i % 2, status="RUNNING" if i < 5 else "COMPLETED")
                    for i in range(450)])  # fmt: skip


def test_export_then_sync_with_the_real_client(api: FakeAPI, tmp_path: Path) -> None:
    summary = export_jobs(path=tmp_path / "ds", client=client(api), batch_size=200)
    assert (summary.added, summary.rows) == (450, 450)
    assert api.requests == {"list": 5}
    meta = read_metadata(tmp_path / "ds")
    assert meta["base_url"] == "http://127.0.0.1:9"
    assert KEY.encode() not in b"".join(p.read_bytes() for p in (tmp_path / "ds").rglob("*.*"))

    api.requests.clear()
    again = sync_parquet(tmp_path / "ds", client=client(api))
    assert api.requests == {"list": 5}  # the listing carried every job: nothing by id
    assert (again.added, again.updated, again.unchanged, again.committed) == (0, 0, 450, False)

    api.jobs["cls-000001"].update(status="COMPLETED", updated_at="2026-09-01T00:00:00Z")
    api.jobs["cls-999999"] = job(999_999, month=9)
    api.requests.clear()
    ids = ["cls-000001", "cls-000002", "cls-000300", "cls-999999"]
    by_id = sync_parquet(tmp_path / "ds", ids, client=client(api))
    assert (by_id.added, by_id.updated, by_id.unchanged) == (1, 1, 2)
    assert api.requests == {"by_ids": 1}  # cls-000300 is final: not asked for
    back = read_parquet(tmp_path / "ds").set_index("id")
    assert back.loc["cls-000001", "status"] == "COMPLETED"
    assert len(back) == 451


def test_sync_builds_its_own_client_from_options(api: FakeAPI, tmp_path: Path) -> None:
    summary = sync_parquet(
        tmp_path / "ds", base_url="http://127.0.0.1:9", api_key=KEY, progress=False,
        transport=httpx.MockTransport(api), status="RUNNING",
    )  # fmt: skip
    assert summary.added == 5
    assert set(read_parquet(tmp_path / "ds")["status"]) == {"RUNNING"}
