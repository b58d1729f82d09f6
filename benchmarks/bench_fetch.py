"""Fetch 10,000 jobs from the emulator (20 ms latency, server in its own process): classify_frames
batched and per-id against what a user would write with the official SDK, and batched against
the raw floor (plain httpx pulling the same pages as bytes, nothing parsed), in the same run.

    python benchmarks/bench_fetch.py [--jobs 10000] [--latency-ms 20] [--sdk-concurrency 64]
    python benchmarks/bench_fetch.py --no-sdk      # only the floor and the batched fetch

Prints wall seconds, jobs/s and client CPU seconds for each, and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

import classify_frames as cf


def measure(name: str, run: Callable[[], pd.DataFrame], n: int, repeat: int) -> dict[str, Any]:
    """Best of ``repeat`` runs (wall and CPU each), so a busy neighbour skews less."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        frame = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert len(frame) == n, (name, len(frame))
        assert frame["id"].tolist() == frame["id"].drop_duplicates().tolist()
    wall, cpu = min(walls), min(cpus)
    print(f"{name:<44} {wall:8.2f} s  {n / wall:9,.0f} jobs/s  {cpu:7.2f} s CPU", flush=True)
    return {"name": name, "wall": wall, "cpu": cpu}


def sdk_gather(base_url: str, api_key: str, ids: list[str], width: int) -> pd.DataFrame:
    """The glue a user writes today: AsyncLlamaCloud, gather 64 at a time, json_normalize."""
    from llama_cloud import AsyncLlamaCloud

    async def main() -> list[dict[str, Any]]:
        client = AsyncLlamaCloud(api_key=api_key, base_url=base_url)
        gate = asyncio.Semaphore(width)

        async def one(job_id: str) -> dict[str, Any]:
            async with gate:
                job = await client.classify.get(job_id)
                return job.model_dump()

        try:
            return list(await asyncio.gather(*(one(i) for i in ids)))
        finally:
            await client.close()

    return pd.json_normalize(asyncio.run(main()))


def raw_floor(base_url: str, api_key: str, ids: list[str], width: int) -> pd.DataFrame:
    """The floor: raw httpx pulling the same pages (100 ids a request, gzipped) as bytes,
    ``width`` in flight, nothing parsed. Returns a frame of the ids only, for the checks."""
    import httpx

    from classify_frames.client._ids import batches

    async def main() -> int:
        headers = {"Authorization": f"Bearer {api_key}", "Accept-Encoding": "gzip"}
        limits = httpx.Limits(max_connections=width, max_keepalive_connections=width)
        gate = asyncio.Semaphore(width)
        async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits) as client:

            async def page(batch: list[str]) -> int:
                async with gate:
                    params: list[tuple[str, str | int | float | bool | None]] = [
                        ("job_ids", i) for i in batch
                    ]
                    params.append(("page_size", "100"))
                    response = await client.get("/api/v2/classify", params=params)
                    return len(response.content)

            return sum(await asyncio.gather(*(page(b) for b in batches(ids))))

    assert asyncio.run(main()) > 0
    return pd.DataFrame({"id": ids})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--sdk-concurrency", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--no-sdk", action="store_true", help="only the floor and batched fetch")
    args = parser.parse_args()
    with cf.Emulator(jobs=args.jobs, seed=0, latency_ms=args.latency_ms, process=True) as emu:
        ids = [str(i) for i in emu.dataset.ids]
        opts = {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False,
                "concurrency": args.concurrency}  # fmt: skip
        print(f"{args.jobs:,} jobs, {args.latency_ms:g} ms latency, emulator in a subprocess, "
              f"best of {args.repeat}")  # fmt: skip
        sdk = None if args.no_sdk else measure(
            f"official SDK + gather({args.sdk_concurrency}) + json_normalize",
            lambda: sdk_gather(emu.base_url, emu.api_key, ids, args.sdk_concurrency),
            len(ids), args.repeat,
        )  # fmt: skip
        floor = measure(f"raw httpx, same pages as bytes ({args.concurrency} in flight)",
                        lambda: raw_floor(emu.base_url, emu.api_key, ids, args.concurrency),
                        len(ids), args.repeat)  # fmt: skip
        batched = measure("classify_frames.fetch_jobs (batched)",
                          lambda: cf.fetch_jobs(ids, **opts), len(ids), args.repeat)  # fmt: skip
        per_id = None if args.no_sdk else measure(
            "classify_frames.fetch_jobs (per_id=True)",
            lambda: cf.fetch_jobs(ids, per_id=True, **opts), len(ids), args.repeat,
        )  # fmt: skip
    print(f"batched fetch: {batched['wall'] / floor['wall']:.2f}x the raw-bytes floor's wall time, "
          f"{batched['cpu'] / max(floor['cpu'], 1e-9):.2f}x its client CPU")  # fmt: skip
    if sdk is None or per_id is None:
        return
    for result in (batched, per_id):
        print(f"{result['name']}: {sdk['wall'] / result['wall']:.1f}x faster than the SDK, "
              f"{sdk['cpu'] / max(result['cpu'], 1e-9):.1f}x less client CPU")  # fmt: skip


if __name__ == "__main__":
    main()
