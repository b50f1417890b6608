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
from typing import TYPE_CHECKING

from sd.frontend.stateful import npv
from sd.ir.nodes import ActiveInitial, BinOp, Call, Expr, If, Num, Time

if TYPE_CHECKING:
    from sd.frontend.lowering import Lowerer

__all__ = [
    "ARRAY_FUNCTIONS",
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


def _get_time_value(lw: Lowerer, args: tuple[Expr, ...]) -> Expr:
    rel = lw.static_int(args[0], "GET TIME VALUE 'relative to' argument")
    measure = lw.static_int(args[2], "GET TIME VALUE 'measure' argument")
    if rel != 0 or measure != 0:
        raise lw.unsupported(
            f"GET TIME VALUE({rel}, ..., {measure}) (only relative to 0 with measure 0: "
            "the simulation time plus an offset)"
        )
    return BinOp("+", Time(), args[1])


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
    "vector_reorder", "vector_elm_map", "invert_matrix", "allocate_available",
    "allocate_by_priority",
)  # fmt: skip
STATEFUL = (
    "INTEG, INITIAL, ACTIVE INITIAL, SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N, DELAY1, DELAY1I, "
    "DELAY3, DELAY3I, DELAY N, DELAY FIXED, TREND, FORECAST, SAMPLE IF TRUE, WITH LOOKUP, GAME, NPV, NPVE"
)
FUNCTION_LIST = ", ".join(
    sorted(
        k.upper().replace("_", " ") for k in (*SUPPORTED_FUNCTIONS, *ARRAY_FUNCTIONS, *LOOKUP_MODES)
    )
)
LATER = (
    "also subscripts, macros, GET XLS/DIRECT DATA, LOOKUPS, CONSTANTS and SUBSCRIPT, data variables"
)
