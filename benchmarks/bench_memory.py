"""Bytes per job held in memory (deep) by the frame of 100,000 emulator jobs, against what a
user would otherwise hold (json.loads + pd.json_normalize), Arrow's own parse of the same JSON
(pyarrow.json.read_json), and the same frame in a zstd Parquet file.

    python benchmarks/bench_memory.py [--jobs 100000] [--schema current]

Target (issue 14): at most 400 bytes per job.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path

import orjson
import pandas as pd
import pyarrow.json as pa_json

import classify_frames as cf
from classify_frames.emulator import Dataset


def deep_bytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(deep=True).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--schema", default="current")
    args = parser.parse_args()
    n = args.jobs
    dataset = Dataset.generate(n, seed=0, schema=args.schema)
    data = b"\n".join(orjson.dumps(job) for job in dataset.jobs())
    frame = cf.jobs_to_frame(data)
    ours = deep_bytes(frame) / n
    naive = deep_bytes(pd.json_normalize([json.loads(line) for line in data.splitlines()])) / n
    arrow = pa_json.read_json(io.BytesIO(data)).nbytes / n
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jobs.parquet"
        cf.to_parquet(frame, path)
        parquet = path.stat().st_size / n
    print(f"{n:,} emulator jobs ({args.schema} schema), {len(data) / n:,.0f} bytes of JSON each")
    print(f"{'classify_frames.jobs_to_frame (deep)':<42} {ours:8,.0f} bytes/job")
    print(f"{'json.loads + pd.json_normalize (deep)':<42} {naive:8,.0f} bytes/job")
    print(f"{'pyarrow.json.read_json table':<42} {arrow:8,.0f} bytes/job")
    print(f"{'the frame as zstd Parquet':<42} {parquet:8,.0f} bytes/job")
    per_column = (frame.memory_usage(deep=True, index=False) / n).sort_values(ascending=False)
    print(
        "largest columns (bytes/job):", ", ".join(f"{k} {v:.0f}" for k, v in per_column[:6].items())
    )
    verdict = "meets" if ours <= 400 else "misses"
    print(
        f"jobs_to_frame holds {ours:,.0f} bytes/job: {ours / naive:.2f}x json_normalize's (which "
        f"does not count inside its lists), {ours / arrow:.2f}x read_json's table; {verdict} the "
        "400-byte target (each distinct rule set held once, a 4-byte code per row)"
    )


if __name__ == "__main__":
    main()
