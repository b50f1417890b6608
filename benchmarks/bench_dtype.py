"""float32 vs float64: the error of ``dtype="float32"`` against float64, and its speed, side by side.

For each model and number of draws n, in one run:

* errors, per output, of float32 (numpy backend and fused CPU) against float64 numpy:
  ``end`` -- relative error at the final saved time, |x32 - x64| / |x64| (max and median over draws;
  values with x64 == 0 skipped); ``run`` -- over every saved time, relative to the series' scale,
  |x32 - x64| / max_t |x64| per draw (max and median over draws and times);
* speed: wall seconds and draw-steps/s of numpy float64, numpy float32, fused float64 and fused float32
  (all threads; kernels compiled in a warm-up run first), best of ``--repeat`` interleaved runs.

Models: teacup (the corpus sample, Characteristic Time U[5, 15]) and the mission model (every ranged
constant U[min, max], as tests/models/test_mission_model_sd.py draws them).

Usage::

    python benchmarks/bench_dtype.py                        # 10k and 100k draws
    python benchmarks/bench_dtype.py --draws 10000 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import sd
from sd.testing.corpus import corpus_root

ROOT = Path(__file__).resolve().parents[1]
MISSION_OUTPUTS = [
    "federal debt held by public", "debt to GDP ratio", "primary balance", "interest bill",
    "average interest rate on debt", "price level", "money stock", "robot fleet",
    "AI productivity index", "baseline real GDP",
]  # fmt: skip


def cases(n: int, seed: int = 0) -> dict[str, tuple[sd.Model, dict[str, Any], list[str]]]:
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[sd.Model, dict[str, Any], list[str]]] = {}
    root = corpus_root()
    if root is not None:
        tea = sd.load(root / "samples/teacup/teacup.mdl")
        out["teacup"] = (
            tea,
            {"Characteristic Time": rng.uniform(5, 15, n)},
            ["Teacup Temperature", "Heat Loss to Room"],
        )
    mission = sd.load(ROOT / "models/productivity_deflation.mdl")
    params = {}
    for name, var in mission.constants.items():
        lo, hi = (var.limits or (None, None, None))[:2]
        if lo is not None and hi is not None and lo < hi:
            params[name] = rng.uniform(lo, hi, n)
    out["mission"] = (mission, params, MISSION_OUTPUTS)
    return out


def errors(x32: np.ndarray, x64: np.ndarray) -> tuple[float, float, float, float]:
    """(end max, end median, run max, run median) as described in the module docstring."""
    a, b = x32.astype(np.float64), x64
    end64, end32 = b[:, -1], a[:, -1]
    nz = end64 != 0
    end = np.abs(end32[nz] - end64[nz]) / np.abs(end64[nz])
    scale = np.abs(b).max(axis=1, keepdims=True)
    run = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
    if not end.size:
        end = np.zeros(1)
    return float(end.max()), float(np.median(end)), float(run.max()), float(np.median(run))


def timed(model: sd.Model, params: dict[str, Any], outputs: list[str], **kw: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    ds = model.run(params, outputs=outputs, **kw)
    return ds, time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("# float32 vs float64 (benchmarks/bench_dtype.py)\n")
    print(f"command: python benchmarks/bench_dtype.py {' '.join(argv or sys.argv[1:])}".rstrip())
    print(f"machine: {platform.processor() or platform.machine()}, {threads} threads, "
          f"python {platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    print(f"date: {time.strftime('%Y-%m-%d')}\n")
    for n in [int(x) for x in args.draws.split(",")]:
        for name, (model, params, outputs) in cases(n).items():
            # warm-up: compile kernels and programs on a few draws
            few = {k: v[:64] for k, v in params.items()}
            for be in ("numpy", "fused"):
                for dt in ("float64", "float32"):
                    model.run(few, outputs=outputs, backend=be, dtype=dt)
            best: dict[tuple[str, str], float] = {}
            results: dict[tuple[str, str], Any] = {}
            for _ in range(args.repeat):
                for be in ("numpy", "fused"):
                    for dt in ("float64", "float32"):
                        ds, sec = timed(model, params, outputs, backend=be, dtype=dt)
                        best[be, dt] = min(best.get((be, dt), np.inf), sec)
                        results[be, dt] = ds
            ref = results["numpy", "float64"]
            steps = round((ref.attrs["final_time"] - ref.attrs["initial_time"])
                          / ref.attrs["time_step"])  # fmt: skip
            print(f"## {name}: {n} draws, {steps} Euler steps, {ref.sizes['time']} saved points\n")
            print("| output | numpy f32 end max | end median | run max | run median "
                  "| fused f32 end max | end median | run max | run median |")  # fmt: skip
            print("|---|---|---|---|---|---|---|---|---|")
            for out in outputs:
                cells = []
                for be in ("numpy", "fused"):
                    e = errors(results[be, "float32"][out].values, ref[out].values)
                    cells += [f"{v:.1e}" for v in e]
                print(f"| {out} | " + " | ".join(cells) + " |")
            print("\n| backend | float64 s | float32 s | float64 draw-steps/s | float32 draw-steps/s "
                  "| f32 speed-up |")  # fmt: skip
            print("|---|---|---|---|---|---|")
            for be in ("numpy", "fused"):
                a, b = best[be, "float64"], best[be, "float32"]
                print(f"| {be} | {a:.3f} | {b:.3f} | {n * steps / a:.3g} | {n * steps / b:.3g} "
                      f"| {a / b:.2f}x |")  # fmt: skip
            print()
            del results


if __name__ == "__main__":
    main()
