"""Dependency analysis over the IR: references, phases, pruning, topological order."""

from __future__ import annotations

from collections.abc import Iterable

from sd.errors import ModelError
from sd.ir.nodes import (
    STATE_KINDS,
    ActiveInitial,
    Expr,
    LookupCall,
    ModelIR,
    Ref,
    Variable,
)

__all__ = ["refs", "required", "toposort", "var_refs"]


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
            if isinstance(node, LookupCall):
                out.add(node.table)  # a lookup's table is a reference too
            stack.extend(node.children())
    return out


def var_refs(var: Variable, phase: str) -> set[str]:
    result: set[str] = set()
    for e in var.exprs(phase):
        result |= refs(e, phase)
    return result


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

    References to ``sources`` (already known values) impose no order; in the run phase a state's value is
    known at t, so states depend on nothing. An algebraic loop raises :class:`ModelError` naming the
    variables on it. Iterative depth-first search: models with many thousands of variables (unrolled
    subscripts) do not hit Python's recursion limit.
    """
    wanted_set = set(idents)
    wanted = [i for i in ir.variables if i in wanted_set]
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def deps(ident: str) -> list[str]:
        var = ir.variables[ident]
        if phase == "run" and var.kind in STATE_KINDS:
            return []
        return sorted(d for d in var_refs(var, phase) if d in wanted_set and d not in sources)

    for root in wanted:
        if state.get(root) == 2:
            continue
        path: list[str] = [root]
        stack: list[tuple[str, list[str]]] = [(root, deps(root))]
        state[root] = 1
        while stack:
            ident, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                state[ident] = 2
                order.append(ident)
                continue
            dep = pending.pop(0)
            mark = state.get(dep)
            if mark == 2:
                continue
            if mark == 1:
                loop = [*path[path.index(dep) :], dep]
                names = " -> ".join(ir.variables[i].name for i in loop)
                raise ModelError(f"{ir.path}: algebraic loop ({phase} phase): {names}")
            state[dep] = 1
            path.append(dep)
            stack.append((dep, deps(dep)))
    return order
