"""One long-lived client (issue 12): its loop, pools, rate pacer and breaker last across calls,
threads and event loops; its options are typed and checked.

Rates and connections are counted on the wire, by :class:`Wire`, a TCP relay in front of the
emulator that notes each new connection and when each request line passed.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import stamina
from loopback import ThreadedServer

import classify_frames as cf
from classify_frames.client import ClientOptions
from classify_frames.emulator import Emulator


class Wire(ThreadedServer):
    """A loopback TCP relay to ``port``: ``connections`` accepted, ``starts`` of requests."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.connections = 0
        self.starts: list[float] = []
        super().__init__(self._relay)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, count: bool) -> None:
            try:
                while data := await src.read(65536):
                    if count:  # a GET's head is one small write: never split across reads
                        self.starts += [time.monotonic()] * data.count(b"GET /api/")
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    def most_in_one_second(self) -> int:
        starts = sorted(self.starts)
        best = low = 0
        for high, t in enumerate(starts):
            while t - starts[low] >= 1.0:
                low += 1
            best = max(best, high - low + 1)
        return best


@pytest.fixture
def wire(emulator: Emulator) -> Iterator[Wire]:
    relay = Wire(int(emulator.base_url.rsplit(":", 1)[1]))
    yield relay
    relay.close()


def test_rate_limit_and_connections_hold_across_six_calls(emulator: Emulator, wire: Wire) -> None:
    ids = list(emulator.dataset.ids[:12])
    with cf.ClassifyClient(
        base_url=wire.base_url, api_key=emulator.api_key, max_requests_per_second=4,
        progress=False,
    ) as client:  # fmt: skip
        frames = [client.fetch_jobs(ids[:2], per_id=True)]
        after_first = wire.connections
        frames += [client.fetch_jobs(ids[2 * i : 2 * i + 2], per_id=True) for i in range(1, 6)]
    assert [f["id"].tolist() for f in frames] == [ids[2 * i : 2 * i + 2] for i in range(6)]
    assert all(f["fetch_error"].isna().all() for f in frames)
    assert len(wire.starts) == 12
    assert wire.most_in_one_second() <= 4 + 1  # one per 0.25 s, counted at the server
    assert wire.connections == after_first  # no new TCP connection after the first call


def test_four_threads_share_one_client_and_each_gets_exactly_its_ids(emulator: Emulator) -> None:
    known = list(emulator.dataset.ids[:1_200])
    asked = {n: [*known[n * 300 : (n + 1) * 300], f"cls-missing-{n}"] for n in range(4)}
    with cf.ClassifyClient(
        base_url=emulator.base_url, api_key=emulator.api_key, progress=False
    ) as client, ThreadPoolExecutor(4) as threads:  # fmt: skip
        done = {n: threads.submit(client.fetch_jobs, ids) for n, ids in asked.items()}
        frames = {n: future.result() for n, future in done.items()}
        stats = client.stats()
    for n, frame in frames.items():
        assert frame["id"].tolist() == asked[n]
        failed = frame.loc[frame["fetch_error"].notna(), "id"].tolist()
        assert failed == [f"cls-missing-{n}"]
    # One client's counters saw every thread's calls: 4 batches each (the missing id makes a
    # fourth), and one GET to learn why the missing id is missing.
    assert stats["requests"] == 4 * (4 + 1)


def test_threads_sharing_a_client_share_its_rate_limit(emulator: Emulator, wire: Wire) -> None:
    known = list(emulator.dataset.ids[:8])
    with cf.ClassifyClient(
        base_url=wire.base_url, api_key=emulator.api_key, max_requests_per_second=6,
        progress=False,
    ) as client, ThreadPoolExecutor(4) as threads:  # fmt: skip
        done = [threads.submit(client.fetch_jobs, known[2 * n : 2 * n + 2], per_id=True)
                for n in range(4)]  # fmt: skip
        frames = [future.result() for future in done]
    assert [f["id"].tolist() for f in frames] == [known[2 * n : 2 * n + 2] for n in range(4)]
    assert len(wire.starts) == 8
    assert wire.most_in_one_second() <= 6 + 1  # one limit for the four threads


def test_an_outage_opens_the_breaker_for_later_calls_until_the_cool_down_ends(
    make_emulator: Callable[..., Emulator],
) -> None:
    from classify_frames.client._limits import COOL_DOWN

    emu = make_emulator(jobs=50, fail_rate=1.0)
    ids = list(emu.dataset.ids[:12])
    now = [0.0]
    with stamina.set_testing(True, attempts=1), cf.ClassifyClient(
        base_url=emu.base_url, api_key=emu.api_key, concurrency=1, progress=False,
        clock=lambda: now[0],
    ) as client:  # fmt: skip
        outage = client.fetch_jobs(ids, per_id=True)
        sent = emu.counters()["requests"]
        started = time.monotonic()
        refused = client.fetch_jobs(ids)  # a later call: refused at once, nothing sent
        refused_in = time.monotonic() - started
        assert emu.counters()["requests"] == sent == 10
        emu.clear_faults()
        now[0] += COOL_DOWN + 1
        recovered = client.fetch_jobs(ids)
    assert outage["fetch_error"].str.startswith("gave up after 1 attempt: 50").sum() == 10
    assert outage["fetch_error"].str.startswith("not sent").sum() == 2
    assert refused["fetch_error"].str.startswith("not sent: the service failed").all()
    assert refused_in < 1.0
    assert recovered["fetch_error"].isna().all()


def test_the_async_api_shares_the_clients_state_from_any_loop(
    emulator: Emulator, wire: Wire
) -> None:
    """Each ``asyncio.run`` is a new loop; the work still runs on the client's one loop."""
    ids = list(emulator.dataset.ids[:250])
    with cf.ClassifyClient(
        base_url=wire.base_url, api_key=emulator.api_key, progress=False
    ) as client:  # fmt: skip
        first = asyncio.run(client.afetch_jobs(ids))
        after_first = wire.connections
        second = asyncio.run(client.afetch_jobs(ids))
        sync = client.fetch_jobs(ids)

        async def frames() -> list[pd.DataFrame]:
            return [frame async for frame in client.aiter_frames(ids, batch_size=100)]

        streamed = asyncio.run(frames())
        stats = client.stats()
    for frame in (first, second, sync, pd.concat(streamed, ignore_index=True)):
        assert frame["id"].tolist() == ids and frame["fetch_error"].isna().all()
    assert wire.connections == after_first
    assert stats["requests"] == 3 * 3 + 3


def test_a_listing_that_ends_on_429s_raises_rate_limit_error_with_its_partial(
    make_emulator: Callable[..., Emulator],
) -> None:
    emu = make_emulator(jobs=300, rate_limit=2, rate_period=60)
    with (
        stamina.set_testing(True, attempts=1),
        cf.ClassifyClient(
            base_url=emu.base_url, api_key=emu.api_key, retries=0, progress=False
        ) as client,
        pytest.raises(cf.RateLimitError, match="max_requests_per_second") as limited,
    ):
        client.list_jobs()
    assert limited.value.status_code == 429
    assert limited.value.partial is client.partial and len(client.partial) == 200


# -- typed options -------------------------------------------------------------------------------


def test_a_misspelt_option_is_a_clear_type_error_everywhere() -> None:
    key: ClientOptions = {"api_key": "llx-typed", "base_url": "http://127.0.0.1:9"}
    calls: list[Callable[[], object]] = [
        lambda: cf.ClassifyClient(**key, concurrancy=4),  # type: ignore[call-arg]
        lambda: cf.fetch_jobs(["a"], **key, strickt=True),  # type: ignore[call-arg]
        lambda: cf.list_jobs(**key, stauts="COMPLETED"),  # type: ignore[call-arg]
        lambda: cf.ClassifyClient(**key).fetch_jobs(["a"], per_ids=True),  # type: ignore[call-arg]
        lambda: cf.ClassifyClient(**key).iter_frames(batchsize=3),  # type: ignore[call-arg]
    ]
    for call, (wrong, right) in zip(
        calls,
        [("concurrancy", "concurrency"), ("strickt", "strict"), ("stauts", "status"),
         ("per_ids", "per_id"), ("batchsize", "batch_size")],
        strict=True,
    ):  # fmt: skip
        with pytest.raises(TypeError, match=f"unknown option '{wrong}' \\(did you mean '{right}'"):
            call()


def test_signatures_show_the_declared_options() -> None:
    client = inspect.signature(cf.ClassifyClient).parameters
    assert client["concurrency"].default == 32 and client["region"].default == "na"
    assert set(inspect.signature(cf.fetch_jobs).parameters) >= {"job_ids", "strict", "api_key"}
    assert inspect.signature(cf.ClassifyClient.list_jobs).parameters["status"].default is None


def test_the_version_comes_from_package_metadata(emulator: Emulator) -> None:
    assert cf.__version__ == importlib.metadata.version("classify-frames")
    import httpx

    agents: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["user-agent"])
        return httpx.Response(404, json={"detail": "no"})

    cf.fetch_jobs(
        ["a"], api_key="llx-v", base_url="http://127.0.0.1:9", per_id=True, progress=False,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    assert agents == [f"classify-frames/{cf.__version__}"]


def test_a_batch_404ing_under_a_base_url_with_a_path_says_the_path_may_be_why(
    emulator: Emulator,
) -> None:
    """Batched, over the emulator: the listing and then every id answer 404 under /v2."""
    ids = [str(i) for i in emulator.dataset.ids[:3]]
    df = cf.fetch_jobs(
        ids, base_url=f"{emulator.base_url}/v2", api_key=emulator.api_key, progress=False,
        retries=0,
    )  # fmt: skip
    assert df["http_status"].tolist() == [404] * 3
    assert df["fetch_error"].str.contains(f"404 under {emulator.base_url}/v2, whose path").all()
