"""Per-draw outcomes: reductions of one variable, or of a condition over variables, over the saved
time points.

An :class:`Outcome` is plain data, computed where the draws are computed: inside the fused kernel (CPU
and CUDA) or as the numpy/cupy run saves each time point (``Model.run(..., outcomes=[...])``). A
condition (``'when'``, ``'fails'``, ``'fails_end'``) is written in :mod:`sd.conditions`' language and
lowered into IR expression nodes (``expr``, over identifiers) that both code printers emit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sd.ir.nodes import Expr, Ref, walk

__all__ = ["CONDITION_KINDS", "FIRST_OPS", "OUTCOME_KINDS", "Outcome"]

CONDITION_KINDS = ("when", "fails", "fails_end")
OUTCOME_KINDS = ("final", "initial", "at", "min", "max", "mean", "first", *CONDITION_KINDS)
FIRST_OPS = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class Outcome:
    """A per-draw reduction of one variable over the saved time points.

    kind
        ``'final'`` (value at the last saved time), ``'initial'`` (at the first), ``'at'`` (value at
        saved time ``time``), ``'min'``, ``'max'``, ``'mean'`` (NaN-propagating, like numpy), or
        ``'first'``: the first saved time at which ``variable <op> value`` holds (NaN when it never does).
        Over a condition (``variable`` holds its text): ``'when'``, the first saved time at which it holds
        (NaN when it never does); ``'fails'``, 1.0 where it fails at any saved time, else 0.0;
        ``'fails_end'``, 1.0 where it fails at the last saved time. A comparison with NaN is false.
    variable
        The variable's Vensim name (``Model.run`` resolves it) or identifier; for a condition kind, the
        condition (:mod:`sd.conditions`), e.g. ``"0 <= energy demand met fraction <= 1"``.
    name
        The label of the result (default: :attr:`label`).
    expr
        A condition kind's condition lowered into IR nodes over identifiers (``Model.run`` sets it).
    rows
        ``'when'`` and ``'fails'``: the saved rows at which the condition is evaluated (None: every one).

    Examples
    --------
    >>> Outcome("first", "debt to GDP ratio", op="<", value=0.5)
    Outcome(kind='first', variable='debt to GDP ratio', time=None, op='<', value=0.5, name=None, expr=None, rows=None)
    """

    kind: str
    variable: str
    time: float | None = None
    op: str = ">"
    value: float = 0.0
    name: str | None = None
    expr: Expr | None = None
    rows: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in OUTCOME_KINDS:
            raise ValueError(
                f"Unknown outcome kind {self.kind!r}; choose one of {', '.join(map(repr, OUTCOME_KINDS))}"
            )
        if self.kind == "at" and self.time is None:
            raise ValueError("outcome 'at' needs a time")
        if self.kind == "first" and self.op not in FIRST_OPS:
            raise ValueError(
                f"Unknown comparison {self.op!r} for outcome 'first'; choose one of "
                f"{', '.join(map(repr, FIRST_OPS))}"
            )
        if self.rows is not None and self.kind not in ("when", "fails"):
            raise ValueError(f"outcome {self.kind!r} takes no rows (only 'when' and 'fails' do)")

    @property
    def condition(self) -> bool:
        """True for the kinds over a condition (``'when'``, ``'fails'``, ``'fails_end'``)."""
        return self.kind in CONDITION_KINDS

    @property
    def reads(self) -> tuple[str, ...]:
        """What the run must compute for this outcome: the variable, or the identifiers the lowered
        condition reads (in order of first use; empty before ``Model.run`` lowers it)."""
        if not self.condition:
            return (self.variable,)
        if self.expr is None:
            return ()
        return tuple(dict.fromkeys(n.ident for n in walk(self.expr) if isinstance(n, Ref)))

    def saved_row(self, saved: Sequence[float] | Any, dt: float) -> int:
        """The row of this 'at' outcome's time among the ``saved`` times (ValueError if not saved)."""
        assert self.time is not None
        t = float(self.time)
        j = min(range(len(saved)), key=lambda i: abs(float(saved[i]) - t))
        if abs(float(saved[j]) - t) > max(dt * 1e-5, 1e-12 * abs(t)):
            step = float(saved[1]) - float(saved[0]) if len(saved) > 1 else 0.0
            raise ValueError(
                f"outcome {self.label}: {self.time} is not a saved time (saved from "
                f"{float(saved[0]):g} to {float(saved[-1]):g} every {step:g})"
            )
        return j

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        if self.kind == "at":
            return f"{self.variable}@{self.time:g}"
        if self.kind == "first":
            return f"first {self.variable} {self.op} {self.value:g}"
        if self.kind == "when":
            return f"first {self.variable}"
        if self.kind == "fails_end":
            return f"fails at end {self.variable}"
        return f"{self.kind} {self.variable}"
