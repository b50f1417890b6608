"""Reality checks: named boolean expressions over model variables, evaluated for every draw of a sweep.

A check such as ``"energy demand met fraction <= 1"`` or ``"price level > 0 and real GDP > 0"`` must hold at
every saved time (``when = "always"``, the default) or at the final time (``when = "end"``). The expression
language is sd's one condition language, :mod:`sd.conditions` (parsed with :mod:`ast`, never ``eval``-ed;
:func:`compile_check` is re-exported from there). A comparison with NaN is false, so a draw whose values
became NaN violates every check that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sd.conditions import compile_check, compile_condition

__all__ = ["WHEN", "Check", "compile_check", "compile_condition"]

WHEN = ("always", "end")


@dataclass(frozen=True)
class Check:
    """One reality check of a spec's ``[checks]`` table."""

    expr: str
    when: str = "always"

    def to_dict(self) -> dict[str, Any]:
        return {"expr": self.expr, "when": self.when}
