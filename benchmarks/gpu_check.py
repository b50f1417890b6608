"""One prepared GPU check for a lent CUDA machine: correctness first, then timings, a table last (< 5 min).

1. Environment: cupy, CUDA runtime, device name and memory.
2. Correctness on fresh random draws (100k): the mission model (and a model with every stateful builtin)
   on the numpy backend (CPU) vs the cupy backend vs the fused CUDA kernel, to 1e-12 relative (1e-12 of
   the series' scale where a value is ~0 by cancellation).
3. Timings (warm-up first, device synchronised, median of repeats): fused CUDA on the mission model at
   1M and 10M draws with on-device outcomes (debt-to-GDP in 2028 and at the end, its maximum, the first
   year it falls below 0.9) and no time series shipped; the cupy per-op backend at 1M draws (2 outputs
   saved) for the fused / per-op ratio; numpy at 100k for reference. flops and bytes per draw-step come
   from the generated kernel, against the H100's ~3.0 TB/s (H200 ~4.3 TB/s) and fp64 peak.
4. A sweep through ``dask_cuda.LocalCUDACluster`` into a zarr store: the flagship spec
   (sweeps/productivity_deflation.toml) with sampler mc, outcomes only (no series, no checks), 1M and 10M
   draws, ``chunk = "auto"`` (sized from the GPU's free memory) and ``backend = "auto"``; the store's
   ``backend_used`` must be fused-cuda (or cupy), and a sample of its draws (contiguous runs spread over
   the store) must equal a numpy-backend run of the same draws to 1e-12 relative. ``--sweep-draws ""``
   skips it.

On the device (pysd and friends carried as wheels, see notes/gpu.md)::

    python3 -m pip install -q --no-index --no-deps --no-compile --target "$HOME/site" .whl/*.whl \\
      && export PYTHONPATH="$HOME/site":$PWD && python3 benchmarks/gpu_check.py --out "$OUT"

Here (no GPU): ``python benchmarks/gpu_check.py --cpu-dry-run`` runs every step with the fused CPU build
standing in for CUDA (and smaller draws), compiles the CUDA sources with nvcc when present, and prints the
same table, so the script is known to work before device time is spent; its sweep (step 4) runs on a
two-process CPU ``LocalCluster`` instead of ``LocalCUDACluster`` (everything but cupy and dask-cuda).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sd  # noqa: E402
from sd.ir.outcomes import Outcome  # noqa: E402
from sd.simulate import Grid  # noqa: E402

MISSION = ROOT / "models" / "productivity_deflation.mdl"
STATEFUL = """
input = 5 + STEP(10, 2) + RAMP(2, 3, 6) - PULSE TRAIN(1, 0.5, 2, 8) * k
\t~\t\n\t~\t|
k = 3
\t~\t\n\t~\t|
delay time = 2.5
\t~\t\n\t~\t|
smooth3i = SMOOTH3I(input, delay time, 2)
\t~\t\n\t~\t|
delay3 = DELAY3(input, delay time)
\t~\t\n\t~\t|
delayn = DELAY N(input, delay time + 0.5 * STEP(1, 4), 2, 3)
\t~\t\n\t~\t|
fixed = DELAY FIXED(input, delay time, 1)
\t~\t\n\t~\t|
sampled = SAMPLE IF TRUE(MODULO(Time, 2) = 0, input, 0)
\t~\t\n\t~\t|
trend of input = TREND(input, delay time, 0.1)
\t~\t\n\t~\t|
math = QUANTUM(input, 0.7) + MODULO(-input, 3) + XIDZ(input, k - 3, 7) + LOG(input, 2) + POWER(input, 0.5) + MIN(input, 9) + EXP(-input / 10)
\t~\t\n\t~\t|
inline = WITH LOOKUP(input, ([(0,0)-(30,1)],(0,0),(10,0.5),(30,1)))
\t~\t\n\t~\t|
INITIAL TIME = 0
\t~\t\n\t~\t|
FINAL TIME = 12
\t~\t\n\t~\t|
TIME STEP = 0.25
\t~\t\n\t~\t|
SAVEPER = TIME STEP
\t~\t\n\t~\t|
"""
RTOL = 1e-12
LOG: list[str] = []


def say(msg: str = "") -> None:
    print(msg, flush=True)
    LOG.append(msg)


def worst_diff(a: Any, b: Any) -> float:
    worst = 0.0
    for name in a.data_vars:
        x, y = np.asarray(a[name].values, float), np.asarray(b[name].values, float)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return float("inf")
        x0, y0 = np.nan_to_num(x), np.nan_to_num(y)
        scale = np.maximum(np.abs(x0), np.max(np.abs(x0), axis=-1, keepdims=True))
        rel = np.abs(x0 - y0) / np.where(scale > 0, scale, 1.0)
        worst = max(worst, float(rel.max(initial=0.0)))
    return worst


def varied(model: sd.Model) -> list[str]:
    return [n for n, v in model.constants.items()
            if v.ident not in model.ir.structural and v.value and "switch" not in n.lower()]  # fmt: skip


def draw(model: sd.Model, n: int, xp: Any, seed: int) -> dict[str, Any]:
    """U[0.9, 1.1] x default for every varied constant, generated on the device when xp is cupy."""
    rs = xp.random.RandomState(seed) if xp is not np else np.random.RandomState(seed)
    return {nm: model.constants[nm].value * rs.uniform(0.9, 1.1, n) for nm in varied(model)}


def sweep_check(n: int, dry: bool, sample: int, steps: int, failures: list[str]) -> tuple[str, ...]:
    """Step 4: the flagship spec, outcomes only, ``n`` draws through LocalCUDACluster (dry run: a CPU
    LocalCluster) into a zarr store; a sample of draws checked against the numpy backend."""
    from sd.sweep import chunk, execute
    from sd.sweep.planning import plan
    from sd.sweep.spec import load_spec

    spec = load_spec(ROOT / "sweeps" / "productivity_deflation.toml")
    with tempfile.TemporaryDirectory(prefix="sd-gpu-sweep-") as tmp:
        store = str(Path(tmp) / f"pd-{n}.zarr")
        spec = spec.replace(draws=n, sampler="mc", sampler_options={}, timeseries=(), checks={},
                            chunk="auto", backend="auto", store=store)  # fmt: skip
        say(f"\n## sweep: {n:,} draws of the mission model, outcomes only, "
            f"{'CPU LocalCluster (dry run)' if dry else 'LocalCUDACluster'} -> zarr")  # fmt: skip
        t = time.perf_counter()
        if dry:
            ds = execute.sweep(spec, scheduler="local", workers=2)
        else:
            ds = execute.sweep(spec, cluster="local-cuda")
        wall = time.perf_counter() - t
        used = list(ds.attrs.get("backend_used", []))
        say(f"store: chunk {ds.attrs['chunk']:,}, backend_used {used} ({ds.attrs.get('backend_chunks')}), "
            f"oom_splits {ds.attrs.get('oom_splits')}; {wall:.1f} s, {n / wall:,.0f} draws/s")  # fmt: skip
        want = {"fused-cpu", "numpy"} if dry else {"fused-cuda", "cupy"}
        if not used or not set(used) <= want:
            failures.append(f"sweep {n} backend {used}")
        # the sample: 4 contiguous runs spread over the store, recomputed with the numpy backend
        p = plan(spec.replace(backend="numpy"))
        run = max(1, min(sample // 4, n))
        starts = sorted({int(a) for a in np.linspace(0, n - run, 4)})
        outcomes = [o.name for o in p.outcomes]
        got_all = ds[outcomes].load()
        worst, mismatched_nan = 0.0, 0
        for a in starts:
            ref = chunk.compute_range(p, a, a + run, backend="numpy")
            for name in outcomes:
                x = np.asarray(ref.arrays[name], float)
                y = np.asarray(got_all[name].values[a:a + run], float)
                mismatched_nan += int((np.isnan(x) != np.isnan(y)).sum())
                both = ~np.isnan(x) & ~np.isnan(y)
                scale = np.maximum(np.abs(x[both]), np.max(np.abs(x[both]), initial=0.0) * 1e-12)
                rel = np.abs(x[both] - y[both]) / np.where(scale > 0, scale, 1.0)
                worst = max(worst, float(rel.max(initial=0.0)))
        checked = len(starts) * run
        say(f"sample: {checked:,} draws x {len(outcomes)} outcomes vs numpy: worst relative {worst:.1e}, "
            f"NaN mismatches {mismatched_nan}")  # fmt: skip
        if worst > RTOL or mismatched_nan:
            failures.append(f"sweep {n} vs numpy {worst:.1e} nan {mismatched_nan}")
    return (f"sweep {'LocalCluster (CPU)' if dry else 'LocalCUDACluster'}, outcomes", f"{n:,}", f"{wall:.3f}",
            f"{n * steps / wall:.3g}", f"{n / wall:,.0f} draws/s", ",".join(used))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-dry-run", action="store_true", help="no cupy: fused CPU stands in")
    ap.add_argument("--check-draws", type=int, default=100_000)
    ap.add_argument("--draws", default="1000000,10000000")
    ap.add_argument("--perop-draws", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sweep-draws", default="1000000,10000000", help="sweep sizes of step 4 ('' skips)")
    ap.add_argument("--sample-draws", type=int, default=4096, help="draws of the store checked vs numpy")
    ap.add_argument("--out", default=os.environ.get("OUT", ""))
    args = ap.parse_args()
    dry = args.cpu_dry_run
    if dry:
        args.check_draws = min(args.check_draws, 20_000)
        args.draws = "100000,200000"
        args.perop_draws = 20_000
        args.repeats = 1
        args.sweep_draws = "20000,40000" if args.sweep_draws else ""
        args.sample_draws = min(args.sample_draws, 1024)
    started = time.perf_counter()
    os.environ.setdefault("SD_CACHE_DIR", tempfile.mkdtemp(prefix="sd-gpu-check-"))
    rows: list[tuple[str, ...]] = []
    failures: list[str] = []

    say("# sd GPU check" + (" (CPU dry run: fused CPU stands in for CUDA)" if dry else ""))
    say(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()) + f"; python {platform.python_version()}, "
        f"numpy {np.__version__}, sd {sd.__version__}; {platform.node()}")  # fmt: skip
    if dry:
        xp: Any = np
        target, backend_dev = "c", "fused"
        sync = lambda: None  # noqa: E731
    else:
        import cupy

        xp = cupy
        target, backend_dev = "cuda", "fused"
        props = cupy.cuda.runtime.getDeviceProperties(0)
        say(f"cupy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, "
            f"device {props['name'].decode()}, {props['totalGlobalMem'] / 2**30:.0f} GiB")  # fmt: skip
        sync = cupy.cuda.Device().synchronize

    # -- 1. the CUDA sources compile (nvcc, when present) ---------------------------------------------
    mission = sd.load(MISSION)
    with tempfile.TemporaryDirectory() as tmp:
        stateful_path = Path(tmp) / "stateful.mdl"
        stateful_path.write_text("{UTF-8}\n" + STATEFUL)
        stateful = sd.load(stateful_path)
        if shutil.which("nvcc"):
            from sd.backends.fused.cuda import NVRTC_OPTIONS

            for name, m in (("mission", mission), ("stateful", stateful)):
                src = Path(tmp) / f"{name}.cu"
                src.write_text(m.kernel_source("cuda"))
                proc = subprocess.run(["nvcc", "--ptx", "-arch=sm_90", *NVRTC_OPTIONS, "-o",
                                       str(src.with_suffix(".ptx")), str(src)],
                                      capture_output=True, text=True, check=False)  # fmt: skip
                ok = proc.returncode == 0
                say(f"nvcc --ptx {name}: {'ok' if ok else 'FAILED ' + proc.stderr[-2000:]}")
                if not ok:
                    failures.append(f"nvcc {name}")

        # -- 2. correctness on fresh random draws ------------------------------------------------------
        say(f"\n## correctness: {args.check_draws:,} random draws, numpy (CPU) vs cupy vs fused")
        for name, m in (("stateful", stateful), ("mission", mission)):
            try:
                p_host = draw(m, args.check_draws, np, seed=7)
                outputs = (["debt to GDP ratio", "federal debt held by public", "price level"]
                           if name == "mission" else None)  # fmt: skip
                t = time.perf_counter()
                ref = m.run(p_host, outputs=outputs)
                t_np = time.perf_counter() - t
                p_dev = {k: xp.asarray(v) for k, v in p_host.items()}
                got = m.run(p_dev, outputs=outputs, backend=backend_dev)
                d_fused = worst_diff(ref, got)
                line = f"{name}: fused ({got.attrs['backend']}) vs numpy {d_fused:.1e}"
                if not dry:
                    per_op = m.run(p_dev, outputs=outputs, backend="cupy")
                    d_cupy = worst_diff(ref, per_op)
                    line += f"; cupy per-op vs numpy {d_cupy:.1e}"
                    if d_cupy > RTOL:
                        failures.append(f"cupy {name} {d_cupy:.1e}")
                if d_fused > RTOL:
                    failures.append(f"fused {name} {d_fused:.1e}")
                say(line + f" (numpy took {t_np:.2f} s)")
                if name == "mission":
                    steps = len(ref["time"]) and round(
                        (ref.attrs["final_time"] - ref.attrs["initial_time"])
                        / ref.attrs["time_step"]
                    )
                    rows.append(("numpy (CPU)", f"{args.check_draws:,}", f"{t_np:.3f}",
                                 f"{args.check_draws * steps / t_np:.3g}", "3 series", ""))  # fmt: skip
            except Exception:  # keep going: report every step
                failures.append(f"correctness {name}")
                say(traceback.format_exc())

    # -- 3. timings: fused with on-device outcomes; cupy per-op -----------------------------------------
    ident = mission.resolve("debt to GDP ratio")
    ocs = (Outcome("at", ident, time=2028.0), Outcome("final", ident), Outcome("max", ident),
           Outcome("first", ident, op="<", value=0.9))  # fmt: skip
    kernel = mission.simulator.kernel([], target, ocs)
    grid = Grid.from_controls(mission.control_values(), "mission")
    ctrl, times, save, saved = grid.controls, grid.times, grid.save, grid.saved
    steps = len(times) - 1
    flops = kernel.spec.flops["step"] + kernel.spec.flops["save"] * len(saved) / steps
    nconst = len(kernel.spec.constants)
    say(f"\n## timings: mission model, {steps} Euler steps, outcomes {[o.label for o in ocs]}")
    say(f"kernel: ~{flops:.0f} flops per draw-step; reads {nconst} constants (8 B each) per draw, "
        f"writes {len(ocs)} outcomes: {8 * (nconst + len(ocs)) / steps:.1f} B per draw-step of DRAM traffic")  # fmt: skip
    for n in [int(x) for x in args.draws.split(",")]:
        try:
            values = {mission.resolve(k): v for k, v in draw(mission, n, xp, seed=n).items()}
            P = mission._inputs(values)
            m = min(n, 1024)
            warm = {k: v[:m] if getattr(v, "ndim", 0) == 1 else v for k, v in P.items()}
            kernel(warm, m, ctrl, times, save, saved)  # warm-up (compile) on a slice
            walls = []
            for _ in range(args.repeats):
                sync()
                t = time.perf_counter()
                _, reds = kernel(P, n, ctrl, times, save, saved)
                sync()
                walls.append(time.perf_counter() - t)
            wall = statistics.median(walls)
            finite = float((xp.isfinite(reds[ocs[1].label])).mean())
            rows.append((f"fused {target}, outcomes", f"{n:,}", f"{wall:.3f}",
                         f"{n * steps / wall:.3g}", f"{flops * n * steps / wall / 1e9:.0f} GFLOP/s",
                         f"finite {finite:.3f}"))  # fmt: skip
            say(f"fused {n:,}: {wall:.3f} s (median of {args.repeats})")
            del P, values, reds
        except Exception:
            failures.append(f"timing fused {n}")
            say(traceback.format_exc())
    try:
        n = args.perop_draws
        p = draw(mission, n, xp, seed=3)
        outs = ["debt to GDP ratio", "federal debt held by public"]
        for eng in (backend_dev, "numpy" if dry else "cupy"):
            mission.run(p if eng != "numpy" else {k: np.asarray(v) for k, v in p.items()},
                        outputs=outs, backend=eng)  # warm-up  # fmt: skip
            sync()
            t = time.perf_counter()
            mission.run(p, outputs=outs, backend=eng)
            sync()
            wall = time.perf_counter() - t
            label = {"fused": f"fused {target}, 2 series", "cupy": "cupy per-op, 2 series",
                     "numpy": "numpy per-op, 2 series"}[eng]  # fmt: skip
            rows.append(
                (label, f"{n:,}", f"{wall:.3f}", f"{n * steps / wall:.3g}", "", "whole run()")
            )
            say(f"{label} {n:,}: {wall:.3f} s")
    except Exception:
        failures.append("timing per-op")
        say(traceback.format_exc())

    # -- 4. a sweep through LocalCUDACluster into zarr, checked against numpy on a sample ----------------
    for n in [int(x) for x in args.sweep_draws.split(",") if x.strip()]:
        try:
            rows.append(sweep_check(n, dry, args.sample_draws, steps, failures))
        except Exception:
            failures.append(f"sweep {n}")
            say(traceback.format_exc())

    say("\n| engine | draws | wall s | draw-steps/s | compute | note |\n|---|---|---|---|---|---|")
    for r in rows:
        say("| " + " | ".join(r) + " |")
    fused_rows = [r for r in rows if r[0].startswith("fused") and r[0].endswith("2 series")]
    perop_rows = [r for r in rows if "per-op" in r[0]]
    if fused_rows and perop_rows:
        say(f"fused / per-op at {fused_rows[0][1]} draws: "
            f"{float(perop_rows[0][2]) / float(fused_rows[0][2]):.1f}x")  # fmt: skip
    ten = [r for r in rows if r[1] == "10,000,000" and "outcomes" in r[0]]
    if ten:
        say(f"target 10M draws with on-device outcomes <= 1 s: {ten[0][2]} s -> "
            f"{'met' if float(ten[0][2]) <= 1 else 'NOT met'}")  # fmt: skip
    say(f"total {time.perf_counter() - started:.0f} s; failures: {failures or 'none'}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu_check.log").write_text("\n".join(LOG) + "\n")
        (out / "gpu_check.json").write_text(
            json.dumps({"rows": rows, "failures": failures}, indent=1)
        )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
