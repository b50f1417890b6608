"""The run layer: the time grid, the choice of backend, device helpers and the integration call.

Everything between a validated set of inputs and the arrays a run produces lives here, so that the
:class:`sd.Model` (names, inspection, parameter validation) and the backends (IR -> code) never meet:
:class:`Simulator` builds and caches the generated programs and fused kernels of one model and runs them;
:func:`reduce_outcomes` computes per-draw :class:`~sd.ir.outcomes.Outcome` values where no kernel did.
Sweeps probe GPUs through :func:`gpu_usable` and :func:`cupy_module` (never a backend module).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sd.errors import BackendUnavailableError, ModelError, ParamError
from sd.ir.nodes import ModelIR
from sd.ir.outcomes import Outcome

__all__ = [
    "BACKENDS",
    "INTEGRATIONS",
    "Conditions",
    "Grid",
    "Running",
    "Simulator",
    "cupy_module",
    "device_input",
    "fused_available",
    "gpu_usable",
    "is_device_array",
    "reduce_outcomes",
    "stepped_grid",
    "time_grid",
    "to_numpy",
]

BACKENDS = ("numpy", "cupy", "fused", "auto")
INTEGRATIONS = ("euler", "rk4")
RPREC = 1e-5  # pysd's relative precision for final time and save times
MAX_STEPS = 5e7


def time_grid(
    t0: float, tf: float, dt: float, saveper: float
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """pysd's time points (accumulated ``t += dt``), the save index per point and the saved times.

    Returns the list of times the loop visits, an int array giving for each the row it is saved to (-1 when
    not saved) and the saved times rounded to the precision pysd uses for its index.
    """
    times: list[float] = []
    t = t0
    prec = dt * RPREC
    while t + prec < tf:
        times.append(t)
        t = t + dt
    times.append(t)
    save = np.full(len(times), -1, dtype=np.int64)
    saved: list[float] = []
    for k, tk in enumerate(times):
        delay = tk - t0
        if delay % saveper < prec or -delay % saveper < prec:
            save[k] = len(saved)
            saved.append(tk)
    digits = -int(np.log10(dt * RPREC))
    return times, save, np.round(np.asarray(saved, dtype=float), digits)


@dataclass(frozen=True)
class Grid:
    """A run's time grid: the control values, the loop's time points and the saved rows and times.

    ``varying`` holds, for the control variables whose value changes during the run (they read TIME), their
    value at every loop time point (empty for a fixed grid); ``controls`` then gives INITIAL TIME (the
    start), FINAL TIME where the run stopped, and TIME STEP and SAVEPER at the start.
    """

    controls: dict[str, float]
    times: list[float]
    save: np.ndarray
    saved: np.ndarray
    varying: dict[str, list[float]] = field(default_factory=dict)

    @property
    def min_step(self) -> float:
        """The smallest TIME STEP of the run (the tolerance for matching a saved time)."""
        steps = self.varying.get("time_step")
        return float(min(steps)) if steps else float(self.controls["time_step"])

    def first(self) -> dict[str, float]:
        """The control values at the first time point (what the run's initialisation reads)."""
        return {**self.controls, **{k: v[0] for k, v in self.varying.items()}}

    @classmethod
    def from_controls(cls, ctrl: Mapping[str, float], where: str) -> Grid:
        t0, tf, dt = ctrl["initial_time"], ctrl["final_time"], ctrl["time_step"]
        sp = ctrl.get("saveper", dt)
        if dt <= 0:
            raise ModelError(f"{where}: TIME STEP must be positive, got {dt}")
        if sp <= 0:
            raise ModelError(f"{where}: SAVEPER must be positive, got {sp}")
        if tf < t0:
            raise ModelError(f"{where}: FINAL TIME {tf:g} is before INITIAL TIME {t0:g}; give a final time "
                             f"at or after {t0:g}")  # fmt: skip
        if (tf - t0) / dt > MAX_STEPS:
            raise ModelError(
                f"{where}: {(tf - t0) / dt:.3g} time steps from INITIAL TIME {t0} to FINAL TIME "
                f"{tf} with TIME STEP {dt}; expected at most {MAX_STEPS:.0e}"
            )
        times, save, saved = time_grid(t0, tf, dt, sp)
        return cls(dict(ctrl), times, save, saved)


def _check_step(where: str, dt: float, sp: float, t: float) -> None:
    if not dt > 0:
        raise ModelError(f"{where}: TIME STEP must be positive, got {dt} at time {t:g}")
    if not sp > 0:
        raise ModelError(f"{where}: SAVEPER must be positive, got {sp} at time {t:g}")


def stepped_grid(evaluate: Callable[[float], Mapping[str, float]], where: str) -> Grid:
    """The time grid of control variables that read TIME, stepped on the host by pysd's rules.

    ``evaluate(t)`` gives the control values at time ``t``. INITIAL TIME is read at TIME = 0 (what pysd
    does) and must give itself back at that start. From the start ``t``: the point is saved when its
    distance from the start is a multiple of SAVEPER(t) (to TIME STEP(t) * 1e-5), the run stops at the first
    point with ``t + TIME STEP(t) * 1e-5 >= FINAL TIME(t)``, else ``t += TIME STEP(t)``. When no control
    value changes over the run, this is the fixed grid of :meth:`Grid.from_controls`.
    """
    t0 = float(evaluate(0.0)["initial_time"])
    if float(evaluate(t0)["initial_time"]) != t0:
        raise ModelError(f"{where}: INITIAL TIME reads TIME and has no consistent value: it is {t0:g} at "
                         f"TIME = 0 but {evaluate(t0)['initial_time']:g} at TIME = {t0:g}")  # fmt: skip
    times: list[float] = []
    rows: list[dict[str, float]] = []
    t = t0
    while True:
        c = dict(evaluate(t))
        c.setdefault("saveper", c["time_step"])
        _check_step(where, c["time_step"], c["saveper"], t)
        if not rows and c["final_time"] < t0:
            raise ModelError(f"{where}: FINAL TIME {c['final_time']:g} is before INITIAL TIME {t0:g}; "
                             f"give a final time at or after {t0:g}")  # fmt: skip
        times.append(t)
        rows.append(c)
        if not t + c["time_step"] * RPREC < c["final_time"]:
            break
        if len(times) > MAX_STEPS:
            raise ModelError(f"{where}: more than {MAX_STEPS:.0e} time steps from INITIAL TIME {t0:g}")
        t = t + c["time_step"]
    series = {k: [r[k] for r in rows] for k in rows[0]}
    varying = {k: v for k, v in series.items() if any(x != v[0] for x in v)}
    if not varying:
        return Grid.from_controls({**rows[0], "initial_time": t0}, where)
    save = np.full(len(times), -1, dtype=np.int64)
    saved: list[float] = []
    for k, (tk, c) in enumerate(zip(times, rows, strict=True)):
        delay, prec = tk - t0, c["time_step"] * RPREC
        if delay % c["saveper"] < prec or -delay % c["saveper"] < prec:
            save[k] = len(saved)
            saved.append(float(np.round(tk, -int(np.log10(prec)))))
    ctrl = {**rows[0], "initial_time": t0, "final_time": rows[-1]["final_time"]}
    return Grid(ctrl, times, save, np.asarray(saved, dtype=float), varying)


# -- devices ------------------------------------------------------------------------------------
def cupy_module() -> Any:
    """cupy, with a CUDA device visible, or :class:`BackendUnavailableError`."""
    from sd.backends.cupy_ import cupy_module as load

    return load()


def gpu_usable() -> bool:
    """True when cupy imports, a CUDA device is visible and a small allocation on it succeeds."""
    try:
        cp = cupy_module()
        cp.zeros(1).sum()
    except Exception:  # BackendUnavailableError, CUDA errors
        return False
    return True


def fused_available(target: str = "c") -> bool:
    """True when the fused backend can build for ``target`` here ('c': a C compiler; 'cuda')."""
    from sd.backends.fused import available

    return available(target)


def is_device_array(value: Any) -> bool:
    return type(value).__module__.startswith("cupy")


def device_input(value: Any) -> bool:
    """A parameter (a value or a lookup's (x, y)) held on a CUDA device."""
    if isinstance(value, tuple):
        return any(is_device_array(v) for v in value)
    return is_device_array(value)


def to_numpy(value: Any) -> np.ndarray:
    if is_device_array(value):
        return value.get()
    return np.asarray(value)


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise BackendUnavailableError(
            f"Unknown backend {backend!r}; choose one of {', '.join(map(repr, BACKENDS))}"
        )
    if backend == "cupy":
        cupy_module()
    return backend


def array_namespace(backend: str) -> Any:
    return cupy_module() if backend == "cupy" else np


def _as_real(P: Mapping[str, Any], xp: Any, dtype: str) -> dict[str, Any]:
    """Inputs for a float32 run: parameter arrays and lookup tables as ``dtype``; scalars stay Python
    floats (numpy keeps them weak, so they never promote a float32 array)."""
    out: dict[str, Any] = {}
    for k, v in P.items():
        if k == "__rng__":
            out[k] = v
        elif isinstance(v, tuple):
            out[k] = tuple(xp.asarray(a, dtype=dtype) for a in v)
        elif getattr(v, "ndim", 0):
            out[k] = xp.asarray(v, dtype=dtype)
        elif hasattr(v, "dtype"):
            out[k] = float(v)
        else:
            out[k] = v
    return out


# -- outcomes computed from saved series ---------------------------------------------------------
_FIRST = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def reduce_outcomes(
    series: Mapping[str, Any], outcomes: Sequence[Outcome], saved: np.ndarray, dt: float
) -> dict[str, Any]:
    """Per-draw outcomes (by label) from saved series of shape (nsave, n), as the kernel reduces them."""
    out: dict[str, Any] = {}
    for oc in outcomes:
        if oc.condition:
            raise ValueError(f"outcome {oc.label}: a condition is computed as the run saves (Conditions)")
        x = series[oc.variable]
        xp = cupy_module() if is_device_array(x) else np
        if oc.kind == "final":
            out[oc.label] = x[-1].copy()
        elif oc.kind == "initial":
            out[oc.label] = x[0].copy()
        elif oc.kind == "at":
            out[oc.label] = x[oc.saved_row(saved, dt)].copy()
        elif oc.kind in ("min", "max"):
            out[oc.label] = getattr(xp, oc.kind)(x, axis=0)
        elif oc.kind == "mean":
            out[oc.label] = x.mean(axis=0)
        else:
            hit = _FIRST[oc.op](x, oc.value)
            first = hit.argmax(axis=0)
            out[oc.label] = xp.where(hit.any(axis=0), xp.asarray(saved)[first], xp.nan)
    return out


class Running:
    """The outcomes of one variable reduced while the run saves it, so its series is never kept.

    The generated numpy/cupy program writes ``out[ident][j] = value`` at each saved row ``j`` in order;
    given this object in place of a (nsave, n) array it folds each row into the outcomes as the fused
    kernel does: ``min``/``max`` elementwise (NaN-propagating), ``mean`` a running sum in row order
    divided by the number of saved points (exactly what ``series.mean(axis=0)`` of a (nsave, n) array
    computes), ``first`` the first saved time the comparison holds; ``initial``/``final``/``at`` copy
    their row.
    """

    def __init__(self, outcomes: Sequence[Outcome], saved: np.ndarray, dt: float, n: int, xp: Any,
                 dtype: str) -> None:  # fmt: skip
        self.outcomes = list(outcomes)
        self.saved, self.n, self.xp, self.dtype = saved, n, xp, dtype
        self.last = len(saved) - 1
        self.rows = {oc.label: oc.saved_row(saved.tolist(), dt) for oc in self.outcomes if oc.kind == "at"}
        self.values: dict[str, Any] = {}

    def __setitem__(self, j: int, value: Any) -> None:
        xp = self.xp
        x = xp.broadcast_to(xp.asarray(value, dtype=self.dtype), (self.n,))
        for oc in self.outcomes:
            lab, kind, cur = oc.label, oc.kind, self.values.get(oc.label)
            if (
                (kind == "initial" and j == 0)
                or (kind == "final" and j == self.last)
                or (kind == "at" and j == self.rows[lab])
            ):
                self.values[lab] = x.copy()
            elif kind in ("min", "max", "mean"):
                if cur is None:
                    self.values[lab] = x.copy()
                else:
                    {"min": xp.minimum, "max": xp.maximum, "mean": xp.add}[kind](cur, x, out=cur)
            elif kind == "first":
                if cur is None:
                    cur = self.values[lab] = xp.full(self.n, xp.nan)
                hit = _FIRST[oc.op](x, oc.value)
                cur[hit & xp.isnan(cur)] = float(self.saved[j])

    def result(self) -> dict[str, Any]:
        """The outcomes by label (after the last saved row)."""
        out = dict(self.values)
        for oc in self.outcomes:
            if oc.kind == "mean":
                out[oc.label] = self.xp.true_divide(out[oc.label], len(self.saved))
        return out


class Conditions:
    """The outcomes over conditions (kinds 'when', 'fails', 'fails_end'), computed as the run saves.

    The program writes the value of every variable a condition reads at saved row ``j`` (through
    :meth:`sink`); once the row is complete, each condition's lowered IR -- printed by the numpy printer,
    the same operations as :meth:`sd.conditions.Condition.evaluate` -- is evaluated on it and folded in as
    the fused kernel does: 'when' keeps the first saved time it holds (NaN until then), 'fails' becomes 1.0
    where it fails at one of its rows (all rows when ``rows`` is None), 'fails_end' is 1.0 where it fails
    at the last saved row. No series is kept.
    """

    def __init__(self, ir: ModelIR, outcomes: Sequence[Outcome], saved: np.ndarray, n: int, xp: Any,
                 dtype: str) -> None:  # fmt: skip
        from sd.backends.numpy_ import expression_function

        self.outcomes = list(outcomes)
        self.reads = list(dict.fromkeys(i for oc in self.outcomes for i in oc.reads))
        self.saved, self.n, self.xp, self.dtype = saved, n, xp, dtype
        self.last = len(saved) - 1
        exprs = [oc.expr for oc in self.outcomes]
        assert all(e is not None for e in exprs)  # outcomes with a condition carry its lowered form
        self.fns = [expression_function(ir, e, self.reads, xp, dtype) for e in exprs if e is not None]
        self.rows = [None if oc.rows is None else frozenset(oc.rows) for oc in self.outcomes]
        for oc in self.outcomes:
            if oc.rows is not None and any(not 0 <= r <= self.last for r in oc.rows):
                raise ValueError(f"outcome {oc.label}: rows outside the {len(saved)} saved rows")
        self.values = {
            oc.label: xp.full(n, xp.nan if oc.kind == "when" else 0.0) for oc in self.outcomes
        }
        self.row: dict[str, Any] = {}

    def sink(self, ident: str) -> _Sink:
        """What the program writes ``ident``'s saved rows into."""
        return _Sink(self, ident)

    def put(self, ident: str, j: int, value: Any) -> None:
        xp = self.xp
        self.row[ident] = xp.broadcast_to(xp.asarray(value, dtype=self.dtype), (self.n,))
        if len(self.row) < len(self.reads):
            return
        args, self.row = [self.row[i] for i in self.reads], {}
        for oc, fn, rows in zip(self.outcomes, self.fns, self.rows, strict=True):
            if (rows is not None and j not in rows) or (oc.kind == "fails_end" and j != self.last):
                continue
            with np.errstate(all="ignore"):
                hit = xp.broadcast_to(xp.asarray(fn(*args), dtype=bool), (self.n,))
            cur = self.values[oc.label]
            if oc.kind == "when":
                cur[hit & xp.isnan(cur)] = float(self.saved[j])
            else:
                cur[~hit] = 1.0

    def result(self) -> dict[str, Any]:
        """The outcomes by label (after the last saved row)."""
        return dict(self.values)


class _Sink:
    """One variable's saved rows, handed to :class:`Conditions`."""

    def __init__(self, to: Conditions, ident: str) -> None:
        self.to, self.ident = to, ident

    def __setitem__(self, j: int, value: Any) -> None:
        self.to.put(self.ident, j, value)


class _Fan:
    """Writes each saved row into several sinks (a saved array, :class:`Running`, :class:`_Sink`)."""

    def __init__(self, sinks: Sequence[Any]) -> None:
        self.sinks = list(sinks)

    def __setitem__(self, j: int, value: Any) -> None:
        for s in self.sinks:
            s[j] = value


# -- running ---------------------------------------------------------------------------------------
class Simulator:
    """Builds, caches and runs the generated code of one model (``name`` labels generated code)."""

    def __init__(self, ir: ModelIR, name: str) -> None:
        self.ir = ir
        self.name = name
        self._programs: dict[tuple[Any, ...], Any] = {}
        self._kernels: dict[tuple[Any, ...], Any] = {}
        self._controls_fn: Any = None
        from sd.ir.schedule import timed_controls

        self.timed = timed_controls(ir)  # control variables that read TIME: the grid is stepped

    def program(self, outputs: list[str], backend: str, integration: str = "euler",
                dtype: str = "float64", varying: tuple[str, ...] = ()) -> Any:  # fmt: skip
        """The numpy/cupy program computing ``outputs`` (identifiers), generated once (``varying``: the
        control variables that change during the run)."""
        key = (backend, tuple(outputs), integration) + ((dtype,) if dtype != "float64" else ())
        key += (varying,) if varying else ()
        prog = self._programs.get(key)
        if prog is None:
            from sd.cache import load_program_cached

            def build() -> Any:
                from sd.backends.numpy_ import generate

                made = generate(self.ir, outputs, integration, dtype, varying)
                made.code = compile(made.source, f"<sd:{self.name}>", "exec")
                return made

            what = {"outputs": list(outputs), "integration": integration, "dtype": dtype,
                    "varying": list(varying), "name": self.name}  # fmt: skip
            prog = load_program_cached(self.ir, what, build)
            self._programs[key] = prog
        return prog

    def kernel(self, outputs: list[str], target: str, outcomes: Sequence[Outcome] = (),
               dtype: str = "float64", varying: tuple[str, ...] = ()) -> Any:  # fmt: skip
        """The fused kernel for ``outputs`` and ``outcomes`` on ``target`` ('c' or 'cuda'); ``varying``:
        the control variables that change during the run (read from the kernel's ``ctrl``)."""
        key = (target, tuple(outputs), tuple(outcomes)) + ((dtype,) if dtype != "float64" else ())
        key += (varying,) if varying else ()
        kernel = self._kernels.get(key)
        if kernel is None:
            from sd.backends.fused import FusedKernel

            kernel = FusedKernel.build(
                self.ir, outputs, target, tuple(outcomes), title=self.name, dtype=dtype, varying=varying
            )
            self._kernels[key] = kernel
        return kernel

    def grid(self, P: Mapping[str, Any], overrides: Mapping[str, Any]) -> Grid:
        """The run's time grid: from the control values, or stepped on the host (:func:`stepped_grid`)
        when a control variable reads TIME."""
        where = str(self.ir.path)
        if not self.timed - set(overrides):
            return Grid.from_controls(self.controls(P, overrides), where)
        return stepped_grid(lambda t: self.controls(P, overrides, t), where)

    def controls(self, P: Mapping[str, Any], overrides: Mapping[str, Any],
                 time: float = math.nan) -> dict[str, float]:  # fmt: skip
        """The control variables' values (one for every draw) from the inputs and overrides, at ``time``
        (NaN, before the run, for control variables that do not read TIME)."""
        if self._controls_fn is None:
            from sd.backends.numpy_ import compile_source, generate_controls

            self._controls_fn = compile_source(generate_controls(self.ir), "controls", np)
        with np.errstate(all="ignore"):
            raw = self._controls_fn(P, dict(overrides), time)
        out: dict[str, float] = {}
        for ident, value in raw.items():
            arr = np.asarray(to_numpy(value), dtype=float)
            name = self.ir.variables[ident].name
            if arr.ndim and arr.size > 1 and not bool((arr == arr.flat[0]).all()):
                raise ModelError(
                    f"{self.ir.path}: control variable '{name}' differs across draws; the time grid "
                    "must be the same for every draw"
                )
            v = float(arr.flat[0]) if arr.ndim else float(arr)
            if not math.isfinite(v):
                raise ModelError(
                    f"{self.ir.path}: control variable '{name}' is not a finite number ({v})"
                    + (f" at time {time:g}" if math.isfinite(time) else "")
                    + "; it must depend only on constants and TIME"
                )
            out[ident] = v
        return out

    def run(self, P: dict[str, Any], n: int, idents: list[str], grid: Grid, *, backend: str,
            integration: str = "euler", dtype: str = "float64",
            outcomes: Sequence[Outcome] = ()) -> tuple[dict[str, Any], dict[str, Any], str]:  # fmt: skip
        """Integrate ``n`` draws; return (saved series by ident as (nsave, n) arrays, outcomes by
        label as (n,) arrays, the backend that ran: 'numpy', 'cupy', 'fused-cpu' or 'fused-cuda')."""
        on_device = any(device_input(v) for v in P.values())
        if integration not in INTEGRATIONS:
            raise ParamError(
                f"{self.ir.path}: unknown integration {integration!r}; choose one of 'euler', 'rk4'"
            )
        if integration == "rk4" and backend == "fused":
            raise BackendUnavailableError(
                "backend 'fused' integrates with Euler only; use backend 'numpy' (or 'auto') for rk4"
            )
        if backend in ("fused", "auto") and integration == "euler":
            done = self._run_fused(P, n, idents, grid, backend, dtype, outcomes, on_device)
            if done is not None:
                return done
        if backend in ("fused", "auto"):
            backend = "cupy" if on_device else "numpy"
        scalar = n == 1 and backend == "numpy" and dtype == "float64" and not on_device
        try:
            return self._run_numpy(P, n, idents, grid, backend, integration, dtype, outcomes, scalar)
        except (ZeroDivisionError, OverflowError):
            # Python floats raise where arrays give inf or NaN (a constant divided by zero): the run
            # again with every float input as an (n,) array, which numpy computes as IEEE does
            P = {k: np.full(n, v) if type(v) is float else v for k, v in P.items()}
            return self._run_numpy(P, n, idents, grid, backend, integration, dtype, outcomes, False)

    def _run_numpy(self, P: dict[str, Any], n: int, idents: list[str], grid: Grid, backend: str,
                   integration: str, dtype: str, outcomes: Sequence[Outcome],
                   scalar: bool) -> tuple[dict[str, Any], dict[str, Any], str]:  # fmt: skip
        """:meth:`run` on the array namespace of ``backend`` (``scalar``: one float64 draw on Python
        floats, :mod:`sd.backends._scalar`)."""
        if scalar:  # a parameter given for the one draw: its value as a float
            P = {k: float(v[0]) if type(v) is np.ndarray and v.shape == (1,) and v.dtype == np.float64
                 else v for k, v in P.items()}  # fmt: skip
        dt = grid.min_step
        simple = [oc for oc in outcomes if not oc.condition]
        saved_too = [oc for oc in simple if oc.variable in idents]
        by_var: dict[str, list[Outcome]] = {}
        for oc in simple:  # of variables not saved: reduced as the run goes (no series kept)
            if oc.variable not in idents:
                by_var.setdefault(oc.variable, []).append(oc)
        xp = array_namespace(backend)
        running: dict[str, Any] = {
            v: Running(ocs, grid.saved, dt, n, xp, dtype) for v, ocs in by_var.items()
        }
        done = list(running.values())
        conditions = [oc for oc in outcomes if oc.condition]
        if conditions:  # every variable they read feeds them as the run saves it
            cond = Conditions(self.ir, conditions, grid.saved, n, xp, dtype)
            done.append(cond)
            for ident in cond.reads:
                sink = cond.sink(ident)
                running[ident] = _Fan([running[ident], sink]) if ident in running else sink
        out = self._run_program(P, n, idents, grid, backend, integration, dtype, running, scalar)
        reds = reduce_outcomes(out, saved_too, grid.saved, dt)
        for r in done:
            reds.update(r.result())
        return out, {oc.label: reds[oc.label] for oc in outcomes}, backend

    def _run_fused(self, P: dict[str, Any], n: int, idents: list[str], grid: Grid, backend: str,
                   dtype: str, outcomes: Sequence[Outcome],
                   on_device: bool) -> tuple[dict[str, Any], dict[str, Any], str] | None:  # fmt: skip
        """Run fused on the device of the inputs; None when 'auto' must fall back."""
        from sd.backends.fused import FusedUnsupportedError

        target = "cuda" if on_device else "c"
        try:
            kernel = self.kernel(idents, target, outcomes, dtype, tuple(grid.varying))
        except (FusedUnsupportedError, BackendUnavailableError):
            if backend == "fused":
                raise
            return None
        out, reds = kernel(P, n, grid.first(), grid.times, grid.save, grid.saved, varying=grid.varying)
        return out, reds, "fused-cpu" if target == "c" else "fused-cuda"

    def _run_program(self, P: dict[str, Any], n: int, idents: list[str], grid: Grid, backend: str,
                     integration: str, dtype: str,
                     running: Mapping[str, Running] | None = None,
                     scalar: bool = False) -> dict[str, Any]:  # fmt: skip
        """Run the program saving ``idents`` as (nsave, n) arrays and feeding ``running`` (by ident);
        ``scalar``: one float64 draw on Python floats (the same source, :mod:`sd.backends._scalar`)."""
        running = running or {}
        outputs = list(dict.fromkeys([*idents, *running]))
        prog = self.program(outputs, backend, integration, dtype, tuple(grid.varying))
        xp = array_namespace(backend)
        if scalar:
            if prog.scalar_fn is None:
                from sd.backends.numpy_ import bind_code

                prog.scalar_fn = bind_code(prog.code, "simulate", xp, dtype, scalar=True)
            fn, times = prog.scalar_fn, [float(t) for t in grid.times]
        else:
            if prog.fn is None:
                from sd.backends.numpy_ import bind_code

                prog.fn = bind_code(prog.code, "simulate", xp, dtype)
            fn, times = prog.fn, grid.times
        if xp is not np:
            P = {k: (xp.asarray(v) if isinstance(v, np.ndarray) else
                     (tuple(xp.asarray(a) for a in v) if isinstance(v, tuple) else v))
                 for k, v in P.items()}  # fmt: skip
        if dtype != "float64":
            P = _as_real(P, xp, dtype)
        c = grid.first()
        t0, tf, dt = c["initial_time"], c["final_time"], c["time_step"]
        out = {o: xp.empty((len(grid.saved), n), dtype=dtype) for o in idents}
        sinks = {**out, **{k: _Fan([out[k], r]) if k in out else r for k, r in running.items()}}
        with np.errstate(all="ignore"):
            fn(P, n, t0, tf, dt, c.get("saveper", dt), times, grid.save.tolist(), sinks, grid.varying)
        return out
