"""sd vs pysd vs pysimlin (the Rust engine's Python package), per draw, side by side in one run.

Three models: teacup (240 Euler steps), SIR (3,200 steps) and the mission model
(`models/productivity_deflation.mdl`, ~400 equations, 176 steps, scenario defaults). For each, two constants
are drawn uniformly (±50% / the spec's range) and every engine computes the same draws:

* **pysd**: `pysd.read_vensim` once, then one `model.run(params=..., return_columns=[output])` per draw;
  the per-draw cost is the mean over ``--pysd-draws`` draws.
* **pysimlin**: `simlin.load` once, then one `model.run(overrides=..., analyze_loops=False)` per draw
  (its compiled Rust VM); mean over ``--simlin-draws`` draws.
* **sd numpy / sd fused**: one `Model.run_arrays` of ``--draws`` draws at once (compiled beforehand);
  per draw = wall / draws; median of 3.

Before timing, draw 0's output at the final time is compared across engines (relative difference printed).

    python benchmarks/bench_engines.py                       # ~2 minutes on 2 cores
    python benchmarks/bench_engines.py --draws 20000 --pysd-draws 10 --simlin-draws 50
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import sd

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SD_SHARED", ROOT.parent / "shared"))

# name, path, output, {constant: (low, high)}
MODELS = [
    ("teacup", SHARED / "vensim-test-models/samples/teacup/teacup.mdl", "Teacup Temperature",
     {"Characteristic Time": (5.0, 15.0), "Room Temperature": (60.0, 80.0)}),
    ("SIR", SHARED / "vensim-test-models/samples/SIR/SIR.mdl", "Infectious",
     {"Contact Infectivity": (0.15, 0.45), "Duration": (2.5, 7.5)}),
    ("mission", ROOT / "models/productivity_deflation.mdl", "federal debt held by public",
     {"AI TFP growth potential": (0.0005, 0.03), "labour equivalents per robot": (0.1, 3.0)}),
]  # fmt: skip


def simlin_name(name: str) -> str:
    return "_".join(name.lower().split())


def time_pysd(path: Path, output: str, draws: list[dict[str, float]]) -> tuple[float, float]:
    import pysd

    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-pysd-"))
    try:
        copy = tmp / path.name
        shutil.copy(path, copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = pysd.read_vensim(str(copy))
            first = model.run(params=draws[0], return_columns=[output])
            t0 = time.perf_counter()
            for params in draws:
                model.run(params=params, return_columns=[output])
            per = (time.perf_counter() - t0) / len(draws)
        return per, float(first[output].iloc[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def time_simlin(path: Path, output: str, draws: list[dict[str, float]]) -> tuple[float, float]:
    import simlin

    model = simlin.load(str(path))
    over = [{simlin_name(k): v for k, v in d.items()} for d in draws]
    first = model.run(overrides=over[0], analyze_loops=False).results[simlin_name(output)]
    t0 = time.perf_counter()
    for o in over:
        model.run(overrides=o, analyze_loops=False).results[simlin_name(output)]
    per = (time.perf_counter() - t0) / len(over)
    return per, float(first.iloc[-1])


def time_sd(model: sd.Model, output: str, values: dict[str, np.ndarray], backend: str) -> tuple[float, float]:
    n = len(next(iter(values.values())))
    model.run_arrays({k: v[:64] for k, v in values.items()}, outputs=[output], backend=backend)  # compile
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        ra = model.run_arrays(values, outputs=[output], backend=backend)
        walls.append(time.perf_counter() - t0)
    series = ra.series()[model.variables[output].name]
    return statistics.median(walls) / n, float(series[0, -1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=100_000, help="sd's draws per run")
    ap.add_argument("--pysd-draws", type=int, default=20)
    ap.add_argument("--simlin-draws", type=int, default=200)
    ap.add_argument("--models", default="teacup,SIR,mission")
    args = ap.parse_args()
    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  "
          f"{os.cpu_count()} CPUs  load {os.getloadavg()[0]:.1f}  python {platform.python_version()}  "
          f"sd {sd.__version__}")  # fmt: skip
    print("| model | engine | per draw | draws/s | sd fused is x faster | draw 0 final value (rel. diff to sd) |")
    print("|---|---|---|---|---|---|")
    for name, path, output, ranges in MODELS:
        if name not in args.models.split(","):
            continue
        rng = np.random.default_rng(7)
        values = {k: rng.uniform(lo, hi, args.draws) for k, (lo, hi) in ranges.items()}
        draws = [{k: float(v[i]) for k, v in values.items()} for i in range(max(args.pysd_draws, args.simlin_draws))]
        model = sd.load(path)
        rows = {}
        rows["sd fused"] = time_sd(model, output, values, "fused")
        rows["sd numpy"] = time_sd(model, output, values, "numpy")
        try:
            rows["pysimlin"] = time_simlin(path, output, draws[: args.simlin_draws])
        except Exception as err:  # a model the other engine cannot run is a result too
            print(f"| {name} | pysimlin | failed: {type(err).__name__}: {str(err)[:80]} | | | |")
        try:
            rows["pysd"] = time_pysd(path, output, draws[: args.pysd_draws])
        except Exception as err:
            print(f"| {name} | pysd | failed: {type(err).__name__}: {str(err)[:80]} | | | |")
        ref = rows["sd fused"][1]
        fused = rows["sd fused"][0]
        for engine, (per, first) in rows.items():
            diff = abs(first - ref) / max(abs(ref), 1e-300)
            print(f"| {name} | {engine} | {per * 1e6:,.2f} µs | {1 / per:,.0f} | {per / fused:,.1f} | "
                  f"{first:.10g} ({diff:.1e}) |")  # fmt: skip
    print(f"# load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
