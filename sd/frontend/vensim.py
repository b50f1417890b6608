"""Vensim .mdl -> pysd ``AbstractModel`` -> sd IR.

This is the only module that imports pysd's translators. pysd parses; sd lowers the abstract syntax into its
own IR, turning every stateful builtin into hidden stocks, discrete states and auxiliaries.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import (
    ModelError,
    ParseError,
    UndefinedVariableError,
    UnsupportedFeatureError,
)
from sd.ir.nodes import (
    ActiveInitial,
    BinOp,
    Call,
    Expr,
    If,
    LookupCall,
    ModelIR,
    Num,
    Ref,
    Table,
    Time,
    Unary,
    Variable,
)

__all__ = ["SUPPORTED_FUNCTIONS", "load_ir", "normalise"]

CONTROL_NAMES = {
    "initial_time": "INITIAL TIME",
    "final_time": "FINAL TIME",
    "time_step": "TIME STEP",
    "saveper": "SAVEPER",
}

# canonical function -> accepted argument counts (Vensim spelling in the docs table)
SUPPORTED_FUNCTIONS: dict[str, tuple[int, ...]] = {
    "abs": (1,), "min": (2,), "max": (2,), "exp": (1,), "ln": (1,), "log": (2,),
    "sqrt": (1,), "power": (2,), "integer": (1,), "modulo": (2,), "quantum": (2,),
    "sin": (1,), "cos": (1,), "tan": (1,), "arcsin": (1,), "arccos": (1,),
    "arctan": (1,), "sinh": (1,), "cosh": (1,), "tanh": (1,), "pi": (0,),
    "if_then_else": (3,), "xidz": (3,), "zidz": (2,), "step": (2,), "ramp": (2, 3),
    "pulse": (2,), "pulse_train": (4,), "active_initial": (2,),
}  # fmt: skip
STATEFUL = (
    "INTEG, INITIAL, ACTIVE INITIAL, SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N, DELAY1, DELAY1I, "
    "DELAY3, DELAY3I, DELAY N, DELAY FIXED, TREND, FORECAST, SAMPLE IF TRUE, WITH LOOKUP, GAME"
)
FUNCTION_LIST = ", ".join(sorted(k.upper().replace("_", " ") for k in SUPPORTED_FUNCTIONS))
LATER = (
    "subscripts, macros, data functions and array functions are planned (see the coverage issue)"
)


def normalise(name: str) -> str:
    """pysd's reference form of a Vensim name: lower case, spaces as underscores."""
    return " ".join(name.strip().split()).lower().replace(" ", "_")


def _ident(norm: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", norm.strip('"'), flags=re.ASCII).strip("_") or "v"
    if base[0].isdigit():
        base = "_" + base
    ident, k = base, 1
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident


def _line_index(path: Path) -> dict[str, int]:
    """Map normalised names to the line that defines them (for error messages)."""
    index: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # pragma: no cover - the parser read it a moment ago
        return index
    text = text.split("\\\\\\---///", 1)[0]
    start_of_eq = True
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if start_of_eq and stripped and not stripped.startswith(("*", "{", "~")):
            m = re.match(r'^("[^"]+"|[^=(\[:~|]+)', stripped)
            if m:
                index.setdefault(normalise(m.group(1)), lineno)
            start_of_eq = False
        if stripped.endswith("|"):
            start_of_eq = True
    return index


def parse_abstract(path: Path) -> Any:
    """Run pysd's Vensim parser; wrap its failures in :class:`ParseError`."""
    from pysd.translators.vensim.vensim_file import VensimFile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vf = VensimFile(path)
            vf.parse()
            return vf.get_abstract_model()
    except FileNotFoundError as err:
        raise ParseError(f"{path}: no such model file") from err
    except Exception as err:  # pysd raises bare exceptions of many kinds
        detail = str(err).strip().splitlines()
        msg = " ".join(detail[:6]) if detail else type(err).__name__
        raise ParseError(
            f"{path}: pysd's Vensim parser could not read the model: {type(err).__name__}: {msg}"
        ) from err


class _Lowerer:
    def __init__(self, path: Path, am: Any) -> None:
        self.path = path
        self.am = am
        self.ir = ModelIR(path=str(path))
        self.taken: set[str] = set()
        self.lines = _line_index(path)
        self.elements: dict[str, Any] = {}
        self.current: Variable | None = None

    # -- errors ---------------------------------------------------------------------------------
    def where(self, name: str) -> str:
        line = self.lines.get(normalise(name))
        return f"{self.path}:{line}" if line else str(self.path)

    def unsupported(self, what: str, name: str | None = None) -> UnsupportedFeatureError:
        name = name or (self.current.name if self.current else "?")
        return UnsupportedFeatureError(
            f"{self.where(name)} variable '{name}': {what} is not supported by sd yet ({LATER})"
        )

    # -- driver ---------------------------------------------------------------------------------
    def run(self) -> ModelIR:
        sections = list(self.am.sections)
        if len(sections) > 1:
            macros = ", ".join(s.name for s in sections if s.type != "main")
            raise UnsupportedFeatureError(
                f"{self.path}: macros ({macros}) are not supported by sd yet ({LATER})"
            )
        main = sections[0]
        if main.subscripts:
            names = ", ".join(s.name for s in main.subscripts)
            raise UnsupportedFeatureError(
                f"{self.path}: subscript ranges ({names}) are not supported by sd yet ({LATER})"
            )
        # declare every element first so references resolve regardless of order
        for el in main.elements:
            norm = normalise(el.name)
            if norm in self.elements:
                raise ModelError(f"{self.where(el.name)}: variable '{el.name}' is defined twice")
            self.elements[norm] = el
            ident = _ident(norm, self.taken)
            self.ir.names[norm] = ident
        for norm, ctrl in CONTROL_NAMES.items():
            if norm not in self.elements:
                raise ModelError(
                    f"{self.path}: missing control variable '{ctrl}'; a Vensim model must define "
                    "INITIAL TIME, FINAL TIME and TIME STEP (SAVEPER defaults to TIME STEP)"
                    if norm != "saveper"
                    else f"{self.path}: missing control variable 'SAVEPER'"
                )
        for el in main.elements:
            self.lower_element(el)
        self.check_controls()
        return self.ir

    def check_controls(self) -> None:
        """Control variables must be fixed before the run starts (same time grid for every draw)."""
        from sd.ir.analysis import required
        from sd.ir.nodes import walk

        for norm in CONTROL_NAMES:
            ident = self.ir.names[norm]
            for dep in sorted(required(self.ir, [ident])):
                v = self.ir.variables[dep]
                timed = any(
                    isinstance(n, Time) or (isinstance(n, Call) and n.fn in ("step", "ramp", "pulse",
                                                                          "pulse_train"))
                    for e in (v.expr, v.init) if e is not None for n in walk(e)
                )  # fmt: skip
                if timed or v.kind in ("stock", "discrete", "fixed_delay"):
                    name = self.ir.variables[ident].name
                    raise UnsupportedFeatureError(
                        f"{self.where(name)} variable '{name}': a control variable that changes "
                        f"during the run (it depends on {'TIME' if timed else v.name}) is not "
                        "supported by sd; every draw shares one fixed time grid"
                    )

    def lower_element(self, el: Any) -> None:
        norm = normalise(el.name)
        ident = self.ir.names[norm]
        limits = None
        if el.limits is not None:
            lim = tuple(
                (None if (v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))))
                 else float(v)) for v in el.limits
            )  # fmt: skip
            lo, hi, step = (*lim, None, None, None)[:3]
            limits = (lo, hi, step) if any(v is not None for v in (lo, hi, step)) else None
        var = Variable(
            ident=ident,
            name=el.name,
            kind="aux",
            units=(el.units or "").strip(),
            doc=(el.documentation or "").strip(),
            limits=limits,
            line=self.lines.get(norm),
        )
        self.current = var
        comps = list(el.components)
        if len(comps) != 1:
            raise self.unsupported("a variable defined by several equations (subscripts)")
        comp = comps[0]
        if comp.subscripts and (comp.subscripts[0] or comp.subscripts[1]):
            raise self.unsupported("subscripts")
        ctype = type(comp).__name__
        if ctype == "AbstractData" or comp.type == "Data":
            raise self.unsupported("a data variable")
        ast = comp.ast
        if ctype == "AbstractLookup":
            var.kind = "lookup"
            var.table = self.table(ast)
        elif norm in CONTROL_NAMES:
            var.kind = "control"
            var.expr = self.expr(ast)
        elif _is_number(ast):
            var.kind = "constant"
            var.expr = Num(float(ast))
        else:
            top = type(ast).__name__
            if top == "IntegStructure":
                var.kind = "stock"
                var.ddt = self.expr(ast.flow)
                var.init = self.expr(ast.initial)
                var.non_negative = bool(getattr(ast, "non_negative", False))
            elif top == "InitialStructure":
                var.kind = "initial"
                var.expr = self.expr(ast.initial)
            else:
                var.expr = self.expr(ast)
        self.ir.add(var)

    # -- hidden variables -----------------------------------------------------------------------
    def hidden(self, suffix: str, kind: str, **fields: Any) -> Variable:
        owner = self.current
        assert owner is not None
        ident = _ident(f"_{suffix}_{owner.ident}", self.taken)
        var = Variable(
            ident=ident,
            name=f"{suffix}({owner.name})#{ident}",
            kind=kind,
            hidden=True,
            origin=owner.ident,
            **fields,
        )
        self.ir.add(var)
        return var

    def static_int(self, expr: Expr, what: str) -> int:
        """Evaluate a structural argument (an order) from literals and constants."""

        def ev(e: Expr) -> float:
            if isinstance(e, Num):
                return e.value
            if isinstance(e, Ref):
                target = self.elements.get(
                    next(k for k, v in self.ir.names.items() if v == e.ident)
                )
                ast = target.components[0].ast if target is not None else None
                if ast is not None and _is_number(ast):
                    self.ir.structural.add(e.ident)
                    return float(ast)
                if ast is not None:
                    saved = self.current
                    val = ev(self.expr(ast))
                    self.current = saved
                    self.ir.structural.add(e.ident)
                    return val
            if isinstance(e, BinOp) and e.op in "+-*/":
                a, b = ev(e.left), ev(e.right)
                return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[e.op]
            if isinstance(e, Unary) and e.op == "-":
                return -ev(e.operand)
            raise self.unsupported(f"a {what} that is not a constant")

        return int(ev(expr))

    # -- expressions ----------------------------------------------------------------------------
    def table(self, ast: Any) -> Table:
        if type(ast).__name__ != "LookupsStructure":
            raise self.unsupported(f"lookup definition {type(ast).__name__}")
        x = tuple(float(v) for v in ast.x)
        y = tuple(float(v) for v in ast.y)
        if len(x) != len(y) or not x:
            raise ModelError(
                f"{self.where(self.current.name if self.current else '')}: lookup "
                f"'{self.current.name if self.current else ''}' has {len(x)} x and {len(y)} y values"
            )
        order = np.argsort(x, kind="stable")
        xs = tuple(x[i] for i in order)
        ys = tuple(y[i] for i in order)
        if len(set(xs)) != len(xs):
            raise ModelError(
                f"{self.where(self.current.name if self.current else '')}: lookup "
                f"'{self.current.name if self.current else ''}' has repeated x values"
            )
        return Table(xs, ys, getattr(ast, "type", "interpolate") or "interpolate")

    def ref(self, name: str) -> Expr:
        if name == "time":
            return Time()
        ident = self.ir.names.get(name)
        if ident is None:
            ident = self.ir.names.get(normalise(name.replace("_", " ")))
        if ident is None:
            owner = self.current.name if self.current else "?"
            raise UndefinedVariableError(
                f"{self.where(owner)} variable '{owner}': refers to '{name.replace('_', ' ')}', "
                "which the model does not define"
            )
        return Ref(ident)

    def expr(self, ast: Any) -> Expr:
        if _is_number(ast):
            return Num(float(ast))
        if isinstance(ast, np.ndarray | list | tuple):
            raise self.unsupported("an array constant (subscripts)")
        kind = type(ast).__name__
        handler: Callable[[Any], Expr] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            feature = {
                "DataStructure": "a data variable",
                "GetDataStructure": "GET DATA",
                "GetLookupsStructure": "GET LOOKUPS",
                "GetConstantsStructure": "GET CONSTANTS",
                "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
                "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
            }.get(kind, kind)
            raise self.unsupported(feature)
        return handler(ast)

    def _ReferenceStructure(self, ast: Any) -> Expr:
        if ast.subscripts is not None:
            raise self.unsupported("subscripts")
        return self.ref(ast.reference)

    def _ArithmeticStructure(self, ast: Any) -> Expr:
        ops, args = list(ast.operators), list(ast.arguments)
        if len(args) == 1:
            inner = self.expr(args[0])
            op = ops[0]
            if op == "negative":
                return Unary("-", inner)
            if op == "positive":
                return inner
            raise self.unsupported(f"unary operator {op}")
        if ops and all(o == "^" for o in ops):
            # Python's ** (what pysd generates): right-associative, and a negative literal base
            # binds looser than the power (-2^2 = -4, as Vensim computes it).
            result = self.expr(args[-1])
            for base in reversed(args[:-1]):
                if _is_number(base) and float(base) < 0:
                    result = Unary("-", BinOp("**", Num(-float(base)), result))
                else:
                    result = BinOp("**", self.expr(base), result)
            return result
        result = self.expr(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            if op not in ("+", "-", "*", "/"):
                raise self.unsupported(f"operator {op}")
            result = BinOp(op, result, self.expr(arg))
        return result

    def _LogicStructure(self, ast: Any) -> Expr:
        ops, args = list(ast.operators), list(ast.arguments)
        table = {":AND:": "and", ":OR:": "or", "=": "==", "<>": "!=", "<": "<", "<=": "<=",
                 ">": ">", ">=": ">="}  # fmt: skip
        if len(args) == 1:
            return Unary("not", self.expr(args[0]))
        if ops[0] in (":AND:", ":OR:"):
            # pysd nests :AND: / :OR: chains from the right: a :AND: b :OR: c = a AND (b OR c)
            result = self.expr(args[-1])
            for op, arg in zip(reversed(ops), reversed(args[:-1]), strict=True):
                result = BinOp(table[op], self.expr(arg), result)
            return result
        result = self.expr(args[0])
        for op, arg in zip(ops, args[1:], strict=True):
            result = BinOp(table[op], result, self.expr(arg))
        return result

    def _CallStructure(self, ast: Any) -> Expr:
        fname = ast.function.reference if hasattr(ast.function, "reference") else str(ast.function)
        args = tuple(ast.arguments)
        if fname in self.ir.names and fname not in SUPPORTED_FUNCTIONS:
            target = self.elements[fname]
            comp = target.components[0]
            if type(comp).__name__ != "AbstractLookup":
                raise ModelError(
                    f"{self.where(self.current.name if self.current else '')} variable "
                    f"'{self.current.name if self.current else ''}': calls '{target.name}' "
                    "like a lookup, but it is not a lookup"
                )
            if len(args) != 1:
                raise self.unsupported(f"a lookup call with {len(args)} arguments")
            return LookupCall(self.ir.names[fname], self.expr(args[0]))
        if fname not in SUPPORTED_FUNCTIONS:
            shown = fname.upper().replace("_", " ")
            raise UnsupportedFeatureError(
                f"{self.where(self.current.name if self.current else '')} variable "
                f"'{self.current.name if self.current else ''}': function {shown} is not supported "
                f"by sd (supported: {FUNCTION_LIST}; stateful: {STATEFUL})"
            )
        arity = SUPPORTED_FUNCTIONS[fname]
        if len(args) not in arity:
            raise ModelError(
                f"{self.where(self.current.name if self.current else '')} variable "
                f"'{self.current.name if self.current else ''}': {fname.upper()} takes "
                f"{' or '.join(map(str, arity))} arguments, got {len(args)}"
            )
        lowered = tuple(self.expr(a) for a in args)
        if fname == "if_then_else":
            return If(*lowered)
        if fname == "active_initial":
            return ActiveInitial(lowered[0], lowered[1])
        if fname == "pi":
            return Num(math.pi)
        return Call(fname, lowered)

    def _GameStructure(self, ast: Any) -> Expr:
        # Outside an interactive Vensim session GAME(x) is just x.
        return self.expr(ast.expression)

    def _InlineLookupsStructure(self, ast: Any) -> Expr:
        table = self.hidden("lookup", "lookup", table=self.table(ast.lookups))
        return LookupCall(table.ident, self.expr(ast.argument))

    def _IntegStructure(self, ast: Any) -> Expr:
        stock = self.hidden(
            "integ",
            "stock",
            init=self.expr(ast.initial),
            ddt=self.expr(ast.flow),
            non_negative=bool(getattr(ast, "non_negative", False)),
        )
        return Ref(stock.ident)

    def _InitialStructure(self, ast: Any) -> Expr:
        return Ref(self.hidden("initial", "initial", expr=self.expr(ast.initial)).ident)

    def _SmoothStructure(self, ast: Any) -> Expr:
        return self.smooth(ast, int(ast.order))

    def _SmoothNStructure(self, ast: Any) -> Expr:
        return self.smooth(ast, self.static_int(self.expr(ast.order), "SMOOTH N order"))

    def smooth(self, ast: Any, order: int) -> Expr:
        """n stages s_i: ddt_i = (target_i - s_i) * n / T, target_1 = input, output = s_n."""
        if order < 1:
            name = self.current.name if self.current else ""
            raise ModelError(f"{self.where(name)}: SMOOTH order must be >= 1")
        inp, T, init = self.expr(ast.input), self.expr(ast.smooth_time), self.expr(ast.initial)
        stages = [self.hidden(f"smooth{k}", "stock", init=init) for k in range(order)]
        target: Expr = inp
        for s in stages:
            s.ddt = BinOp("/", BinOp("*", BinOp("-", target, Ref(s.ident)), Num(order)), T)
            target = Ref(s.ident)
        return target

    def _DelayStructure(self, ast: Any) -> Expr:
        """n stages holding value*T: out_i = s_i / T, ddt_i = (in_i - out_i) * n, output = s_n / T."""
        order = int(ast.order)
        inp, T, init = self.expr(ast.input), self.expr(ast.delay_time), self.expr(ast.initial)
        stages = [self.hidden(f"delay{k}", "stock", init=BinOp("*", init, T)) for k in range(order)]
        k, factors = self.delay_order(order, T)
        inflow: Expr = inp
        for s, f in zip(stages, factors, strict=True):
            out = BinOp("/", Ref(s.ident), T)
            s.ddt = BinOp("*", BinOp("-", inflow, out), f)
            inflow = out
        return BinOp("/", self.last_stage(k, stages), T)

    def delay_order(self, order: int, T: Expr) -> tuple[Expr, list[Expr]]:
        """pysd lowers a delay's order while order * TIME STEP > delay time (at initialisation).

        Returns the effective order k (a hidden initial value, per draw) and each stage's factor
        k * (i <= k): stages past k stand still.
        """
        k = self.hidden("delayorder", "initial", expr=Call("_delay_order", (Num(order), T)))
        factors: list[Expr] = [
            Ref(self.hidden(f"stagefactor{i}", "initial",
                            expr=Call("_stage_factor", (Ref(k.ident), Num(i + 1)))).ident)
            for i in range(order)
        ]  # fmt: skip
        return Ref(k.ident), factors

    def last_stage(self, k: Expr, stages: list[Variable]) -> Expr:
        if len(stages) == 1:
            return Ref(stages[0].ident)
        return Call("_stage", (k, *(Ref(s.ident) for s in stages)))

    def _DelayNStructure(self, ast: Any) -> Expr:
        """DELAY N as pysd runs it: stage i drains with the delay time of i-1 steps ago.

        Hidden discrete states tau_i hold the delay times of earlier steps (all T at the start); the
        output divides the last stage by the delay time of the previous step.
        """
        order = self.static_int(self.expr(ast.order), "DELAY N order")
        inp, T, init = self.expr(ast.input), self.expr(ast.delay_time), self.expr(ast.initial)
        stages = [
            self.hidden(f"delayn{k}", "stock", init=BinOp("*", init, T)) for k in range(order)
        ]
        taus = [self.hidden(f"delayntime{k}", "discrete", init=T) for k in range(order)]
        k, factors = self.delay_order(order, T)
        times: list[Expr] = [T] + [Ref(t.ident) for t in taus[:-1]]
        for tau, new in zip(taus, times, strict=True):
            tau.update = new
        inflow: Expr = inp
        for s, tm, f in zip(stages, times, factors, strict=True):
            out = BinOp("/", Ref(s.ident), tm)
            s.ddt = BinOp("*", BinOp("-", inflow, out), f)
            inflow = out
        return BinOp("/", self.last_stage(k, stages), Ref(taus[0].ident))

    def _DelayFixedStructure(self, ast: Any) -> Expr:
        var = self.hidden(
            "delayfixed",
            "fixed_delay",
            args=(self.expr(ast.input), self.expr(ast.delay_time), self.expr(ast.initial)),
        )
        return Ref(var.ident)

    def _TrendStructure(self, ast: Any) -> Expr:
        inp, T, tr0 = (
            self.expr(ast.input),
            self.expr(ast.average_time),
            self.expr(ast.initial_trend),
        )
        s = self.hidden(
            "trend",
            "stock",
            init=BinOp("/", inp, BinOp("+", Num(1.0), BinOp("*", tr0, T))),
        )
        s.ddt = BinOp("/", BinOp("-", inp, Ref(s.ident)), T)
        return Call(
            "zidz", (BinOp("-", inp, Ref(s.ident)), BinOp("*", T, Call("abs", (Ref(s.ident),))))
        )

    def _ForecastStructure(self, ast: Any) -> Expr:
        inp, T = self.expr(ast.input), self.expr(ast.average_time)
        horizon, tr0 = self.expr(ast.horizon), self.expr(ast.initial_trend)
        s = self.hidden("forecast", "stock", init=BinOp("/", inp, BinOp("+", Num(1.0), tr0)))
        s.ddt = BinOp("/", BinOp("-", inp, Ref(s.ident)), T)
        ratio = Call("zidz", (BinOp("-", inp, Ref(s.ident)), BinOp("*", T, Ref(s.ident))))
        return BinOp("*", inp, BinOp("+", Num(1.0), BinOp("*", ratio, horizon)))

    def _SampleIfTrueStructure(self, ast: Any) -> Expr:
        cond, inp, init = self.expr(ast.condition), self.expr(ast.input), self.expr(ast.initial)
        held = self.hidden("sampled", "discrete", init=init)
        out = self.hidden("sample", "aux", expr=If(cond, inp, Ref(held.ident)))
        held.update = Ref(out.ident)
        return Ref(out.ident)


def _is_number(ast: Any) -> bool:
    return isinstance(ast, int | float | np.integer | np.floating) and not isinstance(ast, bool)


def load_ir(path: str | Path) -> ModelIR:
    """Parse ``path`` with pysd and lower it into sd's IR."""
    p = Path(path)
    if not p.exists():
        raise ParseError(f"{p}: no such model file")
    if p.suffix.lower() != ".mdl":
        raise ParseError(f"{p}: expected a Vensim .mdl file")
    am = parse_abstract(p)
    return _Lowerer(p, am).run()
