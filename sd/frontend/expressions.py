"""The expression visitor: pysd's AST -> IR expressions.

:data:`EXPRESSION_STRUCTURES` maps pysd's AST class to a builder (like pysd's own ``_builders``); the
lowerer merges it with the stateful and array tables (:mod:`sd.frontend.stateful`,
:mod:`sd.frontend.arrays`) and dispatches on the node's class. Calls of scalar functions go through
the lowering table :data:`sd.frontend.functions.FUNCTIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sd.errors import ModelError, UnsupportedFeatureError
from sd.frontend.arrays import ARRAY_CALLS, XMILE_ARRAY_CALLS
from sd.frontend.functions import (
    ARRAY_FUNCTIONS,
    DATA_CALLS,
    FUNCTION_LIST,
    FUNCTIONS,
    LOOKUP_MODES,
    STATEFUL,
)
from sd.frontend.stateful import XMILE_CALLS
from sd.frontend.xmile import EXTENSIONS as XMILE_EXTENSIONS
from sd.ir.nodes import BinOp, Call, Expr, LookupCall, Num, Table, Unary

if TYPE_CHECKING:
    from sd.frontend.lowering import Lowerer

__all__ = ["EXPRESSION_STRUCTURES", "is_number"]

_LOGIC = {":AND:": "and", ":OR:": "or", "=": "==", "<>": "!=", "<": "<", "<=": "<=",
          ">": ">", ">=": ">="}  # fmt: skip


def is_number(ast: Any) -> bool:
    import numpy as np

    return isinstance(ast, int | float | np.integer | np.floating) and not isinstance(ast, bool)


def _reference(lw: Lowerer, ast: Any) -> Expr:
    subs = list(ast.subscripts.subscripts) if ast.subscripts is not None else None
    return lw.ref(ast.reference, subs)


def _arithmetic(lw: Lowerer, ast: Any) -> Expr:
    ops, args = list(ast.operators), list(ast.arguments)
    if len(args) == 1:
        inner = lw.expr(args[0])
        op = ops[0]
        if op == "negative":
            return Unary("-", inner)
        if op == "positive":
            return inner
        raise lw.unsupported(f"unary operator {op}")
    if ops and all(o == "^" for o in ops):
        # Python's ** (what pysd generates): right-associative, and a negative literal base binds
        # looser than the power (-2^2 = -4, as Vensim computes it).
        result = lw.expr(args[-1])
        for base in reversed(args[:-1]):
            if is_number(base) and float(base) < 0:
                result = Unary("-", BinOp("**", Num(-float(base)), result))
            else:
                result = BinOp("**", lw.expr(base), result)
        return result
    result = lw.expr(args[0])
    for op, arg in zip(ops, args[1:], strict=True):
        if op not in ("+", "-", "*", "/"):
            raise lw.unsupported(f"operator {op}")
        result = BinOp(op, result, lw.expr(arg))
    return result


def _logic(lw: Lowerer, ast: Any) -> Expr:
    ops, args = list(ast.operators), list(ast.arguments)
    if len(args) == 1:
        return Unary("not", lw.expr(args[0]))
    if ops[0] in (":AND:", ":OR:"):
        # pysd nests :AND: / :OR: chains from the right: a :AND: b :OR: c = a AND (b OR c)
        result = lw.expr(args[-1])
        for op, arg in zip(reversed(ops), reversed(args[:-1]), strict=True):
            result = BinOp(_LOGIC[op], lw.expr(arg), result)
        return result
    result = lw.expr(args[0])
    for op, arg in zip(ops, args[1:], strict=True):
        result = _compare(_LOGIC[op], result, lw.expr(arg))
    return result


def _is_na(e: Expr) -> bool:
    return isinstance(e, Num) and math.isnan(e.value)


def _compare(op: str, left: Expr, right: Expr) -> Expr:
    """A comparison; ``x = :NA:`` and ``x <> :NA:`` test for Vensim's NA, which sd holds as NaN (Vensim's
    :NA: is a number equal to itself, so ``x = :NA:`` holds where x is NA): ``x != x`` / ``x == x``, true
    exactly where x is / is not NaN (IEEE; the fused kernels are never built with fast-math)."""
    if op in ("==", "!=") and (_is_na(left) or _is_na(right)):
        other = right if _is_na(left) else left
        return BinOp("!=" if op == "==" else "==", other, other)
    return BinOp(op, left, right)


def _call(lw: Lowerer, ast: Any) -> Expr:
    fname = ast.function.reference if hasattr(ast.function, "reference") else str(ast.function)
    fsubs = getattr(getattr(ast.function, "subscripts", None), "subscripts", None)
    args = tuple(ast.arguments)
    if fname in lw.macros and fname not in lw.decls:
        return lw.inline_macro(lw.macros[fname], args)
    decl = lw.decls.get(fname)
    if decl is not None and fname not in FUNCTIONS and fname not in ARRAY_FUNCTIONS:
        comp = next(iter(decl.el.components))
        if (
            type(comp).__name__ != "AbstractLookup"
            and type(comp.ast).__name__ != "LookupsStructure"
        ):
            raise lw.model_error(f"calls '{decl.el.name}' like a lookup, but it is not a lookup")
        if len(args) != 1:
            raise lw.unsupported(f"a lookup call with {len(args)} arguments")
        ident = decl.ident if decl.array is None else lw.element(decl, fsubs)
        assert ident is not None
        return LookupCall(ident, lw.expr(args[0]))
    if fname in ARRAY_CALLS:
        return ARRAY_CALLS[fname](lw, args)
    if fname in LOOKUP_MODES:
        return _lookup_mode(lw, fname, args)
    if fname in XMILE_CALLS and lw.path.suffix.lower() in XMILE_EXTENSIONS:
        return XMILE_CALLS[fname](lw, args)
    if fname in XMILE_ARRAY_CALLS and lw.path.suffix.lower() in XMILE_EXTENSIONS:
        return XMILE_ARRAY_CALLS[fname](lw, args)
    if fname in DATA_CALLS:
        return DATA_CALLS[fname](lw, args)
    function = FUNCTIONS.get(fname)
    if function is None:
        shown = fname.upper().replace("_", " ")
        raise UnsupportedFeatureError(
            f"{lw.where(lw.owner())} variable '{lw.owner()}': function {shown} is not "
            f"supported by sd (supported: {FUNCTION_LIST}; stateful: {STATEFUL})"
        )
    if len(args) not in function.arity:
        raise ModelError(
            f"{lw.where(lw.owner())} variable '{lw.owner()}': {fname.upper()} takes "
            f"{' or '.join(map(str, function.arity))} arguments, got {len(args)}"
        )
    lowered = tuple(lw.expr(a) for a in args)
    if function.lower is not None:
        return function.lower(lw, lowered)
    return Call(fname, lowered)


def _lookup_mode(lw: Lowerer, fname: str, args: tuple[Any, ...]) -> Expr:
    """LOOKUP FORWARD / BACKWARD / INVERT (lookup, x): a hidden copy of the lookup's table read in
    that mode (:data:`sd.frontend.functions.LOOKUP_MODES`)."""
    shown = fname.upper().replace("_", " ")
    if len(args) != 2:
        raise lw.model_error(f"{shown} takes 2 arguments (a lookup and a value), got {len(args)}")
    ref = args[0]
    name = getattr(ref, "reference", None)
    decl = lw.decls.get(name) if isinstance(name, str) else None
    if decl is None:
        raise lw.unsupported(f"{shown} of something other than a lookup variable")
    if decl.array is None:
        comp = next(iter(decl.el.components))
    else:
        subs = getattr(getattr(ref, "subscripts", None), "subscripts", None)
        comp = decl.parts[lw.element(decl, subs)][0]
    if type(comp).__name__ != "AbstractLookup" and type(comp.ast).__name__ != "LookupsStructure":
        raise lw.model_error(f"{shown} of '{decl.el.name}', which is not a lookup")
    if type(comp.ast).__name__ != "LookupsStructure":
        raise lw.unsupported(f"{shown} of a lookup read from a data file ('{decl.el.name}')")
    table = lw.table(comp.ast)
    mode = LOOKUP_MODES[fname]
    if mode == "invert":
        ys = np.asarray(table.y)
        if len(ys) > 1 and not (np.all(np.diff(ys) > 0) or np.all(np.diff(ys) < 0)):
            raise lw.unsupported(
                f"{shown} of '{decl.el.name}', whose y values are not strictly monotonic,"
            )
        order = np.argsort(ys)
        table = Table(tuple(float(ys[i]) for i in order), tuple(table.x[i] for i in order))
    else:
        table = Table(table.x, table.y, mode)
    hidden = lw.hidden(fname, "lookup", table=table)
    return LookupCall(hidden.ident, lw.expr(args[1]))


EXPRESSION_STRUCTURES: dict[str, Callable[[Lowerer, Any], Expr]] = {
    "ReferenceStructure": _reference,
    "ArithmeticStructure": _arithmetic,
    "LogicStructure": _logic,
    "CallStructure": _call,
}
