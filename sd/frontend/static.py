"""Structural arguments evaluated once at load: a DELAY N or SMOOTH N order (it fixes the number of hidden
stocks), a function's mode (VECTOR LOOKUP, GET DATA BETWEEN TIMES, GET TIME VALUE).

Such an argument may be any expression of literals and constants: arithmetic, comparisons, IF THEN
ELSE and the functions of :data:`STATIC_CALLS`, computed as the backends compute them. The constants
it reads become structural (``ModelIR.structural``: a run cannot set them per draw). What changes
across draws or during the run is refused by name: a RANDOM draw, a stock or anything else the run
updates, and TIME, except in an order (``initial=True``): Vensim evaluates a delay's or smooth's order
once, at the initial time (vensim-test-models' subscripted_smooth: its SMOOTH N order
``2 + STEP(1, 1)`` runs as 2 in Vensim's output), so TIME reads INITIAL TIME there and STEP its value
then.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sd.errors import UnsupportedFeatureError
from sd.ir.nodes import BinOp, Call, Expr, If, Num, Ref, Time, Unary

__all__ = ["STATIC_CALLS", "static_value"]

SMALL_VENSIM = 1e-6  # as sd.backends._runtime (XIDZ, ZIDZ, QUANTUM, MODULO)


def _quantum(a: float, b: float) -> float:
    return a if b < SMALL_VENSIM else b * math.trunc(a / b)


def _min(a: float, b: float) -> float:  # NaN propagates, as numpy's minimum
    return a if math.isnan(a) or (not math.isnan(b) and a <= b) else b


def _max(a: float, b: float) -> float:
    return a if math.isnan(a) or (not math.isnan(b) and a >= b) else b


STATIC_CALLS: dict[str, Callable[..., float]] = {
    "min": _min,
    "max": _max,
    "abs": abs,
    "integer": lambda a: float(math.trunc(a)),
    "quantum": _quantum,
    "modulo": lambda a, b: a - _quantum(a, b),
    "xidz": lambda a, b, x: x if abs(b) < SMALL_VENSIM else a / b,
    "zidz": lambda a, b: 0.0 if abs(b) < SMALL_VENSIM else a / b,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "ln": math.log,
    "log": lambda a, b: math.log(a) / math.log(b),
    "power": math.pow,
}
_TIME_CALLS = ("step", "ramp", "pulse", "pulse_train")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}  # fmt: skip
_REASON = "it fixes the model's structure, built once at load for every draw"


def _binop(op: str, a: float, b: float) -> float | None:
    if op == "/":
        return a / b if b else math.copysign(math.inf, a)
    if op in ("+", "-", "*"):
        return {"+": a + b, "-": a - b, "*": a * b}[op]
    if op == "**":
        try:
            return math.pow(a, b)
        except (ValueError, OverflowError):  # numpy: NaN for a negative base, inf on overflow
            return math.nan if a < 0 else math.inf
    if op in _COMPARE:
        return float(_COMPARE[op](a, b))
    if op in ("and", "or"):
        return float((a != 0 and b != 0) if op == "and" else (a != 0 or b != 0))
    return None


def static_value(
    expr: Expr,
    ref: Callable[[str], float],
    what: str,
    refuse: Callable[[str], UnsupportedFeatureError],
    initial: Callable[[], tuple[float, float]] | None = None,
) -> float:
    """The value of ``expr``; ``ref(ident)`` gives a referenced variable's (and marks it structural),
    ``refuse(what)`` makes the error naming the variable and line. ``initial()``, where given, is
    (INITIAL TIME, TIME STEP): TIME and STEP are read at the initial time (an order)."""

    def ev(e: Expr) -> float:
        if isinstance(e, Num):
            return e.value
        if isinstance(e, Ref):
            return ref(e.ident)
        if initial is not None and isinstance(e, Time):
            return initial()[0]
        if initial is not None and isinstance(e, Call) and e.fn == "step":
            height, at = ev(e.args[0]), ev(e.args[1])
            t0, dt = initial()
            return height * float(t0 + dt / 2 > at)  # sd.backends._runtime.step at t0
        if isinstance(e, Time) or (isinstance(e, Call) and e.fn in _TIME_CALLS):
            raise refuse(f"a {what} that changes over time ({_REASON})")
        if isinstance(e, Call) and e.fn.startswith("_random"):
            raise refuse(f"a {what} drawn at random ({_REASON})")
        if isinstance(e, Call) and e.fn in STATIC_CALLS:
            try:
                return float(STATIC_CALLS[e.fn](*(ev(a) for a in e.args)))
            except (ValueError, OverflowError, ZeroDivisionError):
                return math.nan
        if isinstance(e, If):
            return ev(e.then) if ev(e.cond) != 0 else ev(e.otherwise)
        if isinstance(e, BinOp):
            value = _binop(e.op, ev(e.left), ev(e.right))
            if value is not None:
                return value
        if isinstance(e, Unary) and e.op in ("-", "not"):
            v = ev(e.operand)
            return -v if e.op == "-" else float(v == 0)
        raise refuse(f"a {what} that is not a constant expression")

    return ev(expr)
