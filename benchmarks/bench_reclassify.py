"""Re-run a sample of jobs under new rules on the emulator, which enforces the service's create
limit (40 a second), against what a user would write with the official SDK, in the same run.

    python benchmarks/bench_reclassify.py [--jobs 200] [--latency-ms 20]

For each: wall seconds until every new job is final, creation requests per second, 429 answers,
jobs created, and jobs created again by a second identical run (the cost of re-running a cell).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any

import pandas as pd

import classify_frames as cf


def sdk_loop(emu: cf.Emulator, jobs: pd.DataFrame, rules: list[dict[str, str]]) -> list[str]:
    """The loop a user writes today: create each job, then wait for each (SDK's own retries)."""
    from llama_cloud import LlamaCloud, PollingError

    with LlamaCloud(api_key=emu.api_key, base_url=emu.base_url) as client:
        ids = [
            client.classify.create(
                file_input=value,
                configuration={"rules": rules},  # type: ignore[arg-type]
            ).id
            for value in jobs["file_input"]
        ]
        for job_id in ids:
            with contextlib.suppress(PollingError):  # a FAILED job raises
                client.classify.wait_for_completion(job_id, polling_interval=0.5, timeout=600)
    return ids


def sdk_gather(emu: cf.Emulator, jobs: pd.DataFrame, rules: list[dict[str, str]]) -> list[str]:
    """The faster glue: AsyncLlamaCloud, gather 32 creates at a time, then poll each job."""
    from llama_cloud import AsyncLlamaCloud, PollingError

    async def run() -> list[str]:
        async with AsyncLlamaCloud(api_key=emu.api_key, base_url=emu.base_url) as client:
            gate = asyncio.Semaphore(32)

            async def create(value: str) -> str:
                async with gate:
                    made = await client.classify.create(
                        file_input=value,
                        configuration={"rules": rules},  # type: ignore[arg-type]
                    )
                    return made.id

            ids = await asyncio.gather(*(create(v) for v in jobs["file_input"]))

            async def wait(job_id: str) -> None:
                async with gate:
                    with contextlib.suppress(PollingError):  # a FAILED job raises
                        await client.classify.wait_for_completion(
                            job_id, polling_interval=0.5, timeout=600
                        )

            await asyncio.gather(*(wait(i) for i in ids))
            return list(ids)

    return asyncio.run(run())


def measure(name: str, emu: cf.Emulator, run: Any, n: int) -> dict[str, Any]:
    emu.reset_counters()
    started = time.perf_counter()
    run()
    first = time.perf_counter() - started
    counts = emu.counters()
    creating = counts["by_endpoint"].get("create", 0)
    emu.reset_counters()
    run()  # the same cell, run again
    again = emu.counters()["jobs_created"]
    row = {
        "name": name,
        "wall": first,
        "create_requests": creating,
        "429s": counts["by_status"].get("429", 0),
        "jobs_created": counts["jobs_created"],
        "created_again": again,
        "requests": counts["requests"],
    }
    print(
        f"{name:<40} {first:7.2f} s  {creating:5d} creates  {row['429s']:5d} x 429  "
        f"{row['jobs_created']:5d} created  {again:5d} created by a re-run  "
        f"{row['requests']:6d} requests",
        flush=True,
    )
    assert row["jobs_created"] == n, row
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    with cf.Emulator(jobs=20_000, seed=0, latency_ms=args.latency_ms, job_duration=2.0,
                     process=True, create_rate_limit=40) as emu:  # fmt: skip
        config = emu.dataset.configurations[0]
        source = cf.list_jobs(status="COMPLETED", configuration_id=config["id"],
                              limit=args.jobs, base_url=emu.base_url, api_key=emu.api_key,
                              progress=False)  # fmt: skip
        jobs = source[source["document_input_type"] != "parse_job_id"].reset_index(drop=True)
        n = len(jobs)
        rules = config["configuration"]["rules"]
        print(f"re-running {n} jobs; the emulator allows 40 creations/s, {args.latency_ms:g} ms "
              "latency, jobs take 2 s")  # fmt: skip
        ours = measure(
            "classify_frames reclassify (40/s)", emu,
            lambda: cf.reclassify(jobs, rules=rules, experiment="bench", base_url=emu.base_url,
                                  api_key=emu.api_key, progress=False), n,
        )  # fmt: skip
        loop = measure(
            "SDK: create then wait, one by one", emu, lambda: sdk_loop(emu, jobs, rules), n
        )
        gather = measure("SDK: gather(32) creates, then waits", emu,
                         lambda: sdk_gather(emu, jobs, rules), n)  # fmt: skip
    rate = ours["create_requests"] / ours["wall"]
    print(
        f"\nclassify_frames: {rate:.1f} creation requests/s over the whole call (waiting included)"
    )
    for other in (loop, gather):
        print(
            f"vs {other['name']}: {other['wall'] / ours['wall']:.1f}x the time, "
            f"{other['429s']} vs {ours['429s']} answers 429, a re-run created "
            f"{other['created_again']} jobs again vs {ours['created_again']}"
        )


if __name__ == "__main__":
    main()
