"""`sd sweep` vs the bare engine on teacup, outcomes only, and the schedulers side by side in one run.

Every row runs the same draws (teacup, Characteristic Time ~ U[5, 15], mc sampler, four outcomes: the final
temperature, the maximum heat loss, the temperature at 10 and the first time below 120; no series stored):

* **engine**: one ``Model.run(params, outcomes=[...])`` of all the draws in this process (the parameters
  drawn with numpy beforehand, not timed): the bare engine.
* **engine, chunked**: the same in the sweep's chunks, one after the other (what the tasks compute).
* **sweep <scheduler>**: ``sd.sweep(spec, scheduler=...)`` end to end in this process: plan, store
  skeleton, sampling, the runs, the store writes, opening the result.
* **cli (default)**: ``sd sweep SPEC`` in a fresh process (Python start, imports, model parse included).

Rows are interleaved per repeat so the machine's drift hits them alike; the ratios to the engine use the
median of the repeats.

    python benchmarks/bench_sweep_overhead.py                         # 4M draws, fused (auto), 3 repeats
    python benchmarks/bench_sweep_overhead.py --draws 1000000 --backend numpy --repeats 1
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import sd

TEACUP = """{UTF-8}
Characteristic Time = 10
\t~\tMinutes [5,15]
\t~\t|
Room Temperature = 70
\t~\tDegrees Fahrenheit [60,80]
\t~\t|
Heat Loss to Room = (Teacup Temperature - Room Temperature) / Characteristic Time
\t~\tDegrees Fahrenheit/Minute
\t~\t|
Teacup Temperature = INTEG(-Heat Loss to Room, 180)
\t~\tDegrees Fahrenheit
\t~\t|
INITIAL TIME = 0
\t~\tMinute
\t~\t|
FINAL TIME = 30
\t~\tMinute
\t~\t|
TIME STEP = 0.125
\t~\tMinute
\t~\t|
SAVEPER = TIME STEP
\t~\tMinute
\t~\t|
"""

OUTCOMES = """[outcomes]
"final T" = { var = "Teacup Temperature", reduce = "final" }
"max loss" = { var = "Heat Loss to Room", reduce = "max" }
"T at 10" = { var = "Teacup Temperature", at = 10 }
"below 120" = { first_time = "Teacup Temperature < 120" }
"""


def write_spec(folder: Path, draws: int, backend: str, chunk: str) -> Path:
    (folder / "teacup.mdl").write_text(TEACUP, encoding="utf-8")
    spec = folder / "spec.toml"
    spec.write_text(
        f'model = "teacup.mdl"\ndraws = {draws}\nseed = 1\nsampler = "mc"\nchunk = {chunk}\n'
        f'backend = "{backend}"\nstore = "out.zarr"\n'
        '[parameters]\n"Characteristic Time" = { dist = "uniform", low = 5, high = 15 }\n'
        "[outputs]\ntimeseries = []\n" + OUTCOMES,
        encoding="utf-8",
    )
    return spec


def engine(model: sd.Model, ct: np.ndarray, backend: str, chunk: int | None) -> float:
    outs = [sd.Outcome("final", "Teacup Temperature"), sd.Outcome("max", "Heat Loss to Room"),
            sd.Outcome("at", "Teacup Temperature", time=10), sd.Outcome("first", "Teacup Temperature",
                                                                       op="<", value=120)]  # fmt: skip
    t0 = time.perf_counter()
    step = chunk or len(ct)
    for a in range(0, len(ct), step):
        model.run({"Characteristic Time": ct[a:a + step]}, outcomes=outs, backend=backend)
    return time.perf_counter() - t0


def sweep_once(spec: Path, scheduler: str | None) -> tuple[float, int]:
    """One sweep into a fresh store; ``scheduler`` may carry a worker count: ``threads:1``."""
    store = spec.parent / "out.zarr"
    shutil.rmtree(store, ignore_errors=True)
    sched, _, workers = (scheduler or "").partition(":")
    t0 = time.perf_counter()
    ds = sd.sweep(spec, scheduler=sched or None, workers=int(workers) if workers else None)
    wall = time.perf_counter() - t0
    assert np.isfinite(ds["final T"].values).all()
    return wall, int(ds.attrs["chunk"])


def cli_once(spec: Path, extra: list[str]) -> float:
    shutil.rmtree(spec.parent / "out.zarr", ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sd", "sweep", str(spec), *extra], cwd=spec.parent, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=4_000_000)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--chunk", default='"auto"')
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--schedulers", default="default,threads,local,sync",
                    help="comma-separated: default (none given), threads, local (process cluster), sync; "
                    "NAME:K for K workers (threads:1)")
    ap.add_argument("--no-cli", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-ovh-"))
    here = os.getcwd()
    os.chdir(tmp)  # the spec's store is relative to the current directory
    try:
        spec = write_spec(tmp, args.draws, args.backend, args.chunk)
        model = sd.load(tmp / "teacup.mdl")
        ct = np.random.default_rng(1).uniform(5, 15, args.draws)
        engine(model, ct[:4096], args.backend, None)  # compile the kernel / program once
        print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  "
              f"{os.cpu_count()} CPUs  load {os.getloadavg()[0]:.1f}  python {platform.python_version()}  "
              f"sd {sd.__version__}")  # fmt: skip
        print(f"# teacup, {args.draws:,} draws, backend {args.backend}, chunk {args.chunk}, outcomes only")
        rows: dict[str, list[float]] = {}
        chunk = 0
        scheds = args.schedulers.split(",")
        for _ in range(args.repeats):
            rows.setdefault("engine", []).append(engine(model, ct, args.backend, None))
            for s in scheds:
                wall, chunk = sweep_once(spec, None if s == "default" else s)
                rows.setdefault(f"sweep {s}", []).append(wall)
            rows.setdefault("engine, chunked", []).append(engine(model, ct, args.backend, chunk))
            if not args.no_cli:
                rows.setdefault("cli (default)", []).append(cli_once(spec, []))
        base = statistics.median(rows["engine"])
        print(f"# chunk {chunk:,} draws; median of {args.repeats}; load after {os.getloadavg()[0]:.1f}")
        print("| what | wall s (median) | all runs | draws/s | / engine | <= 2 x engine + 1.5 s |")
        print("|---|---|---|---|---|---|")
        for k, v in rows.items():
            m = statistics.median(v)
            ok = "yes" if m <= 2 * base + 1.5 else "no"
            print(f"| {k} | {m:.2f} | {', '.join(f'{x:.2f}' for x in v)} | {args.draws / m:,.0f} | "
                  f"{m / base:.2f} | {ok if k.startswith(('sweep', 'cli')) else ''} |")  # fmt: skip
    finally:
        os.chdir(here)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
