"""The lowering table of Vensim's scalar functions: arity and how each becomes IR.

One row per function, keyed by pysd's lower-case name. A row without ``lower`` becomes
``Call(name, args)``, printed by each backend's function table (``sd.backends.numpy_.FUNCTIONS``,
``sd.backends.fused.codegen.C_FUNCTIONS``). Adding a Vensim function: a row here, plus one row in each
backend table (docs/architecture.md). Functions over subscript ranges live in
:mod:`sd.frontend.arrays`; stateful builtins (hidden stocks) in :mod:`sd.frontend.stateful`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sd.frontend.stateful import npv
from sd.ir.nodes import ActiveInitial, BinOp, Call, Expr, If, LookupCall, Num, Table, Time

if TYPE_CHECKING:
    from sd.frontend.lowering import Lowerer

__all__ = [
    "ARRAY_FUNCTIONS",
    "DATA_CALLS",
    "FUNCTIONS",
    "FUNCTION_LIST",
    "LATER",
    "LOOKUP_MODES",
    "RANDOM_FUNCTIONS",
    "STATEFUL",
    "SUPPORTED_FUNCTIONS",
    "Function",
]

Lowering = Callable[["Lowerer", tuple[Expr, ...]], Expr]


@dataclass(frozen=True)
class Function:
    """A scalar Vensim function: accepted argument counts and, where it is not a plain ``Call``,
    how it lowers (given the lowerer and the lowered arguments)."""

    arity: tuple[int, ...]
    lower: Lowering | None = None


def _random(fname: str) -> Lowering:
    def lower(lw: Lowerer, args: tuple[Expr, ...]) -> Expr:
        return lw.random(fname, args)

    return lower


# GET TIME VALUE's measures other than 0 (Vensim: fn_get_time_value)
TIME_MEASURES = {
    1: "years since 1 BC", 2: "quarter of year", 3: "month of year", 4: "day of month",
    5: "day of week", 6: "days since Jan 1, 1 BC", 7: "hour of day", 8: "minute of hour",
    9: "second of minute", 10: "elapsed seconds modulo 500,000",
}  # fmt: skip


def _get_time_value(lw: Lowerer, args: tuple[Expr, ...]) -> Expr:
    """GET TIME VALUE(relative to, offset, measure) with measure 0 (the model's units of time): the
    current simulation time plus offset (relative to 0) or INITIAL TIME plus offset (relative to 1).
    Relative to 2 reads the computer's clock, measures 1-9 are calendar values of Vensim's time
    labelling (the model settings' date of time 0, which pysd does not read) and measure 10 the
    elapsed wall-clock seconds: refused by name."""
    rel = lw.static_int(args[0], "GET TIME VALUE 'relative to' argument")
    measure = lw.static_int(args[2], "GET TIME VALUE 'measure' argument")
    if rel == 2:
        raise lw.unsupported(
            "GET TIME VALUE(2, ...) (relative to the computer's clock: a run would depend on when "
            "it starts)"
        )
    if rel not in (0, 1):
        raise lw.unsupported(f"GET TIME VALUE({rel}, ...) (Vensim's 'relative to' is 0, 1 or 2)")
    if measure == 10:
        raise lw.unsupported(
            f"GET TIME VALUE({rel}, ..., 10) (elapsed seconds of the computer's clock)"
        )
    if measure in TIME_MEASURES:
        raise lw.unsupported(
            f"GET TIME VALUE({rel}, ..., {measure}) ({TIME_MEASURES[measure]}: a calendar measure of "
            "Vensim's time labelling in the model settings)"
        )
    if measure != 0:
        raise lw.unsupported(f"GET TIME VALUE({rel}, ..., {measure}) (Vensim's measures are 0-10)")
    return BinOp("+", Time() if rel == 0 else lw.ref("initial_time"), args[1])


# GET DATA BETWEEN TIMES' modes (Vensim: fn_get_data_between_times): 0 interpolate, 1 forward, -1 backward
DATA_MODES = (0, 1, -1)


def get_data_between_times(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    """GET DATA BETWEEN TIMES(data variable, time, mode): the data variable's points read at ``time``
    by ``mode``, whatever the variable's own keyword; :NA: (NaN) before the first or after the last
    point (Vensim's documentation). ``args`` are pysd's unlowered arguments: the first must name a data
    variable read from a file (its table is read once, :meth:`Lowerer.data_table`).

    Vensim's output (vensim-sde-models' getdata.dat, as SDEverywhere's runtime found) reads the time of
    modes 1 and -1 rounded down to a whole number: mode 1 gives the first point at or after it, mode -1
    the point before the first point at or after it (the first point's value before that, the
    second-to-last past the end). Both are the :LOOK FORWARD: reading at floor(time), mode -1 of the
    values shifted one point later. Mode 0 interpolates (Vensim's getdata.dat checks whole times)."""
    shown = "GET DATA BETWEEN TIMES"
    if len(args) != 3:
        raise lw.model_error(
            f"{shown} takes 3 arguments (a data variable, a time and a mode), got {len(args)}"
        )
    ident, name, comp, binding = lw.data_element(args[0], shown)
    table = lw.data_table(ident, name, comp, binding)
    mode = lw.static_int(lw.expr(args[2]), f"{shown} mode")
    if mode not in DATA_MODES:
        raise lw.unsupported(f"{shown} mode {mode} (Vensim's are 0, 1 and -1)")
    t = lw.expr(args[1])
    if mode == 0:
        at, read = t, Table(table.x, table.y)
    else:
        ys = table.y if mode == 1 else (table.y[0], *table.y[:-1])
        whole = Call("integer", (t,))  # floor(t): INTEGER truncates, one less below zero
        at, read = BinOp("-", whole, BinOp("<", t, whole)), Table(table.x, ys, "look_forward")
    hidden = lw.hidden("get_data", "lookup", table=read)
    inside = BinOp("and", BinOp(">=", t, Num(table.x[0])), BinOp("<=", t, Num(table.x[-1])))
    return If(inside, LookupCall(hidden.ident, at), Num(math.nan))


# functions of a data variable (not of its value): given pysd's unlowered arguments
DATA_CALLS: dict[str, Callable[[Lowerer, tuple[Any, ...]], Expr]] = {
    "get_data_between_times": get_data_between_times,
}


def _pulse_train(lw: Lowerer, args: tuple[Expr, ...]) -> Expr:
    # pysd's parser orders PULSE TRAIN's arguments as (start, interval, width, end); the IR's
    # pulse_train takes Vensim's order (start, width, interval, end)
    start, interval, width, end = args
    return Call("pulse_train", (start, width, interval, end))


FUNCTIONS: dict[str, Function] = {
    "abs": Function((1,)), "min": Function((2,)), "max": Function((2,)), "exp": Function((1,)),
    "ln": Function((1,)), "log": Function((2,)), "sqrt": Function((1,)), "power": Function((2,)),
    "integer": Function((1,)), "modulo": Function((2,)), "quantum": Function((2,)),
    "sin": Function((1,)), "cos": Function((1,)), "tan": Function((1,)), "arcsin": Function((1,)),
    "arccos": Function((1,)), "arctan": Function((1,)), "sinh": Function((1,)),
    "cosh": Function((1,)), "tanh": Function((1,)),
    "gamma_ln": Function((1,)),  # ln|Gamma(x)| (C's lgamma)
    "pi": Function((0,), lambda lw, a: Num(math.pi)),
    "if_then_else": Function((3,), lambda lw, a: If(*a)),
    "xidz": Function((3,)), "zidz": Function((2,)), "step": Function((2,)),
    "ramp": Function((2, 3)), "pulse": Function((2,)),
    "pulse_train": Function((4,), _pulse_train),
    "active_initial": Function((2,), lambda lw, a: ActiveInitial(a[0], a[1])),
    "random_0_1": Function((0,), _random("random_0_1")),
    "random_uniform": Function((3,), _random("random_uniform")),
    "random_normal": Function((5,), _random("random_normal")),
    "random_exponential": Function((5,), _random("random_exponential")),
    "get_time_value": Function((3,), _get_time_value),
    "npv": Function((4,), lambda lw, a: npv(lw, a)),  # hidden stocks (sd.frontend.stateful.npv)
    "npve": Function((4,), lambda lw, a: npv(lw, a, end_of_period=True)),  # the same, df(0) differs
}  # fmt: skip

# LOOKUP FORWARD/BACKWARD/INVERT (table, x): the table's points read another way. Each call becomes a
# hidden copy of the lookup with its own mode (sd.frontend.expressions._lookup_mode); the backends read
# 'look_forward'/'hold_backward' as they read data variables (numpy: Runtime.lookup_mode; the fused
# backend refuses those modes and backend='auto' runs numpy). INVERT is the table with x and y swapped.
LOOKUP_MODES: dict[str, str] = {
    "lookup_forward": "look_forward",
    "lookup_backward": "hold_backward",
    "lookup_invert": "invert",
}

# canonical function -> accepted argument counts (Vensim spelling in the docs table)
SUPPORTED_FUNCTIONS: dict[str, tuple[int, ...]] = {k: f.arity for k, f in FUNCTIONS.items()}
RANDOM_FUNCTIONS = ("random_0_1", "random_uniform", "random_normal", "random_exponential")
# functions over whole subscript ranges, unrolled per element (sd.frontend.arrays)
ARRAY_FUNCTIONS = (
    "sum", "prod", "vmin", "vmax", "elmcount", "vector_select", "vector_sort_order", "vector_rank",
    "vector_reorder", "vector_elm_map", "vector_lookup", "invert_matrix", "allocate_available",
    "allocate_by_priority",
)  # fmt: skip
STATEFUL = (
    "INTEG, INITIAL, ACTIVE INITIAL, SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N, DELAY1, DELAY1I, "
    "DELAY3, DELAY3I, DELAY N, DELAY FIXED, TREND, FORECAST, SAMPLE IF TRUE, WITH LOOKUP, GAME, NPV, NPVE"
)
FUNCTION_LIST = ", ".join(
    sorted(
        k.upper().replace("_", " ")
        for k in (*SUPPORTED_FUNCTIONS, *ARRAY_FUNCTIONS, *LOOKUP_MODES, *DATA_CALLS)
    )
)
LATER = (
    "also subscripts, macros, GET XLS/DIRECT DATA, LOOKUPS, CONSTANTS and SUBSCRIPT, data variables"
)
