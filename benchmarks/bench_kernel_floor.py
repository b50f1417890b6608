"""The flagship's fused CPU kernel vs its floor: where the time goes, before/after, and the op-mix floor.

The kernel is the one a chunk of the flagship sweep runs (sweeps/productivity_deflation.toml, mc sampler,
the chunk's run-level outcomes and checks, no series, a save point at every step: what `sd sweep` runs
per chunk). In one run:

1. **Op mix** -- the operations of one draw-step of the time loop, counted from the model's IR over what the
   kernel computes in the loop (the auxiliaries of every step, the state updates, the save-point
   auxiliaries and the outcome reductions: saved at every step here); the per-draw constants computed
   once before the loop are not counted. Categories: + -, *, /, a comparison and a select (MIN/MAX count
   2: value and NaN test; XIDZ/ZIDZ one / and one select; IF THEN ELSE a select), exp, log, pow.
2. **Before/after** -- the same generated source compiled with the flags before this round (without
   ``-fno-trapping-math``) and with the current ones (:data:`sd.backends.fused.cpu.BASE_FLAGS`), called on
   the same draws through ``Model.run`` (backend fused, one thread: ``SD_THREADS=1`` is set here),
   interleaved, best of ``--repeats``; the outcomes must be bit-identical.
3. **Floor** -- benchmarks/opmix_floor.c compiled with the kernel's flags and prelude, running that op
   mix as independent vectorised lane loops at the kernel's SD_W (see its header), in ns per draw-step;
   and the peak-FMA bound (16 flop/cycle/core for AVX2 with two FMA pipes, at a clock estimated from a
   dependent chain of scalar additions).

    SD_THREADS=1 python benchmarks/bench_kernel_floor.py                 # 16,384 draws, best of 3
    python benchmarks/bench_kernel_floor.py --draws 4096 --repeats 2     # quicker
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import os
import platform
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

import sd
from sd.backends.common import ExprMapper
from sd.backends.fused import cpu
from sd.backends.fused.codegen import PRELUDE
from sd.ir.nodes import ActiveInitial, BinOp, Call, Expr, If, LookupCall, ModelIR, Unary
from sd.ir.schedule import schedule

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("add", "mul", "div", "sel", "exp", "log", "pow")
# a call's operations (the C helper's, sd/backends/fused/codegen.py); other calls count as 'other'
_CALLS: dict[str, dict[str, int]] = {
    "min": {"sel": 2}, "max": {"sel": 2}, "xidz": {"div": 1, "sel": 1}, "zidz": {"div": 1, "sel": 1},
    "abs": {}, "exp": {"exp": 1}, "ln": {"log": 1}, "log": {"log": 2, "div": 1}, "power": {"pow": 1},
    "step": {"add": 1, "mul": 2, "sel": 1}, "ramp": {"add": 2, "mul": 1, "sel": 1},
    "integer": {"add": 1}, "sqrt": {"div": 1},
}  # fmt: skip


class OpMix(ExprMapper):
    """The operations of an expression by kind (a Counter)."""

    def map_missing(self) -> Counter[str]:
        return Counter()

    def map_unknown(self, e: Expr) -> Counter[str]:
        return Counter()

    def map_num(self, e: Expr) -> Counter[str]:
        return Counter()

    map_ref = map_time = map_num

    def map_binop(self, e: BinOp) -> Counter[str]:
        kind = {"+": "add", "-": "add", "*": "mul", "/": "div", "**": "pow"}.get(e.op, "sel")
        return self(e.left) + self(e.right) + Counter({kind: 1})

    def map_unary(self, e: Unary) -> Counter[str]:
        return self(e.operand)

    def map_if(self, e: If) -> Counter[str]:
        return self(e.cond) + self(e.then) + self(e.otherwise) + Counter({"sel": 1})

    def map_active_initial(self, e: ActiveInitial) -> Counter[str]:
        return self(e.expr)

    def map_lookup_call(self, e: LookupCall) -> Counter[str]:
        return self(e.x) + Counter({"lookup": 1})

    def map_call(self, e: Call) -> Counter[str]:
        out: Counter[str] = Counter()
        for a in e.args:
            out += self(a)
        return out + Counter(_CALLS.get(e.fn, {"other": 1}))


def op_mix(ir: ModelIR, spec: Any) -> tuple[Counter[str], int]:
    """Operations per draw-step of the kernel's time loop (saved at every step) and its lane arrays."""
    red_vars = [i for oc in spec.outcomes for i in oc.reads if i not in spec.outputs]
    sch = schedule(ir, spec.outputs + list(dict.fromkeys(red_vars)), frozenset(spec.varying))
    v, count, mix = ir.variables, OpMix(), Counter()
    for i in sch.dynamic:  # every step and save-point auxiliaries (a save point at every step)
        mix += count(v[i].expr)
    for s in sch.states:
        var = v[s]
        mix += count(var.ddt if var.kind == "stock" else (var.update if var.kind == "discrete" else var.args[0]))
        mix += Counter({"add": 1, "mul": 1}) if var.kind == "stock" else Counter()
    for oc in spec.outcomes:
        mix += count(oc.expr) + Counter({"sel": 1}) if oc.expr is not None else Counter(
            {"sel": 2 if oc.kind in ("min", "max", "first") else 1})
    return mix, len(sch.dynamic) + 2 * len(sch.states)


def compile_lib(source: str, flags: list[str], folder: Path, name: str) -> Any:
    src, lib = folder / f"{name}.c", folder / f"{name}.so"
    src.write_text(source, encoding="utf-8")
    cc = cpu.compiler() or "cc"
    subprocess.run([*cc.split(), *flags, "-march=native", "-o", str(lib), str(src), "-lm"], check=True)
    return cpu.bind(ctypes.CDLL(str(lib)))


def kernel_times(n: int, repeats: int, folder: Path) -> tuple[Any, Any, dict[str, float], int]:
    from sd.sweep.chunk import range_params, run_outcomes
    from sd.sweep.planning import plan

    spec = sd.sweep.load_spec(ROOT / "sweeps" / "productivity_deflation.toml")
    p = plan(spec.replace(sampler="mc", draws=n, chunk=n, store=str(folder / "x.zarr")))
    model = sd.load(p.model_path)
    outs, values = run_outcomes(p), range_params(p, 0, n)

    def go() -> Any:
        return model.run({**p.base, **values}, outputs=[], outcomes=outs, backend="fused",
                         saveper=p.run_saveper, final_time=p.final_time)  # fmt: skip

    go()
    kernel = next(iter(model.simulator._kernels.values()))
    now_flags = list(cpu.BASE_FLAGS)
    before = [f for f in now_flags if f != "-fno-trapping-math"]
    fns = {"before (trapping math)": compile_lib(kernel.spec.source, before, folder, "before"),
           "after (-fno-trapping-math)": compile_lib(kernel.spec.source, now_flags, folder, "after")}  # fmt: skip
    walls: dict[str, list[float]] = {k: [] for k in fns}
    blocks: dict[str, list[float]] = {k: [] for k in fns}
    results: dict[str, Any] = {}
    inside: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):  # interleaved: the machine's drift hits both alike
        for name, fn in fns.items():
            kernel.fn = timed(fn, blocks[name])
            before_run = len(blocks[name])
            t0 = time.perf_counter()
            results[name] = go()
            walls[name].append(time.perf_counter() - t0)
            inside[name].append(sum(blocks[name][before_run:]))
    a, b = results.values()
    same = all(np.array_equal(np.asarray(a[k]), np.asarray(b[k]), equal_nan=True) for k in a.data_vars)
    if not same:
        raise SystemExit("the two builds' outcomes differ")
    nt = len(model.time_grid(p.base, final_time=p.final_time, saveper=p.run_saveper).times)
    best = {k: (min(w), min(inside[k]), n * min(blocks[k]) / BLOCK) for k, w in walls.items()}
    return model, kernel, best, nt


BLOCK = 512  # draws per timed call of the kernel


def timed(fn: Any, times: list[float]) -> Any:
    """``fn`` called on blocks of BLOCK draws, each call's seconds appended to ``times`` (the best block
    is the kernel's rate in a moment when nothing else shares the core: this VM's two vCPUs do)."""

    def call(d0: int, d1: int, *args: Any) -> None:
        for b in range(d0, d1, BLOCK):
            t0 = time.perf_counter()
            fn(b, min(b + BLOCK, d1), *args)
            if min(b + BLOCK, d1) - b == BLOCK:
                times.append(time.perf_counter() - t0)

    return call


def floor(mix: Counter[str], group: int, folder: Path, steps: int) -> dict[str, float]:
    """benchmarks/opmix_floor.c's figures for ``mix`` (ns_per_draw_step, ghz_estimate, checksum)."""
    (folder / "prelude.h").write_text(PRELUDE, encoding="utf-8")
    exe = folder / "opmix"
    defs = [f"-DN_{k.upper()}={int(mix.get(k, 0))}" for k in KINDS] + [f"-DG={group}"]
    flags = [f for f in cpu.BASE_FLAGS if f not in ("-fPIC", "-shared")]
    cc = cpu.compiler() or "cc"
    subprocess.run([*cc.split(), *flags, "-march=native", "-D_POSIX_C_SOURCE=199309L", *defs, "-include", str(folder / "prelude.h"),
                    "-o", str(exe), str(ROOT / "benchmarks" / "opmix_floor.c"), "-lm"], check=True)  # fmt: skip
    out = subprocess.run([str(exe), str(steps)], capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=16384)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--group", type=int, default=0, help="ops per lane loop in the floor (0: the kernel's mean)")
    ap.add_argument("--floor-steps", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("SD_THREADS", "1")  # read at each run (sd.backends.fused.cpu.default_threads)
    with tempfile.TemporaryDirectory(prefix="sd-floor-") as tmp:
        folder = Path(tmp)
        model, kernel, best, nt = kernel_times(args.draws, args.repeats, folder)
        mix, eqs = op_mix(model.ir, kernel.spec)
        arith = sum(mix[k] for k in ("add", "mul", "div", "sel"))
        group = args.group or max(1, round(arith / max(eqs, 1)))
        fl = floor(mix, group, folder, args.floor_steps)
        alone = {k: floor(Counter({k: mix[k]}), group, folder, args.floor_steps)["ns_per_draw_step"]
                 for k in KINDS if mix.get(k)}  # fmt: skip
    steps = nt - 1
    flops = arith + 20 * (mix["exp"] + mix["log"]) + 40 * mix["pow"]
    print(f"# {datetime.datetime.now():%Y-%m-%d %H:%M}, {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.1f}, SD_THREADS={os.environ['SD_THREADS']}, gcc flags {' '.join(cpu.BASE_FLAGS)}")  # fmt: skip
    print(f"op mix per draw-step: {dict(sorted(mix.items()))} ({eqs} lane statements; "
          f"{flops} flop-eq with exp/log 20, pow 40; KernelSpec.flops {kernel.spec.flops})")  # fmt: skip
    print(f"kernel: {args.draws:,} draws x {steps} steps, best of {args.repeats}")
    print("| build | timing | s | ns per draw-step | draw-steps/s | GFLOP-eq/s | x op-mix floor | x peak-FMA bound |")
    print("|---|---|---|---|---|---|---|---|")
    ghz = fl["ghz_estimate"]
    peak_ns = flops / (16 * ghz)  # 2 FMA pipes x 4 doubles x 2 flops per cycle, one core
    for name, (wall, kern, block) in best.items():
        for label, sec in (("Model.run, best of runs", wall), ("kernel calls in that run, best", kern),
                           (f"kernel, best {BLOCK}-draw block x n", block)):  # fmt: skip
            ns = 1e9 * sec / (args.draws * steps)
            print(f"| {name} | {label} | {sec:.3f} | {ns:.1f} | {1e3 / ns:.2f}M | {flops / ns:.2f} | "
                  f"{ns / fl['ns_per_draw_step']:.2f}x | {ns / peak_ns:.1f}x |")  # fmt: skip
    print(f"op-mix floor (benchmarks/opmix_floor.c, G={group} ops per lane loop): "
          f"{fl['ns_per_draw_step']:.2f} ns per draw-step; peak-FMA bound at ~{ghz:.2f} GHz "
          f"(16 flop/cycle): {peak_ns:.2f} ns per draw-step")  # fmt: skip
    print("each kind alone (its count of the mix, same harness), ns per draw-step: "
          + ", ".join(f"{k} {ns:.1f}" for k, ns in alone.items()) + f" (sum {sum(alone.values()):.1f})")


if __name__ == "__main__":
    main()
