"""Functions over subscript ranges (SUM, VMIN, VECTOR SELECT, VECTOR ELM MAP, VECTOR LOOKUP,
ALLOCATE ..., INVERT MATRIX), unrolled per element into scalar IR.

Two dispatch tables: :data:`ARRAY_CALLS` by Vensim function name (pysd's ``CallStructure``) and
:data:`ARRAY_STRUCTURES` by pysd AST class (functions pysd parses into structures of their own). Each
builder takes the lowerer and the pysd arguments (or structure) and returns an IR expression.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sd.ir.nodes import BinOp, Call, Expr, Num, Ref

if TYPE_CHECKING:
    from sd.frontend.lowering import Lowerer

__all__ = ["ARRAY_CALLS", "ARRAY_STRUCTURES", "XMILE_ARRAY_CALLS"]


def _fold(fname: str, terms: list[Expr]) -> Expr:
    result = terms[0]
    for t in terms[1:]:
        if fname == "sum":
            result = BinOp("+", result, t)
        elif fname == "prod":
            result = BinOp("*", result, t)
        else:
            result = Call("min" if fname == "vmin" else "max", (result, t))
    return result


def _aggregate(fname: str) -> Callable[[Lowerer, tuple[Any, ...]], Expr]:
    def build(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
        if len(args) != 1:
            raise lw.model_error(f"{fname.upper()} takes 1 argument, got {len(args)}")
        bang = lw.bang_subs(args[0])
        return _fold(fname, lw.unroll(args[0], bang) if bang else [lw.expr(args[0])])

    return build


def _elmcount(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    ref = args[0]
    name = getattr(ref, "reference", None)
    for r, elems in lw.subs.items():
        if name is not None and r.replace(" ", "_").lower() == name:
            return Num(float(len(elems)))
    raise lw.model_error(f"ELMCOUNT needs a subscript range, got {name!r}")


def _vector_select(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    if len(args) != 5:
        raise lw.model_error(f"VECTOR SELECT takes 5 arguments, got {len(args)}")
    bang = lw.bang_subs(args[0])
    bang += [b for b in lw.bang_subs(args[1]) if b not in bang]
    if not bang:
        raise lw.unsupported("VECTOR SELECT without a 'Dim!' subscript")
    sel = lw.unroll(args[0], bang)
    vals = lw.unroll(args[1], bang)
    missing = lw.expr(args[2])
    action = lw.expr(args[3])  # may change over time (not across draws)
    return Call("_vector_select", (action, missing, Num(len(sel)), *sel, *vals))


def _sort_call(fn: str) -> Callable[[Lowerer, tuple[Any, ...]], Expr]:
    def build(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
        (axis,) = lw.vector_axis(args[0], fn[1:].upper().replace("_", " "))
        pos = lw.position(axis)
        elems = lw.unroll(args[0], [axis])
        direction = lw.expr(args[1])
        return Call(fn, (direction, Num(pos), *elems))

    return build


def _vector_reorder(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    (axis,) = lw.vector_axis(args[0], "VECTOR REORDER")
    elems = lw.unroll(args[0], [axis])
    return Call("_vector_reorder", (lw.expr(args[1]), *elems))


def _invert_matrix(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    a, b = lw.vector_axis(args[0], "INVERT MATRIX", last=2)
    size = len(lw.expand(a))
    if len(lw.expand(b)) != size:
        raise lw.model_error("INVERT MATRIX needs a square matrix")
    i, j = lw.position(a), lw.position(b)
    elems = lw.unroll(args[0], [a, b])
    return Call("_invert_matrix", (Num(i), Num(j), Num(size), *elems))


def _allocate_by_priority(lw: Lowerer, ast: Any) -> Expr:
    """ALLOCATE BY PRIORITY along the last subscript of the request."""
    (axis,) = lw.vector_axis(ast.request, "ALLOCATE BY PRIORITY")
    pos = lw.position(axis)
    requests = lw.unroll(ast.request, [axis])
    priorities = lw.unroll(ast.priority, [axis])
    width, supply = lw.expr(ast.width), lw.expr(ast.supply)
    return Call(
        "_allocate_by_priority",
        (Num(pos), Num(len(requests)), width, supply, *requests, *priorities),
    )


def _allocate_available(lw: Lowerer, ast: Any) -> Expr:
    """ALLOCATE AVAILABLE along the last subscript of the request; the priority profile along the
    last subscript of ``pp`` (type, priority, width, extra)."""
    (axis,) = lw.vector_axis(ast.request, "ALLOCATE AVAILABLE")
    pp = ast.pp
    if type(pp).__name__ != "ReferenceStructure" or pp.subscripts is None:
        raise lw.unsupported("ALLOCATE AVAILABLE with a priority profile that is not a reference")
    subs = list(pp.subscripts.subscripts)
    profile = subs[-1] if subs[-1] in lw.subs else lw.range_of(subs[-1], set())
    # Vensim names the profile by its first element (ptype): read the whole range
    pp = dataclasses.replace(
        pp, subscripts=dataclasses.replace(pp.subscripts, subscripts=[*subs[:-1], profile])
    )
    pos = lw.position(axis)
    requests = lw.unroll(ast.request, [axis])
    profiles = lw.unroll(pp, [axis, profile])
    avail = lw.expr(ast.avail)
    return Call("_allocate_available", (Num(pos), Num(len(requests)), avail, *requests, *profiles))


def _vector_elm_map(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    """VECTOR ELM MAP(vec[start], offset): the element ``offset`` places after ``vec[start]`` in
    ``vec``'s elements laid out in order, last subscript fastest (Vensim; SDEverywhere's vector_simple).
    An offset outside the array gives NaN (Vensim's :NA:)."""
    if len(args) != 2:
        raise lw.model_error(f"VECTOR ELM MAP takes 2 arguments, got {len(args)}")
    ref = args[0]
    name = getattr(ref, "reference", None)
    decl = lw.decls.get(name) if isinstance(name, str) else None
    if decl is None or decl.array is None:
        raise lw.unsupported("VECTOR ELM MAP of something other than a subscripted variable")
    info = decl.array
    subs = getattr(getattr(ref, "subscripts", None), "subscripts", None)
    start = lw.element(decl, subs)
    flat = list(itertools.product(*(info.coords[d] for d in info.dims)))
    if len(info.elements) != len(flat):
        raise lw.unsupported(f"VECTOR ELM MAP of '{decl.el.name}', which leaves elements undefined")
    idents = [info.elements[e] for e in flat]
    index = BinOp("+", Num(float(idents.index(start))), lw.expr(args[1]))
    return Call("_vector_elm_map", (index, *(Ref(i) for i in idents)))


# VECTOR LOOKUP's modes (Vensim's documentation): those sd runs, and why the others are refused
VECTOR_LOOKUP_MODES = {0: "a normal lookup", 2: "LOOKUP BACKWARD", 3: "LOOKUP EXTRAPOLATE",
                       4: "LOOKUP FORWARD"}  # fmt: skip
VECTOR_LOOKUP_REFUSED = {
    1: "LOOKUP AREA: the documentation does not say what the area is for x below xmin or above xmax",
    5: "LOOKUP INVERT: the documentation does not say which x a non-monotonic vector gives",
    6: "LOOKUP SLOPE: the documentation does not say the slope at the points or outside the range",
    7: "LOOKUP AREA with extrapolation: the documentation states only its sign below xmin",
    8: "LOOKUP INVERT with extrapolation: the documentation does not say how it extrapolates",
    9: "LOOKUP SLOPE with extrapolation: the documentation does not say the slope at the points",
}


def _vector_lookup(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    """VECTOR LOOKUP(vec[first element], x, xmin, xmax, mode): a lookup whose y values are ``vec``
    along its last subscript (Vensim: called with that subscript's first element; earlier subscripts
    select as in any reference), at n equally spaced x from xmin to xmax. ``vec``, x, xmin and xmax
    may change over time and across draws; the mode is fixed at load (a structural constant).
    Modes 0, 2, 3 and 4 (:data:`VECTOR_LOOKUP_MODES`); the others are refused with the reason."""
    shown = "VECTOR LOOKUP"
    if len(args) != 5:
        raise lw.model_error(f"{shown} takes 5 arguments (vec, x, xmin, xmax, mode), got {len(args)}")
    mode = lw.static_int(lw.expr(args[4]), f"{shown} mode")
    if mode in VECTOR_LOOKUP_REFUSED:
        raise lw.unsupported(f"{shown} mode {mode} ({VECTOR_LOOKUP_REFUSED[mode]})")
    if mode not in VECTOR_LOOKUP_MODES:
        raise lw.model_error(f"{shown} mode {mode}: Vensim's modes are 0 to 9")
    ref = args[0]
    name = getattr(ref, "reference", None)
    decl = lw.decls.get(name) if isinstance(name, str) else None
    if decl is None or decl.array is None:
        raise lw.unsupported(f"{shown} of something other than a subscripted variable")
    info = decl.array
    subs = getattr(getattr(ref, "subscripts", None), "subscripts", None)
    start = lw.element(decl, subs)
    first = next(e for e, i in info.elements.items() if i == start)
    last_dim = info.dims[-1]
    if first[-1] != info.coords[last_dim][0]:
        raise lw.unsupported(
            f"{shown} of '{decl.el.name}[{','.join(first)}]', which does not start at the first "
            f"element of {last_dim} (Vensim's documentation: call it with the first element)"
        )
    keys = [(*first[:-1], e) for e in info.coords[last_dim]]
    if any(k not in info.elements for k in keys):
        raise lw.unsupported(f"{shown} of '{decl.el.name}', which leaves elements undefined")
    ys = [Ref(info.elements[k]) for k in keys]
    x, xmin, xmax = (lw.expr(a) for a in args[1:4])
    return Call("_vector_lookup", (Num(float(mode)), x, xmin, xmax, *ys))


ARRAY_CALLS: dict[str, Callable[[Lowerer, tuple[Any, ...]], Expr]] = {
    "sum": _aggregate("sum"),
    "prod": _aggregate("prod"),
    "vmin": _aggregate("vmin"),
    "vmax": _aggregate("vmax"),
    # XMILE's MIN(array) / MAX(array) with one argument (pysd's XMILE names)
    "vmin_xmile": _aggregate("vmin"),
    "vmax_xmile": _aggregate("vmax"),
    "elmcount": _elmcount,
    "vector_select": _vector_select,
    "vector_sort_order": _sort_call("_vector_sort_order"),
    "vector_rank": _sort_call("_vector_rank"),
    "vector_reorder": _vector_reorder,
    "invert_matrix": _invert_matrix,
    "vector_elm_map": _vector_elm_map,
    "vector_lookup": _vector_lookup,
}

ARRAY_STRUCTURES: dict[str, Callable[[Lowerer, Any], Expr]] = {
    "AllocateByPriorityStructure": _allocate_by_priority,
    "AllocateAvailableStructure": _allocate_available,
}


def _xmile_mean(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
    """XMILE's MEAN: with one argument the mean of the array (or slice, ``a[*, 1]``; the wildcards
    arrive as Vensim's ``Dim!``), SUM(A)/SIZE(A) (XMILE 1.0, 3.7.1.4 Array Built-in Functions); with
    more, the mean of the arguments, each a scalar (isee's MEAN: "the sum of the arguments divided by
    the number of arguments"; several arguments "operate on non-arrayed expressions")."""
    if not args:
        raise lw.model_error("MEAN takes at least 1 argument, got 0")
    _not_nested(lw, args, "MEAN")
    if len(args) == 1:
        bang = lw.bang_subs(args[0])
        terms = lw.unroll(args[0], bang) if bang else [lw.expr(args[0])]
    else:
        if any(lw.bang_subs(a) for a in args):
            raise lw.unsupported("MEAN of several arguments with a wildcard '*' in one of them")
        terms = [lw.expr(a) for a in args]
    return BinOp("/", _fold("sum", terms), Num(float(len(terms))))


def _not_nested(lw: Lowerer, args: tuple[Any, ...], shown: str) -> None:
    """Refuse an array builtin inside another one's iteration (isee: array builtins do not nest)."""
    from sd.frontend.subscripts import ast_nodes

    for a in args:
        for node in ast_nodes(a):
            subs = getattr(getattr(node, "subscripts", None), "subscripts", None) or ()
            bound = [s for s in subs if s.endswith("!") and s in lw.binding]
            if type(node).__name__ == "ReferenceStructure" and bound:
                raise lw.unsupported(f"{shown} inside another array builtin over the same wildcard")


def _xmile_refused(shown: str, why: str) -> Callable[[Lowerer, tuple[Any, ...]], Expr]:
    def build(lw: Lowerer, args: tuple[Any, ...]) -> Expr:
        raise lw.unsupported(f"XMILE's {shown} ({why})")

    return build


# XMILE's array builtins that are not Vensim functions, by pysd's lower-case name (read only in XMILE
# files, see sd.frontend.expressions)
XMILE_ARRAY_CALLS: dict[str, Callable[[Lowerer, tuple[Any, ...]], Expr]] = {
    "mean": _xmile_mean,
    "stddev": _xmile_refused("STDDEV", "the XMILE 1.0 specification and isee's documentation do not say "
                             "whether it is the population or the sample standard deviation"),
    "rank": _xmile_refused("RANK", "the index of the element of a given rank, with ties broken by a "
                           "second array, is not implemented"),
}
