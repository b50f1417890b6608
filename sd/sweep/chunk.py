"""One chunk task: its draws' parameters, the run, the outcome reductions and checks, its store region.

A task builds its rows of the unit design (:mod:`sd.sweep.sample`), maps them through the parameter
distributions, runs the model on all its draws at once (``Model.run``) with the outcomes computed where
the draws are (inside the fused kernel, or as the numpy run saves each time step: no series is kept that
is not stored), the reality checks and ``first_time`` conditions among them wherever their condition
lowers into the IR; the others (the fallback) are evaluated here on the saved series (``end`` checks on
final values the run computes). It runs the paired twin when the spec has one, writes its region of the
zarr store and then marks itself done (:mod:`sd.sweep.store`).
An out-of-memory error halves the draw range and retries (:func:`compute_range`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sd.conditions import compile_condition
from sd.sweep import sample as _sample
from sd.sweep import store as _store
from sd.sweep.planning import Plan, PlannedCheck, PlannedOutcome, load_model
from sd.sweep.store import check_var

__all__ = [
    "ChunkData",
    "RunResult",
    "check_values",
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


@dataclass
class RunResult:
    """What a chunk reads from one run (:meth:`Model.run_arrays`), as host arrays along draw: the saved
    ``series`` (draw, time) and the run-level outcome ``values`` (draw,) by label, the sampled ``given``
    constants and the saved ``times``."""

    series: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    given: dict[str, np.ndarray]
    times: np.ndarray
    n: int
    backend: str


@dataclass
class ChunkData:
    """A chunk's arrays by store name, (draw,) or (draw, time), for draws ``start:stop``; ``backend``: what
    ran it; ``splits``: its out-of-memory halvings."""

    start: int
    stop: int
    arrays: dict[str, np.ndarray]
    backend: str
    splits: int = 0

    def dataset(self) -> Any:
        """The chunk as an :class:`xarray.Dataset` along ``draw`` (and ``time``)."""
        import xarray as xr

        data = {k: (("draw", "time")[: v.ndim], v) for k, v in self.arrays.items()}
        return xr.Dataset(data, coords={"draw": np.arange(self.start, self.stop)},
                          attrs={"backend": self.backend, "splits": self.splits})  # fmt: skip


def compute_chunk(p: Plan, i: int, rows: np.ndarray | None = None) -> ChunkData:
    """Run chunk ``i``: its stored series, parameters, outcomes and checks (:class:`ChunkData`)."""
    return compute_range(p, *p.bounds(i), rows)


def compute_range(p: Plan, start: int, stop: int, rows: np.ndarray | None = None,
                  backend: str | None = None) -> ChunkData:  # fmt: skip
    """Draws ``start:stop``; an out-of-memory error halves the range and retries.

    Each draw's values do not depend on the draws run beside it, so the halves, concatenated, equal the
    unsplit run bit for bit. A process that had to split remembers the size that fitted and starts its
    later chunks in sub-batches of that size.
    """
    from sd.sweep import resources

    if backend is None:
        backend = resources.resolve_backend(p.backend)
    key = f"{p.model_sha256}:{backend}"
    limit = _BATCH_LIMIT.get(key)
    n = stop - start
    if limit is not None and n > limit:
        pieces = [(a, min(stop, a + limit)) for a in range(start, stop, limit)]
        return _concat([compute_range(p, a, b, None if rows is None else rows[a - start:b - start], backend)
                        for a, b in pieces])  # fmt: skip
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
    return _concat([a, b])


def _concat(parts: list[ChunkData]) -> ChunkData:
    arrays = {k: np.concatenate([x.arrays[k] for x in parts], axis=0) for k in parts[0].arrays}
    backend = ",".join(sorted({x.backend for x in parts}))
    splits = sum(x.splits for x in parts) + (len(parts) - 1)
    return ChunkData(parts[0].start, parts[-1].stop, arrays, backend, splits)


_END = "__end__ "  # label prefix of the final values an ``end`` check reads (computed by the run)


def run_outcomes(p: Plan) -> list[Any]:
    """The run-level outcomes of a chunk's run: every outcome and check the run computes
    (:attr:`PlannedOutcome.run`, :attr:`PlannedCheck.run`) and the final value of each variable an ``end``
    check on the series path reads."""
    from sd.ir.outcomes import Outcome

    outs = [o.run for o in p.outcomes if o.run is not None] + [c.run for c in p.checks if c.run is not None]
    ends = dict.fromkeys(
        v for c in p.checks if c.when == "end" and c.run is None for v in c.reads if v not in p.base
    )
    model = load_model(p.model_path, p.model_sha256, None, p.data_given)
    outs += [
        Outcome("final", v, name=_END + v)
        for v in ends
        if v not in p.sampled and model.ir.variables[model.resolve(v)].kind != "constant"
    ]
    return outs


def _run(p: Plan, values: dict[str, np.ndarray], start: int, stop: int, backend: str,
         outputs: list[str], changes: dict[str, float] | None = None) -> RunResult:  # fmt: skip
    """``Model.run_arrays`` of draws ``start:stop`` with the sampled ``values`` (and the twin's
    ``changes``): the series ``outputs`` and the run-level outcomes (:func:`run_outcomes`). No xarray."""
    from sd.simulate import to_numpy

    run_values: dict[str, Any] = dict(values)
    run_backend = backend
    if backend == "gpu":  # device inputs: Model.run's auto runs the fused CUDA kernel, else cupy
        from sd.simulate import cupy_module

        cupy = cupy_module()
        run_values = {k: cupy.asarray(v) for k, v in values.items()}
        run_backend = "auto"
    model = load_model(p.model_path, p.model_sha256, p.data_files, p.data_given)
    n = stop - start
    ra = model.run_arrays({**p.base, **run_values, **(changes or {})}, outputs=outputs, draws=n,
                          saveper=p.run_saveper, final_time=p.final_time, backend=run_backend,
                          first_draw=start, outcomes=run_outcomes(p))  # fmt: skip
    given = {k: np.broadcast_to(to_numpy(v), (n,)) for k, v in ra.given.items()}
    return RunResult(ra.series(), {k: to_numpy(v) for k, v in ra.reds.items()}, given,
                     np.asarray(ra.saved), n, str(ra.attrs["backend"]))  # fmt: skip


def _compute(p: Plan, start: int, stop: int, rows: np.ndarray | None, backend: str) -> ChunkData:
    from sd.sweep import resources

    n = stop - start
    resources.simulated_memory_check(n, p.bytes_per_draw)  # test hook; a no-op unless its env var is set
    values = range_params(p, start, stop, rows)
    run = _run(p, values, start, stop, backend, p.run_outputs)
    data: dict[str, np.ndarray] = {}
    for name in p.timeseries:
        arr = run.series[name]
        if p.ts_rows is not None:
            arr = arr[:, p.ts_rows]
        data[name] = np.ascontiguousarray(arr)
    data.update(values)
    outcomes = {o.name: o for o in p.outcomes}
    for o in p.outcomes:
        data[o.name] = outcome_values(run, p, o)
    for c in p.checks:
        data[check_var(c.name)] = check_values(run, p, c)
    result = ChunkData(start, stop, data, run.backend)
    if p.paired is not None:
        del run  # the twin runs with this chunk's series released
        # the same outputs as the draw's run: the fused backend reuses its compiled kernel
        twin = _run(p, values, start, stop, backend, p.run_outputs, dict(p.paired.set))
        for o in (outcomes[k] for k in p.paired.outcomes):
            data[p.paired.stored(o.name)] = data[o.name] - outcome_values(twin, p, o)
    return result


def _env(run: RunResult, p: Plan, names: list[str], rows: list[int] | None,
         end: bool = False) -> dict[str, Any]:  # fmt: skip
    """``{name: (draws, times) array}`` of a condition's variables: series from the run (at ``rows``,
    or the last time only with ``end``), constants as (draws, 1) columns."""
    env: dict[str, Any] = {}
    for v in names:
        if end and _END + v in run.values:  # the final value, computed by the run
            env[v] = np.asarray(run.values[_END + v])[:, None]
        elif v in run.series:
            arr = run.series[v]
            if rows is not None:
                arr = arr[:, rows]
            env[v] = arr[:, -1:] if end else arr
        elif v in run.given:  # a sampled constant
            env[v] = np.asarray(run.given[v], dtype=float)[:, None]
        else:  # a constant fixed by the scenario, the spec or the model
            value = p.base.get(v)
            if value is None:
                value = load_model(p.model_path, p.model_sha256, p.data_files, p.data_given).constants[v].value
            env[v] = np.full((run.n, 1), float(value))
    return env


def _holds(expr: str, env: dict[str, Any]) -> np.ndarray:
    """Where ``expr`` holds, as a (draws, times) boolean array."""
    holds = compile_condition(expr, list(env))(env)
    return np.broadcast_to(holds, np.broadcast_shapes(holds.shape, *(a.shape for a in env.values())))


def violations(run: RunResult, p: Plan, expr: str, when: str, names: list[str]) -> np.ndarray:
    """Per draw: does the check fail at any saved time (``always``) or at the final time (``end``)?"""
    holds = _holds(expr, _env(run, p, names, p.ts_rows, end=when == "end"))
    return np.asarray(~holds.all(axis=1), dtype=bool)


def check_values(run: RunResult, p: Plan, c: PlannedCheck) -> np.ndarray:
    """Per draw: does check ``c`` fail? From the run where it computed it (:attr:`PlannedCheck.run`),
    else from the series (:func:`violations`)."""
    if c.run is not None:
        return np.asarray(run.values[c.run.label]) != 0
    return violations(run, p, c.expr, c.when, list(c.reads))


def outcome_values(run: RunResult, p: Plan, o: PlannedOutcome) -> np.ndarray:
    """The ``(draw,)`` values of outcome ``o`` from the run: computed by the run where it has a run-level
    outcome (:attr:`PlannedOutcome.run`), else from the series at every time step."""
    if o.run is not None:
        return np.asarray(run.values[o.name])
    if o.kind == "first_time":
        assert o.condition is not None
        return first_time(_holds(o.condition, _env(run, p, list(o.reads), None)), run.times)
    return reduce_outcome(run.series[o.variable], run.times, o.kind, o.row if o.kind == "at" else o.reduce)


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


def run_chunk(p: Plan, i: int, rows: np.ndarray | None = None,
              sink: Callable[[ChunkData], None] | None = None,
              writer: _store.ChunkWriter | None = None) -> tuple[int, int, str, int]:  # fmt: skip
    """The task: compute chunk ``i``, write its region (once, after any OOM halvings), then mark it done;
    ``sink`` (tasks run in the caller's process only) then receives the chunk's data. ``writer``: the
    store's arrays opened once for the tasks of this process.

    Returns (i, draws, backend that ran, out-of-memory splits)."""
    start, stop = p.bounds(i)
    data = compute_chunk(p, i, rows)
    _store.write_region(p.store, start, stop, data.arrays, writer=writer)
    _store.mark_done(p.store, i, data.backend, data.splits, writer=writer)
    if sink is not None:
        sink(data)
    return i, stop - start, data.backend, data.splits
