"""Peak memory and speed of ``export_jobs`` (streaming) against ``list_jobs`` + ``to_parquet``.

Targets (issue 4): exporting 1,000,000 jobs keeps peak RSS under 1.25x that of exporting 100,000,
and at least 3x under listing the same million into one frame and writing it.

The emulator runs in its own process, so the server neither shares the client's GIL nor counts
in its memory; each measured run is a fresh Python process whose peak RSS (``ru_maxrss``) is
reported. Run::

    python benchmarks/bench_export.py                       # 100k and 1M, both variants
    python benchmarks/bench_export.py --jobs 20000,200000   # quicker, same ratios
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VARIANTS = ("export", "list+to_parquet")


def child(variant: str, out: Path) -> dict[str, Any]:
    """One measured run (in a fresh process): export the emulator's jobs, report time and RSS."""
    import classify_frames as cf

    options: dict[str, Any] = {"base_url": os.environ["LLAMA_CLOUD_BASE_URL"], "progress": False}
    started = time.perf_counter()
    if variant == "export":
        summary = cf.export_jobs(path=out / "ds", **options)
        rows = summary.rows
    else:
        frame = cf.list_jobs(**options)
        cf.to_parquet(frame, out / "jobs.parquet")
        rows = len(frame)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"variant": variant, "rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024}


def measure(variant: str, base_url: str, api_key: str) -> dict[str, Any]:
    """Run ``child`` in a fresh interpreter and return what it measured."""
    out = Path(tempfile.mkdtemp(prefix="bench-export-"))
    env = {**os.environ, "LLAMA_CLOUD_BASE_URL": base_url, "LLAMA_CLOUD_API_KEY": api_key}
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--child", variant, "--out", str(out)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{result.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="100000,1000000", help="Comma-separated job counts.")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.out)))
        return

    from classify_frames.emulator import Emulator

    sizes = [int(n) for n in args.jobs.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    results: list[dict[str, Any]] = []
    print(f"{'variant':<16} {'jobs':>10} {'seconds':>9} {'jobs/s':>9} {'peak RSS MB':>12}")
    for n in sizes:
        with Emulator(jobs=n, seed=0, process=True) as emu:
            for variant in variants:
                r = measure(variant, emu.base_url, emu.api_key)
                r["jobs"] = n
                results.append(r)
                rate = r["rows"] / r["seconds"]
                line = f"{variant:<16} {n:>10,} {r['seconds']:>9.1f} {rate:>9,.0f}"
                print(f"{line} {r['peak_mb']:>12.0f}", flush=True)
    peak = {(r["variant"], r["jobs"]): r["peak_mb"] for r in results}
    small, big = min(sizes), max(sizes)
    if ("export", small) in peak and ("export", big) in peak and big > small:
        ratio = peak["export", big] / peak["export", small]
        verdict = "ok" if ratio < 1.25 else "MISSED"
        print(f"export peak RSS {big:,} / {small:,} jobs: {ratio:.2f}x (target < 1.25x: {verdict})")
    if ("export", big) in peak and ("list+to_parquet", big) in peak:
        ratio = peak["list+to_parquet", big] / peak["export", big]
        verdict = "ok" if ratio >= 3 else "MISSED"
        what = f"list+to_parquet / export peak RSS at {big:,} jobs"
        print(f"{what}: {ratio:.1f}x (target >= 3x: {verdict})")


if __name__ == "__main__":
    main()
