"""Ten million jobs on one 2-core machine: export them to a dataset (streaming), read the
dataset back, audit it and filter it in the explorer.

    python benchmarks/bench_10m.py                                   # 10,000,000 jobs
    python benchmarks/bench_10m.py --jobs 200000 --cache /tmp/cf-small   # a quick dry run

Targets (issue 14): ``read_parquet`` within 6 GB peak RSS, the audit's tables in under 60 s,
an explorer filter change in under 300 ms. Each step runs in a fresh Python process, so its
peak RSS (``ru_maxrss``) is its own.

The export runs ``export_jobs`` in full (batches, dataset writer, manifest, atomic swap) with a
client whose frames are ``--base`` emulator jobs repeated with fresh ids, documents and parse
ids: the network part is what ``bench_export.py`` and ``bench_fetch.py`` measure, and 10
million jobs over loopback HTTP would take 15 minutes to 2 hours on this shared machine.

The exported dataset is cached under ``--cache`` (default ``/tmp/classify-frames-10m``, never
the repository) with the export's own figures, so a second run measures only the rest; delete
the directory to export again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

GB = 1024**3


def peak_rss() -> float:
    """Peak resident memory of this process so far, in bytes (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def child_export(out: Path, jobs: int, base: int) -> dict[str, Any]:
    """``export_jobs`` into ``out`` from a client whose frames are made here, not fetched."""
    import classify_frames as cf
    from classify_frames.emulator import Dataset

    class GeneratedClient(cf.ClassifyClient):
        """Emulator jobs, ``base`` of them repeated with fresh ids up to ``jobs``, yielded in
        the batches a fetch yields: everything after the network, as in a real export."""

        def iter_frames(  # type: ignore[override]
            self, job_ids: Any = None, *, batch_size: int = 1_000, **_: Any
        ) -> Iterator[pd.DataFrame]:
            one = cf.jobs_to_frame(Dataset.generate(min(base, jobs), seed=0).jobs())
            for k in range(-(-jobs // len(one))):
                copy = one.iloc[: jobs - k * len(one)].copy()
                for name in ("id", "parse_job_id", "file_input"):
                    copy[name] = (copy[name] + f"-{k}").astype(one[name].dtype)
                for start in range(0, len(copy), batch_size):
                    yield copy.iloc[start : start + batch_size].reset_index(drop=True)

    started = time.perf_counter()
    with GeneratedClient(base_url="http://127.0.0.1:9", api_key="llx-bench-generated") as client:
        summary = cf.export_jobs(path=out, client=client, progress=False)
    return {"rows": summary.rows, "seconds": time.perf_counter() - started, "peak": peak_rss()}


def child_analyse(path: Path, repeat: int) -> dict[str, Any]:
    import classify_frames as cf
    from classify_frames.explorer import explore

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_explorer import _spelling, changes, naive

    warnings.simplefilter("ignore")
    out: dict[str, Any] = {}
    started, cpu = time.perf_counter(), time.process_time()
    df = cf.read_parquet(path)
    out["read_s"], out["read_peak"] = time.perf_counter() - started, peak_rss()
    out["read_cpu"] = time.process_time() - cpu
    out["rows"], out["bytes_per_job"] = len(df), df.memory_usage(deep=True).sum() / len(df)

    _audit(df, out)  # in a function, so the report is gone before the explorer starts

    started = time.perf_counter()
    explorer = explore(df)
    out["explore_s"] = time.perf_counter() - started
    out["filters"] = {}
    for name, change in changes(df):
        before = explorer.filters
        times = []
        for attempt in range(repeat):
            explorer.set_filters(**before)
            step = dict(change)
            if step.get("search"):  # a new spelling each time: no attempt reuses a scan
                step["search"] = _spelling(step["search"], attempt)
            begin = time.perf_counter()
            explorer.set_filters(**step)
            times.append((time.perf_counter() - begin) * 1000)
        state = explorer.filters
        begin = time.perf_counter()
        naive(df, state, None)
        out["filters"][name] = (
            statistics.median(times),
            max(times),
            (time.perf_counter() - begin) * 1000,
        )
    out["peak"] = peak_rss()
    return out


def _audit(df: pd.DataFrame, out: dict[str, Any]) -> None:
    import classify_frames as cf

    started, cpu = time.perf_counter(), time.process_time()
    report = cf.audit(df, threshold=0.9)
    tables: dict[str, Callable[[], object]] = {
        "summary": lambda: report.summary,
        "by_type": lambda: report.by_type,
        "status, errors": lambda: (report.status, report.errors),
        "drift (monthly)": lambda: report.drift("M"),
        "by_configuration + mix": lambda: (report.by_configuration, report.configuration_mix),
        "rule_changes, unused, unknown": lambda: (
            report.rule_changes,
            report.unused_rules,
            report.unknown_types,
        ),
        "reclassified + flips": lambda: (report.reclassified, report.flips()),
        "review_queue": lambda: report.review_queue(25),
    }
    out["audit_steps"] = {"audit(df) (prepare)": time.perf_counter() - started}
    for name, table in tables.items():
        step = time.perf_counter()
        table()
        out["audit_steps"][name] = time.perf_counter() - step
    out["audit_s"], out["audit_cpu"] = time.perf_counter() - started, time.process_time() - cpu
    out["audit_peak"] = peak_rss()


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"the measured process failed:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return data


def export(jobs: int, base: int, cache: Path) -> dict[str, Any]:
    """The export's figures: measured now, or as recorded when the cached dataset was made."""
    target, record = cache / f"jobs-{jobs}", cache / f"export-{jobs}.json"
    if target.is_dir() and record.is_file():
        return {**json.loads(record.read_text()), "cached": True}
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f"jobs-{jobs}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    figures = run_child(
        ["--child", "export", str(partial), "--jobs", str(jobs), "--base", str(base)]
    )
    partial.rename(target)
    record.write_text(json.dumps(figures))
    return {**figures, "cached": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/classify-frames-10m"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", type=int, default=200_000, help="distinct emulator jobs")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        if kind == "export":
            result = child_export(Path(path), args.jobs, args.base)
        else:
            result = child_analyse(Path(path), args.repeat)
        print(json.dumps(result))
        return

    figures = export(args.jobs, args.base, args.cache)
    how = "cached from an earlier run" if figures["cached"] else "measured now"
    print(f"{args.jobs:,} jobs, dataset in {args.cache} ({how})")
    print(
        f"export_jobs (streaming; frames made in process, no HTTP): {figures['rows']:,} rows in "
        f"{figures['seconds']:.0f} s ({figures['rows'] / figures['seconds']:,.0f} jobs/s), "
        f"peak RSS {figures['peak'] / GB:.2f} GB"
    )
    result = run_child(
        ["--child", "analyse", str(args.cache / f"jobs-{args.jobs}"), "--repeat", str(args.repeat)]
    )
    print(
        f"read_parquet: {result['rows']:,} rows in {result['read_s']:.1f} s "
        f"({result['read_cpu']:.1f} s CPU), peak RSS "
        f"{result['read_peak'] / GB:.2f} GB ({result['read_peak'] / (6 * GB):.2f}x the 6 GB "
        f"target), {result['bytes_per_job']:.0f} bytes/job in memory"
    )
    for name, seconds in result["audit_steps"].items():
        print(f"  {name:<34} {seconds:7.2f} s")
    print(
        f"audit tables: {result['audit_s']:.1f} s ({result['audit_s'] / 60:.2f}x the 60 s "
        f"target; {result['audit_cpu']:.1f} s CPU), peak RSS {result['audit_peak'] / GB:.2f} GB"
    )
    print(f"explore(df), indexing once: {result['explore_s']:.1f} s")
    print(f"{'filter change':<16}{'median ms':>11}{'max ms':>9}{'pandas ms':>11}")
    for name, (median, worst, pandas) in result["filters"].items():
        print(f"{name:<16}{median:>11.0f}{worst:>9.0f}{pandas:>11.0f}")
    worst = max(v[1] for v in result["filters"].values())
    print(
        f"slowest filter change {worst:.0f} ms ({worst / 300:.2f}x the 300 ms target); "
        f"peak RSS of the whole analysis {result['peak'] / GB:.2f} GB"
    )


if __name__ == "__main__":
    main()
