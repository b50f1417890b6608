"""Hypothesis strategies for the units check: random unit-consistent Vensim models, and mutations of them.

``unit_models()`` draws a :class:`UnitModel`: constants with units that are products of powers of a few
base units, auxiliaries built from them by products, quotients, sums of like terms, MIN/MAX, IF THEN ELSE,
EXP of a ratio of like terms, SMOOTH and DELAY1 (delay times in the time unit), and stocks whose flows are
``(target - stock) / adjustment time``; every declared unit string is the true units of its equation, written
in varied Vensim spellings (plural names, ``Dmnl``, parentheses, ``^``). ``UnitModel.mutate(name)`` returns
the text with ``name``'s declared units changed to something inconsistent, which the check must report.
(Extends :mod:`sd.testing.strategies`, kept apart so that it can grow without touching that module.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

__all__ = ["UnitModel", "unit_models", "units_text"]

BASES = ("Person", "Widget", "Dollar", "Acre")
TIMES = ("Year", "Month", "Day", "Minute")


def units_text(u: dict[str, int], plural: bool = False) -> str:
    """Vensim spelling of a units monomial (``Dmnl`` when empty)."""
    num = [(b, e) for b, e in sorted(u.items()) if e > 0]
    den = [(b, -e) for b, e in sorted(u.items()) if e < 0]

    def part(b: str, e: int) -> str:
        name = b + ("s" if plural else "")
        return name if e == 1 else f"{name}^{e}"

    if not num and not den:
        return "Dmnl"
    top = "*".join(part(b, e) for b, e in num) or "1"
    if not den:
        return top
    bottom = "*".join(part(b, e) for b, e in den)
    return f"{top}/{bottom}" if len(den) == 1 else f"{top}/({bottom})"


def _mul(a: dict[str, int], b: dict[str, int], sign: int = 1) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + sign * v
    return {k: v for k, v in out.items() if v}


@dataclass
class UnitModel:
    """A generated model: its variables' equations and true units, and the time unit."""

    time_unit: str
    eqs: dict[str, tuple[str, dict[str, int], bool]] = field(default_factory=dict)  # rhs, units, plural
    stocks: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (flow expr, init)

    def text(self, override: dict[str, str] | None = None) -> str:
        override = override or {}
        out = ["{UTF-8}"]
        for name, (rhs, u, plural) in self.eqs.items():
            units = override.get(name, units_text(u, plural))
            if name in self.stocks:
                flow, init = self.stocks[name]
                rhs = f"INTEG({flow}, {init})"
            out.append(f"{name} = {rhs}\n\t~\t{units}\n\t~\t\n\t|\n")
        tu = self.time_unit
        for c, v in (("INITIAL TIME", "0"), ("FINAL TIME", "4"), ("TIME STEP", "0.25"),
                     ("SAVEPER", "TIME STEP")):  # fmt: skip
            out.append(f"{c} = {v}\n\t~\t{tu}\n\t~\t\n\t|\n")
        return "\n".join(out)

    def checked_names(self) -> list[str]:
        """Variables whose own equation the check compares with their units (not plain constants)."""
        return [n for n, (rhs, _u, _p) in self.eqs.items() if n in self.stocks or not _is_number(rhs)]

    def mutate(self, name: str) -> str:
        """The text with ``name`` declared in units that differ from its equation's by one base unit."""
        u = self.eqs[name][1]
        wrong = _mul(u, {"Gadget": 1})
        return self.text({name: units_text(wrong)})


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


@st.composite
def _units(draw: Any, bases: list[str]) -> dict[str, int]:
    return {b: e for b in bases if (e := draw(st.integers(-1, 1)))}


@st.composite
def unit_models(draw: Any, max_aux: int = 6) -> UnitModel:
    """A random model whose declared units are all consistent."""
    bases = draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=3, unique=True))
    tu = draw(st.sampled_from(TIMES))
    m = UnitModel(tu)
    time_u = {tu: 1}
    known: list[tuple[str, dict[str, int]]] = []
    n_const = draw(st.integers(2, 4))
    for i in range(n_const):
        u = draw(_units(bases))
        name = f"c{i}"
        m.eqs[name] = (repr(draw(st.floats(0.5, 5).map(lambda v: round(v, 2)))), u,
                       draw(st.booleans()))  # fmt: skip
        known.append((name, u))
    m.eqs["adjustment time"] = (repr(draw(st.floats(1, 3).map(lambda v: round(v, 2)))), time_u, False)
    for i in range(draw(st.integers(1, max_aux))):
        a_name, a_u = draw(st.sampled_from(known))
        b_name, b_u = draw(st.sampled_from(known))
        kind = draw(st.sampled_from(["mul", "div", "add", "minmax", "if", "exp", "smooth", "delay",
                                     "scale"]))  # fmt: skip
        same = [n for n, u in known if u == a_u]
        c_name = draw(st.sampled_from(same))
        if kind == "mul":
            rhs, u = f"{a_name} * {b_name}", _mul(a_u, b_u)
        elif kind == "div":
            rhs, u = f"{a_name} / {b_name}", _mul(a_u, b_u, -1)
        elif kind == "add":
            rhs, u = f"{a_name} + {c_name} - {a_name} / 2", a_u
        elif kind == "minmax":
            rhs, u = f"{draw(st.sampled_from(['MIN', 'MAX']))}({a_name}, {c_name})", a_u
        elif kind == "if":
            rhs, u = f"IF THEN ELSE({a_name} > {c_name}, {b_name}, 2 * {b_name})", b_u
        elif kind == "exp":
            rhs, u = f"{b_name} * EXP({a_name} / {c_name} - 1)", b_u
        elif kind == "smooth":
            rhs, u = f"SMOOTH({a_name}, adjustment time)", a_u
        elif kind == "delay":
            rhs, u = f"DELAY1({a_name}, adjustment time)", a_u
        else:
            rhs, u = f"{a_name} * 3", a_u
        name = f"a{i}"
        m.eqs[name] = (rhs, u, draw(st.booleans()))
        known.append((name, u))
    for i in range(draw(st.integers(1, 2))):
        t_name, t_u = draw(st.sampled_from(known))
        name = f"s{i}"
        m.eqs[name] = ("", t_u, draw(st.booleans()))
        m.stocks[name] = (f"({t_name} - {name}) / adjustment time", t_name)
        known.append((name, t_u))
    return m
