"""IR -> vectorised Python source over an array namespace (numpy; cupy reuses it).

Every value is a Python float (when nothing it depends on varies across draws) or an array with a leading
``draw`` axis. The generated ``simulate`` function runs pysd's explicit Euler loop exactly: stocks and
auxiliaries are saved at t, all derivatives are computed from the state at t, then every state moves at
once and time accumulates ``t += dt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sd.errors import UnsupportedFeatureError
from sd.ir.analysis import required, toposort
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

__all__ = ["Program", "generate"]

CONTROL_LOCALS = {
    "initial_time": "t0",
    "final_time": "tf",
    "time_step": "dt",
    "saveper": "saveper",
}

_FUNCS = {
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
    "xidz": "rt.xidz({0}, {1}, {2})",
    "zidz": "rt.zidz({0}, {1})",
    "step": "rt.step(time, dt, {0}, {1})",
    "ramp": "rt.ramp(time, {0}, {1})",
    "ramp3": "rt.ramp(time, {0}, {1}, {2})",
    "pulse": "rt.pulse(time, {0}, {1})",
    "pulse_train": "rt.pulse_train(time, {0}, {1}, {2}, {3})",
}


class Printer:
    """Prints IR expressions as Python source for one phase ('init' or 'run')."""

    def __init__(self, ir: ModelIR, phase: str) -> None:
        self.ir = ir
        self.phase = phase
        self.current = ""

    def __call__(self, e: Expr | None) -> str:
        if e is None:
            raise UnsupportedFeatureError("numpy backend: a variable has no equation")
        if isinstance(e, Num):
            v = e.value
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "(-inf)"
            return repr(v) if v >= 0 else f"({v!r})"
        if isinstance(e, Ref):
            return local(e.ident)
        if isinstance(e, Time):
            return "time"
        if isinstance(e, BinOp):
            a, b = self(e.left), self(e.right)
            if e.op == "and":
                return f"xp.logical_and({a}, {b})"
            if e.op == "or":
                return f"xp.logical_or({a}, {b})"
            if e.op == "**":
                # xp.power: a negative base to a fractional power is NaN (Python's ** on two
                # floats would return a complex number)
                return f"xp.power({a}, {b})"
            return f"({a} {e.op} {b})"
        if isinstance(e, Unary):
            if e.op == "not":
                return f"xp.logical_not({self(e.operand)})"
            return f"(-{self(e.operand)})"
        if isinstance(e, If):
            return f"xp.where({self(e.cond)}, {self(e.then)}, {self(e.otherwise)})"
        if isinstance(e, ActiveInitial):
            return self(e.init) if self.phase == "init" else self(e.expr)
        if isinstance(e, LookupCall):
            table = self.ir.variables[e.table].table
            mode = table.interp if table is not None else "interpolate"
            if mode in ("hold_backward", "look_forward", "raw"):  # data variables
                return f"rt.lookup_mode({self(e.x)}, lx_{e.table}, ly_{e.table}, {mode!r})"
            return f"rt.lookup({self(e.x)}, lx_{e.table}, ly_{e.table})"
        if isinstance(e, Call):
            args = [self(a) for a in e.args]
            if e.fn == "_delay_order":
                return f"rt.delay_order({args[0]}, dt, {args[1]})"
            if e.fn == "_stage_factor":
                return f"rt.stage_factor({args[0]}, {args[1]})"
            if e.fn == "_stage":
                return f"rt.stage({', '.join(args)})"
            if e.fn.startswith("_random"):
                # per-draw seeded streams: P['__rng__'] holds (seed, draw indices)
                return f"rt.{e.fn[1:]}(P['__rng__'], {', '.join(args)})"
            if e.fn.startswith("_"):
                return f"rt.{e.fn[1:]}({', '.join(args)})"
            key = "ramp3" if e.fn == "ramp" and len(args) == 3 else e.fn
            template = _FUNCS.get(key)
            if template is None:
                raise UnsupportedFeatureError(f"numpy backend: no printer for function {e.fn}")
            return template.format(*args)
        raise UnsupportedFeatureError(f"numpy backend: cannot print {type(e).__name__}")


def local(ident: str) -> str:
    return "v_" + ident


@dataclass
class Program:
    """Generated source and the facts the runner needs about it."""

    source: str
    outputs: list[str]
    constants: list[str]
    lookups: list[str]
    fn: Any = field(default=None, repr=False)


INTEGRATIONS = ("euler", "rk4")


DTYPES = ("float64", "float32")


def generate(
    ir: ModelIR, outputs: list[str], integration: str = "euler", dtype: str = "float64"
) -> Program:
    """Generate the ``simulate`` function computing ``outputs`` (identifiers).

    ``integration`` is 'euler' (pysd's explicit Euler, the default) or 'rk4' (classical fourth-order
    Runge-Kutta for the stocks: the auxiliaries the derivatives need are recomputed at t + dt/2 (twice)
    and t + dt from intermediate stock values; discrete states -- SAMPLE IF TRUE, DELAY FIXED, the delay
    times of DELAY N -- still move once per step from their values at t).

    ``dtype`` 'float32' wraps every assignment in ``rt.real`` (arrays cast to float32, 0-d values to
    Python floats) so that the run stays in float32; 'float64' (the default) generates the plain source.
    """
    if integration not in INTEGRATIONS:
        raise UnsupportedFeatureError(
            f"unknown integration {integration!r}; choose one of {', '.join(map(repr, INTEGRATIONS))}"
        )
    if dtype not in DTYPES:
        raise UnsupportedFeatureError(
            f"unknown dtype {dtype!r}; choose one of {', '.join(map(repr, DTYPES))}"
        )
    variables = ir.variables
    sch = schedule(ir, outputs)
    states, dynamic, core = sch.states, sch.dynamic, sch.core

    def R(text: str) -> str:
        return f"rt.real({text})" if dtype == "float32" else text

    run_p, init_p = Printer(ir, "run"), Printer(ir, "init")
    body: list[str] = []
    emit = body.append

    # 1. inputs
    for c in sch.constants:
        emit(f"{local(c)} = P[{c!r}]")
    for lk in sch.lookups:
        emit(f"lx_{lk}, ly_{lk} = P[{lk!r}]")
    for c in sch.controls:
        emit(f"{local(c)} = {CONTROL_LOCALS.get(c, 'nan')}")

    # 2. phase-invariant auxiliaries
    for i in sch.invariant:
        emit(f"{local(i)} = {R(run_p(variables[i].expr))}  # {variables[i].name}")

    # 3. initialisation at t0 (ACTIVE INITIAL takes its initial argument)
    emit("time = t0")
    for i in sch.init:
        v = variables[i]
        if v.kind in ("stock", "discrete"):
            emit(f"{local(i)} = rt.full(n, {init_p(v.init)})  # {v.name}")
        elif v.kind == "fixed_delay":
            emit(
                f"fd_{i} = rt.FixedDelay(n, {init_p(v.args[1])}, dt, {init_p(v.args[2])})"
                f"  # {v.name}"
            )
            emit(f"{local(i)} = {R(f'fd_{i}.value')}")
        else:
            init_p.current = f"{ir.path}: {v.name}"
            emit(f"{local(i)} = {R(init_p(v.expr))}  # {v.name} (init)")

    # 4. time-invariant auxiliaries that depend on initial values
    for i in sch.run_static:
        emit(f"{local(i)} = {R(run_p(variables[i].expr))}  # {variables[i].name}")

    # 5. the time loop
    emit("nt = len(times)")
    for o in outputs:
        emit(f"o_{o} = out[{o!r}]")
    emit("for k in range(nt):")
    loop: list[str] = []
    emit_l = loop.append
    emit_l("time = times[k]")
    for i in dynamic:
        if i in core:
            emit_l(f"{local(i)} = {R(run_p(variables[i].expr))}  # {variables[i].name}")
    emit_l("j = save[k]")
    emit_l("if j >= 0:")
    for i in dynamic:
        if i not in core:
            emit_l(f"    {local(i)} = {R(run_p(variables[i].expr))}  # {variables[i].name}")
    for o in outputs:
        emit_l(f"    o_{o}[j] = {local(o)}")
    if loop[-1] == "if j >= 0:":
        emit_l("    pass")
    emit_l("if k == nt - 1:")
    emit_l("    break")
    for s in states:
        v = variables[s]
        if v.kind == "stock":
            emit_l(f"d_{s} = {R(run_p(v.ddt))}")
        elif v.kind == "discrete":
            emit_l(f"u_{s} = {R(run_p(v.update))}")
        else:
            emit_l(f"u_{s} = {R(run_p(v.args[0]))}")
    stocks = [s for s in states if variables[s].kind == "stock"]
    if integration == "rk4" and stocks:
        core_lines = [f"{local(i)} = {R(run_p(variables[i].expr))}" for i in dynamic if i in core]
        for s in stocks:
            emit_l(f"s0_{s} = {local(s)}")
            emit_l(f"k1_{s} = d_{s}")
        for stage, (frac, prev) in enumerate((("0.5", "k1"), ("0.5", "k2"), ("1.0", "k3")), 2):
            emit_l(f"time = times[k] + {frac} * dt")
            for s in stocks:
                emit_l(f"{local(s)} = s0_{s} + {prev}_{s} * ({frac} * dt)")
            loop.extend(core_lines)
            for s in stocks:
                emit_l(f"k{stage}_{s} = {R(run_p(variables[s].ddt))}")
        for s in stocks:
            emit_l(f"d_{s} = (k1_{s} + 2.0 * k2_{s} + 2.0 * k3_{s} + k4_{s}) / 6.0")
            emit_l(f"{local(s)} = s0_{s}")
    for s in states:
        v = variables[s]
        if v.kind == "stock":
            new = f"{local(s)} + d_{s} * dt"
            if v.non_negative:
                new = f"xp.maximum({new}, 0.0)"
            emit_l(f"{local(s)} = {new}")
        elif v.kind == "discrete":
            emit_l(f"{local(s)} = u_{s}")
        else:
            emit_l(f"{local(s)} = {R(f'fd_{s}.push(u_{s})')}")
    body.extend("    " + line for line in loop)

    src = [
        "def simulate(P, n, t0, tf, dt, saveper, times, save, out):",
        *("    " + line for line in body),
        "    return out",
    ]
    return Program(
        source="\n".join(src) + "\n",
        outputs=list(outputs),
        constants=sch.constants,
        lookups=sch.lookups,
    )


def generate_controls(ir: ModelIR) -> str:
    """Source of ``controls(P, O)``: the control variables' values (``O`` holds overrides)."""
    controls = [i for i, v in ir.variables.items() if v.kind == "control"]
    needed = required(ir, controls)
    p = Printer(ir, "init")
    lines = ["def controls(P, O):", "    time = nan", "    dt = nan"]
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


def compile_source(
    source: str, func: str, xp: Any, name: str = "<sd-generated>", dtype: str = "float64"
) -> Any:
    from sd.backends._runtime import bind

    rt = bind(xp, dtype)
    namespace: dict[str, Any] = {
        "xp": xp if dtype == "float64" else rt.xp,
        "rt": rt,
        "nan": math.nan,
        "inf": math.inf,
        "__name__": "sd._generated",
    }
    code = compile(source, name, "exec")
    exec(code, namespace)
    return namespace[func]
