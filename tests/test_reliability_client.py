"""Issue 21's client items, each a regression test that failed on the code before it.

- 11: a call cut short by ``close()`` raises :class:`ClientClosedError`, not a bare
  ``CancelledError`` (which escapes ``except Exception``).
- 13: the pacer holds its rate across calls at every boundary (an injected clock: no sleeps;
  and the emulator's own sliding window, counted server-side).
- 19: a base URL with ``.``/``..`` segments is refused with a message.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import classify_frames as cf
from classify_frames.client import Settings
from classify_frames.client._limits import Pacer
from classify_frames.emulator import Emulator

KEY = "llx-test-key"


# -- 11: close() while calls are in flight ------------------------------------------------------


def test_item11_close_while_other_threads_call_raises_a_project_error() -> None:
    """Four threads are inside fetch_jobs (their requests held at the server) when close()
    runs: each gets ClientClosedError, which ``except Exception`` catches and which says
    what happened."""
    arrived = threading.Semaphore(0)
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived.release()
        await release.wait()  # never set: only close() ends these calls
        return httpx.Response(500)

    client = cf.ClassifyClient(
        api_key=KEY,
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(handler),
        progress=False,
    )
    caught: list[BaseException] = []

    def call(i: int) -> None:
        try:
            client.fetch_jobs([f"job-{i}"], per_id=True)
        except Exception as exc:  # what a user's code catches
            caught.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert arrived.acquire(timeout=10)
    client.close()
    for thread in threads:
        thread.join(10)
    assert len(caught) == 4
    assert all(isinstance(e, cf.ClientClosedError) for e in caught), caught
    assert all("closed" in str(e) for e in caught)
    assert all(e.partial is not None and len(e.partial) == 1 for e in caught)  # type: ignore[attr-defined]


def test_item11_an_awaited_call_cut_short_by_close_says_so_too() -> None:
    started = threading.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()
        return httpx.Response(500)

    client = cf.ClassifyClient(
        api_key=KEY,
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(handler),
        progress=False,
    )

    async def main() -> None:
        call = asyncio.ensure_future(client.alist_jobs())
        await asyncio.to_thread(started.wait, 10)
        await asyncio.to_thread(client.close)
        with pytest.raises(cf.ClientClosedError, match="closed"):
            await call

    asyncio.run(main())


# -- 13: the pacer at every boundary --------------------------------------------------------------


class FakeTime:
    """A clock that moves only when the pacer sleeps: no real waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)

    def idle(self, seconds: float) -> None:
        self.now += seconds


def _released(pacer: Pacer, time: FakeTime, n: int) -> list[float]:
    async def go() -> list[float]:
        out = []
        for _ in range(n):
            await pacer.wait()
            out.append(time.now)
        return out

    return asyncio.run(go())


def _most_in_one_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


@pytest.mark.parametrize("rate", [2.0, 2.5, 10.0, 0.5])
def test_item13_no_second_holds_more_than_the_rate_across_calls(rate: float) -> None:
    """Consecutive calls (bursts with idle gaps of every size between them, a 429's pause)
    never put more than floor(rate) requests (one, below 1/s) in any one-second window."""
    time = FakeTime()
    pacer = Pacer(rate, clock=time.clock, sleep=time.sleep)
    sent: list[float] = []
    for gap in (0.0, 0.3, 0.5, 0.999, 1.0, 0.01, 2.0):
        sent += _released(pacer, time, 3)  # one call's requests
        time.idle(gap)  # the caller's work between calls
    pacer.pause(0.2)
    sent += _released(pacer, time, 5)
    allowed = max(1, int(rate))
    if rate < 1:
        gaps = [b - a for a, b in itertools.pairwise(sent)]
        assert min(gaps) >= 1 / rate
    assert _most_in_one_second(sent) <= allowed
    window = 1.0 if rate >= 1 else 1 / rate
    # ... with room to spare: a request released later may arrive sooner (warmer connection)
    spans = [b - a for a, b in zip(sent, sent[allowed:], strict=False)]
    assert min(spans) >= window * 1.04


def test_item13_a_new_rate_keeps_what_was_sent() -> None:
    time = FakeTime()
    pacer = Pacer(4.0, clock=time.clock, sleep=time.sleep)
    sent = _released(pacer, time, 4)
    pacer.set_rate(2.0)  # a slower round of creations, on the same pacer
    sent += _released(pacer, time, 4)
    assert _most_in_one_second(sent[2:]) <= 2


@pytest.fixture(scope="module")
def limited() -> Iterator[Emulator]:
    with Emulator(jobs=100, rate_limit=10) as emu:  # the server's own sliding window
        yield emu


def test_item13_consecutive_calls_at_the_servers_limit_get_no_429(limited: Emulator) -> None:
    ids = list(limited.dataset.ids[:30])
    limited.reset_counters()
    with cf.ClassifyClient(
        base_url=limited.base_url,
        api_key=limited.api_key,
        max_requests_per_second=10,
        retries=0,
        progress=False,
    ) as client:
        for start in range(0, 30, 3):  # ten calls of three requests each
            frame = client.fetch_jobs(ids[start : start + 3], per_id=True)
            assert frame["fetch_error"].isna().all(), frame["fetch_error"].tolist()
    counters: dict[str, Any] = limited.counters()
    assert "429" not in counters["by_status"]


# -- 19: dot segments in the base URL ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://gateway.example/llama/../../x",
        "https://gateway.example/a/./b",
        "https://gateway.example/a/%2e%2e/b",
        "https://gateway.example/..",
    ],
)
def test_item19_a_base_url_with_dot_segments_is_refused(url: str) -> None:
    with pytest.raises(cf.ConfigurationError, match=r"must not hold '(\.|\.\.|%2e%2e)' path"):
        Settings(api_key=KEY, base_url=url)


def test_item19_dots_inside_a_segment_are_fine() -> None:
    url = "https://gateway.example/v1..2/.well"
    assert Settings(api_key=KEY, base_url=url).base_url == url


# -- the other endpoints as public client methods ------------------------------------------------


def test_create_jobs_refuses_a_body_without_a_transaction_id_before_sending() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "cls-1", "status": "PENDING"})

    with cf.ClassifyClient(
        api_key=KEY, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler),
        progress=False,
    ) as client:  # fmt: skip
        bodies = [{"file_input": "a", "transaction_id": "t-1"}, {"file_input": "b"}]
        with pytest.raises(ValueError, match="body 1 has no transaction_id"):
            client.create_jobs(bodies)
    assert sent == []


def test_create_jobs_tells_created_refused_and_unknown_apart() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read().decode()
        if '"t-ok"' in body:
            return httpx.Response(200, json={"id": "cls-ok", "status": "PENDING"})
        if '"t-bad"' in body:
            return httpx.Response(422, json={"detail": "rules: too long"})
        return httpx.Response(500, headers={"x-should-retry": "false"}, json={"detail": "oops"})

    with cf.ClassifyClient(
        api_key=KEY, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler),
        progress=False,
    ) as client:  # fmt: skip
        keys = ["t-ok", "t-bad", "t-500"]
        made = client.create_jobs([{"file_input": "x", "transaction_id": k} for k in keys])
    assert [c.outcome for c in made] == ["created", "not created", "unknown"]
    assert [c.transaction_id for c in made] == keys
    assert made[0].job == {"id": "cls-ok", "status": "PENDING"}
    assert [c.status for c in made] == [200, 422, 500]


def test_experiments_use_only_the_clients_public_names() -> None:
    """No private client method (``_here``, ``_run``, ``_fetch``, ``_attrs``…) and no
    underscored client module is used outside the client package."""
    import ast
    from pathlib import Path

    root = Path(cf.__file__).parent
    offences = []
    for path in root.rglob("*.py"):
        if path.parent.name == "client" and path.parent.parent == root:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and ".client._" in f".{module}":
                offences.append(f"{path.relative_to(root)}: from {module}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"_here", "_run", "_fetch", "_attrs", "_show", "_loop"}
                and isinstance(node.value, ast.Name)
                and node.value.id in {"client", "active"}
            ):
                offences.append(f"{path.relative_to(root)}: {node.value.id}.{node.attr}")
    assert offences == []


# -- no import side effects ----------------------------------------------------------------------


def test_importing_and_using_the_library_leaves_other_libraries_loggers_alone() -> None:
    """Importing classify_frames (and making and using a client) adds no handler or filter
    to httpx's, httpcore's or stamina's loggers: a user's own logging stays as they set it."""
    import subprocess
    import sys

    script = """
import logging
NAMES = ["httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
         "httpcore.proxy", "httpcore.socks", "stamina"]
def state():
    return {n: (list(logging.getLogger(n).handlers), list(logging.getLogger(n).filters))
            for n in NAMES}
before = state()
import httpx
import classify_frames as cf
import classify_frames.client, classify_frames.experiments, classify_frames.parquet
def handler(request):
    return httpx.Response(200, json={"id": "a", "status": "COMPLETED"})
with cf.ClassifyClient(api_key="k", base_url="http://127.0.0.1:9", progress=False,
                       transport=httpx.MockTransport(handler)) as client:
    client.fetch_jobs(["a"], per_id=True)
assert state() == before, (before, state())
print("unchanged")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "unchanged", done.stderr


def test_the_opt_in_header_filter_hides_an_echoed_key() -> None:
    import logging

    from classify_frames.client import HEADER_LOGGERS, HideHeaders

    record = logging.LogRecord(
        "httpcore.http11", logging.DEBUG, __file__, 1,
        "receive_response_headers.complete return_value=%r",
        ((b"HTTP/1.1", 200, b"OK", [(b"x-echo", KEY.encode())]),), None,
    )  # fmt: skip
    assert HideHeaders().filter(record)
    assert KEY not in record.getMessage() and "[headers hidden]" in record.getMessage()
    assert "httpx" in HEADER_LOGGERS


def test_item13_the_rate_holds_across_a_close_and_a_new_call() -> None:
    """close() ends the pools, not the client's rate: a call after it does not burst into the
    window the last call's requests still fill (arrivals timed at the transport)."""
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        job_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json={"id": job_id, "status": "COMPLETED"})

    client = cf.ClassifyClient(
        api_key=KEY, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler),
        max_requests_per_second=2, progress=False,
    )  # fmt: skip
    client.fetch_jobs(["a0", "a1"], per_id=True)
    client.close()
    client.fetch_jobs(["b0", "b1"], per_id=True)
    client.close()
    assert len(arrivals) == 4
    # the 3rd request is a second after the 1st (a new pacer let it go at once)
    assert arrivals[2] - arrivals[0] >= 1.0, [round(t - arrivals[0], 3) for t in arrivals]


def test_wait_jobs_polls_until_each_job_ends_or_is_gone_in_input_order() -> None:
    polls: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/gone"):  # asked for alone, to learn why it is missing
            return httpx.Response(404, json={"detail": "Job not found"})
        ids = request.url.params.get_list("job_ids")
        polls.append(ids)
        status = "COMPLETED" if len(polls) >= 3 else "RUNNING"
        items = [{"id": i, "status": status if i != "b" else "FAILED"} for i in ids if i != "gone"]
        return httpx.Response(200, json={"items": items, "next_page_token": None})

    with cf.ClassifyClient(
        api_key=KEY, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler),
        progress=False,
    ) as client:  # fmt: skip
        original = client.fetch_jobs
        done = client.wait_jobs(["a", "b", "gone"], timeout=60)
        assert client.fetch_jobs == original
    assert done["id"].tolist() == ["a", "b", "gone"]
    assert done["status"].tolist()[:2] == ["COMPLETED", "FAILED"]
    assert done["http_status"].iloc[2] == 404
    assert polls[1:] == [["a"], ["a"]]  # what ended is not asked for again
