"""What every code generator shares: dtypes, the names of the control locals, the IR mapper base class
and the one walk over a run's blocks that each target's emitter fills in."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from sd.errors import ParamError
from sd.ir.nodes import (
    ActiveInitial,
    BinOp,
    Call,
    Expr,
    If,
    LookupCall,
    Num,
    Ref,
    Time,
    Unary,
)
from sd.ir.schedule import Schedule

__all__ = ["CONTROL_LOCALS", "DTYPES", "Emitter", "ExprMapper", "check_dtype", "local", "walk"]

DTYPES = ("float64", "float32")

# the generated code's names for the control variables
CONTROL_LOCALS = {
    "initial_time": "t0",
    "final_time": "tf",
    "time_step": "dt",
    "saveper": "saveper",
}


def check_dtype(dtype: Any, where: str = "") -> str:
    """'float64' or 'float32' from a name or a numpy dtype; anything else is a :class:`ParamError`."""
    import numpy as np

    try:
        name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ParamError(
            f"{where + ': ' if where else ''}unknown dtype {dtype!r}; choose one of "
            f"{', '.join(map(repr, DTYPES))} (or numpy.float64, numpy.float32)"
        )
    return name


def local(ident: str) -> str:
    """The generated code's name of a variable."""
    return "v_" + ident


class ExprMapper:
    """Maps an IR expression by node type: ``map_num``, ``map_ref``, ``map_time``, ``map_binop``,
    ``map_unary``, ``map_if``, ``map_active_initial``, ``map_lookup_call``, ``map_call`` (pymbolic's
    style). Printers (numpy source, C) and the flop counter are mappers."""

    _METHODS: ClassVar[dict[type, str]] = {
        Num: "map_num", Ref: "map_ref", Time: "map_time", BinOp: "map_binop", Unary: "map_unary",
        If: "map_if", ActiveInitial: "map_active_initial", LookupCall: "map_lookup_call",
        Call: "map_call",
    }  # fmt: skip

    def __call__(self, e: Expr | None) -> Any:
        if e is None:
            return self.map_missing()
        method = self._METHODS.get(type(e))
        if method is None:
            return self.map_unknown(e)
        return getattr(self, method)(e)

    def map_missing(self) -> Any:
        raise NotImplementedError

    def map_unknown(self, e: Expr) -> Any:
        raise NotImplementedError(type(e).__name__)


class Emitter(Protocol):
    """A target's code generator, called by :func:`walk` block by block."""

    def constant(self, pos: int, ident: str) -> None: ...
    def lookup(self, pos: int, ident: str) -> None: ...
    def control(self, ident: str) -> None: ...
    def inputs_end(self) -> None: ...
    def invariant(self, ident: str) -> None: ...
    def init_begin(self) -> None: ...
    def init(self, ident: str) -> None: ...
    def init_end(self) -> None: ...
    def run_static(self, ident: str) -> None: ...
    def loop_begin(self) -> None: ...
    def dynamic(self, ident: str, every_step: bool) -> None: ...
    def save_begin(self) -> None: ...
    def save_end(self) -> None: ...
    def states(self, idents: list[str]) -> None: ...
    def loop_end(self) -> None: ...


def walk(sch: Schedule, em: Emitter) -> None:
    """The blocks of a run, in order, for any target (see :class:`sd.ir.schedule.Schedule`)."""
    for pos, c in enumerate(sch.constants):
        em.constant(pos, c)
    for pos, lk in enumerate(sch.lookups):
        em.lookup(pos, lk)
    for c in sch.controls:
        em.control(c)
    em.inputs_end()
    for i in sch.invariant:
        em.invariant(i)
    em.init_begin()
    for i in sch.init:
        em.init(i)
    em.init_end()
    for i in sch.run_static:
        em.run_static(i)
    em.loop_begin()
    for i in sch.dynamic:
        if i in sch.core:
            em.dynamic(i, every_step=True)
    em.save_begin()
    for i in sch.dynamic:
        if i not in sch.core:
            em.dynamic(i, every_step=False)
    em.save_end()
    em.states(sch.states)
    em.loop_end()
