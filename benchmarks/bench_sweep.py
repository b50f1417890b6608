"""Sweep benchmark: the mission model's flagship sweep at N draws on 1 and 2 local worker processes.

Reports wall time, draws/s, the peak resident memory of the driver and all its worker processes together
(sampled every 0.2 s with psutil), and the store's size on disk. The spec is
sweeps/productivity_deflation.toml (claim scenario, 67 drawn parameters, 8 outcomes and one yearly series)
with the sampler switched to mc so that any N is allowed.

    python benchmarks/bench_sweep.py                       # 1,000,000 draws, 1 and 2 workers
    python benchmarks/bench_sweep.py --draws 131072 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

import sd
from sd.sweep import load_spec

ROOT = Path(__file__).resolve().parents[1]


class PeakRSS:
    """The largest sum of RSS over this process and its descendants, sampled in a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--backend", default="numpy")
    ap.add_argument("--chunk", default="auto")
    args = ap.parse_args()
    spec = load_spec(ROOT / "sweeps" / "productivity_deflation.toml")
    spec = spec.replace(sampler="mc", draws=args.draws, backend=args.backend,
                        chunk=args.chunk if args.chunk == "auto" else int(args.chunk))  # fmt: skip
    load = os.getloadavg()
    print(f"# {datetime.date.today()}  {platform.node()}  {platform.processor() or platform.machine()}  "
          f"{psutil.cpu_count()} CPUs  {psutil.virtual_memory().total / 2**30:.0f} GiB  "
          f"load average before: {load[0]:.1f}")  # fmt: skip
    print(f"# sd {sd.__version__}, git {_git()}, backend {args.backend}, {args.draws:,} draws, mc sampler")
    print("| workers | draws | chunk | wall (s) | draws/s | peak RSS, all processes | store on disk |")
    print("|---|---|---|---|---|---|---|")
    for w in [int(x) for x in args.workers.split(",")]:
        tmp = Path(tempfile.mkdtemp(prefix="sd-bench-"))
        store = tmp / "bench.zarr"
        try:
            with PeakRSS() as rss:
                t0 = time.perf_counter()
                ds = sd.sweep(spec, store=str(store), workers=w)
                wall = time.perf_counter() - t0
            print(f"| {w} | {ds.sizes['draw']:,} | {ds.attrs['chunk']:,} | {wall:.1f} | "
                  f"{ds.sizes['draw'] / wall:,.0f} | {rss.peak / 2**20:,.0f} MiB | "
                  f"{du(store) / 2**20:,.1f} MiB |", flush=True)  # fmt: skip
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"# load average after: {os.getloadavg()[0]:.1f}")


def _git() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "?"


if __name__ == "__main__":
    main()
