"""Reality checks: named boolean expressions over model variables, evaluated for every draw of a sweep.

A check such as ``"energy demand met fraction <= 1"`` or ``"price level > 0 and real GDP > 0"`` must hold at
every saved time (``when = "always"``, the default) or at the final time (``when = "end"``). Expressions may
use the model's variable names as written in the .mdl (longest names are matched first; a name may also be
quoted, ``"price level"``), numbers, ``+ - * / **``, comparisons (chained too), ``and``, ``or``, ``not`` and
parentheses; nothing else (they are parsed with :mod:`ast`, never ``eval``-ed as Python).
A comparison with NaN is false, so a draw whose values became NaN violates every check that reads them.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["WHEN", "Check", "compile_check"]

WHEN = ("always", "end")

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}  # fmt: skip
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One reality check of a spec's ``[checks]`` table."""

    expr: str
    when: str = "always"

    def to_dict(self) -> dict[str, Any]:
        return {"expr": self.expr, "when": self.when}


def compile_check(
    expr: str, names: Iterable[str]
) -> tuple[list[str], Callable[[Mapping[str, Any]], Any]]:
    """Parse ``expr`` against the model's variable ``names``.

    Returns the variables it reads and a function mapping ``{name: array}`` to a boolean array.
    Raises ``ValueError`` with a message naming what is wrong.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError("expected a boolean expression over model variables, e.g. 'stock >= 0'")
    text = expr
    used: dict[str, str] = {}
    # quoted names first, then bare names, longest first so 'real GDP growth' wins over 'real GDP'
    for name in sorted(set(names), key=len, reverse=True):
        for pattern in (re.escape(f'"{name}"'), rf"(?<![\w\"]){re.escape(name)}(?![\w\"])"):
            if re.search(pattern, text):
                slot = used.setdefault(name, f"_v{len(used)}")
                text = re.sub(pattern, f" {slot} ", text)
    text = re.sub(r"\bAND\b|:AND:", " and ", text)
    text = re.sub(r"\bOR\b|:OR:", " or ", text)
    text = re.sub(r"\bNOT\b|:NOT:", " not ", text)
    text = re.sub(r"(?<![<>!=])=(?!=)", "==", text).replace("<>", "!=")
    all_names = sorted(set(names))

    def unknown(word: str) -> ValueError:
        close = difflib.get_close_matches(word, all_names, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        return ValueError(f"{expr!r}: '{word}' is not a variable of the model{hint}")

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        leftover = re.sub(r"\b_v\d+\b|\b(and|or|not)\b", " ", text)
        words = [w.strip() for w in re.findall(r"[A-Za-z_][\w ]*\w|[A-Za-z_]", leftover) if w.strip()]
        if words:
            raise unknown(words[0]) from None
        raise ValueError(f"cannot parse {expr!r} (is every name a model variable?)") from None
    slots = {slot: name for name, slot in used.items()}

    def ev(node: ast.AST, env: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body, env)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return env[slots[node.id]]
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](ev(node.left, env), ev(node.right, env))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env)
            return np.logical_not(v) if isinstance(node.op, ast.Not) else -v
        if isinstance(node, ast.BoolOp):
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = ev(node.values[0], env)
            for v in node.values[1:]:
                out = fn(out, ev(v, env))
            return out
        if isinstance(node, ast.Compare):
            left, out = ev(node.left, env), None
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = ev(right_node, env)
                part = _CMP[type(op)](left, right)
                out = part if out is None else np.logical_and(out, part)
                left = right
            return out
        raise AssertionError(type(node).__name__)  # pragma: no cover - rejected by `allowed`

    def allowed(node: ast.AST) -> None:
        ok = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Load, ast.And,
              ast.Or, ast.Not, ast.USub, ast.UAdd, *_BIN, *_CMP)  # fmt: skip
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                if sub.id not in slots:
                    raise unknown(sub.id)
            elif isinstance(sub, ast.Constant):
                if not isinstance(sub.value, int | float) or isinstance(sub.value, bool):
                    raise ValueError(f"{expr!r}: only numbers may appear as constants")
            elif not isinstance(sub, ok):
                raise ValueError(f"{expr!r}: {type(sub).__name__} is not allowed in a check")
        body = node.body if isinstance(node, ast.Expression) else node
        if not isinstance(body, ast.Compare | ast.BoolOp) and not (
            isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not)
        ):
            raise ValueError(f"{expr!r}: a check must be a comparison, e.g. 'x <= 1'")

    allowed(tree)
    if not used:
        raise ValueError(f"{expr!r} reads no model variable")

    def evaluate(env: Mapping[str, Any]) -> Any:
        with np.errstate(all="ignore"):
            return np.asarray(ev(tree, env), dtype=bool)

    return list(used), evaluate
