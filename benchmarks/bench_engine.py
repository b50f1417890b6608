"""Engine benchmark: pysd's per-draw loop vs sd's numpy backend vs a hand-written numpy Euler loop.

For each model and each number of draws n, in one run:

* ``pysd``      -- ``pysd.read_vensim`` on a temporary copy of the .mdl, then one ``model.run(params=...)``
  per draw. pysd's cost per run does not depend on n, so it times a sample of runs (``--pysd-sample``)
  and extrapolates ``mean seconds per run x n`` for larger n (marked ``extrap.`` in the table).
* ``sd``        -- ``sd.load(path).run(params={const: array of n}, outputs=[stocks + one flow])``
  (median of repeats, after a warm-up run that compiles the model).
* ``hand``      -- the same Euler loop written by hand with numpy, one array per operation, saving into a
  preallocated (nsave, n) buffer per output (what sd's generated code should approach).
* ``hand-inpl`` -- the same loop with ``out=`` ufuncs writing straight into the output rows (no temporaries
  and no save copies): the practical limit of an array-per-operation backend.

Before timing, each hand-written loop's results are checked against sd's to 1e-12 relative (every value
for n <= 4096; for larger n every time point of 256 random draws plus the last time point of every draw).

Metric: draw-steps per second = n draws x Euler steps / wall seconds (Euler steps = (FINAL - INITIAL) /
TIME STEP). Peak memory: ``tracemalloc`` peak of the Python and numpy allocations during one run, in a
separate untimed run (numpy reports its buffers to tracemalloc); the inputs are allocated beforehand and
not counted, the returned outputs are. For pysd it is the peak of a single per-draw run.

Usage::

    python benchmarks/bench_engine.py                 # teacup and SIR at 1, 1k and 100k draws
    python benchmarks/bench_engine.py --quick         # smoke run, a few seconds
    python benchmarks/bench_engine.py --models teacup --draws 1,10000 --json results/bench.json
    python benchmarks/bench_engine.py --models Population   # subscripted: sd vs pysd only
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import sd
from sd.testing.corpus import corpus_root

RTOL = 1e-12
FULL_CHECK_MAX = 4096  # compare every value up to this many draws; a sample of draws above


# -- hand-written models ---------------------------------------------------------------------------
# Equations transcribed from the corpus .mdl files; the constants not varied are asserted against sd's
# parse of the model. Time grid: every Euler step saved (SAVEPER = TIME STEP in both models).


def teacup_hand(p: Mapping[str, np.ndarray], n: int, nt: int, dt: float) -> dict[str, np.ndarray]:
    """teacup.mdl: Heat Loss = (T - Room) / Characteristic Time; T = INTEG(-Heat Loss, 180)."""
    ct = p["Characteristic Time"]
    room = 70.0
    o_t = np.empty((nt, n))
    o_hl = np.empty((nt, n))
    t = np.full(n, 180.0)
    for k in range(nt):
        hl = (t - room) / ct
        o_t[k] = t
        o_hl[k] = hl
        if k == nt - 1:
            break
        t = t + (-hl) * dt
    return {"Teacup Temperature": o_t, "Heat Loss to Room": o_hl}


def teacup_inplace(
    p: Mapping[str, np.ndarray], n: int, nt: int, dt: float
) -> dict[str, np.ndarray]:
    """teacup with out= ufuncs: the state lives in the output rows, one scratch array."""
    ct = p["Characteristic Time"]
    room = 70.0
    o_t = np.empty((nt, n))
    o_hl = np.empty((nt, n))
    tmp = np.empty(n)
    o_t[0] = 180.0
    for k in range(nt):
        t, hl = o_t[k], o_hl[k]
        np.subtract(t, room, out=hl)
        np.divide(hl, ct, out=hl)
        if k == nt - 1:
            break
        np.multiply(hl, dt, out=tmp)
        np.subtract(t, tmp, out=o_t[k + 1])  # t + (-hl) * dt, bit for bit
    return {"Teacup Temperature": o_t, "Heat Loss to Room": o_hl}


def sir_hand(p: Mapping[str, np.ndarray], n: int, nt: int, dt: float) -> dict[str, np.ndarray]:
    """SIR.mdl: Succumbing = S * I / Total Population * Contact Infectivity; Recovering = I / Duration;
    S = INTEG(-Succumbing, Total Population); I = INTEG(Succumbing - Recovering, 5); R = INTEG(Recovering, 0).
    """
    ci, dur = p["Contact Infectivity"], p["Duration"]
    pop = 1000.0
    o_s, o_i, o_r, o_su = (np.empty((nt, n)) for _ in range(4))
    s = np.full(n, pop)
    i = np.full(n, 5.0)
    r = np.full(n, 0.0)
    for k in range(nt):
        rec = i / dur
        su = s * i / pop * ci
        o_s[k] = s
        o_i[k] = i
        o_r[k] = r
        o_su[k] = su
        if k == nt - 1:
            break
        i_new = i + (su - rec) * dt
        r = r + rec * dt
        s = s + (-su) * dt
        i = i_new
    return {"Susceptible": o_s, "Infectious": o_i, "Recovered": o_r, "Succumbing": o_su}


def sir_inplace(p: Mapping[str, np.ndarray], n: int, nt: int, dt: float) -> dict[str, np.ndarray]:
    """SIR with out= ufuncs writing into the output rows; two scratch arrays."""
    ci, dur = p["Contact Infectivity"], p["Duration"]
    pop = 1000.0
    o_s, o_i, o_r, o_su = (np.empty((nt, n)) for _ in range(4))
    rec = np.empty(n)
    tmp = np.empty(n)
    o_s[0] = pop
    o_i[0] = 5.0
    o_r[0] = 0.0
    for k in range(nt):
        s, i, r, su = o_s[k], o_i[k], o_r[k], o_su[k]
        np.divide(i, dur, out=rec)
        np.multiply(s, i, out=su)
        np.divide(su, pop, out=su)
        np.multiply(su, ci, out=su)
        if k == nt - 1:
            break
        np.subtract(su, rec, out=tmp)
        np.multiply(tmp, dt, out=tmp)
        np.add(i, tmp, out=o_i[k + 1])
        np.multiply(rec, dt, out=tmp)
        np.add(r, tmp, out=o_r[k + 1])
        np.multiply(su, dt, out=tmp)
        np.subtract(s, tmp, out=o_s[k + 1])  # s + (-su) * dt, bit for bit
    return {"Susceptible": o_s, "Infectious": o_i, "Recovered": o_r, "Succumbing": o_su}


@dataclass(frozen=True)
class Spec:
    mdl: str  # relative to the corpus root
    outputs: tuple[str, ...]  # every stock and one flow
    vary: tuple[str, ...]  # constants drawn uniformly within +-50% of their default
    fixed: Mapping[str, float]  # constants the hand-written loop hard-codes
    hand: Callable[..., dict[str, np.ndarray]]
    inplace: Callable[..., dict[str, np.ndarray]]


MODELS: dict[str, Spec] = {
    "teacup": Spec(
        "samples/teacup/teacup.mdl",
        ("Teacup Temperature", "Heat Loss to Room"),
        ("Characteristic Time",),  # default 10: uniform in [5, 15]
        {"Room Temperature": 70.0},
        teacup_hand,
        teacup_inplace,
    ),
    "SIR": Spec(
        "samples/SIR/SIR.mdl",
        ("Susceptible", "Infectious", "Recovered", "Succumbing"),
        ("Contact Infectivity", "Duration"),  # defaults 0.3 and 5
        {"Total Population": 1000.0},
        sir_hand,
        sir_inplace,
    ),
}


# -- measurement -----------------------------------------------------------------------------------


@dataclass
class Row:
    model: str
    draws: int
    impl: str
    seconds: float
    draw_steps_per_s: float
    peak_mib: float | None
    note: str = ""
    runs: list[float] = field(default_factory=list)


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` calls; each result is dropped before the next call starts."""
    out = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        res = fn()
        out.append(time.perf_counter() - t)
        del res
    return out


def traced(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result, tracemalloc peak in MiB) of one call."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        res = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return res, peak / 2**20


def fingerprint(arrs: Mapping[str, np.ndarray], cols: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per output (time, draw) array: all values, or the sampled draws' columns plus the last row."""
    fp = {}
    for name, a in arrs.items():
        if cols is None:
            fp[name] = np.array(a, copy=True)
        else:
            fp[name] = np.concatenate([a[:, cols].ravel(), a[-1]])
    return fp


def max_rel(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    worst = 0.0
    for name in b:
        x, y = a[name], b[name]
        assert x.shape == y.shape, (name, x.shape, y.shape)
        den = np.maximum(np.abs(y), 1e-300)
        worst = max(worst, float(np.max(np.abs(x - y) / den)))
    return worst


def sd_arrays(ds: Any, outputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The Dataset's outputs as (time, draw) arrays (views of sd's buffers)."""
    return {o: ds[o].values.T for o in outputs}


def bench_model(
    name: str,
    spec: Spec,
    draws: list[int],
    repeats: int,
    pysd_sample: int,
    seed: int,
    log: Callable,
) -> list[Row]:
    import pysd

    root = corpus_root()
    if root is None or not (root / spec.mdl).is_file():
        raise SystemExit(f"Vensim corpus not found (set SD_VENSIM_CORPUS); need {spec.mdl}")
    path = root / spec.mdl
    rng = np.random.default_rng(seed)
    rows: list[Row] = []

    # sd: load + compile once (warm-up run)
    t = time.perf_counter()
    m = sd.load(path)
    value = {c: m.constants[c].value for c in (*spec.vary, *spec.fixed)}
    defaults = {c: float(value[c] or 0.0) for c in spec.vary}
    for c, v in spec.fixed.items():
        assert value[c] == v, (name, c, value[c], v)
    warm = m.run(params={c: np.full(2, v) for c, v in defaults.items()}, outputs=list(spec.outputs))
    t_load = time.perf_counter() - t
    times = warm["time"].values
    t0, tf, dt = warm.attrs["initial_time"], warm.attrs["final_time"], warm.attrs["time_step"]
    assert warm.attrs["saveper"] == dt, "hand-written loops assume every step is saved"
    nt = len(times)
    assert np.array_equal(times, t0 + dt * np.arange(nt)), "time grid is not t0 + k dt"
    steps = round((tf - t0) / dt)
    assert steps == nt - 1
    log(
        f"\n## {name}: {path.name}, {nt} time points ({steps} Euler steps of {dt}), outputs "
        f"{', '.join(spec.outputs)}; varied: "
        + ", ".join(f"{c} U[{0.5 * v:g}, {1.5 * v:g}]" for c, v in defaults.items())
    )
    log(f"   sd.load + compile + warm-up run: {t_load:.3f} s")

    def draw_params(n: int) -> dict[str, np.ndarray]:
        return {c: rng.uniform(0.5 * v, 1.5 * v, n) for c, v in defaults.items()}

    # pysd: translate a temporary copy, then one run per draw
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        t = time.perf_counter()
        pm = pysd.read_vensim(str(copy))
        t_read = time.perf_counter() - t
        sample = draw_params(pysd_sample)

        def pysd_run(i: int) -> Any:
            return pm.run(
                params={c: float(sample[c][i]) for c in sample}, return_columns=list(spec.outputs)
            )

        first = pysd_run(0)  # warm-up, and a cross-check that both engines compute the same thing
        check = m.run(params={c: sample[c][:1] for c in sample}, outputs=list(spec.outputs))
        rel = max_rel(
            {o: first[o].to_numpy()[:, None] for o in spec.outputs}, sd_arrays(check, spec.outputs)
        )
        assert rel <= 1e-9, f"{name}: pysd and sd differ by {rel:.3g} relative"
        _, pysd_peak = traced(lambda: pysd_run(0))
        per_run = []
        for i in range(pysd_sample):
            t = time.perf_counter()
            res = pysd_run(i)
            per_run.append(time.perf_counter() - t)
            del res
    mean_run = statistics.fmean(per_run)
    log(
        f"   pysd.read_vensim: {t_read:.3f} s; per-draw run: mean {mean_run * 1e3:.2f} ms, median "
        f"{statistics.median(per_run) * 1e3:.2f} ms over {pysd_sample} runs (pysd vs sd on draw 0: "
        f"max rel diff {rel:.1e})"
    )

    for n in draws:
        total = mean_run * n
        note = f"measured, {n} run(s)" if n <= pysd_sample else f"extrap. {pysd_sample} runs x {n}"
        rows.append(Row(name, n, "pysd", total, n * steps / total, pysd_peak, note, per_run))

        params = draw_params(n)
        cols = None if n <= FULL_CHECK_MAX else np.sort(rng.choice(n, 256, replace=False))

        def sd_run(params: dict[str, np.ndarray] = params) -> Any:
            return m.run(params=params, outputs=list(spec.outputs))

        t = time.perf_counter()
        ds, sd_peak = traced(sd_run)
        sd_traced_s = time.perf_counter() - t
        ref = fingerprint(sd_arrays(ds, spec.outputs), cols)
        del ds
        impls = {"hand": spec.hand, "hand-inpl": spec.inplace}
        peaks = {}
        for label, fn in impls.items():
            res, peaks[label] = traced(functools.partial(fn, params, n, nt, dt))
            rel = max_rel(fingerprint(res, cols), ref)
            del res
            assert rel <= RTOL, f"{name} n={n}: {label} differs from sd by {rel:.3g} relative"
        checked = "all values" if cols is None else "256 draws + last row"
        reps = repeats if sd_traced_s < 2.0 else max(1, min(repeats, 3))

        # interleave the engines' repeats so that drift in the machine's speed hits them alike
        fns = {"sd": sd_run} | {
            k: functools.partial(f, params, n, nt, dt) for k, f in impls.items()
        }
        runs: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(reps):
            for label, fn in fns.items():
                runs[label] += timed(fn, 1)
        for label in fns:
            med = statistics.median(runs[label])
            peak = sd_peak if label == "sd" else peaks[label]
            note = f"median of {reps}" + ("" if label == "sd" else f"; = sd ({checked})")
            rows.append(Row(name, n, label, med, n * steps / med, peak, note, runs[label]))
        gc.collect()
    return rows


# -- report ----------------------------------------------------------------------------------------


def fmt_s(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.2f} ms"
    return f"{x * 1e6:.0f} us"


def table(rows: list[Row]) -> str:
    head = ("model", "draws", "engine", "wall", "draw-steps/s", "peak MiB", "note")
    body = [
        (r.model, f"{r.draws:,}", r.impl, fmt_s(r.seconds), f"{r.draw_steps_per_s:.3g}",
         "-" if r.peak_mib is None else f"{r.peak_mib:,.1f}", r.note)
        for r in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line, sep]
    for b in body:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |")
    return "\n".join(out)


def ratios(rows: list[Row]) -> str:
    by = {(r.model, r.draws, r.impl): r for r in rows}
    head = ("model", "draws", "sd speed-up over pysd", "sd time / hand", "sd time / hand-inpl")
    body = []
    for model, n in dict.fromkeys((r.model, r.draws) for r in rows):
        s = by[(model, n, "sd")].seconds
        body.append((
            model, f"{n:,}", f"{by[(model, n, 'pysd')].seconds / s:,.0f}x",
            f"{s / by[(model, n, 'hand')].seconds:.2f}", f"{s / by[(model, n, 'hand-inpl')].seconds:.2f}",
        ))  # fmt: skip
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]  # fmt: skip
    for b in body:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |")
    return "\n".join(out)


def targets(rows: list[Row]) -> list[str]:
    by = {(r.model, r.draws, r.impl): r for r in rows}
    lines = []
    key = ("teacup", 100_000)
    if (*key, "sd") in by:
        sp = by[(*key, "pysd")].seconds / by[(*key, "sd")].seconds
        lines.append(
            f"target sd/pysd >= 5000x on teacup at 100,000 draws: {sp:,.0f}x "
            f"-> {'met' if sp >= 5000 else 'NOT met'}"
        )
    for model, n in dict.fromkeys((r.model, r.draws) for r in rows):
        if n < 100_000:
            continue
        q = by[(model, n, "sd")].seconds / by[(model, n, "hand")].seconds
        lines.append(
            f"target sd within 1.5x of hand-written on {model} at {n:,} draws: {q:.2f} "
            f"-> {'met' if q <= 1.5 else 'NOT met'}"
        )
    return lines


# -- subscripted models: sd vs pysd only (no hand-written loop) -------------------------------------
SUBSCRIPTED: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # name: (mdl, outputs, varied constants: scalars or whole subscripted arrays, +-50%)
    "Population": (
        "samples/Population/Subscripted Population Model.mdl",
        ("Population", "Deaths"),
        ("Lifespan", "Birthrate"),
    ),
}


def bench_subscripted(
    name: str, draws: list[int], repeats: int, pysd_sample: int, seed: int, log: Callable
) -> list[Row]:
    """sd (all draws at once, subscripted constants varied per draw and element) vs pysd (one run per
    draw, the same constants as DataArrays)."""
    import pysd
    import xarray as xr

    mdl, outputs, vary = SUBSCRIPTED[name]
    root = corpus_root()
    if root is None or not (root / mdl).is_file():
        raise SystemExit(f"Vensim corpus not found (set SD_VENSIM_CORPUS); need {mdl}")
    path = root / mdl
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    m = sd.load(path)
    defaults: dict[str, np.ndarray] = {}
    for c in vary:
        info = m.ir.arrays.get(c)
        if info is None:
            defaults[c] = np.asarray(m.constants[c].value, dtype=float)
        else:
            arr = np.empty(info.shape)
            for elems, ident in info.elements.items():
                idx = tuple(info.coords[d].index(e) for d, e in zip(info.dims, elems, strict=True))
                arr[idx] = m.ir.variables[ident].value
            defaults[c] = arr

    def draw_params(n: int) -> dict[str, np.ndarray]:
        return {c: v * rng.uniform(0.5, 1.5, (n, *v.shape)) for c, v in defaults.items()}

    warm = m.run(draw_params(2), outputs=list(outputs))
    steps = round((warm.attrs["final_time"] - warm.attrs["initial_time"]) / warm.attrs["time_step"])
    log(
        f"\n## {name}: {path.name}, {len(m.ir.variables)} scalar variables after unrolling, "
        f"{steps} Euler steps; outputs {', '.join(outputs)}; varied per draw: {', '.join(vary)}"
    )
    log(f"   sd.load + compile + warm-up run: {time.perf_counter() - t:.3f} s")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        pm = pysd.read_vensim(str(copy))
        p1 = draw_params(pysd_sample)
        per_run = []
        for d in range(pysd_sample):
            pars: dict[str, Any] = {}
            for c, v in p1.items():
                info = m.ir.arrays.get(c)
                pars[c] = (
                    float(v[d])
                    if info is None
                    else xr.DataArray(v[d], {k: list(info.coords[k]) for k in info.dims}, info.dims)
                )
            per_run += timed(lambda pars=pars: pm.run(params=pars, return_columns=list(outputs)), 1)
    mean = statistics.mean(per_run)
    for n in draws:
        secs = mean * n
        rows.append(Row(name, n, "pysd", secs, n * steps / secs, None,
                        "" if n <= pysd_sample else "extrap."))  # fmt: skip
        params = draw_params(n)
        runs = timed(lambda params=params: m.run(params, outputs=list(outputs)),
                     repeats if n < 100_000 else 2)  # fmt: skip
        secs = statistics.median(runs)
        rows.append(Row(name, n, "sd", secs, n * steps / secs, None, runs=runs))
        log(f"   {n:>8} draws: pysd {rows[-2].seconds:9.3f} s   sd {secs:8.3f} s")
    return rows


def machine() -> str:
    import pysd

    return (
        f"python {platform.python_version()}, numpy {np.__version__}, pysd {pysd.__version__}, "
        f"sd {sd.__version__}; {platform.machine()}, {os.cpu_count()} CPUs"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--models", default="teacup,SIR", help=f"comma-separated, of {', '.join(MODELS)}"
    )
    ap.add_argument("--draws", default="1,1000,100000", help="comma-separated numbers of draws")
    ap.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed runs per case (at most 3 where a run takes > 2 s)",
    )
    ap.add_argument("--pysd-sample", type=int, default=30, help="pysd runs timed per model")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 and 1000 draws, few repeats")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.draws, args.repeats, args.pysd_sample = "1,1000", 2, 5
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS and m not in SUBSCRIPTED]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {', '.join([*MODELS, *SUBSCRIPTED])}")
    draws = [int(float(d)) for d in args.draws.split(",") if d.strip()]
    if not draws or min(draws) < 1:
        ap.error("--draws must be positive integers")

    def log(msg: str) -> None:
        print(msg, flush=True)

    log(f"# sd engine benchmark\n{machine()}")
    log(
        "pysd: one model.run per draw (mean per-run time x draws beyond the sample); sd: numpy "
        "backend, all draws at once; hand: hand-written numpy Euler loop; hand-inpl: the same with out= "
        "ufuncs into the output rows.\ndraw-steps/s = draws x Euler steps / wall seconds; peak MiB = "
        "tracemalloc peak of one run (for pysd: one draw)."
    )
    t_all = time.perf_counter()
    rows: list[Row] = []
    sub_rows: list[Row] = []
    for name in models:
        if name in SUBSCRIPTED:
            sub_rows += bench_subscripted(
                name, draws, args.repeats, min(args.pysd_sample, 5), args.seed, log
            )
            continue
        rows += bench_model(
            name, MODELS[name], draws, args.repeats, args.pysd_sample, args.seed, log
        )
    if sub_rows:
        log("\n| model | draws | impl | wall s | draw-steps/s | note |\n|---|---|---|---|---|---|")
        for r in sub_rows:
            log(f"| {r.model} | {r.draws:,} | {r.impl} | {r.seconds:.3f} | {r.draw_steps_per_s:.3g} "
                f"| {r.note} |")  # fmt: skip
        if not rows:
            return 0
    log("\n" + table(rows))
    log("\n" + ratios(rows))
    for line in targets(rows):
        log(line)
    log(f"\ntotal benchmark time: {time.perf_counter() - t_all:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"machine": machine(), "rows": [asdict(r) for r in rows]}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
