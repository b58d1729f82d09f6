"""Does the hand-written network backend (``classify_frames._network``) earn its keep?

Client CPU of the paths users take by default, against the emulator in its own process, with
the pools on ``PoolTransport`` (the asyncio backend) and on ``httpx.AsyncHTTPTransport``
(httpcore on anyio, what the code would use without ``_network``), in the same run, alternated:

- ``cf.fetch_jobs(ids)`` (batched: 100 ids a request) and ``cf.fetch_jobs(ids, per_id=True)``:
  the client as it is, against the same client given (``transport=``) httpx's transport in
  pools of 8 connections, each request to the least busy, as the client spreads its own;
- the transports alone: the same per-id GETs with no frame built, and the raw floor, a minimal
  keep-alive HTTP/1.1 client on asyncio streams (no pool, no retries, no checks).

    python benchmarks/bench_network.py [--jobs 10000] [--latency-ms 20] [--repeat 3]

Prints wall and client CPU seconds for each, then the CPU ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

import classify_frames as cf
from classify_frames._network import PoolTransport

Runner = Callable[[], int]
POOL_SIZE = 8  # connections a pool, as the client's
OURS, THEIRS = "PoolTransport (classify_frames._network)", "httpx.AsyncHTTPTransport"


def httpx_pool(
    size: int, ssl_context: ssl.SSLContext | None = None, proxy: httpx.Proxy | None = None
) -> httpx.AsyncBaseTransport:
    """What ``PoolTransport(...)`` would be without ``_network``: httpx's own transport."""
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    return httpx.AsyncHTTPTransport(verify=ssl_context or True, proxy=proxy, limits=limits)


class HttpxShards(httpx.AsyncBaseTransport):
    """httpx's own transport in pools of ``POOL_SIZE``, each request to the least busy pool
    (the client's spreading of its own pools, for the client's ``transport=``)."""

    def __init__(self, width: int) -> None:
        self._pools = [httpx_pool(POOL_SIZE) for _ in range(-(-width // POOL_SIZE))]
        self._busy = [0] * len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        shard = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[shard] += 1
        try:
            response = await self._pools[shard].handle_async_request(request)
            await response.aread()  # the connection is free again once the body is in
        finally:
            self._busy[shard] -= 1
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def measure(runs: dict[str, Runner], repeat: int) -> dict[str, tuple[float, float]]:
    """Best wall and best CPU seconds of each runner, run in turn ``repeat`` times (so a busy
    neighbour weighs on all of them alike)."""
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            cpu, wall = time.process_time(), time.perf_counter()
            counts[name] = run()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    best = {name: (min(walls[name]), min(cpus[name])) for name in runs}
    for name, (wall, cpu) in best.items():
        print(f"  {name:<44} {wall:7.2f} s wall {cpu:7.2f} s CPU  ({counts[name]:,} jobs)",
              flush=True)  # fmt: skip
    return best


def fetch(
    ids: list[str],
    opts: dict[str, Any],
    per_id: bool,
    transport: Callable[[], httpx.AsyncBaseTransport] | None = None,
) -> Runner:
    """``cf.fetch_jobs`` as it is, or given a new ``transport()`` for each run."""

    def run() -> int:
        given: dict[str, Any] = {} if transport is None else {"transport": transport()}
        frame = cf.fetch_jobs(ids, per_id=per_id, **opts, **given)
        assert frame["fetch_error"].isna().all()
        assert len(frame) == len(ids)
        return len(frame)

    return run


def transport_only(
    base: str, key: str, ids: list[str], width: int, make: Callable[[], httpx.AsyncBaseTransport]
) -> Runner:
    """Per-id GETs straight through the transports, ``width`` at a time, bodies parsed; spread
    over pools of 8 connections as the client spreads them (one pool of 32 costs far more)."""
    headers = httpx.Headers({"Authorization": f"Bearer {key}", "Accept-Encoding": "gzip"})

    async def main() -> int:
        pools = [make() for _ in range(-(-width // POOL_SIZE))]
        todo, done = iter(ids), 0

        async def worker(pool: httpx.AsyncBaseTransport) -> None:
            nonlocal done
            for job_id in todo:
                request = httpx.Request("GET", f"{base}/api/v2/classify/{job_id}", headers=headers)
                response = await pool.handle_async_request(request)
                await response.aread()
                assert orjson.loads(response.content)["id"] == job_id
                done += 1

        try:
            await asyncio.gather(*(worker(pools[k % len(pools)]) for k in range(width)))
        finally:
            for pool in pools:
                await pool.aclose()
        return done

    return lambda: asyncio.run(main())


def raw_floor(host: str, port: int, key: str, ids: list[str], width: int) -> Runner:
    """The least a client can do: one keep-alive socket per worker, requests written by hand."""
    template = (
        f"GET /api/v2/classify/{{}} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nAccept-Encoding: gzip\r\n\r\n"
    )

    async def main() -> int:
        todo, done = iter(ids), 0

        async def worker() -> None:
            nonlocal done
            reader, writer = await asyncio.open_connection(host, port)
            for job_id in todo:
                writer.write(template.format(job_id).encode())
                head = (await reader.readuntil(b"\r\n\r\n")).lower()
                length = int(head.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
                body = await reader.readexactly(length)
                if b"content-encoding: gzip" in head:
                    body = gzip.decompress(body)
                assert orjson.loads(body)["id"] == job_id
                done += 1
            writer.close()

        await asyncio.gather(*(worker() for _ in range(width)))
        return done

    return lambda: asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    with cf.Emulator(jobs=args.jobs, seed=0, latency_ms=args.latency_ms, process=True) as emu:
        ids = [str(i) for i in emu.dataset.ids]
        width = args.concurrency
        opts = {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False,
                "concurrency": width}  # fmt: skip
        print(f"{args.jobs:,} jobs, {args.latency_ms:g} ms latency, emulator in a subprocess, "
              f"concurrency {width}, best of {args.repeat}")  # fmt: skip
        server = (emu.base_url, emu.api_key)

        def shards() -> httpx.AsyncBaseTransport:
            return HttpxShards(width)

        host, port = emu.base_url.removeprefix("http://").rsplit(":", 1)
        pairs: dict[str, tuple[Runner, Runner]] = {
            "fetch_jobs (batched)": (
                fetch(ids, opts, False),
                fetch(ids, opts, False, shards),
            ),
            "fetch_jobs (per_id=True)": (
                fetch(ids, opts, True),
                fetch(ids, opts, True, shards),
            ),
            "per-id GETs, transport only": (
                transport_only(*server, ids, width, lambda: PoolTransport(POOL_SIZE)),
                transport_only(*server, ids, width, lambda: httpx_pool(POOL_SIZE)),
            ),
        }
        for given in (None, shards):  # imports and first connections, untimed
            fetch(ids[:500], opts, False, given)()
            fetch(ids[:200], opts, True, given)()
        results: dict[str, tuple[float, float]] = {}
        for name, (ours, theirs) in pairs.items():
            print(name, flush=True)
            best = measure({OURS: ours, THEIRS: theirs}, args.repeat)
            results[name] = (best[OURS][1], best[THEIRS][1])
        print("per-id GETs, raw floor", flush=True)
        floor_run = raw_floor(host, int(port), emu.api_key, ids, width)
        floor = measure({"asyncio streams, hand-written HTTP/1.1": floor_run}, args.repeat)
        floor_cpu = next(iter(floor.values()))[1]
    print("\nclient CPU, httpx.AsyncHTTPTransport / PoolTransport (above 1: _network saves CPU)")
    for name, (ours_cpu, theirs_cpu) in results.items():
        print(f"  {name:<32} {theirs_cpu / ours_cpu:5.2f}x  "
              f"({theirs_cpu - ours_cpu:+.2f} s CPU over {args.jobs:,} jobs)")  # fmt: skip
    ours_cpu, theirs_cpu = results["per-id GETs, transport only"]
    print(f"  transport only, over the raw floor: PoolTransport {ours_cpu / floor_cpu:.2f}x, "
          f"httpx.AsyncHTTPTransport {theirs_cpu / floor_cpu:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
