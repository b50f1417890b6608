"""IR -> vectorised Python source over an array namespace (numpy; cupy reuses it).

Every value is a Python float (when nothing it depends on varies across draws) or an array with a leading
``draw`` axis. The generated ``simulate`` function runs pysd's explicit Euler loop exactly: stocks and
auxiliaries are saved at t, all derivatives are computed from the state at t, then every state moves at
once and time accumulates ``t += dt``.

:class:`NumpyPrinter` prints expressions (one method per IR node); :data:`FUNCTIONS` is this target's
function table (one row per IR function); :class:`NumpyEmitter` fills in the blocks of the shared walk
(:func:`sd.backends.common.walk`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sd.backends.common import CONTROL_LOCALS, ExprMapper, check_dtype, local, walk
from sd.errors import UnsupportedFeatureError
from sd.ir.analysis import required, toposort
from sd.ir.names import normalise
from sd.ir.nodes import (
    ActiveInitial,
    BinOp,
    Call,
    Expr,
    If,
    LookupCall,
    ModelIR,
    Num,
    Ref,
    Time,
    Unary,
)
from sd.ir.schedule import schedule

__all__ = [
    "FUNCTIONS",
    "INTEGRATIONS",
    "NumpyPrinter",
    "Program",
    "bind_code",
    "compile_source",
    "expression_function",
    "generate",
]

INTEGRATIONS = ("euler", "rk4")


def _call(name: str, *lead: str) -> Callable[[list[str]], str]:
    """``name(lead..., args...)`` for functions of any number of arguments."""

    def render(args: list[str]) -> str:
        return f"{name}({', '.join([*lead, *args])})"

    return render


def _ramp(args: list[str]) -> str:
    return f"rt.ramp(time, {', '.join(args)})"


# IR function -> a format template over the printed arguments, or a function of them
FUNCTIONS: dict[str, str | Callable[[list[str]], str]] = {
    "abs": "xp.abs({0})",
    "min": "xp.minimum({0}, {1})",
    "max": "xp.maximum({0}, {1})",
    "exp": "xp.exp({0})",
    "ln": "xp.log({0})",
    "log": "(xp.log({0}) / xp.log({1}))",
    "sqrt": "xp.sqrt({0})",
    "power": "xp.power({0}, {1})",
    "integer": "xp.trunc({0})",
    "modulo": "rt.modulo({0}, {1})",
    "quantum": "rt.quantum({0}, {1})",
    "sin": "xp.sin({0})",
    "cos": "xp.cos({0})",
    "tan": "xp.tan({0})",
    "arcsin": "xp.arcsin({0})",
    "arccos": "xp.arccos({0})",
    "arctan": "xp.arctan({0})",
    "sinh": "xp.sinh({0})",
    "cosh": "xp.cosh({0})",
    "tanh": "xp.tanh({0})",
    "gamma_ln": "rt.gamma_ln({0})",
    "xidz": "rt.xidz({0}, {1}, {2})",
    "zidz": "rt.zidz({0}, {1})",
    "step": "rt.step(time, dt, {0}, {1})",
    "ramp": _ramp,
    "pulse": "rt.pulse(time, {0}, {1})",
    "pulse_train": "rt.pulse_train(time, {0}, {1}, {2}, {3})",
    "_delay_order": "rt.delay_order({0}, dt, {1})",
    "_stage_factor": "rt.stage_factor({0}, {1})",
    "_stage": _call("rt.stage"),
    # per-draw seeded streams: P['__rng__'] holds (seed, draw indices)
    "_random_0_1": _call("rt.random_0_1", "P['__rng__']"),
    "_random_uniform": _call("rt.random_uniform", "P['__rng__']"),
    "_random_normal": _call("rt.random_normal", "P['__rng__']"),
    "_random_exponential": _call("rt.random_exponential", "P['__rng__']"),
    "_vector_select": _call("rt.vector_select"),
    "_vector_sort_order": _call("rt.vector_sort_order"),
    "_vector_rank": _call("rt.vector_rank"),
    "_vector_reorder": _call("rt.vector_reorder"),
    "_invert_matrix": _call("rt.invert_matrix"),
    "_vector_elm_map": _call("rt.vector_elm_map"),
    "_vector_lookup": _call("rt.vector_lookup"),
    "_allocate_by_priority": _call("rt.allocate_by_priority"),
    "_allocate_available": _call("rt.allocate_available"),
}


class NumpyPrinter(ExprMapper):
    """Prints IR expressions as Python source for one phase ('init' or 'run')."""

    def __init__(self, ir: ModelIR, phase: str) -> None:
        self.ir = ir
        self.phase = phase
        self.current = ""

    def map_missing(self) -> str:
        raise UnsupportedFeatureError("numpy backend: a variable has no equation")

    def map_unknown(self, e: Expr) -> str:
        raise UnsupportedFeatureError(f"numpy backend: cannot print {type(e).__name__}")

    def map_num(self, e: Num) -> str:
        v = e.value
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "(-inf)"
        return repr(v) if v >= 0 else f"({v!r})"

    def map_ref(self, e: Ref) -> str:
        return local(e.ident)

    def map_time(self, e: Time) -> str:
        return "time"

    def map_binop(self, e: BinOp) -> str:
        a, b = self(e.left), self(e.right)
        if e.op == "and":
            return f"xp.logical_and({a}, {b})"
        if e.op == "or":
            return f"xp.logical_or({a}, {b})"
        if e.op == "**":
            # xp.power: a negative base to a fractional power is NaN (Python's ** on two floats
            # would return a complex number)
            return f"xp.power({a}, {b})"
        return f"({a} {e.op} {b})"

    def map_unary(self, e: Unary) -> str:
        if e.op == "not":
            return f"xp.logical_not({self(e.operand)})"
        return f"(-{self(e.operand)})"

    def map_if(self, e: If) -> str:
        return f"xp.where({self(e.cond)}, {self(e.then)}, {self(e.otherwise)})"

    def map_active_initial(self, e: ActiveInitial) -> str:
        return self(e.init) if self.phase == "init" else self(e.expr)

    def map_lookup_call(self, e: LookupCall) -> str:
        table = self.ir.variables[e.table].table
        mode = table.interp if table is not None else "interpolate"
        if mode in ("hold_backward", "look_forward", "raw"):  # data variables
            return f"rt.lookup_mode({self(e.x)}, lx_{e.table}, ly_{e.table}, {mode!r})"
        return f"rt.lookup({self(e.x)}, lx_{e.table}, ly_{e.table})"

    def map_call(self, e: Call) -> str:
        args = [self(a) for a in e.args]
        template = FUNCTIONS.get(e.fn)
        if template is None:
            raise UnsupportedFeatureError(f"numpy backend: no printer for function {e.fn}")
        if callable(template):
            return template(args)
        return template.format(*args)


@dataclass
class Program:
    """Generated source and the facts the runner needs about it."""

    source: str
    outputs: list[str]
    constants: list[str]
    lookups: list[str]
    code: Any = field(default=None, repr=False)  # the compiled source
    fn: Any = field(default=None, repr=False)
    scalar_fn: Any = field(default=None, repr=False)  # one float64 draw on Python floats (numpy only)


class NumpyEmitter:
    """The blocks of ``simulate`` as Python source (see :func:`sd.backends.common.walk`)."""

    def __init__(self, ir: ModelIR, outputs: list[str], integration: str, dtype: str,
                 varying: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.ir = ir
        self.varying = varying
        self.v = ir.variables
        self.outputs = outputs
        self.integration = integration
        self.dtype = dtype
        self.run_p, self.init_p = NumpyPrinter(ir, "run"), NumpyPrinter(ir, "init")
        self.body: list[str] = []
        self.loop: list[str] = []
        self.core: list[str] = []

    def real(self, text: str) -> str:
        return f"rt.real({text})" if self.dtype == "float32" else text

    def assign(self, ident: str, lines: list[str], indent: str = "") -> None:
        v = self.v[ident]
        lines.append(f"{indent}{local(ident)} = {self.real(self.run_p(v.expr))}  # {v.name}")

    # inputs and the blocks before the loop
    def constant(self, pos: int, ident: str) -> None:
        self.body.append(f"{local(ident)} = P[{ident!r}]")

    def lookup(self, pos: int, ident: str) -> None:
        self.body.append(f"lx_{ident}, ly_{ident} = P[{ident!r}]")

    def control(self, ident: str) -> None:
        self.body.append(f"{local(ident)} = {CONTROL_LOCALS.get(ident, 'nan')}")

    def inputs_end(self) -> None:
        pass

    def invariant(self, ident: str) -> None:
        self.assign(ident, self.body)

    def init_begin(self) -> None:
        self.body.append("time = t0")

    def init(self, ident: str) -> None:
        v, p, emit = self.v[ident], self.init_p, self.body.append
        if v.kind in ("stock", "discrete"):
            emit(f"{local(ident)} = rt.full(n, {p(v.init)})  # {v.name}")
        elif v.kind == "fixed_delay":
            emit(f"fd_{ident} = rt.FixedDelay(n, {p(v.args[1])}, dt, {p(v.args[2])})  # {v.name}")
            emit(f"{local(ident)} = {self.real(f'fd_{ident}.value')}")
        else:
            p.current = f"{self.ir.path}: {v.name}"
            emit(f"{local(ident)} = {self.real(p(v.expr))}  # {v.name} (init)")

    def init_end(self) -> None:
        pass

    def run_static(self, ident: str) -> None:
        self.assign(ident, self.body)

    # the time loop
    def loop_begin(self) -> None:
        self.body.append("nt = len(times)")
        for o in self.outputs:
            self.body.append(f"o_{o} = out[{o!r}]")
        self.body.append("for k in range(nt):")
        self.loop.append("time = times[k]")
        for c in self.varying:  # control values stepped on the host (a time grid that changes)
            self.loop.append(f"{local(c)} = ctrl[{c!r}][k]")
            if c == "time_step":
                self.loop.append(f"dt = {local(c)}")

    def dynamic(self, ident: str, every_step: bool) -> None:
        if every_step:
            self.assign(ident, self.loop)
            self.core.append(ident)
        else:
            self.assign(ident, self.loop, "    ")

    def save_begin(self) -> None:
        self.loop += ["j = save[k]", "if j >= 0:"]

    def save_end(self) -> None:
        for o in self.outputs:
            self.loop.append(f"    o_{o}[j] = {local(o)}")
        if self.loop[-1] == "if j >= 0:":
            self.loop.append("    pass")
        self.loop += ["if k == nt - 1:", "    break"]

    def states(self, idents: list[str]) -> None:
        emit, R, p = self.loop.append, self.real, self.run_p
        for s in idents:
            v = self.v[s]
            if v.kind == "stock":
                emit(f"d_{s} = {R(p(v.ddt))}")
            elif v.kind == "discrete":
                emit(f"u_{s} = {R(p(v.update))}")
            else:
                emit(f"u_{s} = {R(p(v.args[0]))}")
        stocks = [s for s in idents if self.v[s].kind == "stock"]
        if self.integration == "rk4" and stocks:
            self.rk4(stocks)
        for s in idents:
            v = self.v[s]
            if v.kind == "stock":
                new = f"{local(s)} + d_{s} * dt"
                if v.non_negative:
                    new = f"xp.maximum({new}, 0.0)"
                emit(f"{local(s)} = {new}")
            elif v.kind == "discrete":
                emit(f"{local(s)} = u_{s}")
            else:
                emit(f"{local(s)} = {R(f'fd_{s}.push(u_{s})')}")

    def rk4(self, stocks: list[str]) -> None:
        """Classical Runge-Kutta for the stocks: the auxiliaries the derivatives need are recomputed
        at t + dt/2 (twice) and t + dt from intermediate stock values."""
        emit, R, p = self.loop.append, self.real, self.run_p
        core_lines = [f"{local(i)} = {R(p(self.v[i].expr))}" for i in self.core]
        for s in stocks:
            emit(f"s0_{s} = {local(s)}")
            emit(f"k1_{s} = d_{s}")
        for stage, (frac, prev) in enumerate((("0.5", "k1"), ("0.5", "k2"), ("1.0", "k3")), 2):
            emit(f"time = times[k] + {frac} * dt")
            for s in stocks:
                emit(f"{local(s)} = s0_{s} + {prev}_{s} * ({frac} * dt)")
            self.loop.extend(core_lines)
            for s in stocks:
                emit(f"k{stage}_{s} = {R(p(self.v[s].ddt))}")
        for s in stocks:
            emit(f"d_{s} = (k1_{s} + 2.0 * k2_{s} + 2.0 * k3_{s} + k4_{s}) / 6.0")
            emit(f"{local(s)} = s0_{s}")

    def loop_end(self) -> None:
        self.body.extend("    " + line for line in self.loop)

    def source(self) -> str:
        src = [
            "def simulate(P, n, t0, tf, dt, saveper, times, save, out, ctrl=None):",
            *("    " + line for line in self.body),
            "    return out",
        ]
        return "\n".join(src) + "\n"


def generate(
    ir: ModelIR, outputs: list[str], integration: str = "euler", dtype: str = "float64",
    varying: tuple[str, ...] = (),
) -> Program:
    """Generate the ``simulate`` function computing ``outputs`` (identifiers).

    ``integration`` is 'euler' (pysd's explicit Euler, the default) or 'rk4' (classical fourth-order
    Runge-Kutta for the stocks: the auxiliaries the derivatives need are recomputed at t + dt/2 (twice)
    and t + dt from intermediate stock values; discrete states -- SAMPLE IF TRUE, DELAY FIXED, the delay
    times of DELAY N -- still move once per step from their values at t).

    ``dtype`` 'float32' wraps every assignment in ``rt.real`` (arrays cast to float32, 0-d values to
    Python floats) so that the run stays in float32; 'float64' (the default) generates the plain source.

    ``varying`` names the control variables that change during the run: ``simulate`` then reads their
    value at each time point from ``ctrl[ident][k]`` (TIME STEP's is the step's ``dt``), and what reads
    them is recomputed in the loop. DELAY FIXED sizes its buffer in steps and is refused when TIME STEP
    varies.
    """
    if integration not in INTEGRATIONS:
        raise UnsupportedFeatureError(
            f"unknown integration {integration!r}; choose one of {', '.join(map(repr, INTEGRATIONS))}"
        )
    dtype = check_dtype(dtype)
    sch = schedule(ir, outputs, frozenset(varying))
    if "time_step" in varying:
        _refuse_fixed_delays(ir, sch.states)
    em = NumpyEmitter(ir, list(outputs), integration, dtype, tuple(varying))
    walk(sch, em)
    return Program(
        source=em.source(), outputs=list(outputs), constants=sch.constants, lookups=sch.lookups
    )


def _refuse_fixed_delays(ir: ModelIR, states: list[str]) -> None:
    """DELAY FIXED sizes its buffer in time steps: refused (by the variable's name) when TIME STEP varies."""
    for s in states:
        v = ir.variables[s]
        if v.kind != "fixed_delay":
            continue
        v = ir.variables.get(ir.names.get(normalise(v.origin), ""), v) if v.origin else v
        where = f"{ir.path}:{v.line}" if v.line else str(ir.path)
        raise UnsupportedFeatureError(
            f"{where} variable '{v.name}': DELAY FIXED with a TIME STEP that changes during the run is "
            "not supported by sd (its buffer holds a fixed number of time steps)"
        )


def generate_controls(ir: ModelIR) -> str:
    """Source of ``controls(P, O, time)``: the control variables' values (``O`` holds overrides) at
    ``time`` (NaN: before the run, for control variables that do not read TIME)."""
    controls = [i for i, v in ir.variables.items() if v.kind == "control"]
    needed = required(ir, controls)
    p = NumpyPrinter(ir, "init")
    lines = ["def controls(P, O, time=nan):", "    dt = nan"]
    for i in toposort(ir, needed, "init", set()):
        v = ir.variables[i]
        if v.kind == "constant":
            lines.append(f"    {local(i)} = P[{i!r}]")
        elif v.kind == "lookup":
            lines.append(f"    lx_{i}, ly_{i} = P[{i!r}]")
        elif v.kind == "control":
            lines.append(f"    {local(i)} = O[{i!r}] if {i!r} in O else {p(v.expr)}")
            if i == "time_step":
                lines.append(f"    dt = {local(i)}")
        elif v.kind == "aux" and v.expr is not None:
            lines.append(f"    {local(i)} = {p(v.expr)}")
        else:
            lines.append(f"    {local(i)} = nan  # {v.kind}: not available to control variables")
    lines.append("    return {" + ", ".join(f"{c!r}: {local(c)}" for c in controls) + "}")
    return "\n".join(lines) + "\n"


def expression_function(ir: ModelIR, expr: Expr, args: Sequence[str], xp: Any,
                        dtype: str = "float64") -> Any:  # fmt: skip
    """``f(*values)``: the IR ``expr`` over the variables ``args`` (identifiers, in that order) as
    numpy/cupy code (an outcome's condition, evaluated at each saved row)."""
    text = NumpyPrinter(ir, "run")(expr)
    source = f"def expression({', '.join(local(a) for a in args)}):\n    return {text}\n"
    return compile_source(source, "expression", xp, "<sd:condition>", dtype)


def compile_source(
    source: str, func: str, xp: Any, name: str = "<sd-generated>", dtype: str = "float64",
    scalar: bool = False,
) -> Any:
    """Execute generated ``source`` with ``xp`` and the runtime bound to it; return ``func``.
    ``scalar``: for runs of one float64 draw on numpy, on Python floats (:mod:`sd.backends._scalar`)."""
    return bind_code(compile(source, name, "exec"), func, xp, dtype, scalar)


def bind_code(code: Any, func: str, xp: Any, dtype: str = "float64", scalar: bool = False) -> Any:
    """``func`` of the compiled generated ``code``, executed with ``xp`` and the runtime bound to it (the
    one-draw runtime with ``scalar``); one code object serves both."""
    from sd.backends._runtime import Runtime, bind

    rt: Runtime
    if scalar:
        from sd.backends._scalar import bind_scalar

        rt = bind_scalar()
    else:
        rt = bind(xp, dtype)
    namespace: dict[str, Any] = {
        "xp": rt.code_xp,
        "rt": rt,
        "nan": math.nan,
        "inf": math.inf,
        "__name__": "sd._generated",
    }
    exec(code, namespace)
    return namespace[func]
