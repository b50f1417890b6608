"""Fused-kernel benchmark: pysd's loop vs sd's numpy backend vs fused CPU (1 and 2 threads), side by side.

For each model and number of draws n, in one run (engines interleaved so machine noise hits them alike):

* ``pysd``     -- ``pysd.read_vensim`` on a temporary copy, one ``model.run(params=...)`` per draw; the
  per-run cost does not depend on n, so a few runs are timed and ``mean x n`` is reported (``extrap.``).
* ``numpy``    -- ``Model.run(params, outputs=..., backend="numpy")``, all draws at once.
* ``fused-1``, ``fused-2`` -- ``Model.run(..., backend="fused")`` with ``SD_THREADS=1`` / ``2`` (after a
  warm-up run that compiles the kernel; compile time reported separately).

At most ~100 time points are saved (SAVEPER a multiple of TIME STEP). Every constant that does not set the time grid or a delay order is drawn U[0.9, 1.1] x its default, per
draw. Before timing, the fused results are checked against numpy's to 1e-12 relative (or 1e-12 of the
series' scale where a value is ~0 by cancellation). Both engines return the same xarray Dataset, so the
times include parameter checks and building the Dataset.

draw-steps/s = n x Euler steps / wall seconds. flops and bytes per draw-step are counted from the
generated kernel (``KernelSpec.flops``: +-*/ and comparisons 1, exp/ln ~20, pow ~40; bytes: the outputs
written per step plus the parameters read once per draw, spread over the steps), for the distance to the
machine's limits.

Usage::

    python benchmarks/bench_fused.py                       # teacup, workforce, delay pipeline, mission
    python benchmarks/bench_fused.py --quick               # smoke run (1k draws)
    python benchmarks/bench_fused.py --models mission --draws 1000,100000,1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import sd
from sd.testing.corpus import corpus_root

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-12


def models() -> dict[str, tuple[Path, list[str]]]:
    corpus = corpus_root()
    out: dict[str, tuple[Path, list[str]]] = {}
    if corpus is not None:
        out["teacup"] = (
            corpus / "samples/teacup/teacup.mdl",
            ["Teacup Temperature", "Heat Loss to Room"],
        )
        out["workforce"] = (corpus / "samples/Workforce/workforce.mdl", [])
        out["delays"] = (corpus / "tests/delay_pipeline/test_pipeline_delays.mdl", [])
    out["mission"] = (
        ROOT / "models/productivity_deflation.mdl",
        ["federal debt held by public", "debt to GDP ratio"],
    )
    return out


def draw_params(model: sd.Model, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for name, var in model.constants.items():
        if var.ident in model.ir.structural or not var.value:
            continue
        trial = {name: var.value * np.array([0.9, 1.1])}
        try:
            model.run(trial, outputs=[next(iter(model.stocks))] if model.stocks else None)
        except sd.SDError:
            continue  # sets the time grid
        params[name] = var.value * rng.uniform(0.9, 1.1, n)
    return params


def same(a: Any, b: Any) -> float:
    """Worst difference relative to max(|value|, 1e-12 x |series max|); raises above 1e-12."""
    worst = 0.0
    for name in a.data_vars:
        x, y = np.asarray(a[name].values, float), np.asarray(b[name].values, float)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            raise AssertionError(f"{name}: NaN positions differ")
        x0, y0 = np.nan_to_num(x), np.nan_to_num(y)
        scale = np.maximum(np.abs(x0), np.max(np.abs(x0), axis=-1, keepdims=True) * 1.0)
        rel = np.abs(x0 - y0) / np.where(scale > 0, scale, 1.0)
        worst = max(worst, float(rel.max(initial=0.0)))
    if worst > RTOL:
        raise AssertionError(f"fused differs from numpy by {worst:.2e}")
    return worst


def pysd_per_run(path: Path, params: dict[str, np.ndarray], outputs: list[str], runs: int) -> float:
    import pysd

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = pysd.read_vensim(str(copy))
            ts = []
            for d in range(runs):
                p = {k: float(v[d]) for k, v in params.items()}
                t = time.perf_counter()
                pm.run(params=p, return_columns=outputs or None)
                ts.append(time.perf_counter() - t)
                pm.reload()
    return statistics.mean(ts)


def fmt_time(s: float) -> str:
    if s >= 100:
        return f"{s:,.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="teacup,workforce,delays,mission")
    ap.add_argument("--draws", default="1000,100000")
    ap.add_argument(
        "--numpy-max", type=int, default=100_000, help="skip numpy above this many draws"
    )
    ap.add_argument("--pysd-runs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    # a fresh kernel cache, so that the compile time printed is real
    os.environ["SD_CACHE_DIR"] = tempfile.mkdtemp(prefix="sd-bench-cache-")
    if args.quick:
        args.draws, args.pysd_runs = "1000", 1
    draws = [int(x) for x in args.draws.split(",")]
    rows: list[tuple[str, ...]] = []
    ratios: list[tuple[str, ...]] = []
    print("# sd fused benchmark")
    print(f"python {platform.python_version()}, numpy {np.__version__}, sd {sd.__version__}; "
          f"{platform.machine()}, {os.cpu_count()} CPUs; cc: {shutil.which('cc')}")  # fmt: skip
    print(f"command: {' '.join(sys.argv)}")
    print(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    for key in args.models.split(","):
        path, outputs = models()[key]
        model = sd.load(path)
        outputs = outputs or list(model.stocks)[:4]
        if not outputs:
            outputs = [model.ir.variables[i].name for i in model.default_outputs()][:4]
        idents = model._output_idents(outputs)
        t = time.perf_counter()
        kernel = model.simulator.kernel(idents, "c")  # generate + compile (fresh cache dir)
        load_s = time.perf_counter() - t
        spec = kernel.spec
        ctrl = model.run(outputs=outputs).attrs
        steps = round((ctrl["final_time"] - ctrl["initial_time"]) / ctrl["time_step"])
        # at most ~100 saved points (workforce saves 4,801 by default: 11 GB at 100k draws)
        kw = {"saveper": ctrl["time_step"] * max(1, steps // 100)}
        nsave = model.run(outputs=outputs, **kw).sizes["time"]
        flops = (spec.flops["step"] * steps + spec.flops["save"] * nsave) / steps
        nbytes = (len(idents) * 8 * nsave + 8 * len(spec.constants)) / steps
        print(f"\n## {key}: {path.name}, {steps} Euler steps, {nsave} saved points, outputs "
              f"{', '.join(outputs)}; kernel: {kernel.spec.flops} flops (step/save/init), "
              f"~{flops:.0f} flops and {nbytes:.1f} bytes written per draw-step; "
              f"generate + compile {load_s:.2f} s")  # fmt: skip
        per_run = None
        for n in draws:
            params = draw_params(model, n)
            res: dict[str, float] = {}
            if per_run is None:
                per_run = pysd_per_run(path, params, outputs, args.pysd_runs)
            res["pysd"] = per_run * n
            reps = 3 if n <= 100_000 else 1
            a = None
            if n <= args.numpy_max:
                a = model.run(params, outputs=outputs, **kw)
            os.environ["SD_THREADS"] = "2"
            b = model.run(params, outputs=outputs, backend="fused", **kw)
            worst = same(a, b) if a is not None else float("nan")
            engines = [("fused-1", "1"), ("fused-2", "2")]
            if a is not None:
                engines.insert(0, ("numpy", ""))
            acc: dict[str, list[float]] = {e: [] for e, _ in engines}
            for _ in range(reps):  # interleaved
                for eng, th in engines:
                    if th:
                        os.environ["SD_THREADS"] = th
                    t = time.perf_counter()
                    model.run(params, outputs=outputs, backend="fused" if th else "numpy", **kw)
                    acc[eng].append(time.perf_counter() - t)
            for eng in acc:
                res[eng] = statistics.median(acc[eng])
            for eng, wall in res.items():
                note = "extrap." if eng == "pysd" else f"median of {reps}"
                if eng.startswith("fused") and a is not None:
                    note += f"; = numpy to {worst:.0e}"
                rows.append((key, f"{n:,}", eng, fmt_time(wall), f"{n * steps / wall:.3g}",
                             f"{flops * n * steps / wall / 1e9:.2f}" if eng.startswith("fused") else "",
                             note))  # fmt: skip
            base = res.get("numpy")
            ratios.append((key, f"{n:,}",
                           f"{res['pysd'] / res['fused-2']:,.0f}x",
                           f"{base / res['fused-1']:.1f}x" if base else "n/a",
                           f"{base / res['fused-2']:.1f}x" if base else "n/a",
                           f"{res['fused-1'] / res['fused-2']:.2f}"))  # fmt: skip
            del a, b
        os.environ.pop("SD_THREADS", None)
    head = ("model", "draws", "engine", "wall", "draw-steps/s", "GFLOP/s", "note")
    print_table(head, rows)
    print()
    print_table(("model", "draws", "fused-2 / pysd", "fused-1 / numpy", "fused-2 / numpy",
                 "2-thread scaling"), ratios)  # fmt: skip
    for r in ratios:
        if r[0] == "mission" and r[1] == "100,000":
            ok = float(r[4].rstrip("x")) >= 5
            print(f"target fused CPU >= 5x numpy on the mission model at 100,000 draws, 2 threads: "
                  f"{r[4]} -> {'met' if ok else 'NOT met'}")  # fmt: skip


def print_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
