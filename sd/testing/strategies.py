"""Hypothesis strategies: random, valid Vensim models and parameter draws for them.

``vensim_models()`` draws the text of a small .mdl that pysd and sd both load and run: constants with
``[min,max]`` ranges, stocks with named inflows and outflows, auxiliaries built from arithmetic, IF THEN ELSE,
MIN/MAX, EXP/LN with guarded domains, XIDZ, lookups, SMOOTH/DELAY/TREND families and STEP/RAMP/PULSE,
optionally a subscript range (a constant array, a subscripted stock, SUM over it), with varied time settings. Auxiliaries only refer to earlier ones, so there are no algebraic loops. Everything
shrinks toward fewer, simpler equations.

Examples
--------
>>> from hypothesis import given
>>> from sd.testing.strategies import vensim_models
>>> @given(vensim_models())
... def test_loads(text): ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["GeneratedModel", "params_for", "vensim_models"]


@dataclass
class GeneratedModel:
    """A generated model: its .mdl text and what the generator knows about it."""

    text: str
    constants: dict[str, tuple[float, float, float]] = field(
        default_factory=dict
    )  # default, lo, hi
    stocks: dict[str, tuple[str, str]] = field(default_factory=dict)  # stock -> (inflow, outflow)
    time_step: float = 0.25

    def __str__(self) -> str:
        return self.text


def _num(x: float) -> str:
    return repr(float(x))


def _eq(name: str, rhs: str, units: str = "", doc: str = "", rng: str = "") -> str:
    return f"{name} = {rhs}\n\t~\t{units}{(' ' + rng) if rng else ''}\n\t~\t{doc}\n\t|\n"


@st.composite
def _expr(draw: Any, refs: list[str], positive: list[str], depth: int) -> str:
    """An expression over ``refs``; ``positive`` names are > 0 (safe as times and divisors)."""
    leaf = st.one_of(
        st.sampled_from(refs),
        st.floats(-5, 5, allow_nan=False).map(lambda v: _num(round(v, 3))),
    )
    if depth <= 0:
        return draw(leaf)
    sub = _expr(refs, positive, depth - 1)
    kind = draw(st.sampled_from(
        ["leaf", "add", "sub", "mul", "div", "if", "min", "max", "exp", "ln", "xidz", "abs", "step",
         "ramp", "pulse", "time"]
    ))  # fmt: skip
    if kind == "leaf":
        return draw(leaf)
    if kind in ("add", "sub", "mul"):
        op = {"add": "+", "sub": "-", "mul": "*"}[kind]
        return f"({draw(sub)} {op} {draw(sub)})"
    if kind == "div":
        return f"({draw(sub)} / {draw(st.sampled_from(positive))})"
    if kind == "if":
        cmp = draw(st.sampled_from([">", "<", ">=", "<=", "=", "<>"]))
        return f"IF THEN ELSE({draw(sub)} {cmp} {draw(sub)}, {draw(sub)}, {draw(sub)})"
    if kind in ("min", "max"):
        return f"{kind.upper()}({draw(sub)}, {draw(sub)})"
    if kind == "exp":
        return f"EXP(MIN({draw(sub)}, 5))"
    if kind == "ln":
        return f"LN(ABS({draw(sub)}) + 1)"
    if kind == "xidz":
        return f"XIDZ({draw(sub)}, {draw(sub)}, {draw(sub)})"
    if kind == "abs":
        return f"ABS({draw(sub)})"
    if kind == "step":
        return f"STEP({draw(sub)}, {_num(draw(st.integers(0, 12)))})"
    if kind == "ramp":
        a = draw(st.integers(0, 8))
        return f"RAMP({draw(sub)}, {a}, {a + draw(st.integers(1, 6))})"
    if kind == "pulse":
        return f"PULSE({draw(st.integers(0, 10))}, {draw(st.sampled_from(positive))})"
    return "Time"


_STATEFUL = ["SMOOTH", "SMOOTHI", "SMOOTH3", "SMOOTH3I", "SMOOTH N", "DELAY1", "DELAY1I", "DELAY3",
             "DELAY3I", "DELAY N", "TREND", "lookup", "WITH LOOKUP", "INITIAL"]  # fmt: skip


@st.composite
def vensim_models(
    draw: Any, max_constants: int = 4, max_stocks: int = 3, max_auxes: int = 5, subscripts: bool = True
) -> GeneratedModel:
    """A random valid Vensim model (see the module docstring); ``subscripts`` allows a subscript range
    with a constant array, a subscripted stock (up-dimensioned inflow) and SUM / ZIDZ over it."""
    dt = draw(st.sampled_from([1.0, 0.5, 0.25, 0.125]))
    final = draw(st.integers(3, 20))
    saveper = dt * draw(st.sampled_from([1, 1, 2, 4]))
    parts: list[str] = []
    model = GeneratedModel(text="", time_step=dt)

    n_const = draw(st.integers(1, max_constants))
    consts = []
    for i in range(n_const):
        lo = draw(st.floats(0.5, 3.0, allow_nan=False))
        hi = lo + draw(st.floats(0.5, 5.0, allow_nan=False))
        lo, hi = round(lo, 3), round(hi, 3)
        default = round((lo + hi) / 2, 4)
        name = f"param {i}"
        consts.append(name)
        model.constants[name] = (default, lo, hi)
        parts.append(_eq(name, _num(default), "units", f"Constant {i}.", f"[{lo},{hi}]"))
    positive = list(consts)

    n_stock = draw(st.integers(1, max_stocks))
    stocks = [f"stock {i}" for i in range(n_stock)]
    refs = consts + stocks
    auxes: list[str] = []
    for i in range(draw(st.integers(0, max_auxes))):
        name = f"aux {i}"
        kind = draw(st.sampled_from(["plain", "plain", "stateful"]))
        if kind == "plain":
            rhs = draw(_expr(refs + auxes, positive, draw(st.integers(0, 3))))
        else:
            fn = draw(st.sampled_from(_STATEFUL))
            x = draw(_expr(refs + auxes, positive, 1))
            tau = draw(st.sampled_from(positive))
            init = draw(_expr(consts, positive, 0))
            if fn.startswith("DELAY") and fn != "DELAY N":
                # at least order x TIME STEP: below that pysd lowers the delay's order and Vensim
                # does not (sd follows Vensim, docs/semantics.md), so pysd is no reference there
                order = 3 if fn.startswith("DELAY3") else 1
                tau = f"MAX({tau}, {_num(order * dt)})"
            if fn in ("SMOOTH", "SMOOTH3", "DELAY1", "DELAY3"):
                rhs = f"{fn}({x}, {tau})"
            elif fn in ("SMOOTHI", "SMOOTH3I", "DELAY1I", "DELAY3I"):
                rhs = f"{fn}({x}, {tau}, {init})"
            elif fn in ("SMOOTH N", "DELAY N"):
                rhs = f"{fn}({x}, {tau}, {init}, {draw(st.integers(1, 4))})"
            elif fn == "TREND":
                rhs = f"TREND({x}, {tau}, {_num(draw(st.floats(-0.2, 0.2)))})"
            elif fn == "INITIAL":
                rhs = f"INITIAL({x})"
            else:
                xs = sorted(
                    set(draw(st.lists(st.integers(-5, 10), min_size=2, max_size=5, unique=True)))
                )
                ys = draw(st.lists(st.integers(-3, 3), min_size=len(xs), max_size=len(xs)))
                pts = ",".join(f"({a},{b})" for a, b in zip(xs, ys, strict=True))
                box = f"[({xs[0]},-3)-({xs[-1]},3)]"
                if fn == "WITH LOOKUP":
                    rhs = f"WITH LOOKUP({x}, ({box},{pts}))"
                else:
                    table = f"table {i}"
                    parts.append(f"{table}(\n\t{box},{pts})\n\t~\t\n\t~\t\n\t|\n")
                    rhs = f"{table}({x})"
        auxes.append(name)
        parts.append(_eq(name, rhs, "units"))
    if subscripts and draw(st.booleans()):
        # a subscript range, a constant array over it, a subscripted stock fed by a scalar expression
        # (up-dimensioning), and the stock's sum (aggregation back to a scalar)
        size = draw(st.integers(2, 3))
        elems = [f"r{i}" for i in range(size)]
        parts.append(f"Region: {', '.join(elems)}\n\t~\t\n\t~\t\n\t|\n")
        weights = draw(st.lists(st.integers(1, 5), min_size=size, max_size=size))
        parts.append(_eq("weight[Region]", ", ".join(map(str, weights)), "Dmnl"))
        tau = draw(st.sampled_from(positive))
        drive = draw(_expr(refs + auxes, positive, 1))
        parts.append(_eq("regional stock[Region]",
                         f"INTEG(weight[Region] * ({drive}) - regional stock[Region] / {tau}, weight[Region])",
                         "units"))  # fmt: skip
        parts.append(_eq("regional total", "SUM(regional stock[Region!])", "units"))
        parts.append(
            _eq("regional share[Region]", "ZIDZ(regional stock[Region], regional total)", "Dmnl")
        )
    for s in stocks:
        inflow, outflow = f"inflow of {s}", f"outflow of {s}"
        model.stocks[s] = (inflow, outflow)
        init = draw(_expr(consts, positive, 1))
        parts.append(_eq(s, f"INTEG({inflow} - {outflow}, {init})", "units", f"Stock {s}."))
        parts.append(_eq(inflow, draw(_expr(refs + auxes, positive, 2)), "units/year"))
        # a first-order drain keeps most stocks bounded
        tau = draw(st.sampled_from(positive))
        parts.append(_eq(outflow, f"{s} / {tau}", "units/year"))
    parts.append(_eq("INITIAL TIME", "0", "year"))
    parts.append(_eq("FINAL TIME", str(final), "year"))
    parts.append(_eq("TIME STEP", _num(dt), "year [0,?]"))
    parts.append(_eq("SAVEPER", _num(saveper), "year [0,?]"))
    model.text = "{UTF-8}\n" + "\n".join(parts)
    return model


def params_for(model: GeneratedModel | Any, n: int) -> st.SearchStrategy[dict[str, np.ndarray]]:
    """n draws of every ranged constant: within its [min,max], else +-50% of its default.

    ``model`` is a :class:`GeneratedModel` or an :class:`sd.Model`.
    """
    if isinstance(model, GeneratedModel):
        ranges = {k: (lo, hi) for k, (_, lo, hi) in model.constants.items()}
    else:
        ranges = {}
        for name, var in model.constants.items():
            if var.ident in model.ir.structural:
                continue
            lo, hi = (var.limits or (None, None, None))[:2]
            if lo is None or hi is None or not lo < hi:
                v = var.value or 0.0
                lo, hi = sorted((v * 0.5, v * 1.5)) if v else (-1.0, 1.0)
            ranges[name] = (lo, hi)
    return st.fixed_dictionaries(
        {
            name: st.lists(st.floats(lo, hi, allow_nan=False), min_size=n, max_size=n).map(np.array)
            for name, (lo, hi) in ranges.items()
        }
    )
