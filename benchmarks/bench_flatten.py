"""Flatten 100,000 job bodies (JSON lines bytes in, typed frame out): jobs_to_frame against
json.loads + pd.json_normalize on the same bytes, and pyarrow.json.read_json as the floor.

    python benchmarks/bench_flatten.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import time

import orjson
import pandas as pd
import pyarrow.json as pa_json

from classify_frames import jobs_to_frame
from classify_frames.emulator import Dataset


def timed(name: str, run, repeat: int = 3) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall and best CPU seconds (all threads) of ``repeat`` runs; CPU time is the steadier
    figure on a shared machine, wall time what the user waits for."""
    runs = [_once(run) for _ in range(repeat)]
    wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
    print(f"{name:<42} {wall:7.3f} s wall {cpu:7.3f} s CPU", flush=True)
    return wall, cpu


def _once(run) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--schema", default="current")
    args = parser.parse_args()
    dataset = Dataset.generate(args.jobs, seed=0, schema=args.schema)
    data = b"\n".join(orjson.dumps(job) for job in dataset.jobs())
    print(
        f"{args.jobs:,} job bodies, {len(data) / 1e6:.0f} MB of JSON lines ({args.schema} schema)"
    )
    ours = timed("classify_frames.jobs_to_frame", lambda: jobs_to_frame(data))
    naive = timed(
        "json.loads + pd.json_normalize",
        lambda: pd.json_normalize([json.loads(line) for line in data.splitlines()]),
    )
    floor = timed(
        "pyarrow.json.read_json (parse only)", lambda: pa_json.read_json(io.BytesIO(data))
    )
    records = [orjson.loads(line) for line in data.splitlines()]
    dicts = timed("classify_frames.jobs_to_frame (dicts in)", lambda: jobs_to_frame(records))
    for i, kind in enumerate(("wall", "CPU")):
        print(
            f"{kind}: jobs_to_frame is {naive[i] / ours[i]:.1f}x faster than json.loads + "
            f"json_normalize ({ours[i] / floor[i]:.2f}x the read_json floor; target >= 10x and "
            f"<= 1.3x); from dicts {naive[i] / dicts[i]:.1f}x"
        )
    bogus = "result" in pd.json_normalize([{"id": "a", "result": None}]).columns
    print(
        f"json_normalize makes a bogus 'result' column for result=null: {bogus}; "
        f"jobs_to_frame: {'result' in jobs_to_frame([{'id': 'a', 'result': None}]).columns}"
    )


if __name__ == "__main__":
    main()
