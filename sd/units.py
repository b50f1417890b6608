"""Units check: ``sd.check_units(model)`` compares each equation's units with the units the modeller declared.

Vensim unit strings (``Dmnl``, ``1/Year``, ``$/kWh``, ``Person*Year``, ``TWh/(Year*Year)``, ``Meter^2``) are
parsed into :mod:`pint` units of a registry of their own, in which

* every unit name the model uses is a dimension of its own, except the time units (second ... year, all of
  dimension time), watt, watt-hour, joule, gram and tonne, which pint relates to each other;
* names are matched ignoring case, a plural ``s`` and a metric prefix (k, M, G, T, P) when the rest of the
  name is a unit the model also uses (``TUSD`` is a multiple of ``USD``, ``Mpeople`` of ``person``),
  and the model's unit equivalences (``22:Person,People,Persons`` in the settings after the sketch) are
  applied;
* ``Dmnl``, ``dimensionless``, ``fraction``, ``1`` and an empty product are dimensionless.

Units are compared by **dimension**: a scale factor (TWh against MWh, Year against Month) is not an issue,
because conversion constants are plain numbers in most models. A number in an equation fits any units in a
sum or comparison and is dimensionless in a product.

Rules: the units of ``a + b``, ``a - b``, MIN/MAX, both branches of IF THEN ELSE and both sides of a
comparison must agree; a stock's inflows and outflows have the stock's units per time unit (the units of
TIME STEP) and its initial value the stock's units; EXP, LN and LOG take dimensionless arguments and a
non-numeric power a dimensionless base; XIDZ's third argument has the units of the quotient; STEP and
RAMP take times; SMOOTH, DELAY, TREND and the other stateful functions keep their input's units (sd lowers
them into hidden stocks, checked like any stock and reported against the variable that uses them); a lookup
returns its declared units. Variables without declared units take the units of their equation; a
constant without units fits anything. A model in which nothing can be compared (no units declared) is
"not checked", never an issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sd.errors import SDError
from sd.ir.nodes import (
    ActiveInitial,
    BinOp,
    Call,
    Expr,
    If,
    LookupCall,
    Num,
    Ref,
    Time,
    Unary,
)

__all__ = ["UnitIssue", "UnitsReport", "check_units", "parse_units"]

_DIMENSIONLESS = {"dmnl", "dimensionless", "fraction", "1", "unitless", "dimensionles"}
# canonical (lower-case, singular) name -> pint definition
_KNOWN = {
    "second": "second = [time] = s = sec",
    "minute": "minute = 60 * second = min",
    "hour": "hour = 60 * minute = hr",
    "day": "day = 24 * hour",
    "week": "week = 7 * day",
    "month": "month = year / 12 = mo",
    "quarter": "quarter = year / 4",
    "year": "year = 365.25 * day = yr",
    "watt": "watt = [power] = w",
    "joule": "joule = watt * second = j",
    "watt_hour": "watt_hour = watt * hour = wh",
    "gram": "gram = [mass] = g",
    "tonne": "tonne = 1e6 * gram = t = ton",
    "person": "person = [person] = _ = people",
}
_ALIASES = {"s": "second", "sec": "second", "min": "minute", "hr": "hour", "yr": "year", "mo": "month",
            "w": "watt", "j": "joule", "wh": "watt_hour", "g": "gram", "t": "tonne", "ton": "tonne",
            "people": "person", "kg": "gram", "kwh": "watt_hour", "mwh": "watt_hour", "gwh": "watt_hour",
            "twh": "watt_hour", "kw": "watt", "mw": "watt", "gw": "watt", "tw": "watt"}  # fmt: skip
_PREFIXES = ("k", "M", "G", "T", "P", "B")
_TOKEN = re.compile(r"\s*(\(|\)|\*|/|\^|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![A-Za-z_$])|[^()*/^]+)")


@dataclass(frozen=True)
class UnitIssue:
    """One inconsistency: ``variable`` (Vensim name) at ``line`` of ``file``."""

    file: str
    line: int | None
    variable: str
    expected: str
    found: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.variable}: {self.message}"


class UnitsReport(list):
    """The issues found (a list of :class:`UnitIssue`) and what was checked.

    ``status`` is ``"ok"``, ``"issues"`` or ``"not checked"`` (no declared units could be compared);
    ``checked`` counts the comparisons made, ``unparsed`` lists (identifier, units) whose units string
    could not be read and ``time_units`` is the model's time unit.
    """

    def __init__(self, issues: list[UnitIssue], checked: int, file: str, time_units: str,
                 unparsed: list[tuple[str, str]]) -> None:  # fmt: skip
        super().__init__(issues)
        self.checked = checked
        self.file = file
        self.time_units = time_units
        self.unparsed = unparsed

    @property
    def status(self) -> str:
        if len(self):
            return "issues"
        return "ok" if self.checked else "not checked"

    def summary(self) -> str:
        if self.status == "not checked":
            return f"{self.file}: units not checked (no declared units to compare)"
        if self.status == "ok":
            return f"{self.file}: units consistent ({self.checked} equations checked)"
        return f"{self.file}: {len(self)} units issue(s) in {self.checked} equations checked"


class _Registry:
    """A pint registry with one dimension per unit name of the model."""

    def __init__(self, equivalences: dict[str, str], names: set[str]) -> None:
        import pint

        self.ureg: Any = pint.UnitRegistry(None, autoconvert_offset_to_baseunit=False)
        for line in _KNOWN.values():
            self.ureg.define(line)
        self.equiv = equivalences
        self.display: dict[str, str] = {}
        self.defined: set[str] = set(_KNOWN)
        self.words = {w.lower() for n in names for w in re.split(r"[\s_]+", n) if w}
        self.canon_names = {self._canon(n) for n in names}

    def _singular(self, word: str) -> str:
        w = word.lower()
        if w == "people":
            return "person"
        if len(w) > 4 and w.endswith("es") and w[:-2] in self.words:
            return w[:-2]
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            return w[:-1]
        return w

    def _canon(self, name: str) -> str:
        name = " ".join(name.split())
        name = self.equiv.get(name.lower(), name)
        return "_".join(self._singular(w) for w in re.split(r"[\s_]+", name) if w)

    def _ident(self, name: str) -> str:
        """The pint unit name of a Vensim unit name (defining a new dimension when needed)."""
        canon = self._canon(name)
        if canon in _DIMENSIONLESS:
            return ""
        if canon in _ALIASES:
            return _ALIASES[canon]
        if canon in self.defined:
            return canon
        raw = " ".join(name.split())
        for p in _PREFIXES:
            if raw.startswith(p) and len(raw) > len(p) + 1:
                rest = self._canon(raw[len(p):])
                if rest in _ALIASES:
                    return _ALIASES[rest]
                if rest in self.defined or rest in self.canon_names:
                    return self._ident(raw[len(p):])
        ident = re.sub(r"\W", lambda m: f"x{ord(m.group()):x}", canon)
        if not ident or ident[0].isdigit():
            ident = "u_" + ident
        if ident not in self.defined:
            self.ureg.define(f"{ident} = [{ident}]")
            self.defined.add(ident)
            self.display[ident] = raw
        return ident

    def parse(self, text: str) -> Any:
        """The pint unit of a Vensim units string (raises ValueError if it cannot be read)."""
        toks = [t.strip() for t in _TOKEN.findall(text) if t.strip()]
        if "".join(toks).replace(" ", "") != re.sub(r"\s", "", text):
            raise ValueError(f"cannot read units {text!r}")
        pos = 0

        def peek() -> str | None:
            return toks[pos] if pos < len(toks) else None

        def take() -> str:
            nonlocal pos
            pos += 1
            return toks[pos - 1]

        def factor() -> Any:
            t = peek()
            if t is None:
                raise ValueError(f"cannot read units {text!r}: ends early")
            if t == "(":
                take()
                u = expr()
                if peek() != ")":
                    raise ValueError(f"cannot read units {text!r}: missing ')'")
                take()
            elif t in ("*", "/", "^", ")"):
                raise ValueError(f"cannot read units {text!r}: unexpected {t!r}")
            else:
                take()
                if re.fullmatch(r"-?\d+(\.\d*)?([eE][-+]?\d+)?", t):
                    u = self.ureg.dimensionless
                else:
                    ident = self._ident(t)
                    u = self.ureg.Unit(ident) if ident else self.ureg.dimensionless
            if peek() == "^":
                take()
                e = take() if peek() is not None else ""
                try:
                    u = u ** float(e)
                except ValueError:
                    raise ValueError(f"cannot read units {text!r}: exponent {e!r}") from None
            return u

        def expr() -> Any:
            u = factor()
            while peek() in ("*", "/"):
                op = take()
                v = factor()
                u = u * v if op == "*" else u / v
            return u

        out = expr()
        if pos != len(toks):
            raise ValueError(f"cannot read units {text!r}: unexpected {toks[pos]!r}")
        return out

    def show(self, u: Any) -> str:
        """Vensim-style text of a pint unit: ``a*b/(c*d)``, ``Dmnl``."""
        if u is None:
            return "?"
        num: list[str] = []
        den: list[str] = []
        for name, exp in sorted(dict(u._units).items()):
            label = self.display.get(name, name.replace("_", " "))
            e = abs(exp)
            s = label if e == 1 else f"{label}^{e:g}"
            (num if exp > 0 else den).append(s)
        if not num and not den:
            return "Dmnl"
        top = "*".join(num) if num else "1"
        if not den:
            return top
        return f"{top}/{den[0]}" if len(den) == 1 else f"{top}/({'*'.join(den)})"


def equivalences(path: Path) -> dict[str, str]:
    """Unit equivalences of a .mdl's settings (``22:Name,Alias,...``): lower-case alias -> first name."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    tail = text.split(":L<%^E!@", 1)
    if len(tail) < 2:
        return out
    for line in tail[1].splitlines():
        if line.startswith("22:"):
            names = [n.strip() for n in line[3:].split(",") if n.strip()]
            for n in names[1:]:
                out[n.lower()] = names[0]
    return out


_NUM = "number"  # a literal: any units in a sum, dimensionless in a product


class _Checker:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.ir = model.ir
        self.file = str(model.path)
        names: set[str] = set()
        for v in self.ir.variables.values():
            for t in _TOKEN.findall(v.units or ""):
                t = t.strip()
                if t and t not in "()*/^":
                    names.add(t)
        self.reg = _Registry(equivalences(Path(model.path)), names)
        self.declared: dict[str, Any] = {}
        self.unparsed: list[tuple[str, str]] = []
        for ident, v in self.ir.variables.items():
            if v.units and v.units.strip():
                try:
                    self.declared[ident] = self.reg.parse(v.units)
                except ValueError:
                    self.unparsed.append((ident, v.units))
        self.time = None
        for c in ("time_step", "initial_time", "final_time", "saveper"):
            if c in self.declared and self.ir.variables[c].kind == "control":
                self.time = self.declared[c]
                break
        self.memo: dict[str, Any] = {}
        self.busy: set[str] = set()
        # variables made or rewritten by lowering SMOOTH/DELAY/TREND...: their literals (other than 1)
        # stand for arguments in any units (a delay time of 0.5, an initial value of 0)
        self.lowered = {v.ident for v in self.ir.variables.values() if v.hidden}
        self.lowered |= {v.origin for v in self.ir.variables.values() if v.hidden and v.origin}
        self.issues: dict[tuple[str, str, str], UnitIssue] = {}
        self.checked = 0
        self.context: str = ""

    # -- reporting ------------------------------------------------------------------------------
    def owner(self, ident: str) -> Any:
        v = self.ir.variables[ident]
        while v.hidden and v.origin and v.origin in self.ir.variables and v.origin != v.ident:
            v = self.ir.variables[v.origin]
        return v

    def issue(self, expected: Any, found: Any, what: str) -> None:
        v = self.owner(self.context)
        name = v.name.split("[", 1)[0].strip()
        exp, fnd = self.reg.show(expected), self.reg.show(found)
        key = (name, exp, fnd)
        if key not in self.issues:
            self.issues[key] = UnitIssue(self.file, v.line, name, exp, fnd,
                                         f"{what}: expected {exp}, found {fnd}")  # fmt: skip

    def count(self) -> None:
        """One comparison made (those among control variables only do not count)."""
        if self.ir.variables[self.context].kind != "control":
            self.checked += 1

    @staticmethod
    def same(a: Any, b: Any) -> bool:
        return a.dimensionality == b.dimensionality

    def agree(self, a: Any, b: Any, what: str) -> Any:
        """The units of two operands that must agree (a sum, a comparison, branches)."""
        if a is None or b is None:  # unknown: a number beside it is unknown too
            other = b if a is None else a
            return other if other is not _NUM else None
        if a is _NUM:
            return b
        if b is _NUM:
            return a
        self.count()
        if not self.same(a, b):
            self.issue(a, b, what)
        return a

    def dimensionless(self, a: Any, what: str) -> None:
        if a is None or a is _NUM:
            return
        self.count()
        if not a.dimensionless:
            self.issue(self.reg.ureg.dimensionless, a, what)

    @staticmethod
    def mul(a: Any, b: Any, div: bool = False) -> Any:
        if a is None or b is None:
            return None
        if a is _NUM and b is _NUM:
            return _NUM
        if a is _NUM:
            return (1 / b) if div else b
        if b is _NUM:
            return a
        return a / b if div else a * b

    # -- inference ------------------------------------------------------------------------------
    def of(self, ident: str) -> Any:
        """The units of a variable: declared, or inferred from its equation (None: unknown)."""
        if ident in self.declared:
            return self.declared[ident]
        if ident in self.memo:
            return self.memo[ident]
        if ident in self.busy or ident not in self.ir.variables:
            return None
        v = self.ir.variables[ident]
        self.busy.add(ident)
        saved, self.context = self.context, ident
        try:
            if v.kind in ("constant", "lookup"):
                u = None
            elif v.kind == "stock":
                u = None
                if v.ddt is not None and self.time is not None:
                    d = self.expr(v.ddt)
                    u = d * self.time if d not in (None, _NUM) else None
                if (u is None or u is _NUM) and v.init is not None:
                    u = self.expr(v.init)
            elif v.kind == "discrete":
                u = self.expr(v.init) if v.init is not None else None
                if u is None or u is _NUM:
                    u = self.expr(v.update) if v.update is not None else u
            elif v.kind == "fixed_delay":
                u = self.expr(v.args[0]) if v.args else None
            else:
                u = self.expr(v.expr) if v.expr is not None else None
        finally:
            self.context = saved
            self.busy.discard(ident)
        if u is _NUM:
            u = None
        self.memo[ident] = u
        return u

    def expr(self, e: Expr) -> Any:
        if isinstance(e, Num):
            return _NUM
        if isinstance(e, Ref):
            return self.of(e.ident)
        if isinstance(e, Time):
            return self.time
        if isinstance(e, Unary):
            u = self.expr(e.operand)
            return u if e.op == "-" else self.reg.ureg.dimensionless
        if isinstance(e, BinOp):
            return self.binop(e)
        if isinstance(e, If):
            self.expr(e.cond)
            return self.agree(self.expr(e.then), self.expr(e.otherwise), "IF THEN ELSE branches differ")
        if isinstance(e, ActiveInitial):
            return self.agree(self.expr(e.expr), self.expr(e.init),
                              "ACTIVE INITIAL's value and initial value differ")  # fmt: skip
        if isinstance(e, LookupCall):
            self.expr(e.x)
            return self.declared.get(e.table)
        if isinstance(e, Call):
            return self.call(e)
        return None

    def binop(self, e: BinOp) -> Any:
        op = e.op
        a = self.expr(e.left)
        if op == "**":
            if isinstance(e.right, Num):
                if a is None or a is _NUM:
                    return a
                return a ** e.right.value
            b = self.expr(e.right)
            self.dimensionless(b, "an exponent must be dimensionless")
            self.dimensionless(a, "the base of a non-numeric power must be dimensionless")
            return a if a in (None, _NUM) else self.reg.ureg.dimensionless
        b = self.expr(e.right)
        if op in ("*", "/") and self.context in self.lowered and any(
            isinstance(x, Num) and x.value != 1 for x in (e.left, e.right)
        ):
            return None
        if op in ("+", "-"):
            return self.agree(a, b, f"'{op}' of different units")
        if op == "*":
            return self.mul(a, b)
        if op == "/":
            return self.mul(a, b, div=True)
        if op in ("==", "!=", "<", "<=", ">", ">=", "=", "<>"):
            self.agree(a, b, "a comparison of different units")
            return self.reg.ureg.dimensionless
        return self.reg.ureg.dimensionless  # and / or

    def call(self, e: Call) -> Any:
        fn, args = e.fn, e.args
        us = [self.expr(a) for a in args]
        dmnl = self.reg.ureg.dimensionless
        if fn in ("abs", "integer"):
            return us[0]
        if fn in ("min", "max"):
            return self.agree(us[0], us[1], f"{fn.upper()} of different units")
        if fn in ("modulo", "quantum"):
            return self.agree(us[0], us[1], f"{fn.upper()} of different units")
        if fn in ("exp", "ln", "log", "gamma_ln"):
            for u in us:
                self.dimensionless(u, f"{fn.upper().replace('_', ' ')} needs a dimensionless argument")
            return dmnl
        if fn == "sqrt":
            return us[0] if us[0] in (None, _NUM) else us[0] ** 0.5
        if fn == "power":
            if isinstance(args[1], Num):
                return us[0] if us[0] in (None, _NUM) else us[0] ** args[1].value
            self.dimensionless(us[1], "an exponent must be dimensionless")
            self.dimensionless(us[0], "the base of a non-numeric power must be dimensionless")
            return us[0] if us[0] in (None, _NUM) else dmnl
        if fn in ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"):
            return dmnl
        if fn == "pi":
            return _NUM
        if fn == "xidz":
            q = self.mul(us[0], us[1], div=True)
            return self.agree(q, us[2], "XIDZ's value for a zero divisor has other units than the quotient")
        if fn == "zidz":
            return self.mul(us[0], us[1], div=True)
        if fn == "step":
            self.agree(self.time, us[1], "STEP's time is not in time units")
            return us[0]
        if fn == "ramp":
            for u in us[1:]:
                self.agree(self.time, u, "RAMP's start/end is not in time units")
            return _NUM if us[0] is _NUM else self.mul(us[0], self.time)
        if fn in ("pulse", "pulse_train"):
            for u in us[:2]:
                self.agree(self.time, u, f"{fn.upper().replace('_', ' ')}'s times are not in time units")
            return dmnl
        if fn == "random_0_1":
            return dmnl
        if fn == "_stage_factor":
            return dmnl
        if fn == "_delay_order":
            return _NUM
        if fn == "_stage":
            u = None
            for x in us[1:]:
                u = self.agree(u, x, "DELAY N stages differ")
            return u
        if fn == "random_uniform":
            return self.agree(us[0], us[1], "RANDOM UNIFORM's bounds differ")
        return None  # array helpers, random draws, GET TIME VALUE: not checked

    # -- the check ------------------------------------------------------------------------------
    def run(self) -> UnitsReport:
        for ident, v in self.ir.variables.items():
            self.context = ident
            if v.kind == "stock":
                u = self.of(ident)
                if v.init is not None:
                    i = self.expr(v.init)
                    if not v.hidden or not _literal_scaled(v.init):
                        self.agree(u, i, "initial value has other units than the stock")
                if v.ddt is not None:
                    d = self.expr(v.ddt)
                    if u is not None and self.time is not None:
                        self.agree(u / self.time, d,
                                   "net flow has other units than the stock per time unit")  # fmt: skip
            elif v.kind in ("aux", "initial", "constant", "control") and v.expr is not None:
                found = self.expr(v.expr)
                if ident in self.declared:
                    self.agree(self.declared[ident], found, "equation has other units than declared")
            elif v.kind == "discrete":
                if v.update is not None:
                    self.agree(self.of(ident), self.expr(v.update), "update has other units than the state")
            elif v.kind == "fixed_delay" and v.args:
                a = [self.expr(x) for x in v.args]
                self.agree(self.time, a[1], "DELAY FIXED's delay time is not in time units")
                self.agree(a[0], a[2], "DELAY FIXED's initial value has other units than its input")
        issues = sorted(self.issues.values(), key=lambda i: (i.line or 0, i.variable, i.message))
        tu = self.reg.show(self.time) if self.time is not None else "?"
        return UnitsReport(issues, self.checked, self.file, tu, self.unparsed)


def _literal_scaled(e: Expr) -> bool:
    """A lowered initial value built from a literal (``0``, ``0 * delay``): any units."""
    if isinstance(e, Num):
        return True
    return isinstance(e, BinOp) and e.op in ("*", "/") and isinstance(e.left, Num)


def check_units(model: Any) -> UnitsReport:
    """Check the units of every equation of ``model`` (an :class:`sd.Model` or a .mdl path).

    Returns a :class:`UnitsReport`: a list of :class:`UnitIssue` (file, line, variable, expected and
    found units, message) with ``status`` 'ok', 'issues' or 'not checked'. Unit strings that cannot be
    read are issues too. Needs pint (``pip install 'sd[units]'``). See the module docstring for the rules.
    """
    try:
        import pint  # noqa: F401
    except ImportError as err:
        raise SDError("sd.check_units needs pint: pip install 'sd[units]'") from err
    if isinstance(model, (str, Path)):
        from sd import load

        model = load(model)
    checker = _Checker(model)
    report = checker.run()
    seen = set()
    for ident, text in checker.unparsed:
        var = checker.owner(ident)
        name = var.name.split("[", 1)[0].strip()
        if name not in seen:
            seen.add(name)
            report.append(UnitIssue(report.file, var.line, name, "units", text,
                                    f"cannot read the units {text!r}"))  # fmt: skip
    return report


def parse_units(text: str, equivalences: dict[str, str] | None = None) -> Any:
    """A Vensim units string as a :class:`pint.Unit` of a fresh registry (for inspection and tests)."""
    names = {t.strip() for t in _TOKEN.findall(text) if t.strip() and t.strip() not in "()*/^"}
    return _Registry(equivalences or {}, names).parse(text)


def _iter_lines(report: UnitsReport) -> Iterator[str]:
    for issue in report:
        yield str(issue)
