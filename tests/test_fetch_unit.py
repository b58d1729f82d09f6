"""Narrow unit tests of the fetch core with httpx.MockTransport (the emulator covers the rest)."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pandas as pd
import pytest
import stamina

import classify_frames as cf
from classify_frames.client import Settings

KEY = "llx-canary-unit-0123456789"


@pytest.fixture(autouse=True)
def fast_retries() -> None:
    stamina.set_testing(False)


def job(
    job_id: str, status: str = "COMPLETED", updated: str = "2026-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {"id": job_id, "status": status, "updated_at": updated,
            "result": {"type": "invoice", "confidence": 0.9, "reasoning": "r"}}  # fmt: skip


Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def client(handler: Handler, **kw: Any) -> cf.ClassifyClient:
    return cf.ClassifyClient(
        api_key=KEY,
        base_url="http://127.0.0.1:9",
        progress=False,
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]  # sync or async
        **kw,
    )


def test_retry_after_seconds_and_http_date_are_honoured() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "slow down"})
        if len(calls) == 2:
            when = email.utils.formatdate(time.time() + 1.5, usegmt=True)
            return httpx.Response(503, headers={"Retry-After": when}, json={"detail": "busy"})
        return httpx.Response(200, json=job("a"))

    df = client(handler).fetch_jobs(["a"], per_id=True)
    assert df.loc[0, "status"] == "COMPLETED"
    assert calls[1] - calls[0] >= 0.95
    assert calls[2] - calls[1] >= 0.4  # an HTTP date has whole-second precision


def test_x_should_retry_false_stops_retries() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, headers={"x-should-retry": "false"}, json={"detail": "no"})

    df = client(handler).fetch_jobs(["a"], per_id=True)
    assert len(calls) == 1
    assert df.loc[0, "http_status"] == 503
    assert "503" in str(df.loc[0, "fetch_error"])


def test_gives_up_after_the_configured_retries_and_says_so() -> None:
    stamina.set_testing(True, attempts=3)
    try:
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(1)
            return httpx.Response(502, text="<html>Bad gateway</html>")

        df = client(handler).fetch_jobs(["a"], per_id=True)
    finally:
        stamina.set_testing(False)
    assert len(calls) == 3
    assert str(df.loc[0, "fetch_error"]).startswith("gave up after 3 attempts: 502")


def test_401_stops_at_once_with_a_hint_and_no_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Invalid API key"})

    with pytest.raises(cf.AuthenticationError) as caught:
        client(handler).fetch_jobs([f"id{i}" for i in range(500)])
    assert "LLAMA_CLOUD_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_non_job_200_is_retried_then_reported() -> None:
    stamina.set_testing(True, attempts=2)
    try:
        df = client(lambda r: httpx.Response(200, json={"ok": True})).fetch_jobs(["a"], per_id=True)
    finally:
        stamina.set_testing(False)
    assert "not a job" in str(df.loc[0, "fetch_error"])


def test_ids_are_encoded_into_one_path_segment() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode().partition("?")[0])  # the query: expand=usage
        return httpx.Response(404, json={"detail": "Job not found"})

    df = client(handler).fetch_jobs(["é&x=1", "a:b"], per_id=True)
    assert all(p.startswith("/api/v2/classify/") and p.count("/") == 4 for p in seen)
    assert "/api/v2/classify/%C3%A9%26x%3D1" in seen
    assert df["fetch_error"].str.startswith("not found").all()


@pytest.mark.parametrize(
    "bad", ["", "  ", "../files", "a/b", "x?y=1", "%2F", "a b", 7, None, "x" * 600]
)
def test_bad_ids_raise_a_value_error_naming_them(bad: object) -> None:
    with pytest.raises(ValueError, match="invalid job id"):
        client(lambda r: httpx.Response(500)).fetch_jobs(["ok", bad])  # type: ignore[list-item]


def test_one_string_is_not_taken_for_a_list_of_ids() -> None:
    with pytest.raises(TypeError, match="not one string"):
        client(lambda r: httpx.Response(500)).fetch_jobs("abc")


def test_client_side_rate_limit_spaces_requests() -> None:
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return httpx.Response(200, json=job(request.url.path.rsplit("/", 1)[1]))

    client(handler, max_requests_per_second=20).fetch_jobs(
        [f"j{i}" for i in range(21)], per_id=True
    )
    assert times[-1] - times[0] >= 0.95  # 21 requests at 20/s take at least one second


def test_key_never_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = client(lambda r: httpx.Response(200, json=job("a")))
    c.fetch_jobs(["a"], per_id=True)
    assert KEY not in repr(c) and KEY not in repr(c.settings) and KEY not in str(c.settings)
    assert KEY not in caplog.text


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(cf.ConfigurationError, match="plain http"):
        cf.ClassifyClient(api_key=KEY, base_url="http://api.example.com")
    assert Settings(api_key=KEY, base_url="http://example.com", allow_insecure_http=True).base_url


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ("https://api.cloud.llamaindex.ai/api/v2", "https://api.cloud.llamaindex.ai"),
        ("https://api.cloud.llamaindex.ai/api/v2/classify/", "https://api.cloud.llamaindex.ai"),
        ("https://gateway.example/llama/api", "https://gateway.example/llama"),
    ],
)
def test_a_base_url_holding_the_apis_own_path_is_refused_naming_the_host(
    given: str, host: str
) -> None:
    """Every request would go to .../api/v2/api/v2/classify: a 404 per id, and no hint."""
    with pytest.raises(cf.ConfigurationError, match="host only") as refused:
        Settings(api_key=KEY, base_url=given)
    assert f"use {host!r}" in str(refused.value)
    assert Settings(api_key=KEY, base_url="https://gateway.example/llama").base_url  # a prefix


def test_a_404_for_every_id_under_a_base_url_with_a_path_says_the_path_may_be_why() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/found"):
            return httpx.Response(200, json=job("found"))
        return httpx.Response(404, json={"detail": "Not Found"})

    def fetch(base_url: str, ids: list[str]) -> pd.Series:
        c = cf.ClassifyClient(
            api_key=KEY, base_url=base_url, progress=False,
            transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        )  # fmt: skip
        with c:
            return c.fetch_jobs(ids, per_id=True).set_index("id")["fetch_error"]

    hint = "the base URL is the host only"
    errors = fetch("http://127.0.0.1:9/v2", ["a", "b"])
    assert errors.str.contains(hint, regex=False).all(), errors.tolist()
    assert errors.str.startswith("not found (404").all()  # the reason stays first
    assert not fetch("http://127.0.0.1:9", ["a", "b"]).str.contains(hint, regex=False).any()
    some_found = fetch("http://127.0.0.1:9/v2", ["a", "found"])
    assert some_found.isna()["found"] and hint not in some_found["a"]


def test_missing_key_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLAMA_CLOUD_API_KEY", raising=False)
    monkeypatch.delenv("LLAMA_PARSE_API_KEY", raising=False)
    with pytest.raises(cf.ConfigurationError, match="LLAMA_CLOUD_API_KEY"):
        cf.ClassifyClient()


def test_settings_lookup_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_PARSE_API_KEY", "parse-key")
    monkeypatch.delenv("LLAMA_CLOUD_API_KEY", raising=False)
    monkeypatch.delenv("LLAMA_CLOUD_BASE_URL", raising=False)
    assert Settings().key.get() == "parse-key"
    assert Settings().base_url == "https://api.cloud.llamaindex.ai"
    assert Settings(region="eu").base_url == "https://api.cloud.eu.llamaindex.ai"
    monkeypatch.setenv("LLAMA_CLOUD_API_KEY", "cloud-key")
    monkeypatch.setenv("LLAMA_CLOUD_BASE_URL", "https://proxy.internal/")
    assert Settings().key.get() == "cloud-key"
    assert Settings().base_url == "https://proxy.internal"
    assert Settings(api_key="arg", base_url="http://127.0.0.1:1").key.get() == "arg"


def test_redirects_are_not_followed_with_the_key() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(302, headers={"Location": "http://evil.example/steal"})

    df = client(handler).fetch_jobs(["a"], per_id=True)
    assert hosts == ["127.0.0.1"]
    assert df.loc[0, "http_status"] == 302


def test_strict_raises_one_error_listing_failures() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/good"):
            return httpx.Response(200, json=job("good"))
        return httpx.Response(404, json={"detail": "Job not found"})

    with pytest.raises(cf.FetchError) as caught:
        client(handler).fetch_jobs(["good", "gone"], per_id=True, strict=True)
    assert list(caught.value.errors) == ["gone"]
    assert isinstance(caught.value.frame, pd.DataFrame) and len(caught.value.frame) == 2


def test_wait_polls_until_jobs_finish() -> None:
    polls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        polls["n"] += 1
        status = "COMPLETED" if polls["n"] >= 3 else "RUNNING"
        return httpx.Response(200, json=job("a", status, f"2026-01-01T00:00:0{polls['n']}Z"))

    df = client(handler).fetch_jobs(["a"], per_id=True, wait=True, wait_timeout=30)
    assert df.loc[0, "status"] == "COMPLETED" and polls["n"] == 3


def test_cancelling_a_fetch_keeps_what_was_fetched_and_leaves_no_tasks() -> None:
    import asyncio
    import threading

    stuck: list[str] = []
    all_slots_stuck = threading.Event()  # set on the client's loop, awaited from this one

    async def handler(request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.rsplit("/", 1)[1]
        if job_id >= "j050":
            stuck.append(job_id)
            if len(stuck) == 4:  # every slot waits on a slow job: j000..j049 are in
                all_slots_stuck.set()
            await asyncio.sleep(30)
        return httpx.Response(200, json=job(job_id))

    ids = [f"j{i:03d}" for i in range(100)]

    async def main() -> set[asyncio.Task[object]]:
        c = client(handler, concurrency=4)
        task = asyncio.create_task(c.afetch_jobs(ids, per_id=True))
        assert await asyncio.to_thread(all_slots_stuck.wait, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await c.aclose()
        partial = c.partial
        assert partial is not None and partial["id"].tolist() == ids
        assert partial["status"].notna().sum() == 50
        assert partial["fetch_error"].dropna().eq("not fetched: interrupted").all()
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert asyncio.run(main()) == set()


def test_kernel_interrupt_in_the_jupyter_path_cancels_the_work_on_the_clients_loop() -> None:
    """In Jupyter a cell calls the sync API while the kernel's loop runs; an interrupt
    (SIGINT's KeyboardInterrupt in the main thread) must stop the work on the client's loop."""
    import _thread
    import asyncio

    stuck: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.rsplit("/", 1)[1]
        if job_id >= "j010":
            stuck.append(job_id)
            if len(stuck) == 2:  # both slots wait on slow jobs: j000..j009 are in, interrupt
                _thread.interrupt_main()
            await asyncio.sleep(30)
        return httpx.Response(200, json=job(job_id))

    c = client(handler, concurrency=2)
    ids = [f"j{i:03d}" for i in range(40)]

    async def cell() -> object:  # the kernel's loop is running while the cell blocks
        return c.fetch_jobs(ids, per_id=True)

    kernel = asyncio.new_event_loop()  # run_until_complete installs no SIGINT handler
    with pytest.raises(KeyboardInterrupt) as interrupted:
        kernel.run_until_complete(cell())
    kernel.close()
    assert stuck == ["j010", "j011"]
    assert not asyncio.run_coroutine_threadsafe(_tasks(), c._loop.loop).result(5)
    assert c.partial is not None and c.partial["status"].notna().sum() == 10
    assert interrupted.value.partial is c.partial  # type: ignore[attr-defined]
    thread = c._loop._thread
    assert thread is not None and thread.is_alive()  # the client keeps its loop for later calls
    c.close()
    assert not thread.is_alive()


def test_ctrl_c_while_the_loop_thread_starts_leaves_no_thread_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SIGINT landing between the loop thread's start and its ``try`` (here: sent by the new
    thread before it runs the loop) must still leave a thread that ``close()`` stops."""
    import signal
    import threading

    from classify_frames.client import _loop

    serve = _loop._serve

    def interrupted_serve(*args: Any) -> None:
        main = threading.main_thread().ident
        assert main is not None
        signal.pthread_kill(main, signal.SIGINT)  # Ctrl-C, while the caller waits for us
        serve(*args)

    monkeypatch.setattr(_loop, "_serve", interrupted_serve)
    c = client(lambda request: httpx.Response(200, json=job("a")))
    with pytest.raises(KeyboardInterrupt):
        c.fetch_jobs(["a"], per_id=True)
    monkeypatch.undo()
    started = c._loop._thread
    assert started is not None and started.is_alive()  # recorded: the client can stop it
    c.close()
    assert not started.is_alive()
    assert c.fetch_jobs(["a"], per_id=True)["status"].tolist() == ["COMPLETED"]  # usable again
    c.close()


def test_ctrl_c_just_after_the_work_is_scheduled_still_cancels_it() -> None:
    """The interrupt lands right after the call's task was handed to the loop, before the
    caller waits on it: the work must still be cancelled, not left running on the loop."""
    import asyncio

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=job("a"))

    c = client(handler)
    loop = c._loop.loop
    schedule = loop.call_soon_threadsafe
    armed = [True]

    def interrupted_after(callback: Callable[..., object], *args: Any) -> asyncio.Handle:
        handle = schedule(callback, *args)
        if armed:
            armed.clear()
            raise KeyboardInterrupt  # as a Ctrl-C at the next bytecode would
        return handle

    loop.call_soon_threadsafe = interrupted_after  # type: ignore[method-assign,assignment]
    with pytest.raises(KeyboardInterrupt):
        c.fetch_jobs(["a", "b"], per_id=True)
    loop.call_soon_threadsafe = schedule  # type: ignore[method-assign]
    assert not asyncio.run_coroutine_threadsafe(_tasks(), loop).result(5)
    c.close()


async def _tasks() -> int:
    import asyncio

    return len(asyncio.all_tasks() - {asyncio.current_task()})


def test_many_429s_with_a_past_retry_after_slow_the_client_but_never_stall_it() -> None:
    """An HTTP-date Retry-After already past makes every 429 a new pause; spacing is capped."""
    import asyncio

    from classify_frames.client._limits import Pacer

    async def main() -> float:
        pacer = Pacer(None)
        for _ in range(200):
            pacer.pause(0.0)
        started = time.monotonic()
        for _ in range(3):
            await pacer.wait()
        return time.monotonic() - started

    assert asyncio.run(main()) < 2.0


def test_an_open_breaker_holds_across_calls_until_its_cool_down_ends() -> None:
    """After 10 requests in a row given up on, the rest are not sent; a second call on the
    same client is refused at once, without a request; after the cool-down (an injected
    clock: no sleep) requests go out again."""
    from classify_frames.client._limits import COOL_DOWN

    down = True
    sent: list[str] = []
    now = [1_000.0]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path.rsplit("/", 1)[-1])
        if down:
            return httpx.Response(503, json={"detail": "down"})
        return httpx.Response(200, json=job(sent[-1]))

    ids = [f"j{i}" for i in range(40)]
    refusal = (
        r"not sent: the service failed the last 10 requests after all their retries "
        r"\(last: gave up after 2 attempts: 503 down\); requests resume in \d+ s"
    )
    with (
        stamina.set_testing(True, attempts=2),
        client(handler, concurrency=1, clock=lambda: now[0]) as c,
    ):
        df = c.fetch_jobs(ids, per_id=True)
        assert len(sent) == 20  # 10 ids, 2 attempts each
        given_up = df["fetch_error"].str.startswith("gave up after 2 attempts: 503")
        assert given_up.tolist() == [True] * 10 + [False] * 30
        assert df.loc[10:, "fetch_error"].str.fullmatch(refusal).all()
        assert df.loc[10:, "http_status"].isna().all()
        now[0] += COOL_DOWN - 1  # a later call, still within the cool-down: nothing is sent
        second = c.fetch_jobs(["k1", "k2"])
        assert len(sent) == 20 and second["fetch_error"].str.fullmatch(refusal).all()
        now[0] += 1.5  # the cool-down is over, and the service is back
        down = False
        again = c.fetch_jobs(ids, per_id=True)
    assert again["fetch_error"].isna().all()


def test_answers_between_failures_keep_the_breaker_closed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        job_id = request.url.path.rsplit("/", 1)[-1]
        if job_id.endswith("9"):
            return httpx.Response(404, json={"detail": "no such job"})  # an answer: it is up
        return httpx.Response(503, json={"detail": "down"})

    with stamina.set_testing(True, attempts=1):
        df = client(handler, concurrency=1).fetch_jobs(
            [f"j{i:02d}" for i in range(60)], per_id=True
        )
    assert not df["fetch_error"].str.startswith("not sent").any()
    assert df["fetch_error"].str.startswith("not found").sum() == 6


def test_bodies_are_asked_for_gzipped_and_a_corrupt_one_is_retried() -> None:
    import gzip

    import orjson

    calls: list[httpx.Request] = []

    def gzipped(body: bytes) -> httpx.Response:  # raw bytes, as a network transport hands them
        return httpx.Response(
            200, stream=httpx.ByteStream(body), headers={"Content-Encoding": "gzip"}
        )

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        body = orjson.dumps(job(request.url.path.rsplit("/", 1)[-1]))
        return gzipped(body if len(calls) == 1 else gzip.compress(body))  # first: says gzip, is not

    with stamina.set_testing(True, attempts=2):
        df = client(handler).fetch_jobs(["a"], per_id=True)
        failed = client(lambda _: gzipped(b"not gzip")).fetch_jobs(["b"], per_id=True)
    assert all(r.headers["Accept-Encoding"] == "gzip" for r in calls)
    assert len(calls) == 2
    assert df.loc[0, "result.type"] == "invoice"
    error = str(failed.loc[0, "fetch_error"])
    assert error.startswith("gave up after 2 attempts: undecodable body")
