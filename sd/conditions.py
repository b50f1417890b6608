"""Conditions: boolean expressions over named arrays, parsed with :mod:`ast` (never ``eval``-ed).

One language serves every condition of sd: a sweep's reality checks (``[checks]``), its ``first_time``
outcomes, and the analysis conditions (``sd analyze prim --condition``, ``--where``, ``prob:EXPR``,
:func:`sd.analyze.condition`). An expression such as ``"energy demand met fraction <= 1"`` or
``"price level > 0 and real GDP > 0"`` may use

- names as written in the model (or the store), longest matched first; a name may also be quoted
  (``"price level"``, ``'price level'`` or ```price level```);
- numbers (``inf`` too), ``+ - * / **``, comparisons (chained too; ``=`` and ``<>`` as in Vensim),
  ``and`` / ``or`` / ``not`` (also ``&``, ``|``, ``AND``, ``:OR:``, ...) and parentheses;

nothing else. A comparison with NaN is false. The compiled :class:`Condition` evaluates on anything numpy's
ufuncs accept: numpy arrays (a boolean array), xarray DataArrays (lazy where they are).
:meth:`Condition.lower` turns it into IR expression nodes (:mod:`sd.ir.nodes`) that the numpy and C
printers emit, so a run computes a condition at each saved time without keeping a series
(:class:`sd.Outcome` kinds ``when``, ``fails``, ``fails_end``).
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sd.ir.nodes import BinOp, Expr, Num, Unary

__all__ = ["Condition", "NotLowerable", "UnknownName", "compile_check", "compile_condition"]

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}  # fmt: skip
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}  # fmt: skip
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Load, ast.And, ast.Or,
            ast.Not, ast.USub, ast.UAdd, *_BIN, *_CMP)  # fmt: skip
_QUOTES = ('"', "'", "`")


class NotLowerable(ValueError):
    """A condition :meth:`Condition.lower` cannot express as IR nodes with the same values."""


_IR_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_IR_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class UnknownName(ValueError):
    """A word of the expression that is none of the names; ``name`` is that word."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Condition:
    """A compiled condition: ``names`` it reads (in order of first use); call it with ``{name: array}``."""

    expr: str
    names: list[str]
    tree: ast.Expression = field(repr=False)
    slots: Mapping[str, str] = field(repr=False)  # slot identifier -> name

    def __call__(self, env: Mapping[str, Any]) -> np.ndarray:
        """A boolean numpy array (arrays of ``env`` broadcast against each other)."""
        return np.asarray(self.evaluate(env), dtype=bool)

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """The value as the arrays of ``env`` compute it (a DataArray stays a DataArray, lazy or not)."""
        with np.errstate(all="ignore"):
            return self._ev(self.tree.body, env)

    def _ev(self, node: ast.AST, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return _number(node.value)
        if isinstance(node, ast.Name):
            return env[self.slots[node.id]]
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](self._ev(node.left, env), self._ev(node.right, env))
        if isinstance(node, ast.UnaryOp):
            v = self._ev(node.operand, env)
            if isinstance(node.op, ast.Not):
                return np.logical_not(v)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BoolOp):
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = self._ev(node.values[0], env)
            for v in node.values[1:]:
                out = fn(out, self._ev(v, env))
            return out
        if isinstance(node, ast.Compare):
            left, out = self._ev(node.left, env), None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self._ev(right_node, env)
                part = _CMP[type(op)](left, right)
                out = part if out is None else np.logical_and(out, part)
                left = right
            return out
        raise AssertionError(type(node).__name__)  # pragma: no cover - rejected by _check_nodes

    def lower(self, ref: Callable[[str], Expr]) -> Expr:
        """The condition as IR nodes: ``ref(name)`` gives each name's node (a :class:`~sd.ir.nodes.Ref`
        to its identifier); comparisons, ``and``/``or``/``not`` and ``+ - * / **`` map one to one (so a
        printer computes what :meth:`evaluate` does, value for value), parts without a name are folded.

        Raises :class:`NotLowerable` where the IR would compute another value: arithmetic on the result
        of a comparison (numpy adds booleans as a logical or).
        """
        return _lower(self, self.tree.body, ref)[0]


def _lower(cond: Condition, node: ast.AST, ref: Callable[[str], Expr]) -> tuple[Expr, bool]:
    """(IR node, whether its value is boolean) of ``node``; a subtree that reads no name is folded into
    a number with numpy's rules (what :meth:`Condition.evaluate` computes)."""
    if not any(isinstance(n, ast.Name) for n in ast.walk(node)):
        with np.errstate(all="ignore"):
            value = cond._ev(node, {})
        return Num(float(value)), isinstance(value, np.bool_ | bool)
    if isinstance(node, ast.Name):
        return ref(cond.slots[node.id]), False
    if isinstance(node, ast.BinOp | ast.UnaryOp) and not isinstance(node.op, ast.Not):
        parts = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.operand]
        lowered = [_lower(cond, x, ref) for x in parts]
        if any(b for _, b in lowered):  # numpy's arithmetic on booleans (True + True is True) differs
            raise NotLowerable(f"{cond.expr!r}: arithmetic on a comparison")
        if isinstance(node, ast.BinOp):
            return BinOp(_IR_BIN[type(node.op)], lowered[0][0], lowered[1][0]), False
        return (Unary("-", lowered[0][0]) if isinstance(node.op, ast.USub) else lowered[0][0]), False
    if isinstance(node, ast.UnaryOp):  # not
        return Unary("not", _lower(cond, node.operand, ref)[0]), True
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        joined = _lower(cond, node.values[0], ref)[0]
        for v in node.values[1:]:
            joined = BinOp(op, joined, _lower(cond, v, ref)[0])
        return joined, True
    assert isinstance(node, ast.Compare)
    left = _lower(cond, node.left, ref)[0]
    out: Expr | None = None
    for cmp, right_node in zip(node.ops, node.comparators, strict=True):
        right = _lower(cond, right_node, ref)[0]
        part = BinOp(_IR_CMP[type(cmp)], left, right)
        out = part if out is None else BinOp("and", out, part)
        left = right
    assert out is not None
    return out, True


def _number(value: float) -> np.float64:
    """A literal as numpy's float64, so that arithmetic on constants alone follows numpy's rules like the
    rest (``1/0`` is inf, ``0/0`` NaN, ``9**9**9**9`` inf; Python's floats would raise instead)."""
    try:
        return np.float64(value)
    except OverflowError:  # an integer literal beyond float range
        return np.float64(np.inf if value > 0 else -np.inf)


def _substitute(expr: str, names: Iterable[str]) -> tuple[str, dict[str, str]]:
    """``expr`` with every name (quoted or bare, longest first) replaced by a slot identifier, and the
    Vensim / Python spellings of the logical operators normalised."""
    text = expr
    used: dict[str, str] = {}
    # longest first so 'real GDP growth' wins over 'real GDP'
    for name in sorted(set(names), key=len, reverse=True):
        if name not in text:  # no spelling of it can match (and its 4 patterns need not be compiled:
            continue  # a model's hundreds of names overflow re's cache, ~0.3 s per condition)
        patterns = [re.escape(f"{q}{name}{q}") for q in _QUOTES]
        patterns.append(rf"(?<![\w\"'`]){re.escape(name)}(?![\w\"'`])")
        for pattern in patterns:
            if re.search(pattern, text):
                slot = used.setdefault(name, f"_v{len(used)}")
                text = re.sub(pattern, f" {slot} ", text)
    text = re.sub(r"\bAND\b|:AND:|&&?", " and ", text)
    text = re.sub(r"\bOR\b|:OR:|\|\|?", " or ", text)
    text = re.sub(r"\bNOT\b|:NOT:", " not ", text)
    text = re.sub(r"(?<![\w.])inf\b", "1e999", text)
    text = re.sub(r"(?<![<>!=])=(?!=)", "==", text).replace("<>", "!=")
    return text, used


def compile_condition(expr: str, names: Iterable[str], *, of: str = "the model") -> Condition:
    """Parse ``expr`` against the variable ``names`` (``of``: what holds them, for messages).

    Raises :class:`UnknownName` for a word that is none of the names (with a did-you-mean), and
    ``ValueError`` naming anything else wrong (not a comparison, a call, a string, no name read, ...).
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError("expected a boolean expression over model variables, e.g. 'stock >= 0'")
    all_names = sorted({str(n) for n in names})
    text, used = _substitute(expr, all_names)
    slots = {slot: name for name, slot in used.items()}

    def unknown(word: str) -> UnknownName:
        close = difflib.get_close_matches(word, all_names, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        return UnknownName(f"{expr!r}: '{word}' is not a variable of {of}{hint}", word)

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        leftover = re.sub(r"\b_v\d+\b|\b(and|or|not)\b|\b1e999\b", " ", text)
        words = [w.strip() for w in re.findall(r"[A-Za-z_][\w ]*\w|[A-Za-z_]", leftover) if w.strip()]
        if words:
            raise unknown(words[0]) from None
        raise ValueError(f"cannot parse {expr!r} (is every name a variable of {of}?)") from None
    _check_nodes(tree, expr, slots, unknown)
    if not used:
        raise ValueError(f"{expr!r} reads no " + ("model variable" if of == "the model" else f"variable of {of}"))
    return Condition(expr, list(used), tree, slots)


def _check_nodes(tree: ast.Expression, expr: str, slots: Mapping[str, str],
                 unknown: Callable[[str], UnknownName]) -> None:  # fmt: skip
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Name):
            if sub.id not in slots:
                raise unknown(sub.id)
        elif isinstance(sub, ast.Constant):
            if not isinstance(sub.value, int | float) or isinstance(sub.value, bool):
                raise ValueError(f"{expr!r}: only numbers may appear as constants")
        elif not isinstance(sub, _ALLOWED):
            raise ValueError(f"{expr!r}: {type(sub).__name__} is not allowed in a condition")
    body = tree.body
    if not isinstance(body, ast.Compare | ast.BoolOp) and not (
        isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not)
    ):
        raise ValueError(f"{expr!r}: a condition must be a comparison, e.g. 'x <= 1'")


def compile_check(
    expr: str, names: Iterable[str]
) -> tuple[list[str], Callable[[Mapping[str, Any]], Any]]:
    """``(names read, function {name: array} -> boolean array)``: :func:`compile_condition` as a pair."""
    cond = compile_condition(expr, names)
    return cond.names, cond
