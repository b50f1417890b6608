"""Item 5 of issue 16: every operator of the condition language evaluates as Python evaluates it.

``+x`` was once evaluated as ``-x`` (the unary branch negated every unary operator but ``not``). Random
expression trees over two names, built from every operator the language allows (``+ - * / **``, unary ``+``
and ``-``, the six comparisons, chained comparisons, ``and`` / ``or`` / ``not``, parentheses), are compiled
by :func:`sd.conditions.compile_condition` and evaluated on arrays; Python evaluates the same text on each
element's scalars. Where Python raises (division by zero, overflow) or gives a complex number, the element
is skipped: numpy's inf/NaN there is the documented semantics.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from profiles import examples

from sd.conditions import compile_condition

VALUES = [-3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 7.25]
NUMBERS = st.sampled_from(["0.0", "1.0", "2.0", "0.5", "3.0", "10.0", "1e2", "2.5"])  # floats: Python's
# integer powers would not overflow but grow without bound
NAMES = st.sampled_from(["x", "y"])


def _arith() -> st.SearchStrategy[str]:
    leaf = st.one_of(NAMES, NUMBERS)

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binop = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})")
        unary = st.tuples(st.sampled_from(["+", "-", "+ ", "- "]), inner).map(lambda t: f"{t[0]}{t[1]}")
        return st.one_of(binop, unary)

    return st.recursive(leaf, grow, max_leaves=6)


def _condition() -> st.SearchStrategy[str]:
    cmp = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    compare = st.one_of(
        st.tuples(_arith(), cmp, _arith()).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(_arith(), cmp, _arith(), cmp, _arith()).map(lambda t: " ".join(t)),  # chained
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        boolop = st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})")
        return st.one_of(boolop, inner.map(lambda s: f"not ({s})"))

    return st.recursive(compare, grow, max_leaves=3)


def _python(expr: str, x: float, y: float) -> bool | None:
    try:
        value = eval(expr, {"__builtins__": {}}, {"x": x, "y": y})
    except (ZeroDivisionError, OverflowError):
        return None
    if isinstance(value, complex):
        return None
    return bool(value)


def _has_complex_or_error(expr: str, x: float, y: float) -> bool:
    """Does any sub-expression leave the reals or raise in Python (numpy gives NaN/inf there)?"""
    import ast

    tree = ast.parse(expr, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) or (isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not)):
            try:
                v = eval(compile(ast.Expression(node), "<e>", "eval"), {"__builtins__": {}}, {"x": x, "y": y})
            except (ZeroDivisionError, OverflowError):
                return True
            if isinstance(v, complex) or (isinstance(v, float) and not math.isfinite(v)):
                return True
    return False


@settings(max_examples=examples(60))
@given(_condition())
def test_every_operator_as_python_evaluates_it(expr: str) -> None:
    xs, ys = np.meshgrid(VALUES, VALUES)
    x, y = xs.ravel(), ys.ravel()
    cond = compile_condition(expr, ["x", "y"]) if ("x" in expr or "y" in expr) else None
    if cond is None:
        return  # the language refuses a condition that reads no variable
    env = {n: {"x": x, "y": y}[n] for n in cond.names}
    got = np.broadcast_to(cond(env), x.shape)
    checked = 0
    for i in range(x.size):
        if _has_complex_or_error(expr, float(x[i]), float(y[i])):
            continue
        want = _python(expr, float(x[i]), float(y[i]))
        assert want is not None
        assert bool(got[i]) == want, f"{expr!r} at x={x[i]}, y={y[i]}: sd {bool(got[i])}, Python {want}"
        checked += 1
    assert checked > 0 or expr.count('/') + expr.count('**') > 0, f'{expr!r}: no element compared'


def test_unary_plus_is_identity() -> None:
    """The reported case: ``+Teacup Temperature > 0`` holds where the temperature is positive."""
    t = np.array([180.0, 70.0, -5.0])
    cond = compile_condition("+Teacup Temperature > 0", ["Teacup Temperature"])
    assert cond({"Teacup Temperature": t}).tolist() == [True, True, False]
    assert compile_condition("-(+x) < 0", ["x"])({"x": t}).tolist() == [True, True, False]
    assert compile_condition("x > +-+2", ["x"])({"x": np.array([-3.0, -1.0])}).tolist() == [False, True]


def test_constant_arithmetic_follows_numpy_not_python() -> None:
    """Constants alone once raised in Python (``x < 1/0``: ZeroDivisionError; ``9**9**9**9 > x``:
    OverflowError as a traceback); they follow numpy like the rest: inf, NaN."""
    x = np.array([1.0, 2.0])
    assert compile_condition("x < 1/0", ["x"])({"x": x}).tolist() == [True, True]
    assert compile_condition("x < 0/0", ["x"])({"x": x}).tolist() == [False, False]
    assert compile_condition("9**9**9**9 > x", ["x"])({"x": x}).tolist() == [True, True]
    assert compile_condition("-10**400 < x", ["x"])({"x": x}).tolist() == [True, True]
