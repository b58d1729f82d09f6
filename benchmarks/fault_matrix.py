"""The fault matrix at full size: every emulator fault against a fetch (or listing) of many ids.

Prints one row per fault with what the invariants of issue 7 need: rows and whether each unique
id is exactly one row in input order holding the served job (or a fetch_error), errors,
requests and retries (both sides' counts), the most requests started in any one second, how
many requests were sent while a 429's Retry-After was running, and seconds.

    python benchmarks/fault_matrix.py                 # 10,000 ids, real backoff (a few minutes)
    python benchmarks/fault_matrix.py --ids 5000 --fast   # no backoff waits (stamina testing)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.server
import json
import random
import tempfile
import threading
import time
import warnings
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pandas as pd
import stamina

import classify_frames as cf
from classify_frames.client._transport import _server_wait
from classify_frames.emulator import Emulator

RATE_PERIOD = 0.5  # the free tier's 20 a minute, scaled to 20 a half second


@dataclass(frozen=True)
class Case:
    name: str
    faults: dict[str, Any]
    client: dict[str, Any]
    listing: bool = False
    far_repeat: bool = False  # exported through FarRepeat, read back with read_parquet
    tamper: str | None = None  # a fault the emulator has not: "poison" or "drip" (see Recorder)


CASES = [
    Case("no fault", {}, {}),
    Case("429 storm, Retry-After seconds", {"rate_limit": 20, "rate_period": RATE_PERIOD}, {}),
    Case("429 storm, Retry-After HTTP date",
         {"rate_limit": 20, "rate_period": RATE_PERIOD, "retry_after": "http-date"}, {}),
    Case("429 storm, retry-after-ms",
         {"rate_limit": 20, "rate_period": RATE_PERIOD, "retry_after_ms": True}, {}),
    Case("free tier, client limited to it", {"rate_limit": 20, "rate_period": RATE_PERIOD},
         {"max_requests_per_second": 20 / RATE_PERIOD}),
    Case("5xx 30%", {"fail_rate": 0.3}, {}),
    Case("5xx 5%, x-should-retry: false", {"fail_rate": 0.05, "no_retry": True}, {}),
    Case("outage: 5xx 100%", {"fail_rate": 1.0}, {}),
    Case("latency spikes 20% past timeout", {"spike_rate": 0.2, "spike_s": 1.5},
         {"timeout": 0.5}),
    Case("reset mid-body 30%", {"drop_rate": 0.3}, {}),
    Case("truncated JSON 30%", {"truncate_rate": 0.3}, {}),
    Case("malformed JSON 30%", {"malformed_rate": 0.3}, {}),
    Case("HTML 502 page 30%", {"html_rate": 0.3}, {}),
    Case("HTML page with 200 30%", {"html_200_rate": 0.3}, {}),
    Case("200 not a job 30%", {"not_a_job_rate": 0.3}, {}),
    Case("server ignores job_ids", {"ignore_job_ids": True}, {}),
    Case("poisoned job: NaN confidence in 1%", {}, {}, tamper="poison"),
    Case("slow-drip body 2%", {}, {"timeout": 1.0, "connect_timeout": 1.0}, tamper="drip"),
    Case("list: repeated page token 30%", {"page_loop_rate": 0.3}, {}, listing=True),
    Case("list: duplicate items 50%", {"duplicate_rate": 0.5}, {}, listing=True),
    Case("list: lying total_size 50%", {"lying_total_rate": 0.5}, {}, listing=True),
    Case("list: page larger than asked 50%", {"oversize_rate": 0.5}, {}, listing=True),
    Case("export: 50 jobs repeated 24 pages apart", {}, {}, listing=True, far_repeat=True),
]  # fmt: skip


@contextlib.contextmanager
def far_repeat(emu: Emulator, pages: int = 24) -> Iterator[str]:
    """A loopback server in front of ``emu`` whose listing moved while it was paged: 50 final
    jobs of its first page show there RUNNING an hour earlier, and again, as they are, ``pages``
    pages later (beyond the client's 20-page window). Yields its base URL."""
    state: dict[str, Any] = {"page": 0, "first": []}
    upstream = httpx.Client(base_url=emu.base_url)

    def answer(path: str, auth: str) -> tuple[int, bytes]:
        reply = upstream.get(path, headers={"Authorization": auth})
        query = dict(parse_qsl(urlsplit(path).query))
        if reply.status_code != 200 or "job_ids" in query or "items" not in reply.json():
            return reply.status_code, reply.content
        data = reply.json()
        state["page"] = state["page"] + 1 if "page_token" in query else 0
        if state["page"] == 0:
            state["first"] = [j for j in data["items"] if j["status"] == "COMPLETED"][:50]
            moved = {j["id"] for j in state["first"]}
            data["items"] = [_earlier(j) if j["id"] in moved else j for j in data["items"]]
        elif state["page"] == pages:
            data["items"] += state["first"]
        return 200, json.dumps(data).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answer(self.path, self.headers.get("Authorization", ""))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()


def _earlier(job: dict[str, Any]) -> dict[str, Any]:
    when = pd.Timestamp(job["updated_at"]) - pd.Timedelta(hours=1)
    return {**job, "status": "RUNNING", "updated_at": when.isoformat().replace("+00:00", "Z")}


def poisoned(job_id: str) -> bool:
    """The ids (1 in 100) whose job the "poison" tamper sends with a NaN confidence."""
    return zlib.crc32(job_id.encode()) % 100 == 0


class _Drip(httpx.AsyncByteStream):
    """A body that sends a few bytes, then one more a second: each read comes in time."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body[:10]
        for i in range(10, len(self.body)):
            await asyncio.sleep(1.0)
            yield self.body[i : i + 1]


class Recorder(httpx.AsyncBaseTransport):
    """httpx's transport with every exchange timed: (start, end, status, Retry-After).

    ``tamper="poison"`` rewrites answers so that each :func:`poisoned` job holds a NaN
    confidence (as Python's ``json.dumps`` writes it); ``"drip"`` sends 2% of the answers
    (seeded) a byte a second after their first ten.
    """

    def __init__(self, tamper: str | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=32))
        self.log: list[tuple[float, float, int | None, float | None]] = []
        self.tamper = tamper
        self.rng = random.Random(5)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.monotonic()
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
        except httpx.TransportError:
            self.log.append((start, time.monotonic(), None, None))
            raise
        wait = _server_wait(response) if response.status_code == 429 else None
        self.log.append((start, time.monotonic(), response.status_code, wait))
        if self.tamper and response.status_code == 200:
            return self._tampered(response)
        return response

    def _tampered(self, response: httpx.Response) -> httpx.Response:
        headers = [(k, v) for k, v in response.headers.items()
                   if k.lower() not in ("content-encoding", "content-length")]  # fmt: skip
        body = response.content
        if self.tamper == "drip":
            if self.rng.random() < 0.02:
                return httpx.Response(200, headers=headers, stream=_Drip(body))
            return httpx.Response(200, headers=headers, content=body)
        data = json.loads(body)
        for job in data.get("items", [data]) if isinstance(data, dict) else []:
            if isinstance(job, dict) and poisoned(str(job.get("id"))) and job.get("result"):
                job["result"]["confidence"] = float("nan")
        return httpx.Response(200, headers=headers, content=json.dumps(data).encode())

    async def aclose(self) -> None:
        await self.inner.aclose()

    def most_per_second(self) -> int:
        starts = sorted(s for s, _, _, _ in self.log)
        best = low = 0
        for high, t in enumerate(starts):
            while t - starts[low] >= 1.0:
                low += 1
            best = max(best, high - low + 1)
        return best

    def sent_while_told_to_wait(self) -> int:
        """Requests started while a 429 answered earlier asked for a pause (50 ms slack)."""
        pauses = [(end, end + wait) for _, end, status, wait in self.log if status == 429 and wait]
        return sum(
            any(a + 0.05 < start < b - 0.05 for a, b in pauses) for start, _, _, _ in self.log
        )


def run_case(case: Case, emu: Emulator, ids: list[str], truth: pd.DataFrame) -> dict[str, Any]:
    emu.clear_faults()
    emu.set_faults(seed=3, **case.faults)
    emu.reset_counters()
    recorder = Recorder(case.tamper)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(far_repeat(emu)) if case.far_repeat else emu.base_url
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        client = stack.enter_context(cf.ClassifyClient(
            base_url=url, api_key=emu.api_key, progress=False, transport=recorder, **case.client,
        ))  # fmt: skip
        warnings.simplefilter("always")
        if case.far_repeat:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "ds"
            cf.export_jobs(path=out, client=client)
            df = cf.read_parquet(out)
        else:
            df = client.list_jobs() if case.listing else client.fetch_jobs(ids)
        stats = client.stats()
    seconds = time.monotonic() - started
    served = emu.counters()
    if case.listing:
        expected = set(truth.index)
        rows_ok = df["id"].is_unique and set(df["id"]) == expected
    else:
        rows_ok = df["id"].tolist() == list(dict.fromkeys(ids))
    fetched = df.loc[df["fetch_error"].isna(), ["id", "status", "updated_at"]].set_index("id")
    data_ok = fetched.astype(str).equals(truth.loc[fetched.index].astype(str))
    errors = df["fetch_error"].notna()
    if case.tamper == "poison":  # exactly the poisoned jobs with a result fail, and say why
        has_result = set(truth.index[truth["status"] == "COMPLETED"])
        bad = {i for i in df["id"] if poisoned(i) and i in has_result}
        said = df.loc[errors, "fetch_error"].str.contains("confidence is NaN")
        rows_ok = (
            rows_ok and set(df.loc[errors & ~df["id"].str.startswith("cls-missing"), "id"]) == bad
        )
        rows_ok = rows_ok and int(said.sum()) == len(bad)
    limit = case.client.get("max_requests_per_second")
    return {
        "fault": case.name,
        "rows": len(df),
        "each id once, in order": "yes" if rows_ok and data_ok else "NO",
        "errors": int(errors.sum()),
        "errors say why": "yes" if df.loc[errors, "fetch_error"].str.len().gt(5).all() else "NO",
        "requests": stats["requests"],
        "server saw": served["requests"],
        "retries": stats["retries"],
        "429s": stats["by_status"].get("429", 0),
        "max req/s": recorder.most_per_second(),
        "limit req/s": f"{limit:g}" if limit else "-",
        "sent during Retry-After": recorder.sent_while_told_to_wait(),
        "warnings": len(caught),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=10_000, help="ids fetched per fault")
    parser.add_argument("--fast", action="store_true", help="no backoff waits (3 attempts)")
    parser.add_argument("--only", help="run the faults whose name contains this")
    args = parser.parse_args()
    if args.fast:
        stamina.set_testing(True, attempts=3)
    cases = [c for c in CASES if not args.only or args.only.lower() in c.name.lower()]
    with Emulator(jobs=args.ids + 1_000, seed=7, process=True) as emu:
        truth = cf.jobs_to_frame(list(emu.dataset.jobs()))[
            ["id", "status", "updated_at"]
        ].set_index("id")
        rng = random.Random(11)
        known = rng.sample(list(emu.dataset.ids), args.ids)
        ids = known + [f"cls-missing-{i}" for i in range(20)] + rng.sample(known, 300)
        rng.shuffle(ids)
        print(f"{len(ids):,} ids asked ({len(set(ids)):,} unique, 20 unknown) per fetch; "
              f"listings cover {len(emu.dataset):,} jobs; "
              f"{'no backoff waits' if args.fast else 'real backoff'}\n")  # fmt: skip
        rows = []
        for case in cases:
            rows.append(run_case(case, emu, ids, truth))
            print(f"  {case.name}: {rows[-1]['seconds']} s", flush=True)
    table = pd.DataFrame(rows).set_index("fault")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print()
        print(table.to_string())


if __name__ == "__main__":
    main()
