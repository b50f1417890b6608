"""Stateful builtins lowered into hidden stocks, discrete states and auxiliaries.

:data:`STATEFUL_STRUCTURES` maps pysd's AST class (``SmoothStructure``, ``DelayStructure``, ...) to a builder
that takes the lowerer and the structure, creates the hidden variables (``Lowerer.hidden``) and returns
the IR expression that reads the builtin's output. Every backend then sees only ordinary stocks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sd.errors import ModelError
from sd.ir.nodes import BinOp, Call, Expr, If, LookupCall, Num, Ref, Unary, Variable

if TYPE_CHECKING:
    from sd.frontend.lowering import Lowerer

__all__ = ["STATEFUL_STRUCTURES", "XMILE_CALLS", "npv"]


def _game(lw: Lowerer, ast: Any) -> Expr:
    # Outside an interactive Vensim session GAME(x) is just x.
    return lw.expr(ast.expression)


def _inline_lookups(lw: Lowerer, ast: Any) -> Expr:
    table = lw.hidden("lookup", "lookup", table=lw.table(ast.lookups))
    return LookupCall(table.ident, lw.expr(ast.argument))


def _integ(lw: Lowerer, ast: Any) -> Expr:
    stock = lw.hidden(
        "integ",
        "stock",
        init=lw.expr(ast.initial),
        ddt=lw.expr(ast.flow),
        non_negative=bool(getattr(ast, "non_negative", False)),
    )
    return Ref(stock.ident)


def _initial(lw: Lowerer, ast: Any) -> Expr:
    return Ref(lw.hidden("initial", "initial", expr=lw.expr(ast.initial)).ident)


def _smooth(lw: Lowerer, ast: Any, order: int) -> Expr:
    """n stages s_i: ddt_i = (target_i - s_i) * n / T, target_1 = input, output = s_n."""
    if order < 1:
        name = lw.current.name if lw.current else ""
        raise ModelError(f"{lw.where(name)}: SMOOTH order must be >= 1")
    inp, T, init = lw.expr(ast.input), lw.expr(ast.smooth_time), lw.expr(ast.initial)
    stages = [lw.hidden(f"smooth{k}", "stock", init=init) for k in range(order)]
    target: Expr = inp
    for s in stages:
        s.ddt = BinOp("/", BinOp("*", BinOp("-", target, Ref(s.ident)), Num(order)), T)
        target = Ref(s.ident)
    return target


def _smooth_fixed(lw: Lowerer, ast: Any) -> Expr:
    return _smooth(lw, ast, int(ast.order))


def _smooth_n(lw: Lowerer, ast: Any) -> Expr:
    return _smooth(lw, ast, lw.static_int(lw.expr(ast.order), "SMOOTH N order", initial=True))


def _delay_order(lw: Lowerer, order: int, T: Expr) -> tuple[Expr, list[Expr]]:
    """pysd lowers a delay's order while order * TIME STEP > delay time (at initialisation).

    Returns the effective order k (a hidden initial value, per draw) and each stage's factor
    k * (i <= k): stages past k stand still.
    """
    k = lw.hidden("delayorder", "initial", expr=Call("_delay_order", (Num(order), T)))
    factors: list[Expr] = [
        Ref(lw.hidden(f"stagefactor{i}", "initial",
                      expr=Call("_stage_factor", (Ref(k.ident), Num(i + 1)))).ident)
        for i in range(order)
    ]  # fmt: skip
    return Ref(k.ident), factors


def _last_stage(k: Expr, stages: list[Variable]) -> Expr:
    if len(stages) == 1:
        return Ref(stages[0].ident)
    return Call("_stage", (k, *(Ref(s.ident) for s in stages)))


def _delay(lw: Lowerer, ast: Any) -> Expr:
    """n stages holding value*T: out_i = s_i / T, ddt_i = (in_i - out_i) * n, output = s_n / T.

    DELAY1/DELAY3 keep their order whatever the delay time, as Vensim does (its output for a delay
    time shorter than n * TIME STEP is Euler's, oscillating: SDEverywhere's ``delay`` model, d8[A1]).
    pysd lowers the order there (see :func:`_delay_order`); sd follows Vensim (docs/semantics.md).
    """
    order = int(ast.order)
    inp, T, init = lw.expr(ast.input), lw.expr(ast.delay_time), lw.expr(ast.initial)
    stages = [lw.hidden(f"delay{k}", "stock", init=BinOp("*", init, T)) for k in range(order)]
    inflow: Expr = inp
    for s in stages:
        out = BinOp("/", Ref(s.ident), T)
        s.ddt = BinOp("*", BinOp("-", inflow, out), Num(order))
        inflow = out
    return BinOp("/", Ref(stages[-1].ident), T)


def _delay_n(lw: Lowerer, ast: Any) -> Expr:
    """DELAY N as pysd runs it: stage i drains with the delay time of i-1 steps ago.

    Hidden discrete states tau_i hold the delay times of earlier steps (all T at the start); the
    output divides the last stage by the delay time of the previous step.
    """
    order = lw.static_int(lw.expr(ast.order), "DELAY N order", initial=True)
    if order < 1:
        raise lw.model_error(f"DELAY N order must be >= 1, got {order}")
    inp, T, init = lw.expr(ast.input), lw.expr(ast.delay_time), lw.expr(ast.initial)
    stages = [lw.hidden(f"delayn{k}", "stock", init=BinOp("*", init, T)) for k in range(order)]
    taus = [lw.hidden(f"delayntime{k}", "discrete", init=T) for k in range(order)]
    k, factors = _delay_order(lw, order, T)
    times: list[Expr] = [T] + [Ref(t.ident) for t in taus[:-1]]
    for tau, new in zip(taus, times, strict=True):
        tau.update = new
    inflow: Expr = inp
    for s, tm, f in zip(stages, times, factors, strict=True):
        out = BinOp("/", Ref(s.ident), tm)
        s.ddt = BinOp("*", BinOp("-", inflow, out), f)
        inflow = out
    return BinOp("/", _last_stage(k, stages), Ref(taus[0].ident))


def _delay_fixed(lw: Lowerer, ast: Any) -> Expr:
    var = lw.hidden(
        "delayfixed",
        "fixed_delay",
        args=(lw.expr(ast.input), lw.expr(ast.delay_time), lw.expr(ast.initial)),
    )
    return Ref(var.ident)


def _trend(lw: Lowerer, ast: Any) -> Expr:
    inp, T, tr0 = lw.expr(ast.input), lw.expr(ast.average_time), lw.expr(ast.initial_trend)
    s = lw.hidden("trend", "stock", init=BinOp("/", inp, BinOp("+", Num(1.0), BinOp("*", tr0, T))))
    s.ddt = BinOp("/", BinOp("-", inp, Ref(s.ident)), T)
    return Call(
        "zidz", (BinOp("-", inp, Ref(s.ident)), BinOp("*", T, Call("abs", (Ref(s.ident),))))
    )


def _forecast(lw: Lowerer, ast: Any) -> Expr:
    inp, T = lw.expr(ast.input), lw.expr(ast.average_time)
    horizon, tr0 = lw.expr(ast.horizon), lw.expr(ast.initial_trend)
    s = lw.hidden("forecast", "stock", init=BinOp("/", inp, BinOp("+", Num(1.0), tr0)))
    s.ddt = BinOp("/", BinOp("-", inp, Ref(s.ident)), T)
    ratio = Call("zidz", (BinOp("-", inp, Ref(s.ident)), BinOp("*", T, Ref(s.ident))))
    return BinOp("*", inp, BinOp("+", Num(1.0), BinOp("*", ratio, horizon)))


def _sample_if_true(lw: Lowerer, ast: Any) -> Expr:
    """The sampled value: ``input`` where ``condition`` holds, else the value held from the step
    before (``initial`` at the start). Where SAMPLE IF TRUE is a variable's whole equation, the
    variable named in its own arguments is that held value, as in Vensim's peak idiom
    ``Peak = SAMPLE IF TRUE(x > Peak, x, x)`` (the function is Vensim's level-like state)."""
    cond, inp, init = lw.expr(ast.condition), lw.expr(ast.input), lw.expr(ast.initial)
    held = lw.hidden("sampled", "discrete", init=init)
    if lw.current is not None and getattr(lw.current_component, "ast", None) is ast:
        own = lw.current.ident
        cond, inp = _rename_ref(cond, own, held.ident), _rename_ref(inp, own, held.ident)
    out = lw.hidden("sample", "aux", expr=If(cond, inp, Ref(held.ident)))
    held.update = Ref(out.ident)
    return Ref(out.ident)


def _rename_ref(expr: Expr, old: str, new: str) -> Expr:
    """``expr`` with every reference to ``old`` made a reference to ``new``."""
    if isinstance(expr, Ref):
        return Ref(new) if expr.ident == old else expr
    if not expr.children():
        return expr

    def swap(v: Any) -> Any:
        if isinstance(v, Expr):
            return _rename_ref(v, old, new)
        return tuple(swap(x) for x in v) if isinstance(v, tuple) else v

    fields = {f.name: swap(getattr(expr, f.name)) for f in dataclasses.fields(expr)}  # type: ignore[arg-type]
    return dataclasses.replace(expr, **fields)  # type: ignore[type-var]


def _previous(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    """XMILE's PREVIOUS(x, initial): x's value one time step earlier, ``initial`` at the start (a
    discrete state whose next value is x). ``SELF`` is the variable (the element) being defined."""
    if len(args) != 2:
        raise lw.unsupported(
            f"PREVIOUS with {len(args)} argument{'s' if len(args) != 1 else ''} (sd reads "
            "PREVIOUS(value, initial value))"
        )
    value, init = args
    is_self = getattr(value, "reference", None) == "self" and "self" not in lw.decls
    if is_self and getattr(value, "subscripts", None) is None and lw.current is not None:
        x: Expr = Ref(lw.current.ident)  # the element being defined
    else:
        x = lw.expr(value)
    held = lw.hidden("previous", "discrete", init=lw.expr(init))
    held.update = x
    return Ref(held.ident)


def npv(lw: Lowerer, args: tuple[Expr, ...], end_of_period: bool = False) -> Expr:
    """NPV(stream, discount rate, initial value, factor) as Vensim computes it (its own helper
    variables in SDEverywhere's npv.dat: ``NPV>df``, ``NPV>NCUM``): a discount factor stock
    df' = -df * rate / (1 + rate * TIME STEP), df(0) = 1; an accumulation NCUM' = stream * df,
    NCUM(0) = initial value; NPV = (NCUM + stream * TIME STEP * df) * factor. A row of
    :data:`sd.frontend.functions.FUNCTIONS` (pysd parses NPV as a plain call).

    ``end_of_period``: NPVE, the same equations with df(0) = 1 / (1 + rate * TIME STEP) (Vensim's
    fn_npve: the stream valued at the end of each period, as Excel's NPV)."""
    stream, rate, init, factor = args
    dt = lw.ref("time_step")
    step_factor = BinOp("+", Num(1.0), BinOp("*", rate, dt))
    df = lw.hidden(
        "npvedf" if end_of_period else "npvdf",
        "stock",
        init=BinOp("/", Num(1.0), step_factor) if end_of_period else Num(1.0),
    )
    df.ddt = BinOp("/", BinOp("*", Unary("-", Ref(df.ident)), rate), step_factor)
    ncum = lw.hidden("npvcum", "stock", init=init, ddt=BinOp("*", stream, Ref(df.ident)))
    now = BinOp("*", BinOp("*", stream, dt), Ref(df.ident))
    return BinOp("*", BinOp("+", Ref(ncum.ident), now), factor)


STATEFUL_STRUCTURES: dict[str, Callable[[Lowerer, Any], Expr]] = {
    "GameStructure": _game,
    "InlineLookupsStructure": _inline_lookups,
    "IntegStructure": _integ,
    "InitialStructure": _initial,
    "SmoothStructure": _smooth_fixed,
    "SmoothNStructure": _smooth_n,
    "DelayStructure": _delay,
    "DelayNStructure": _delay_n,
    "DelayFixedStructure": _delay_fixed,
    "TrendStructure": _trend,
    "ForecastStructure": _forecast,
    "SampleIfTrueStructure": _sample_if_true,
}

# XMILE's stateful builtins that pysd's XMILE translator leaves as plain calls (by pysd's lower-case
# name; read only in XMILE files, see sd.frontend.expressions)
XMILE_CALLS: dict[str, Callable[[Lowerer, tuple[Any, ...]], Expr]] = {"previous": _previous}
