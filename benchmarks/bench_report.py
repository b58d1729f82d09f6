"""Time ``report.to_html`` on an emulator audit: 20,000 jobs, 400 labels from a stratified
queue (the loop a user runs), as CPU and wall seconds, first call (tables computed) and then
warm (the tables cached, so the figures and the page's templates are what is left), with the
share spent drawing and encoding the figures.

    python benchmarks/bench_report.py [--jobs 20000] [--labels 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import classify_frames as cf
from classify_frames.emulator import Dataset


def timed(run) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--labels", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ds = Dataset.generate(args.jobs, seed=0)
    df = cf.jobs_to_frame(ds.jobs())
    queue = cf.audit(df, threshold=0.9).review_queue(strategy="stratified", budget=args.labels)
    truth = ds.labels().set_index("id")["label"]
    queue["label"] = truth.reindex(queue["id"].astype(str)).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = cf.audit(df, queue, threshold=0.9)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.html"
        wall, cpu = timed(lambda: report.to_html(path))
        print(f"to_html, first call: {wall:6.2f} s wall {cpu:6.2f} s CPU")
        runs = [timed(lambda: report.to_html(path)) for _ in range(args.repeat)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"to_html, warm (best of {args.repeat}): {wall:6.2f} s wall {cpu:6.2f} s CPU")
        size = path.stat().st_size
        print(f"page: {size / 1e6:.2f} MB, {path.read_text().count('<img')} figures")


if __name__ == "__main__":
    main()
