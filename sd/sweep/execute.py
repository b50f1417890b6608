"""Run a sweep: plan it, initialise the store, run one dask task per chunk, resume what is left.

Each chunk is one task: it builds its rows of the unit design (:mod:`sd.sweep.sample`), maps them through the
parameter distributions, runs the model on all its draws at once (``Model.run``), reduces the outcomes from
the series at every time step, writes its region of the zarr store and then marks itself done
(:mod:`sd.sweep.store`). Tasks run on a ``distributed`` cluster (a ``LocalCluster`` by default, or any
scheduler address) or on dask's threaded / synchronous schedulers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import ParamError, SpecError
from sd.sweep import sample as _sample
from sd.sweep import store as _store
from sd.sweep.checks import compile_check
from sd.sweep.spec import Distribution, Spec, load_spec

__all__ = ["Plan", "plan", "run_chunk", "sweep"]

log = logging.getLogger("sd.sweep")

TASK_MEMORY = 512 * 2**20  # target bytes per task for chunk = "auto"
LOCAL_SCHEDULERS = ("local", "threads", "sync", "synchronous", "processes")


# ------------------------------------------------------------------------------------------------
# plan
@dataclass
class Plan:
    """Everything a chunk task needs, resolved against the model (picklable, small)."""

    spec: Spec
    model_path: str
    model_sha256: str
    store: str
    draws: int
    chunk: int
    params: list[tuple[str, Distribution]]  # Vensim name, distribution (with ranges filled in)
    base: dict[str, float]  # scenario values and fixed parameters
    run_outputs: list[str]  # variables the run saves (time series and outcome variables)
    timeseries: list[str]
    ts_rows: list[int] | None  # rows of the full-resolution run kept for the stored series
    times: list[float]  # stored time coordinate
    outcomes: list[tuple[str, str, str, Any]]  # name, variable, kind, argument
    run_saveper: float | None
    final_time: float | None
    backend: str
    key: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # name, expr, when, vars
    bytes_per_draw: int = 0
    n_time_full: int = 0
    memory_budget: int = TASK_MEMORY  # bytes per chunk task that chunk = "auto" was sized for
    memory_source: str = "default"

    @property
    def n_chunks(self) -> int:
        return -(-self.draws // self.chunk)

    def bounds(self, i: int) -> tuple[int, int]:
        return i * self.chunk, min(self.draws, (i + 1) * self.chunk)

    @property
    def sampled(self) -> list[str]:
        return [p for p, _ in self.params]

    def store_bytes(self) -> int:
        per_draw = 8 * (len(self.times) * len(self.timeseries) + len(self.params) + len(self.outcomes) + 1)
        per_draw += len(self.checks)
        return self.draws * per_draw


def _key(spec: Spec, sha: str, base: Mapping[str, float], params: list[tuple[str, Distribution]],
         draws: int) -> dict[str, Any]:  # fmt: skip
    """What decides the stored result: compared with the store's on a rerun."""
    return {
        "model_sha256": sha,
        "draws": draws,
        "seed": spec.seed,
        "sampler": spec.sampler,
        "sampler_options": dict(spec.sampler_options),
        "scenario": spec.scenario,
        "base": dict(base),
        "parameters": {name: d.to_dict() for name, d in params},
        "parameters_sampled": [name for name, _ in params],
        "timeseries": list(spec.timeseries),
        "saveper": spec.saveper,
        "final_time": spec.final_time,
        "outcomes": {k: v.to_dict() for k, v in spec.outcomes.items()},
        "outcome_names": list(spec.outcomes),
        "checks": {k: v.to_dict() for k, v in spec.checks.items()},
    }


_MODELS: dict[tuple[str, str], Any] = {}


def _model(path: str, sha: str | None = None) -> Any:
    """The loaded model, cached per process (workers load it once, on their first chunk)."""
    import hashlib

    import sd

    if sha is None:
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if (path, sha) in _MODELS:
        return _MODELS[(path, sha)]
    model = sd.load(path)
    if model.sha256 != sha:
        raise SpecError(
            f"{path}: the model file changed during the sweep (sha256 {model.sha256[:12]} != {sha[:12]})"
        )
    _MODELS[(path, model.sha256)] = model
    return model


def auto_chunk(draws: int, bytes_per_draw: int, budget: int) -> int:
    """The chunk of ``chunk = "auto"``: what fits ``budget`` bytes, at most 1/16 of the draws (>= 4096)."""
    cap = max(1, budget // max(1, bytes_per_draw))
    if cap > 1024:
        cap -= cap % 1024
    return min(cap, max(4096, -(-draws // 16)), draws)


def plan(spec: Spec | str | Path, *, draws: int | None = None, chunk: int | str | None = None,
         store: str | Path | None = None, backend: str | None = None,
         memory: int | None = None, memory_source: str = "default") -> Plan:  # fmt: skip
    """Validate ``spec`` against its model and resolve everything a chunk needs (no work done).

    ``memory``: the bytes one chunk task may use (``chunk = "auto"`` sizes the chunk from it and the
    model's bytes per draw); default :data:`TASK_MEMORY`.
    """
    from sd.model import time_grid

    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    changes: dict[str, Any] = {}
    if draws is not None:
        changes["draws"] = draws
    if chunk is not None:
        changes["chunk"] = chunk
    if store is not None:
        changes["store"] = store
    if backend is not None:
        changes["backend"] = backend
    if changes:
        spec = spec.replace(**changes)
    src = spec.source
    path = spec.resolve_model()
    model = _model(str(path))
    base: dict[str, float] = {}
    if spec.scenario:
        from sd.sweep.scenarios import load_scenario

        scen_file = None
        if spec.scenarios is not None:
            scen_file = Path(spec.scenarios)
            if not scen_file.is_absolute() and spec.base_dir is not None and (spec.base_dir / scen_file).exists():
                scen_file = spec.base_dir / scen_file
        try:
            scen = load_scenario(path, spec.scenario, scen_file)
        except ParamError as err:
            raise SpecError(f"{src}: scenario: {err}") from None
        for name, value in scen.items():
            base[_constant(model, name, src, f"scenario {spec.scenario!r}: {name!r}").name] = float(value)
    params: list[tuple[str, Distribution]] = []
    seen: dict[str, str] = {}
    for name, value in spec.parameters.items():
        key = f"parameters.{name!r}"
        var = _constant(model, name, src, key)
        if var.name in seen:
            raise SpecError(f"{src}: {key}: the same constant as parameters.{seen[var.name]!r}")
        seen[var.name] = name
        if not isinstance(value, Distribution):
            base[var.name] = float(value)
            continue
        if value.needs_range():
            if var.limits is None or var.limits[0] is None or var.limits[1] is None:
                raise SpecError(
                    f"{src}: {key}: no low/high given and the model gives '{var.name}' no [min, max] "
                    "range; give low and high"
                )
            value = value.with_range(float(var.limits[0]), float(var.limits[1]), src, key)
        params.append((var.name, value))
    for vname in list(base):
        if vname in seen and seen[vname] in spec.distributions:
            del base[vname]  # a sampled parameter overrides the scenario's value
    n = spec.draws
    assert n is not None
    # outputs and outcomes
    run_outputs: list[str] = []

    def output(name: str, key: str) -> str:
        try:
            ident = model.resolve(name)
        except KeyError:
            raise SpecError(f"{src}: {key}: {_unknown(model, name)}") from None
        var = model.ir.variables[ident]
        if var.kind == "lookup":
            raise SpecError(f"{src}: {key}: '{var.name}' is a lookup table, not a variable")
        if var.name not in run_outputs:
            run_outputs.append(var.name)
        return str(var.name)

    timeseries = [output(t, f"outputs.timeseries {t!r}") for t in spec.timeseries]
    outcome_vars = [(k, output(o.variable, f"outcomes.{k!r}"), o) for k, o in spec.outcomes.items()]
    checks: list[tuple[str, str, str, list[str]]] = []
    for k, c in spec.checks.items():
        try:
            names, _ = compile_check(c.expr, model.variables)
        except ValueError as err:
            raise SpecError(f"{src}: checks.{k!r}: {err}") from None
        check_vars = []
        for v in names:
            var = model.ir.variables[model.resolve(v)]
            # constants are read from the draw's parameters (or defaults), not saved as series
            check_vars.append(var.name if var.kind == "constant" else output(v, f"checks.{k!r}"))
        checks.append((k, c.expr, c.when, check_vars))
    # the time grid: a one-draw probe run also checks the scenario's values and the time overrides
    try:
        probe = model.run(base, outputs=run_outputs[:1], draws=1, final_time=spec.final_time,
                          backend="numpy")  # fmt: skip
    except ParamError as err:
        raise SpecError(f"{src}: {err}") from None
    t0, tf, dt = (probe.attrs[k] for k in ("initial_time", "final_time", "time_step"))
    sp = spec.saveper if spec.saveper is not None else probe.attrs["saveper"]
    full_times, full_save, _full_saved = time_grid(t0, tf, dt, dt)
    if outcome_vars:
        if not (full_save >= 0).all():  # pragma: no cover - pysd's rule saves every step at SAVEPER = dt
            raise SpecError(f"{src}: cannot save every time step of this model's time grid")
        _, save, saved = time_grid(t0, tf, dt, sp)
        ts_rows: list[int] | None = np.flatnonzero(save >= 0).tolist()
        run_saveper: float | None = dt
        times = saved.tolist()
    else:
        ts_rows, run_saveper = None, sp
        times = time_grid(t0, tf, dt, sp)[2].tolist()
    outcomes: list[tuple[str, str, str, Any]] = []
    ftimes = np.asarray(full_times)
    for k, vname, o in outcome_vars:
        key = f"outcomes.{k!r}"
        if o.at is not None:
            tol = dt * 1e-5
            if not t0 - tol <= o.at <= tf + tol:
                raise SpecError(f"{src}: {key}.at: {o.at:g} is outside the run [{t0:g}, {tf:g}]")
            row = int(np.flatnonzero(ftimes <= o.at + tol)[-1])
            outcomes.append((k, vname, "at", row))
        elif o.reduce is not None:
            outcomes.append((k, vname, "reduce", o.reduce))
        else:
            _, op, num = o.condition()
            outcomes.append((k, vname, "first_time", (op, num)))
    # chunk size
    n_full = len(full_times)
    n_vars = len(model.ir.variables)
    steps_out = n_full if run_saveper == dt and outcome_vars else len(times)
    bytes_per_draw = 8 * (
        2 * steps_out * len(run_outputs) + len(times) * len(timeseries) + 4 * n_vars + 3 * len(params)
        + 2 * len(outcomes)
    )  # fmt: skip
    budget = TASK_MEMORY if memory is None else int(memory)
    ch = auto_chunk(n, bytes_per_draw, budget) if spec.chunk == "auto" else min(int(spec.chunk), n)
    ident = _key(spec, model.sha256, base, params, n)
    ident["timeseries"] = timeseries
    return Plan(
        spec=spec, model_path=os.path.normpath(Path(path).absolute()), model_sha256=model.sha256,
        store=spec.resolve_store(), draws=n, chunk=ch, params=params, base=base,
        run_outputs=run_outputs, timeseries=timeseries, ts_rows=ts_rows, times=times,
        outcomes=outcomes, run_saveper=run_saveper, final_time=spec.final_time,
        backend=spec.backend, key=ident, bytes_per_draw=bytes_per_draw, n_time_full=n_full,
        checks=checks, memory_budget=budget, memory_source=memory_source,
    )  # fmt: skip


def _unknown(model: Any, name: str) -> str:
    import difflib

    names = sorted(model.variables)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return f"'{name}' is not a variable of {Path(model.path).name}{hint}"


def _constant(model: Any, name: str, src: str, key: str) -> Any:
    try:
        ident = model.resolve(name)
    except KeyError:
        raise SpecError(f"{src}: {key}: {_unknown(model, name)}") from None
    var = model.ir.variables[ident]
    if var.kind == "control":
        raise SpecError(f"{src}: {key}: '{var.name}' is a control variable (time grid); it cannot be "
                        "swept")  # fmt: skip
    if var.kind != "constant":
        what = {"aux": "an auxiliary", "stock": "a stock", "lookup": "a lookup table"}.get(
            var.kind, f"a {var.kind} variable")
        raise SpecError(f"{src}: {key}: '{var.name}' is {what}, not a constant; only constants "
                        "can be swept")  # fmt: skip
    if ident in model.ir.structural:
        raise SpecError(f"{src}: {key}: '{var.name}' fixes the order of a delay or smooth and cannot "
                        "vary across draws")  # fmt: skip
    return var


# ------------------------------------------------------------------------------------------------
# one chunk
def chunk_params(p: Plan, i: int, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The parameter values of chunk ``i`` (``rows``: its unit rows, for saltelli/morris)."""
    return range_params(p, *p.bounds(i), rows)


def range_params(p: Plan, start: int, stop: int, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The parameter values of draws ``start:stop`` (``rows``: their unit rows, for saltelli/morris)."""
    d = len(p.params)
    if rows is None:
        opts = dict(p.spec.sampler_options)
        if p.spec.sampler == "grid":
            opts["levels"] = p.spec.grid_levels()
        rows = _sample.unit_rows(p.spec.sampler, p.spec.seed, p.draws, d, start, stop, opts)
    return {name: dist.ppf(rows[:, j]) for j, (name, dist) in enumerate(p.params)}


def compute_chunk(p: Plan, i: int, rows: np.ndarray | None = None) -> Any:
    """Run chunk ``i`` and return its xarray Dataset (stored series, parameters, outcomes).

    ``attrs["backend"]`` says what ran; ``attrs["splits"]`` how many out-of-memory halvings it took.
    """
    return compute_range(p, *p.bounds(i), rows)


_BATCH_LIMIT: dict[str, int] = {}  # per process: the largest sub-batch that fitted after an OOM


def compute_range(p: Plan, start: int, stop: int, rows: np.ndarray | None = None,
                  backend: str | None = None) -> Any:  # fmt: skip
    """Draws ``start:stop`` as one Dataset; an out-of-memory error halves the range and retries.

    Each draw's values do not depend on the draws run beside it, so the halves, concatenated, equal the
    unsplit run bit for bit. A process that had to split remembers the size that fitted and starts its
    later chunks in sub-batches of that size.
    """
    import xarray as xr

    from sd.sweep import resources

    if backend is None:
        backend = resources.resolve_backend(p.backend)
    key = f"{p.model_sha256}:{backend}"
    limit = _BATCH_LIMIT.get(key)
    n = stop - start
    if limit is not None and n > limit:
        pieces = [(a, min(stop, a + limit)) for a in range(start, stop, limit)]
        parts = [compute_range(p, a, b, None if rows is None else rows[a - start:b - start], backend)
                 for a, b in pieces]  # fmt: skip
        return _concat(parts, xr)
    try:
        return _compute(p, start, stop, rows, backend)
    except Exception as err:
        if not resources.is_out_of_memory(err) or n <= 1:
            raise
    resources.release_device_memory()
    mid = start + n // 2
    _BATCH_LIMIT[key] = min(_BATCH_LIMIT.get(key, n), mid - start)
    log.warning("sweep: out of memory at %d draws (%s); retrying in halves of %d and %d draws",
                n, backend, mid - start, stop - mid)  # fmt: skip
    a = compute_range(p, start, mid, None if rows is None else rows[: mid - start], backend)
    b = compute_range(p, mid, stop, None if rows is None else rows[mid - start:], backend)
    return _concat([a, b], xr)


def _concat(parts: list[Any], xr: Any) -> Any:
    out = xr.concat(parts, dim="draw", data_vars="all", join="exact", combine_attrs="drop")
    out.attrs["backend"] = ",".join(sorted({str(x.attrs["backend"]) for x in parts}))
    out.attrs["splits"] = sum(int(x.attrs.get("splits", 0)) for x in parts) + (len(parts) - 1)
    return out


def _compute(p: Plan, start: int, stop: int, rows: np.ndarray | None, backend: str) -> Any:
    import xarray as xr

    from sd.sweep import resources

    n = stop - start
    resources.simulated_memory_check(n, p.bytes_per_draw)  # test hook; a no-op unless its env var is set
    model = _model(p.model_path, p.model_sha256)
    values = range_params(p, start, stop, rows)
    run_values: dict[str, Any] = dict(values)
    run_backend = backend
    if backend == "gpu":  # device inputs: Model.run's auto runs the fused CUDA kernel, else cupy
        import cupy

        run_values = {k: cupy.asarray(v) for k, v in values.items()}
        run_backend = "auto"
    ds = model.run({**p.base, **run_values}, outputs=p.run_outputs, draws=n, saveper=p.run_saveper,
                   final_time=p.final_time, backend=run_backend, first_draw=start)  # fmt: skip
    data: dict[str, Any] = {}
    for name in p.timeseries:
        arr = ds[name].values
        if p.ts_rows is not None:
            arr = arr[:, p.ts_rows]
        data[name] = (("draw", "time"), np.ascontiguousarray(arr))
    for name, value in values.items():
        data[name] = (("draw",), value)
    times = ds["time"].values
    for name, vname, kind, arg in p.outcomes:
        data[name] = (("draw",), reduce_outcome(ds[vname].values, times, kind, arg))
    for name, expr, when, names in p.checks:
        data[check_var(name)] = (("draw",), violations(ds, p, expr, when, names))
    out = xr.Dataset(data, coords={"draw": np.arange(start, stop)},
                     attrs={"backend": ds.attrs["backend"], "splits": 0})  # fmt: skip
    return out


_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater,
    "==": np.equal, "!=": np.not_equal,
}  # fmt: skip


def check_var(name: str) -> str:
    """The store variable of check ``name``: True where the draw violates it."""
    return f"violated: {name}"


def violations(ds: Any, p: Plan, expr: str, when: str, names: list[str]) -> np.ndarray:
    """Per draw: does the check fail at any saved time (``always``) or at the final time (``end``)?"""
    _, evaluate = compile_check(expr, names)
    env: dict[str, Any] = {}
    n = ds.sizes["draw"]
    for v in names:
        if v in ds.data_vars:
            arr = ds[v].values
            if p.ts_rows is not None:
                arr = arr[:, p.ts_rows]
            env[v] = arr[:, -1:] if when == "end" else arr
        elif v in ds.coords:  # a sampled constant
            env[v] = np.asarray(ds[v].values, dtype=float)[:, None]
        else:  # a constant fixed by the scenario, the spec or the model
            value = p.base.get(v)
            if value is None:
                value = _model(p.model_path, p.model_sha256).constants[v].value
            env[v] = np.full((n, 1), float(value))
    shape = np.broadcast_shapes(*(a.shape for a in env.values()))
    holds = np.broadcast_to(evaluate(env), shape)
    return np.asarray(~holds.all(axis=1), dtype=bool)


def reduce_outcome(series: np.ndarray, times: np.ndarray, kind: str, arg: Any) -> np.ndarray:
    """One outcome per draw from ``series`` of shape (draws, times)."""
    if kind == "at":
        return series[:, int(arg)].copy()
    if kind == "reduce":
        if arg == "max":
            return series.max(axis=1)
        if arg == "min":
            return series.min(axis=1)
        if arg == "mean":  # rows contiguous: each row's pairwise sum does not depend on the chunk's draws
            return np.ascontiguousarray(series).mean(axis=1)
        if arg == "final":
            return series[:, -1].copy()
        if arg == "initial":
            return series[:, 0].copy()
        raise ValueError(arg)
    op, num = arg
    hit = _OPS[op](series, num)
    first = hit.argmax(axis=1)
    return np.where(hit.any(axis=1), np.asarray(times)[first], np.nan)


def run_chunk(p: Plan, i: int, rows: np.ndarray | None = None) -> tuple[int, int, str, int]:
    """The task: compute chunk ``i``, write its region (once, after any OOM halvings), then mark it done.

    Returns (i, draws, backend that ran, out-of-memory splits)."""
    start, stop = p.bounds(i)
    ds = compute_chunk(p, i, rows)
    backend, splits = str(ds.attrs["backend"]), int(ds.attrs.get("splits", 0))
    ds = ds.drop_vars("draw")
    ds.attrs = {}
    ds.to_zarr(p.store, region={"draw": slice(start, stop)}, mode="r+", consolidated=False)
    _store.mark_done(p.store, i)
    return i, stop - start, backend, splits


# ------------------------------------------------------------------------------------------------
# the store
def template(p: Plan) -> Any:
    """The full-size Dataset (lazy) the store is initialised from."""
    import dask.array as da
    import xarray as xr

    import sd

    n, t = p.draws, len(p.times)
    data: dict[str, Any] = {}
    model = _model(p.model_path, p.model_sha256)
    for name in p.timeseries:
        data[name] = (("draw", "time"), da.empty((n, t), chunks=(p.chunk, t), dtype=float))
    for name in p.sampled:
        data[name] = (("draw",), da.empty((n,), chunks=(p.chunk,), dtype=float))
    for name, *_ in p.outcomes:
        data[name] = (("draw",), da.empty((n,), chunks=(p.chunk,), dtype=float))
    for name, *_ in p.checks:
        data[check_var(name)] = (("draw",), da.zeros((n,), chunks=(p.chunk,), dtype=bool))
    ds = xr.Dataset(data, coords={"draw": np.arange(n, dtype=np.int64), "time": np.asarray(p.times)})
    for name in p.timeseries:
        var = model.variables[name]
        ds[name].attrs.update(units=var.units, description=var.doc)
    for name in p.sampled:
        var = model.variables[name]
        ds[name].attrs.update(units=var.units, description=var.doc, distribution=json.dumps(
            dict(p.params)[name].to_dict()))  # fmt: skip
    for name, vname, kind, _arg in p.outcomes:
        o = p.spec.outcomes[name]
        ds[name].attrs.update(variable=vname, outcome=json.dumps(o.to_dict()),
                              units="" if kind == "first_time" else model.variables[vname].units)
    for name, expr, when, _names in p.checks:
        ds[check_var(name)].attrs.update(check=expr, when=when, description=(
            f"True where the draw violates '{expr}' ({'at every saved time' if when == 'always' else 'at the end'})"
        ))  # fmt: skip
    ds.attrs["sd_version"] = sd.__version__
    return ds


def _attrs(p: Plan) -> dict[str, Any]:
    import pysd

    import sd

    spec = p.spec.to_dict()
    spec["draws"] = p.draws
    return {
        "title": f"sd sweep of {Path(p.model_path).name}",
        "model": Path(p.model_path).name,
        "model_sha256": p.model_sha256,
        "seed": p.spec.seed,
        "sampler": p.spec.sampler,
        "draws": p.draws,
        "chunk": p.chunk,
        "scenario": p.spec.scenario or "",
        "spec": json.dumps(spec),
        "spec_file": p.spec.source,
        "sd_version": sd.__version__,
        "pysd_version": pysd.__version__,
        "outcome_time_resolution": "every time step" if p.ts_rows is not None else "saveper",
        _store.KEY_ATTR: json.dumps(p.key, sort_keys=True),
    }


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            sub = [s for s in sorted(set(a) | set(b)) if a.get(s) != b.get(s)]
            out.append(f"{k} ({', '.join(map(repr, sub[:4]))}{' ...' if len(sub) > 4 else ''})")
        elif k == "model_sha256":
            out.append(f"model (sha256 {str(a)[:12]} in the store, {str(b)[:12]} now)")
        else:
            out.append(f"{k} ({a!r} in the store, {b!r} now)")
    return out


def prepare_store(p: Plan, *, overwrite: bool = False, create: bool = True) -> tuple[Plan, np.ndarray]:
    """Check an existing store against the plan (adopting its chunk), or create it. Returns the done mask."""
    attrs = None if overwrite else _store.read_attrs(p.store)
    if attrs is not None:
        if _store.KEY_ATTR not in attrs:
            raise SpecError(f"store {p.store}: is not an sd sweep store; pass --overwrite to replace it")
        old = json.loads(attrs[_store.KEY_ATTR])
        if old != json.loads(json.dumps(p.key, sort_keys=True)):
            diff = "; ".join(_differences(old, json.loads(json.dumps(p.key))))
            raise SpecError(
                f"store {p.store}: was written by a different sweep (differs in: {diff}); "
                "pass --overwrite to replace it, or choose another store"
            )
        if int(attrs["chunk"]) != p.chunk:  # the store's chunking wins: results do not depend on it
            p = Plan(**{**p.__dict__, "chunk": int(attrs["chunk"])})
        return p, _store.done_mask(p.store, p.n_chunks)
    if create:
        if overwrite:
            _store.remove_store(p.store)
        ds = template(p)
        _store.init_store(p.store, ds, p.chunk, p.n_chunks, _attrs(p))
    return p, np.zeros(p.n_chunks, dtype=bool)


# ------------------------------------------------------------------------------------------------
# progress
class Progress:
    """A one-line progress report on stderr: draws done, draws/s and ETA."""

    def __init__(self, total: int, done: int, stream: Any = None, every: float = 0.5) -> None:
        self.total, self.done0, self.done = total, done, done
        self.t0 = _time.perf_counter()
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if self.tty else 5.0
        self.last = -math.inf

    def update(self, n: int, force: bool = False) -> None:
        self.done += n
        now = _time.perf_counter()
        if not force and now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        el = now - self.t0
        rate = (self.done - self.done0) / el if el > 0 else 0.0
        left = self.total - self.done
        eta = f"{int(left / rate) // 60}:{int(left / rate) % 60:02d}" if rate > 0 else "?"
        line = (f"sweep: {self.done:,}/{self.total:,} draws ({100 * self.done / self.total:5.1f}%)  "
                f"{rate:,.0f} draws/s  elapsed {int(el) // 60}:{int(el) % 60:02d}  ETA {eta}")  # fmt: skip
        end = "\r" if self.tty and self.done < self.total else "\n"
        print(line.ljust(90), end=end, file=self.stream, flush=True)


# ------------------------------------------------------------------------------------------------
# the driver
def _local_workers(workers: int | None) -> int:
    if workers is not None:
        if workers < 1:
            raise SpecError(f"--workers must be >= 1, got {workers}")
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def sweep(
    spec: Spec | str | Path,
    *,
    draws: int | None = None,
    chunk: int | str | None = None,
    store: str | Path | None = None,
    backend: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    cluster: str | None = None,
    overwrite: bool = False,
    progress: bool | Callable[[int], None] = False,
) -> Any:
    """Run (or resume) the sweep ``spec`` and return its store as a lazy xarray Dataset.

    Parameters
    ----------
    spec
        A :class:`Spec` or the path of a TOML spec file.
    draws, chunk, store, backend
        Override the spec's values (backend: numpy | cupy | fused | auto; ``auto`` resolves on each worker
        to the GPU when cupy and a device are usable, else fused CPU, else numpy; see docs/gpu.md).
    scheduler
        None or "local": a ``distributed.LocalCluster`` with one single-threaded worker process per core
        (``workers`` of them); "local-cuda": a ``dask_cuda.LocalCUDACluster`` (one worker per visible
        GPU); "threads" or "sync": dask's local schedulers; "tcp://host:port": an existing
        dask.distributed scheduler. Overrides the spec's ``scheduler``.
    client
        A ``distributed.Client`` to run on (overrides ``scheduler``).
    cluster
        "local-cuda" (the CLI's ``--cluster``): same as ``scheduler="local-cuda"``; raises
        :class:`sd.BackendUnavailableError` at once without dask-cuda or a GPU.
    overwrite
        Replace a store written by a different sweep instead of refusing it.
    progress
        True prints a progress line on stderr; a callable receives the draws of each finished chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``(draw, time)``: the stored time series, the outcomes along ``draw`` and the sampled
        parameters as coordinates along ``draw``; attrs with the spec, seed, model hash and versions, and
        ``backend_used`` (what the chunks ran with: numpy | cupy | fused-cpu | fused-cuda).
    """
    if cluster is not None and cluster not in ("local", "local-cuda"):
        raise SpecError(f"--cluster: {cluster!r} is not a cluster kind; expected local-cuda (or local)")
    if cluster == "local-cuda" and client is None:
        from sd.sweep.resources import local_cuda_available

        local_cuda_available()  # fail at once, before the model is even loaded
    p = plan(spec, draws=draws, chunk=chunk, store=store, backend=backend)
    sched = cluster or scheduler or p.spec.scheduler
    if client is None:
        check_scheduler(sched, p.spec.source)
    own: tuple[Any, Any] | None = None
    if client is None and sched is not None and (sched == "local-cuda" or "://" in sched):
        client, cluster_obj = _connect(sched, workers)
        own = (client, cluster_obj)
    try:
        if p.spec.chunk == "auto":
            p = size_chunks(p, sched, workers, client)
        log.info("sweep: chunk %d draws (%s budget %.0f MB per task)", p.chunk, p.memory_source,
                 p.memory_budget / 2**20)  # fmt: skip
        p, done = prepare_store(p, overwrite=overwrite)
        todo = [i for i in range(p.n_chunks) if not done[i]]
        if todo:
            design = None
            if p.spec.sampler in ("saltelli", "morris"):
                design = _sample.design(p.spec.sampler, p.spec.seed, p.draws, len(p.params),
                                        dict(p.spec.sampler_options))  # fmt: skip
            report: Callable[[int], None] | None
            if progress is True:
                bar = Progress(p.draws, int(sum(p.bounds(i)[1] - p.bounds(i)[0] for i in range(p.n_chunks)
                                                if done[i])))  # fmt: skip
                report = bar.update
            elif callable(progress):
                report = progress
            else:
                report = None
            used: dict[str, int] = {}
            splits = [0]
            try:
                _execute(p, todo, design, sched, workers, client, report, used, splits)
            finally:
                if used:
                    record_backends(p, used, splits[0])
    finally:
        if own is not None:
            own[0].close()
            if own[1] is not None:
                own[1].close()
    return _store.open_result(p.store, p.sampled)


def check_scheduler(sched: str | None, source: str = "<spec>") -> None:
    if sched is not None and sched not in (*LOCAL_SCHEDULERS, "local-cuda") and "://" not in sched:
        raise SpecError(f"{source}: scheduler: {sched!r} is not a scheduler address; expected "
                        "tcp://host:port, or local | local-cuda | threads | sync")  # fmt: skip
    if sched == "local-cuda":
        from sd.sweep.resources import local_cuda_available

        local_cuda_available()


def _connect(sched: str, workers: int | None) -> tuple[Any, Any]:
    """A client (and the cluster it owns, or None) for ``local-cuda`` or a scheduler address."""
    from distributed import Client

    if sched == "local-cuda":
        from dask_cuda import LocalCUDACluster

        kwargs: dict[str, Any] = {"dashboard_address": ":0", "silence_logs": logging.ERROR}
        if workers is not None:
            kwargs["n_workers"] = workers
        cluster = LocalCUDACluster(**kwargs)
        return Client(cluster), cluster
    try:
        return Client(sched, timeout="30s"), None
    except Exception as err:  # OSError, TimeoutError, ValueError for a malformed address
        raise SpecError(
            f"scheduler: cannot connect to {sched!r} ({type(err).__name__}: {err}); expected "
            "tcp://host:port of a running dask scheduler, or local | local-cuda | threads | sync"
        ) from err


def memory_budget(sched: str | None, workers: int | None, client: Any = None,
                  backend: str = "auto") -> tuple[int, str]:  # fmt: skip
    """(bytes one chunk task may use, where that came from) on the workers that will run the sweep.

    On GPU workers: a fraction of the device's free memory; on CPU workers: a fraction of the worker's
    memory limit per thread (or of the available RAM), at most :data:`TASK_MEMORY` (larger CPU chunks only
    cost load balance). With a client, every worker is asked (``client.run``) and the smallest wins.
    """
    from sd.sweep import resources

    if client is not None:
        try:
            infos = list(client.run(resources.worker_memory).values())
        except Exception as err:  # a worker without psutil, ...: keep the default
            log.warning("sweep: could not ask the workers for their memory (%s)", err)
            infos = []
    elif sched in ("sync", "synchronous"):
        infos = [resources.worker_memory(1)]
    else:
        infos = [resources.worker_memory(_local_workers(workers))]
    if not infos:
        return TASK_MEMORY, "default"
    info = min(infos, key=lambda d: int(d["bytes"]))
    gpu = all(d["device"] == "gpu" for d in infos) and backend in ("auto", "cupy", "fused")
    if gpu:
        return max(1, int(info["bytes"])), f"{info['source']} x {resources.GPU_MEMORY_FRACTION}"
    cpu = [d for d in infos if d["device"] == "cpu"] or infos
    info = min(cpu, key=lambda d: int(d["bytes"]))
    b = int(info["bytes"])
    if b >= TASK_MEMORY:
        return TASK_MEMORY, f"default (<= {info['source']} x {resources.HOST_MEMORY_FRACTION})"
    return max(1, b), f"{info['source']} x {resources.HOST_MEMORY_FRACTION}"


def size_chunks(p: Plan, sched: str | None, workers: int | None, client: Any = None) -> Plan:
    """The plan with ``chunk = "auto"`` sized for the memory of the workers that will run it."""
    import dataclasses

    if p.spec.chunk != "auto":
        return p
    budget, source = memory_budget(sched, workers, client, p.backend)
    return dataclasses.replace(p, chunk=auto_chunk(p.draws, p.bytes_per_draw, budget),
                               memory_budget=budget, memory_source=source)  # fmt: skip


def record_backends(p: Plan, used: Mapping[str, int], splits: int = 0) -> None:
    """Add what the chunks ran with to the store's attrs (merged with earlier runs of a resumed sweep):
    ``backend_used`` (sorted names), ``backend_chunks`` ({name: chunks}), ``backend_requested``,
    ``oom_splits`` (out-of-memory halvings)."""
    import zarr

    group = zarr.open_group(p.store, mode="r+")
    attrs: dict[str, Any] = dict(group.attrs)
    old: dict[str, Any] = dict(attrs.get("backend_chunks") or {})
    for name, count in used.items():
        old[name] = int(old.get(name, 0)) + int(count)
    group.attrs.update({
        "backend_requested": p.backend,
        "backend_chunks": old,
        "backend_used": sorted(old),
        "oom_splits": int(attrs.get("oom_splits") or 0) + int(splits),
    })  # fmt: skip
    log.info("sweep: backend %s (requested %s)", ", ".join(f"{k}: {v} chunk(s)" for k, v in
                                                           sorted(old.items())), p.backend)  # fmt: skip


def _rows(p: Plan, design: np.ndarray | None, i: int) -> np.ndarray | None:
    if design is None:
        return None
    a, b = p.bounds(i)
    return design[a:b].copy()


def _execute(p: Plan, todo: list[int], design: np.ndarray | None, scheduler: str | None,
             workers: int | None, client: Any, report: Callable[[int], None] | None,
             used: dict[str, int], splits: list[int]) -> None:  # fmt: skip
    def done(result: Any) -> None:
        _i, n, backend, k = result
        for name in str(backend).split(","):
            used[name] = used.get(name, 0) + 1
        splits[0] += int(k)
        if report is not None:
            report(n)

    if client is None and scheduler in ("threads", "sync", "synchronous", "processes"):
        import dask
        from dask.callbacks import Callback

        tasks = [dask.delayed(run_chunk, pure=False)(p, i, _rows(p, design, i),
                                                     dask_key_name=f"sd-chunk-{i}") for i in todo]  # fmt: skip

        class _CB(Callback):
            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
                if isinstance(result, tuple) and len(result) == 4:
                    done(result)

        sched = "sync" if scheduler == "synchronous" else scheduler
        kwargs = {"num_workers": _local_workers(workers)} if sched != "sync" else {}
        with _CB():
            dask.compute(*tasks, scheduler=sched, **kwargs)
        return
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = client is None
    if client is None:
        cluster = LocalCluster(
            n_workers=min(_local_workers(workers), len(todo)), threads_per_worker=1,
            processes=True, dashboard_address=":0", silence_logs=logging.ERROR,
        )  # fmt: skip
        client = Client(cluster)
    try:
        futures = [
            client.submit(run_chunk, p, i, _rows(p, design, i), key=f"sd-chunk-{i}-{p.model_sha256[:8]}-"
                          f"{os.getpid()}-{_time.time_ns()}", pure=False, retries=2)
            for i in todo
        ]
        try:
            for fut in as_completed(futures):
                done(fut.result())
        finally:
            for fut in futures:
                fut.cancel()
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()


def describe(p: Plan, done: np.ndarray | None = None, scheduler: str | None = None,
             workers: int | None = None) -> str:  # fmt: skip
    """The plan in words (``sd sweep --dry-run``)."""

    def size(b: float) -> str:
        for unit in ("B", "KB", "MB", "GB", "TB"):
            if b < 1024 or unit == "TB":
                return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
            b /= 1024
        return ""  # pragma: no cover

    sched = scheduler or p.spec.scheduler or "local"
    where = (f"LocalCluster, {_local_workers(workers)} worker process(es) x 1 thread"
             if sched == "local" else sched)  # fmt: skip
    lines = [
        f"sweep {p.spec.source}",
        f"  model      {p.model_path} (sha256 {p.model_sha256[:12]})",
        f"  scenario   {p.spec.scenario or '(model defaults)'}"
        + (f" + {len(p.base)} fixed value(s)" if p.base else ""),
        f"  sampler    {p.spec.sampler}, seed {p.spec.seed}, {len(p.params)} parameter(s)",
        f"  draws      {p.draws:,}",
        f"  chunks     {p.n_chunks:,} of {p.chunk:,} draws",
        f"  memory     ~{size(p.bytes_per_draw * p.chunk)} per chunk task"
        + (f" (auto: budget {size(p.memory_budget)}, {p.memory_source})" if p.spec.chunk == "auto" else ""),
        f"  outputs    {len(p.timeseries)} time series x {len(p.times)} times, {len(p.outcomes)} outcome(s)"
        + (f" (reduced over {p.n_time_full} time steps)" if p.outcomes else "")
        + (f", {len(p.checks)} reality check(s)" if p.checks else ""),
        f"  store      {p.store} (~{size(p.store_bytes())} uncompressed)",
        f"  scheduler  {where}",
        f"  backend    {p.backend}",
    ]
    if done is not None and done.any():
        lines.append(f"  resume     {int(done.sum())} of {p.n_chunks} chunks already done")
    return "\n".join(lines)

