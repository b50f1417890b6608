"""Plan a sweep: validate the spec against its model and resolve everything a chunk task needs.

:func:`plan` does no work beyond loading the model and reading its time grid: it resolves the parameters
(scenario values, fixed values, distributions with the model's ranges filled in), the variables the run
saves, the outcomes and reality checks as typed records (:class:`PlannedOutcome`, :class:`PlannedCheck`),
the paired counterfactual (:class:`PlannedPairs`), the chunk size and the store's identity key. Every
error is a :class:`sd.errors.SpecError` naming the spec file and key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sd.conditions import UnknownName, compile_condition
from sd.errors import ModelError, ParamError, SpecError
from sd.ir.nodes import Ref
from sd.ir.outcomes import FIRST_OPS
from sd.ir.outcomes import Outcome as RunOutcome
from sd.sweep.spec import Distribution, Outcome, Spec, load_spec

__all__ = [
    "CHECK_LABEL",
    "TASK_MEMORY",
    "Plan",
    "PlannedCheck",
    "PlannedOutcome",
    "PlannedPairs",
    "auto_chunk",
    "load_model",
    "plan",
]

TASK_MEMORY = 512 * 2**20  # target bytes per task for chunk = "auto"


@dataclass(frozen=True)
class PlannedOutcome:
    """One ``[outcomes]`` entry, resolved: how its ``(draw,)`` value is reduced from the run's series.

    ``kind`` is ``at`` (the value at full-resolution ``row``), ``reduce`` (``reduce`` over time) or
    ``first_time`` (the first time ``condition`` holds; NaN if never). ``variable`` is the series it
    reduces (for ``first_time``: the first variable its condition reads); ``reads`` every model variable
    it reads (Vensim names). ``run``: the run-level outcome that computes it where the draws are computed
    (in the fused kernel, or as the numpy run saves), named ``name``: a ``first`` for ``variable <op>
    number``, a ``when`` for any other condition :meth:`sd.conditions.Condition.lower` can express; None
    for the rest (and with ``plan(..., run_conditions=False)``), evaluated on the saved series.
    """

    name: str
    variable: str
    kind: str
    row: int | None = None
    reduce: str | None = None
    condition: str | None = None
    reads: tuple[str, ...] = ()
    run: RunOutcome | None = None


CHECK_LABEL = "__check__ "  # label prefix of the run-level outcomes of reality checks


@dataclass(frozen=True)
class PlannedCheck:
    """One ``[checks]`` entry, resolved: ``expr`` must hold ``when`` (always | end); it reads ``reads``.
    ``run``: the run-level outcome (``fails`` at the stored times, or ``fails_end``) that computes it where
    the draws are computed; None where the condition cannot be lowered (or ``run_conditions=False``):
    then it is evaluated on the saved series (or the final values) of what it reads."""

    name: str
    expr: str
    when: str
    reads: tuple[str, ...]
    run: RunOutcome | None = None


@dataclass(frozen=True)
class PlannedPairs:
    """The ``[paired]`` counterfactual, resolved: every draw also runs its twin with ``set`` (Vensim
    names -> values) and stores ``outcome(draw) - outcome(twin)`` as ``names[outcome]`` for each of
    ``outcomes``."""

    prefix: str
    set: Mapping[str, float]
    outcomes: tuple[str, ...]

    def stored(self, outcome: str) -> str:
        return f"{self.prefix} {outcome}"

    @property
    def names(self) -> list[str]:
        return [self.stored(o) for o in self.outcomes]

    def to_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "set": dict(self.set), "outcomes": list(self.outcomes)}


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
    run_outputs: list[str]  # variables the run saves as series (stored series, conditions not on the run)
    timeseries: list[str]
    ts_rows: list[int] | None  # rows of the full-resolution run kept for the stored series
    times: list[float]  # stored time coordinate
    outcomes: list[PlannedOutcome]
    run_saveper: float | None
    final_time: float | None
    backend: str
    key: dict[str, Any] = field(default_factory=dict)
    checks: list[PlannedCheck] = field(default_factory=list)
    bytes_per_draw: int = 0
    n_time_full: int = 0
    memory_budget: int = TASK_MEMORY  # bytes per chunk task that chunk = "auto" was sized for
    memory_source: str = "default"
    paired: PlannedPairs | None = None
    data_files: dict[str, str] = field(default_factory=dict)  # data files the model reads -> SHA-256
    # the spec's data_files, resolved (sd.load(path, data_files=...)): data variables without an equation
    data_given: list[str] | dict[str, list[str]] | None = None

    @property
    def n_chunks(self) -> int:
        return -(-self.draws // self.chunk)

    def bounds(self, i: int) -> tuple[int, int]:
        return i * self.chunk, min(self.draws, (i + 1) * self.chunk)

    @property
    def sampled(self) -> list[str]:
        return [p for p, _ in self.params]

    def store_bytes(self) -> int:
        n_paired = len(self.paired.outcomes) if self.paired else 0
        per_draw = 8 * (len(self.times) * len(self.timeseries) + len(self.params) + len(self.outcomes)
                        + n_paired + 1)  # fmt: skip
        per_draw += len(self.checks)
        return self.draws * per_draw


def _key(spec: Spec, sha: str, base: Mapping[str, float], params: list[tuple[str, Distribution]],
         draws: int) -> dict[str, Any]:  # fmt: skip
    """What decides the stored result: compared with the store's on a rerun."""
    key = {
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
    return key


_MODELS: dict[tuple[str, str, str], Any] = {}


def _file_sha(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _changed_files(model: Any, expected: Mapping[str, str] | None = None) -> list[str]:
    """The data files of ``model`` whose bytes on disk differ from what it read (or from ``expected``)."""
    files = dict(getattr(model.ir, "files", {}) or {})
    if expected is not None:
        files = dict(expected)
    return [f for f, sha in sorted(files.items()) if _file_sha(f) != sha]


def load_model(path: str, sha: str | None = None, files: Mapping[str, str] | None = None,
               data_files: list[str] | dict[str, list[str]] | None = None) -> Any:  # fmt: skip
    """The loaded model, cached per process (workers load it once, on their first chunk).

    ``data_files``: the data files of data variables without an equation (the spec's, resolved).
    A cached model is reloaded when a data file it read has changed on disk. With ``sha`` / ``files``
    (what the plan saw), a model or data file that changed since is a SpecError naming it.
    """
    import sd

    path = os.path.abspath(path)  # the cache key: a relative path names another file after a chdir
    if sha is None:
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    cache_key = (path, sha, json.dumps(data_files, sort_keys=True))
    model = _MODELS.get(cache_key)
    if (model is not None and not _changed_files(model)
            and (files is None or dict(model.ir.files) == dict(files))):  # fmt: skip
        return model
    model = sd.load(path, data_files=data_files)
    if model.sha256 != sha:
        raise SpecError(
            f"{path}: the model file changed during the sweep (sha256 {model.sha256[:12]} != {sha[:12]})"
        )
    if files is not None and dict(model.ir.files) != dict(files):
        changed = sorted(set(files) ^ set(model.ir.files) | {f for f in files if model.ir.files.get(f) != files[f]})
        raise SpecError(f"{changed[0]}: a data file of {Path(path).name} changed during the sweep; rerun "
                        "`sd sweep SPEC` (with --overwrite to start over with the new data)")  # fmt: skip
    _MODELS[cache_key] = model
    return model


def data_file_names(model_path: str | Path, files: Mapping[str, str]) -> dict[str, str]:
    """``files`` keyed by their path relative to the model's folder where they lie under it (the
    store's identity names them so)."""
    root = Path(model_path).resolve().parent
    out = {}
    for f, sha in sorted(files.items()):
        try:
            name = Path(f).relative_to(root).as_posix()
        except ValueError:
            name = f
        out[name] = sha
    return out


def auto_chunk(draws: int, bytes_per_draw: int, budget: int) -> int:
    """The chunk of ``chunk = "auto"``: what fits ``budget`` bytes, at most 1/16 of the draws (>= 4096)."""
    cap = max(1, budget // max(1, bytes_per_draw))
    if cap > 1024:
        cap -= cap % 1024
    return min(cap, max(4096, -(-draws // 16)), draws)


def plan(spec: Spec | str | Path, *, draws: int | None = None, chunk: int | str | None = None,
         store: str | Path | None = None, backend: str | None = None,
         memory: int | None = None, memory_source: str = "default",
         data_files: Any = None, run_conditions: bool = True) -> Plan:  # fmt: skip
    """Validate ``spec`` against its model and resolve everything a chunk needs (no work done).

    ``memory``: the bytes one chunk task may use (``chunk = "auto"`` sizes the chunk from it and the
    model's bytes per draw); default :data:`TASK_MEMORY`. ``data_files`` replaces the spec's.
    ``run_conditions=False`` evaluates every reality check and compound ``first_time`` condition on the
    saved series (the fallback path; the stored values are the same).
    """
    spec = _overridden(spec, draws=draws, chunk=chunk, store=store, backend=backend, data_files=data_files)
    path = spec.resolve_model()
    data_given = spec.resolve_data_files()
    model = load_model(str(path), data_files=data_given)
    base = _scenario(spec, model, path)
    params = _parameters(spec, model, base)
    outs = _Outputs(model, spec.source)
    timeseries = [outs.add(t, f"outputs.timeseries {t!r}") for t in spec.timeseries]
    outcome_reads = {k: _outcome_reads(model, outs, k, o, spec.source) for k, o in spec.outcomes.items()}
    checks = _checks(spec, model, outs)
    paired = _paired(spec, model, params)
    grid = _grid(spec, model, base, bool(outcome_reads))
    outcomes = [_outcome(spec.source, k, o, outcome_reads[k], grid) for k, o in spec.outcomes.items()]
    outcomes = [_on_run(model, o, spec.outcomes[o.name], grid, run_conditions) for o in outcomes]
    if run_conditions:
        checks = [_check_on_run(model, c, grid) for c in checks]
    series = _series(outs.names, timeseries, outcomes, checks)
    n = spec.draws
    assert n is not None
    n_full = len(grid.full_times)
    steps_out = n_full if grid.run_saveper == grid.dt and outcomes else len(grid.times)
    n_paired = len(paired.outcomes) if paired else 0
    bytes_per_draw = 8 * (
        2 * steps_out * len(series) + len(grid.times) * len(timeseries) + 4 * len(model.ir.variables)
        + 3 * len(params) + 2 * len(outcomes) + 2 * n_paired
    )  # fmt: skip
    budget = TASK_MEMORY if memory is None else int(memory)
    ch = auto_chunk(n, bytes_per_draw, budget) if spec.chunk == "auto" else min(int(spec.chunk), n)
    ident = _key(spec, model.sha256, base, params, n)
    ident["timeseries"] = timeseries
    if paired is not None:  # only then: the key of a sweep without [paired] is unchanged
        ident["paired"] = paired.to_dict()
    if model.ir.files:  # only then: the key of a model without data files is unchanged
        ident["data_files"] = data_file_names(path, model.ir.files)
    if spec.data_files is not None:  # which file gives which variable (the bytes are in data_files)
        ident["data_files_given"] = spec.to_dict()["data_files"]
    return Plan(
        spec=spec, model_path=os.path.normpath(Path(path).absolute()), model_sha256=model.sha256,
        store=spec.resolve_store(), draws=n, chunk=ch, params=params, base=base,
        run_outputs=series, timeseries=timeseries, ts_rows=grid.ts_rows, times=grid.times,
        outcomes=outcomes, run_saveper=grid.run_saveper, final_time=spec.final_time,
        backend=spec.backend, key=ident, bytes_per_draw=bytes_per_draw, n_time_full=n_full,
        checks=checks, memory_budget=budget, memory_source=memory_source, paired=paired,
        data_files=dict(model.ir.files), data_given=data_given,
    )  # fmt: skip


def _overridden(spec: Spec | str | Path, **overrides: Any) -> Spec:
    """The spec (loaded from a path if need be) with the CLI's / caller's overrides applied."""
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    changes = {k: v for k, v in overrides.items() if v is not None}
    return spec.replace(**changes) if changes else spec


def _scenario(spec: Spec, model: Any, path: Path) -> dict[str, float]:
    """The scenario's values (Vensim name -> value), checked to be constants of the model."""
    base: dict[str, float] = {}
    if not spec.scenario:
        return base
    from sd.sweep.scenarios import load_scenario

    src = spec.source
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
    return base


def _parameters(spec: Spec, model: Any, base: dict[str, float]) -> list[tuple[str, Distribution]]:
    """The sampled parameters (ranges filled from the model); fixed values are added to ``base``."""
    src = spec.source
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
    return params


class _Outputs:
    """The variables the run saves, in order of first use (each checked to be a non-lookup variable)."""

    def __init__(self, model: Any, source: str) -> None:
        self.model, self.source = model, source
        self.names: list[str] = []

    def add(self, name: str, key: str) -> str:
        try:
            ident = self.model.resolve(name)
        except KeyError:
            raise SpecError(f"{self.source}: {key}: {_unknown(self.model, name)}") from None
        var = self.model.ir.variables[ident]
        if var.kind == "lookup":
            raise SpecError(f"{self.source}: {key}: '{var.name}' is a lookup table, not a variable")
        if var.name not in self.names:
            self.names.append(var.name)
        return str(var.name)

    def reads(self, names: list[str], key: str) -> tuple[str, ...]:
        """Vensim names of the variables a condition reads: constants are read from the draw's
        parameters (or defaults), not saved as series; the others are added to the outputs."""
        out = []
        for v in names:
            var = self.model.ir.variables[self.model.resolve(v)]
            out.append(str(var.name) if var.kind == "constant" else self.add(v, key))
        return tuple(out)


def _compile(model: Any, expr: str, source: str, key: str, bad_key: str | None = None) -> list[str]:
    """The model variables ``expr`` reads; SpecError naming ``key`` (an unknown name) or ``bad_key``
    (anything else wrong with the expression) otherwise."""
    try:
        return compile_condition(expr, model.variables).names
    except UnknownName as err:
        raise SpecError(f"{source}: {key}: {_unknown(model, err.name)}") from None
    except ValueError as err:
        raise SpecError(f"{source}: {bad_key or key}: {err}") from None


def _outcome_reads(model: Any, outs: _Outputs, name: str, o: Outcome, source: str) -> tuple[str, ...]:
    key = f"outcomes.{name!r}"
    if o.first_time is None:
        return (outs.add(str(o.var), key),)
    return outs.reads(_compile(model, o.first_time, source, key, f"{key}.first_time"), key)


def _checks(spec: Spec, model: Any, outs: _Outputs) -> list[PlannedCheck]:
    checks = []
    for k, c in spec.checks.items():
        key = f"checks.{k!r}"
        try:
            names = compile_condition(c.expr, model.variables).names
        except ValueError as err:
            raise SpecError(f"{spec.source}: {key}: {err}") from None
        checks.append(PlannedCheck(k, c.expr, c.when, outs.reads(names, key)))
    return checks


def _paired(spec: Spec, model: Any, params: list[tuple[str, Distribution]]) -> PlannedPairs | None:
    """The ``[paired]`` table resolved against the model: its ``set`` names must be constants that are
    not sampled."""
    pairs = spec.paired
    if pairs is None:
        return None
    src = spec.source
    sampled = {name for name, _ in params}
    values: dict[str, float] = {}
    for name, value in pairs.set.items():
        key = f"paired.set.{name!r}"
        var = _constant(model, name, src, key)
        if var.name in sampled:
            raise SpecError(f"{src}: {key}: '{var.name}' is a sampled parameter; the twin of a draw "
                            "may only change constants that the draw does not sample")  # fmt: skip
        if var.name in values:
            raise SpecError(f"{src}: {key}: the same constant as another name of paired.set")
        values[str(var.name)] = float(value)
    return PlannedPairs(pairs.prefix, values, tuple(pairs.outcomes))


@dataclass(frozen=True)
class _Grid:
    t0: float
    tf: float
    dt: float
    full_times: np.ndarray  # every time step
    times: list[float]  # stored times
    ts_rows: list[int] | None  # rows of the full-resolution run kept for the stored series
    run_saveper: float | None  # what the run saves at (dt when outcomes are reduced)


def _grid(spec: Spec, model: Any, base: Mapping[str, float], outcomes: bool) -> _Grid:
    """The time grid from the model's control values (no simulation); reading them also checks the
    scenario's values and the time overrides."""
    from sd.simulate import time_grid

    try:
        ctrl = model.control_values(base, final_time=spec.final_time)
        sp = spec.saveper if spec.saveper is not None else ctrl["saveper"]
        run_grid = model.time_grid(base, final_time=spec.final_time, saveper=spec.saveper)
        saved_times = run_grid.saved
    except ParamError as err:
        raise SpecError(f"{spec.source}: {err}") from None
    except ModelError as err:  # e.g. FINAL TIME before INITIAL TIME: say whether the spec set it
        key = "final_time: " if spec.final_time is not None else ""
        raise SpecError(f"{spec.source}: {key}{err}") from None
    t0, tf, dt = ctrl["initial_time"], ctrl["final_time"], ctrl["time_step"]
    if run_grid.varying:  # control variables that read TIME: the run's own grid, saved as the model says
        if outcomes:
            names = ", ".join(f"'{model.ir.variables[c].name}'" for c in run_grid.varying)
            raise SpecError(
                f"{spec.source}: outcomes: a sweep reduces outcomes over every time step, but this "
                f"model's control variable(s) {names} change during the run (they read TIME); store "
                "timeseries only for it"
            )
        return _Grid(t0, tf, run_grid.min_step, np.asarray(run_grid.times), saved_times.tolist(),
                     None, spec.saveper)  # fmt: skip
    full_times, full_save, _full_saved = time_grid(t0, tf, dt, dt)
    if outcomes:
        if not (full_save >= 0).all():  # pragma: no cover - pysd's rule saves every step at SAVEPER = dt
            raise SpecError(f"{spec.source}: cannot save every time step of this model's time grid")
        save = time_grid(t0, tf, dt, sp)[1]
        return _Grid(t0, tf, dt, np.asarray(full_times), saved_times.tolist(),
                     np.flatnonzero(save >= 0).tolist(), dt)  # fmt: skip
    return _Grid(t0, tf, dt, np.asarray(full_times), saved_times.tolist(), None, sp)


def _outcome(source: str, name: str, o: Outcome, reads: tuple[str, ...], grid: _Grid) -> PlannedOutcome:
    key = f"outcomes.{name!r}"
    if o.at is not None:
        tol = grid.dt * 1e-5
        if not grid.t0 - tol <= o.at <= grid.tf + tol:
            raise SpecError(f"{source}: {key}.at: {o.at:g} is outside the run [{grid.t0:g}, {grid.tf:g}]")
        row = int(np.flatnonzero(grid.full_times <= o.at + tol)[-1])
        return PlannedOutcome(name, reads[0], "at", row=row, reads=reads)
    if o.reduce is not None:
        return PlannedOutcome(name, reads[0], "reduce", reduce=o.reduce, reads=reads)
    return PlannedOutcome(name, reads[0], "first_time", condition=o.first_time, reads=reads)


def _on_run(model: Any, o: PlannedOutcome, spec_o: Outcome, grid: _Grid,
            conditions: bool = True) -> PlannedOutcome:  # fmt: skip
    """``o`` with its run-level outcome where one computes it: ``at``, ``reduce``, a ``first_time`` of
    the form ``variable <op> number`` (op one of < <= > >=, the variable not a constant) and, with
    ``conditions``, any other ``first_time`` whose condition lowers into the IR (evaluated at every
    saved time of the run, like the series path)."""
    if o.kind == "at":
        assert o.row is not None
        return replace(o, run=RunOutcome("at", o.variable, time=float(grid.full_times[o.row]), name=o.name))
    if o.kind == "reduce":
        return replace(o, run=RunOutcome(str(o.reduce), o.variable, name=o.name))
    assert o.condition is not None
    compound = replace(o, run=RunOutcome("when", o.condition, name=o.name)) if (
        conditions and _lowers(model, o.condition)) else o  # fmt: skip
    try:
        var, op, value = spec_o.condition()
        ident = model.resolve(var)
    except (ValueError, KeyError):
        return compound
    v = model.ir.variables[ident]
    if op not in FIRST_OPS or o.reads != (v.name,) or v.kind in ("constant", "control"):
        return compound
    return replace(o, run=RunOutcome("first", o.variable, op=op, value=value, name=o.name))


def _lowers(model: Any, expr: str) -> bool:
    """Whether condition ``expr`` lowers into IR nodes (:meth:`sd.conditions.Condition.lower`): what a
    run can compute at each saved time without keeping a series."""
    try:
        compile_condition(expr, model.variables).lower(lambda name: Ref(model.resolve(name)))
    except ValueError:  # NotLowerable
        return False
    return True


def _check_on_run(model: Any, c: PlannedCheck, grid: _Grid) -> PlannedCheck:
    """``c`` with its run-level outcome where its condition lowers: ``fails`` at the times the series
    path reads (the stored times: ``grid.ts_rows`` of a run that saves every time step, else every saved
    time) for ``always``, ``fails_end`` (the last saved time) for ``end``."""
    if not _lowers(model, c.expr):
        return c
    label = CHECK_LABEL + c.name
    if c.when == "end":
        return replace(c, run=RunOutcome("fails_end", c.expr, name=label))
    every = grid.ts_rows is None or len(grid.ts_rows) == len(grid.full_times)  # every saved time
    rows = None if every else tuple(grid.ts_rows or ())
    return replace(c, run=RunOutcome("fails", c.expr, name=label, rows=rows))


def _series(names: list[str], timeseries: list[str], outcomes: list[PlannedOutcome],
            checks: list[PlannedCheck]) -> list[str]:  # fmt: skip
    """The variables the run must save as series (in ``names``' order): the stored series and the reads of
    the ``first_time`` conditions and ``always`` checks the run does not compute (an ``end`` check reads
    final values)."""
    need = set(timeseries)
    need.update(v for o in outcomes if o.run is None for v in o.reads)
    need.update(v for c in checks if c.when != "end" and c.run is None for v in c.reads)
    return [v for v in names if v in need]


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
        raise SpecError(f"{src}: {key}: '{var.name}' fixes the model's structure at load (the order "
                        "of a delay or smooth, a function's mode) and cannot vary across draws")  # fmt: skip
    return var
