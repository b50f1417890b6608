"""Dependency analysis over the IR: references, phases, pruning, topological order."""

from __future__ import annotations

from collections.abc import Iterable

from sd.errors import ModelError
from sd.ir.nodes import STATE_KINDS, ActiveInitial, Expr, ModelIR, Ref, Time, Variable, walk

__all__ = ["depends_on_time", "refs", "required", "toposort", "var_refs"]

CONTROL = ("initial_time", "final_time", "time_step", "saveper")


def refs(expr: Expr | None, phase: str = "run") -> set[str]:
    """Identifiers referenced by ``expr`` in ``phase`` ('run', 'init' or 'both')."""
    out: set[str] = set()
    if expr is None:
        return out
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            out.add(node.ident)
        elif isinstance(node, ActiveInitial):
            if phase in ("run", "both"):
                stack.append(node.expr)
            if phase in ("init", "both"):
                stack.append(node.init)
        else:
            stack.extend(node.children())
    # LookupCall tables are references too
    from sd.ir.nodes import LookupCall

    out.update(n.table for n in walk(expr) if isinstance(n, LookupCall))
    return out


def var_refs(var: Variable, phase: str) -> set[str]:
    result: set[str] = set()
    for e in var.exprs(phase):
        result |= refs(e, phase)
    return result


def depends_on_time(expr: Expr | None) -> bool:
    return expr is not None and any(isinstance(n, Time) for n in walk(expr))


def required(ir: ModelIR, outputs: Iterable[str]) -> set[str]:
    """Every variable needed (in any phase) to compute ``outputs``."""
    seen: set[str] = set()
    stack = list(outputs)
    while stack:
        ident = stack.pop()
        if ident in seen:
            continue
        seen.add(ident)
        var = ir.variables[ident]
        for phase in ("init", "run"):
            for e in var.exprs(phase):
                stack.extend(refs(e, "both"))
    return seen


def toposort(ir: ModelIR, idents: Iterable[str], phase: str, sources: set[str]) -> list[str]:
    """Order ``idents`` so that each comes after what it references in ``phase``.

    References to ``sources`` (already known values) impose no order. An algebraic loop raises
    :class:`ModelError` naming the variables on it.
    """
    wanted = [i for i in ir.variables if i in set(idents)]
    wanted_set = set(wanted)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on stack, 2 = done

    def visit(ident: str, path: list[str]) -> None:
        mark = state.get(ident)
        if mark == 2:
            return
        if mark == 1:
            loop = [*path[path.index(ident) :], ident]
            names = " -> ".join(ir.variables[i].name for i in loop)
            raise ModelError(f"{ir.path}: algebraic loop ({phase} phase): {names}")
        state[ident] = 1
        path.append(ident)
        var = ir.variables[ident]
        # in the run phase a state's value is known at t: it depends on nothing
        deps = set() if (phase == "run" and var.kind in STATE_KINDS) else var_refs(var, phase)
        for dep in sorted(deps):
            if dep in wanted_set and dep not in sources:
                visit(dep, path)
        path.pop()
        state[ident] = 2
        order.append(ident)

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(wanted) + 1000))
    try:
        for ident in wanted:
            visit(ident, [])
    finally:
        sys.setrecursionlimit(limit)
    return order


def is_state(var: Variable) -> bool:
    return var.kind in STATE_KINDS
