"""Per-draw outcomes: reductions of one variable over the saved time points.

An :class:`Outcome` is plain data, computed where the draws are computed: inside the fused kernel (CPU
and CUDA) or from the saved series on the numpy/cupy backends (``Model.run(..., outcomes=[...])``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FIRST_OPS", "OUTCOME_KINDS", "Outcome"]

OUTCOME_KINDS = ("final", "initial", "at", "min", "max", "mean", "first")
FIRST_OPS = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class Outcome:
    """A per-draw reduction of one variable over the saved time points.

    kind
        ``'final'`` (value at the last saved time), ``'initial'`` (at the first), ``'at'`` (value at
        saved time ``time``), ``'min'``, ``'max'``, ``'mean'`` (NaN-propagating, like numpy), or
        ``'first'``: the first saved time at which ``variable <op> value`` holds (NaN when it never does).
    variable
        The variable's Vensim name (``Model.run`` resolves it) or identifier.
    name
        The label of the result (default: :attr:`label`).

    Examples
    --------
    >>> Outcome("first", "debt to GDP ratio", op="<", value=0.5)
    Outcome(kind='first', variable='debt to GDP ratio', time=None, op='<', value=0.5, name=None)
    """

    kind: str
    variable: str
    time: float | None = None
    op: str = ">"
    value: float = 0.0
    name: str | None = None

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
        return f"{self.kind} {self.variable}"
