"""Reading a dataset back: what verifying page checksums costs, what pushdown saves, and how
``cf.read_parquet`` compares with ``polars.read_parquet`` of the same files.

    python benchmarks/bench_read.py                      # 1,000,000 jobs, 3 rounds
    python benchmarks/bench_read.py --jobs 200000 --repeat 2

The dataset is exported once (as ``bench_10m.py`` does: ``export_jobs`` in full, frames made in
process) and cached under ``--cache``. Every measurement runs in a fresh process, the variants
interleaved round by round, so a busy neighbour slows them alike; the figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_10m import GB, export, peak_rss

VARIANTS = ("verified", "unverified", "polars", "one_month", "three_columns")


def child_read(path: Path, variant: str) -> dict[str, Any]:
    """Read the dataset at ``path`` one way; its time, CPU, rows and peak RSS."""
    import polars as pl

    import classify_frames as cf

    started, cpu = time.perf_counter(), time.process_time()
    if variant == "polars":
        rows = pl.read_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True).height
    else:
        options: dict[str, Any] = {}
        if variant == "unverified":  # what the read cost before checksums were verified
            import pyarrow.dataset as pads

            from classify_frames.parquet import _dataset

            off = pads.ParquetFragmentScanOptions(page_checksum_verification=False)
            _dataset._CHECKSUMS = off  # type: ignore[attr-defined]
        if variant == "one_month":
            options["filters"] = [("created_month", "==", "2026-03")]
        if variant == "three_columns":
            options["columns"] = ["id", "status", "result.confidence"]
        rows = len(cf.read_parquet(path, **options))
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rows": rows,
        "peak": peak_rss(),
    }


def run_child(args: list[str]) -> dict[str, Any]:
    """This script's ``--child`` in a fresh process: its JSON line."""
    result = subprocess.run(
        [sys.executable, __file__, *args], env=dict(os.environ), capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"the measured process failed:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/classify-frames-read"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", type=int, default=200_000, help="distinct emulator jobs")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, path = args.child
        print(json.dumps(child_read(Path(path), variant)))
        return
    figures = export(args.jobs, args.base, args.cache)
    root = args.cache / f"jobs-{args.jobs}"
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    print(f"{figures['rows']:,} jobs in {root}, {size / 2**20:,.0f} MB on disk")
    variants = args.variants.split(",")
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for _ in range(args.repeat):
        for variant in variants:
            runs[variant].append(run_child(["--child", variant, str(root)]))
    median = {v: statistics.median(r["seconds"] for r in rs) for v, rs in runs.items()}
    print(f"{'read':<16}{'median s':>10}{'CPU s':>8}{'rows':>12}{'peak GB':>9}")
    for variant, rs in runs.items():
        cpu = statistics.median(r["cpu"] for r in rs)
        peak = max(r["peak"] for r in rs) / GB
        print(f"{variant:<16}{median[variant]:>10.2f}{cpu:>8.2f}{rs[0]['rows']:>12,}{peak:>9.2f}")
    if {"verified", "unverified"} <= median.keys():
        cost = median["verified"] / median["unverified"] - 1
        print(f"verifying page checksums: {cost:+.1%} read time")
    if {"verified", "polars"} <= median.keys():
        cpu = {v: statistics.median(r["cpu"] for r in runs[v]) for v in ("verified", "polars")}
        print(
            f"cf.read_parquet / polars.read_parquet: {median['verified'] / median['polars']:.2f}x "
            f"wall, {cpu['verified'] / cpu['polars']:.2f}x CPU "
            f"(load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
