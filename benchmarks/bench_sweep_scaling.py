"""Throughput and peak memory of an outcomes-only sweep vs its size: teacup at 1M and 10M draws.

`sd.sweep` on the default scheduler (the spec of bench_sweep_overhead.py: four outcomes, no series,
`chunk = "auto"`), each size into a fresh store; peak RSS of this process and any children sampled every
0.2 s (bench_sweep.PeakRSS). Throughput should be linear in draws (draws/s about equal) and memory set by
the chunk, not by the number of draws.

    python benchmarks/bench_sweep_scaling.py                   # 1M and 10M
    python benchmarks/bench_sweep_scaling.py --draws 1000000,4000000 --backend numpy
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweep import PeakRSS, du
from bench_sweep_overhead import write_spec

import sd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", default="1000000,10000000")
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-scale-"))
    here = os.getcwd()
    os.chdir(tmp)
    rows = []
    try:
        print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  "
              f"{os.cpu_count()} CPUs  load {os.getloadavg()[0]:.1f}  sd {sd.__version__}, backend {args.backend}")  # fmt: skip
        sizes = [int(x) for x in args.draws.split(",")]
        spec = write_spec(tmp, sizes[0], args.backend, '"auto"')
        sd.sweep(spec, draws=min(sizes[0], 65536), store="warm.zarr")  # kernel compiled, imports done
        print("| draws | chunk | wall s | draws/s | peak RSS MiB | store MiB |")
        print("|---|---|---|---|---|---|")
        for n in sizes:
            shutil.rmtree(tmp / "out.zarr", ignore_errors=True)
            with PeakRSS() as rss:
                t0 = time.perf_counter()
                ds = sd.sweep(spec, draws=n)
                wall = time.perf_counter() - t0
            rows.append((n, wall))
            print(f"| {n:,} | {ds.attrs['chunk']:,} | {wall:.2f} | {n / wall:,.0f} | {rss.peak / 2**20:,.0f} | "
                  f"{du(tmp / 'out.zarr') / 2**20:,.1f} |", flush=True)  # fmt: skip
        if len(rows) > 1:
            (n0, w0), (n1, w1) = rows[0], rows[-1]
            print(f"draws/s at {n1:,} / at {n0:,}: {(n1 / w1) / (n0 / w0):.2f} (1.00 = linear)")
        print(f"# load after {os.getloadavg()[0]:.1f}")
    finally:
        os.chdir(here)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
