"""One chunk task: its draws' parameters, the run, the outcome reductions and checks, its store region.

A task builds its rows of the unit design (:mod:`sd.sweep.sample`), maps them through the parameter
distributions, runs the model on all its draws at once (``Model.run``) with the outcomes computed where
the draws are (inside the fused kernel, or as the numpy run saves each time step: no series is kept that
is not stored), reduces compound ``first_time`` conditions from the series at every time step, evaluates
the reality checks (``end`` checks on final values the run computes), runs the paired twin when the
spec has one, writes its region of the zarr store and then marks itself done (:mod:`sd.sweep.store`).
An out-of-memory error halves the draw range and retries (:func:`compute_range`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from sd.conditions import compile_condition
from sd.sweep import sample as _sample
from sd.sweep import store as _store
from sd.sweep.planning import Plan, PlannedOutcome, load_model
from sd.sweep.store import check_var

__all__ = [
    "check_var",
    "compute_chunk",
    "compute_range",
    "range_params",
    "reduce_outcome",
    "run_chunk",
    "violations",
]

log = logging.getLogger("sd.sweep")

_BATCH_LIMIT: dict[str, int] = {}  # per process: the largest sub-batch that fitted after an OOM


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


_END = "__end__ "  # label prefix of the final values an ``end`` check reads (computed by the run)


def run_outcomes(p: Plan) -> list[Any]:
    """The run-level outcomes of a chunk's run: every outcome the run computes (:attr:`PlannedOutcome.run`)
    and the final value of each variable an ``end`` check reads."""
    from sd.ir.outcomes import Outcome

    outs = [o.run for o in p.outcomes if o.run is not None]
    ends = dict.fromkeys(v for c in p.checks if c.when == "end" for v in c.reads if v not in p.base)
    model = load_model(p.model_path, p.model_sha256)
    outs += [
        Outcome("final", v, name=_END + v)
        for v in ends
        if v not in p.sampled and model.ir.variables[model.resolve(v)].kind != "constant"
    ]
    return outs


def _run(p: Plan, values: dict[str, np.ndarray], start: int, stop: int, backend: str,
         outputs: list[str], changes: dict[str, float] | None = None) -> Any:  # fmt: skip
    """``Model.run`` of draws ``start:stop`` with the sampled ``values`` (and the twin's ``changes``):
    the series ``outputs`` and the run-level outcomes (:func:`run_outcomes`)."""
    run_values: dict[str, Any] = dict(values)
    run_backend = backend
    if backend == "gpu":  # device inputs: Model.run's auto runs the fused CUDA kernel, else cupy
        from sd.simulate import cupy_module

        cupy = cupy_module()
        run_values = {k: cupy.asarray(v) for k, v in values.items()}
        run_backend = "auto"
    model = load_model(p.model_path, p.model_sha256, p.data_files)
    return model.run({**p.base, **run_values, **(changes or {})}, outputs=outputs, draws=stop - start,
                     saveper=p.run_saveper, final_time=p.final_time, backend=run_backend,
                     first_draw=start, outcomes=run_outcomes(p))  # fmt: skip


def _compute(p: Plan, start: int, stop: int, rows: np.ndarray | None, backend: str) -> Any:
    import xarray as xr

    from sd.sweep import resources

    n = stop - start
    resources.simulated_memory_check(n, p.bytes_per_draw)  # test hook; a no-op unless its env var is set
    values = range_params(p, start, stop, rows)
    ds = _run(p, values, start, stop, backend, p.run_outputs)
    data: dict[str, Any] = {}
    for name in p.timeseries:
        arr = ds[name].values
        if p.ts_rows is not None:
            arr = arr[:, p.ts_rows]
        data[name] = (("draw", "time"), np.ascontiguousarray(arr))
    for name, value in values.items():
        data[name] = (("draw",), value)
    outcomes = {o.name: o for o in p.outcomes}
    for o in p.outcomes:
        data[o.name] = (("draw",), outcome_values(ds, p, o))
    for c in p.checks:
        data[check_var(c.name)] = (("draw",), violations(ds, p, c.expr, c.when, list(c.reads)))
    attrs = {"backend": ds.attrs["backend"], "splits": 0}
    if p.paired is not None:
        del ds  # the twin runs with this chunk's series released
        # the same outputs as the draw's run: the fused backend reuses its compiled kernel
        twin = _run(p, values, start, stop, backend, p.run_outputs, dict(p.paired.set))
        for o in (outcomes[k] for k in p.paired.outcomes):
            data[p.paired.stored(o.name)] = (("draw",), data[o.name][1] - outcome_values(twin, p, o))
    return xr.Dataset(data, coords={"draw": np.arange(start, stop)}, attrs=attrs)


def _env(ds: Any, p: Plan, names: list[str], rows: list[int] | None, end: bool = False) -> dict[str, Any]:
    """``{name: (draws, times) array}`` of a condition's variables: series from the run (at ``rows``,
    or the last time only with ``end``), constants as (draws, 1) columns."""
    env: dict[str, Any] = {}
    n = ds.sizes["draw"]
    for v in names:
        if end and _END + v in ds.data_vars:  # the final value, computed by the run
            env[v] = np.asarray(ds[_END + v].values)[:, None]
        elif v in ds.data_vars:
            arr = ds[v].values
            if rows is not None:
                arr = arr[:, rows]
            env[v] = arr[:, -1:] if end else arr
        elif v in ds.coords:  # a sampled constant
            env[v] = np.asarray(ds[v].values, dtype=float)[:, None]
        else:  # a constant fixed by the scenario, the spec or the model
            value = p.base.get(v)
            if value is None:
                value = load_model(p.model_path, p.model_sha256, p.data_files).constants[v].value
            env[v] = np.full((n, 1), float(value))
    return env


def _holds(expr: str, env: dict[str, Any]) -> np.ndarray:
    """Where ``expr`` holds, as a (draws, times) boolean array."""
    holds = compile_condition(expr, list(env))(env)
    return np.broadcast_to(holds, np.broadcast_shapes(holds.shape, *(a.shape for a in env.values())))


def violations(ds: Any, p: Plan, expr: str, when: str, names: list[str]) -> np.ndarray:
    """Per draw: does the check fail at any saved time (``always``) or at the final time (``end``)?"""
    holds = _holds(expr, _env(ds, p, names, p.ts_rows, end=when == "end"))
    return np.asarray(~holds.all(axis=1), dtype=bool)


def outcome_values(ds: Any, p: Plan, o: PlannedOutcome) -> np.ndarray:
    """The ``(draw,)`` values of outcome ``o`` from the run ``ds``: computed by the run where it has a
    run-level outcome (:attr:`PlannedOutcome.run`), else from the series at every time step."""
    if o.run is not None:
        return np.asarray(ds[o.name].values)
    times = np.asarray(ds["time"].values)
    if o.kind == "first_time":
        assert o.condition is not None
        return first_time(_holds(o.condition, _env(ds, p, list(o.reads), None)), times)
    return reduce_outcome(ds[o.variable].values, times, o.kind, o.row if o.kind == "at" else o.reduce)


def first_time(hit: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per draw: the first of ``times`` where ``hit`` (draws, times) is true; NaN where it never is."""
    first = hit.argmax(axis=1)
    return np.where(hit.any(axis=1), np.asarray(times)[first], np.nan)


def reduce_outcome(series: np.ndarray, times: np.ndarray, kind: str, arg: Any) -> np.ndarray:
    """One outcome per draw from ``series`` of shape (draws, times): ``at`` (``arg``: the row) or
    ``reduce`` (``arg``: max | min | mean | final | initial)."""
    if kind == "at":
        return series[:, int(arg)].copy()
    if kind != "reduce":
        raise ValueError(kind)
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


def run_chunk(p: Plan, i: int, rows: np.ndarray | None = None) -> tuple[int, int, str, int]:
    """The task: compute chunk ``i``, write its region (once, after any OOM halvings), then mark it done.

    Returns (i, draws, backend that ran, out-of-memory splits)."""
    start, stop = p.bounds(i)
    ds = compute_chunk(p, i, rows)
    backend, splits = str(ds.attrs["backend"]), int(ds.attrs.get("splits", 0))
    ds = ds.drop_vars("draw")
    ds.attrs = {}
    # every chunk written, NaN-only ones too: a missing chunk file is then damage, not NaN
    ds.to_zarr(p.store, region={"draw": slice(start, stop)}, mode="r+", consolidated=False,
               write_empty_chunks=True)  # fmt: skip
    _store.mark_done(p.store, i, backend, splits)
    return i, stop - start, backend, splits
