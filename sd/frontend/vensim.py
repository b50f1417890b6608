"""Vensim .mdl -> pysd ``AbstractModel`` -> sd IR.

This is the only module that imports pysd's translators. pysd parses; sd lowers the abstract syntax into its
own IR, turning every stateful builtin into hidden stocks, discrete states and auxiliaries.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    ArrayInfo,
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

__all__ = ["SUPPORTED_FUNCTIONS", "load_ir", "normalise", "normalise_element"]

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
    "random_0_1": (0,), "random_uniform": (3,), "random_normal": (5,), "random_exponential": (5,),
    "get_time_value": (3,),
}  # fmt: skip
RANDOM_FUNCTIONS = ("random_0_1", "random_uniform", "random_normal", "random_exponential")
# functions over whole subscript ranges, unrolled per element
ARRAY_FUNCTIONS = (
    "sum", "prod", "vmin", "vmax", "elmcount", "vector_select", "vector_sort_order", "vector_rank",
    "vector_reorder", "invert_matrix", "allocate_available", "allocate_by_priority",
)  # fmt: skip
STATEFUL = (
    "INTEG, INITIAL, ACTIVE INITIAL, SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N, DELAY1, DELAY1I, "
    "DELAY3, DELAY3I, DELAY N, DELAY FIXED, TREND, FORECAST, SAMPLE IF TRUE, WITH LOOKUP, GAME"
)
FUNCTION_LIST = ", ".join(
    sorted(k.upper().replace("_", " ") for k in (*SUPPORTED_FUNCTIONS, *ARRAY_FUNCTIONS))
)
LATER = (
    "also subscripts, macros, GET XLS/DIRECT DATA, LOOKUPS, CONSTANTS and SUBSCRIPT, data variables"
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


def normalise_element(name: str) -> str:
    """The lookup key of a variable or one of its elements: ``'Stock A[Entry 1, Col 2]'`` ->
    ``'stock_a[entry_1,col_2]'``."""
    name = name.strip()
    if name.endswith("]") and "[" in name:
        base, _, rest = name[:-1].partition("[")
        elems = ",".join(normalise(e) for e in rest.split(","))
        return f"{normalise(base)}[{elems}]"
    return normalise(name)


@dataclass
class _Decl:
    """A declared Vensim variable: scalar (one ident) or subscripted (one ident per element)."""

    el: Any
    ident: str | None = None
    array: ArrayInfo | None = None
    # ident -> (component, binding {dim: element}, position of the element in the component's array)
    parts: dict[str, tuple[Any, dict[str, str], tuple[int, ...]]] = field(default_factory=dict)


class _Lowerer:
    def __init__(self, path: Path, am: Any, ir: ModelIR | None = None) -> None:
        self.path = path
        self.am = am
        self.ir = ir if ir is not None else ModelIR(path=str(path))
        self.taken: set[str] = set()
        self.lines = _line_index(path)
        self.elements: dict[str, Any] = {}
        self.decls: dict[str, _Decl] = {}
        self.current: Variable | None = None
        self.binding: dict[str, str] = {}
        self.subs: dict[str, list[str]] = {}
        self.mapping: dict[str, list[Any]] = {}
        self.main_ranges: dict[str, list[str]] = {}
        self.macros: dict[str, Any] = {}
        self.scopes: list[dict[str, Expr]] = []
        self.ncalls = 0
        self.data: Any = None  # sd.frontend.external reader, created on first use
        self.nrandom: dict[str, int] = {}
        self.current_component: Any = None
        self.comp_coords: dict[int, dict[str, list[str]]] = {}

    # -- errors ---------------------------------------------------------------------------------
    def where(self, name: str) -> str:
        line = self.lines.get(normalise(name.split("[", 1)[0]))
        return f"{self.path}:{line}" if line else str(self.path)

    def owner(self) -> str:
        return self.current.name if self.current else "?"

    def unsupported(self, what: str, name: str | None = None) -> UnsupportedFeatureError:
        name = name or self.owner()
        return UnsupportedFeatureError(
            f"{self.where(name)} variable '{name}': {what} is not supported by sd "
            f"(supported: {FUNCTION_LIST}; stateful: {STATEFUL}; {LATER})"
        )

    def model_error(self, what: str) -> ModelError:
        return ModelError(f"{self.where(self.owner())} variable '{self.owner()}': {what}")

    # -- driver ---------------------------------------------------------------------------------
    def run(self) -> ModelIR:
        sections = list(self.am.sections)
        main = next(s for s in sections if s.type == "main")
        for s in sections:
            if s.type != "main":
                self.macros[normalise(s.name)] = s
        self.read_subscripts(main)
        # declare every element first so references resolve regardless of order
        for el in main.elements:
            self.declare(el)
        for norm, ctrl in CONTROL_NAMES.items():
            if norm not in self.elements:
                raise ModelError(
                    f"{self.path}: missing control variable '{ctrl}'; a Vensim model must define "
                    "INITIAL TIME, FINAL TIME and TIME STEP (SAVEPER defaults to TIME STEP)"
                    if norm != "saveper"
                    else f"{self.path}: missing control variable 'SAVEPER'"
                )
            if self.decls[norm].array is not None:
                raise ModelError(f"{self.where(ctrl)}: control variable '{ctrl}' is subscripted")
        for el in main.elements:
            decl = self.decls[normalise(el.name)]
            if decl.array is None:
                assert decl.ident is not None
                comp = next(iter(el.components))
                self.lower_element(el, decl.ident, el.name, comp, {}, ())
            else:
                for elems, ident in decl.array.elements.items():
                    comp, binding, pos = decl.parts[ident]
                    name = f"{el.name}[{','.join(elems)}]"
                    self.lower_element(el, ident, name, comp, binding, pos)
        self.check_controls()
        return self.ir

    def read_subscripts(self, main: Any) -> None:
        if not main.subscripts:
            return
        from pysd.builders.python.subscripts import SubscriptManager

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sm = SubscriptManager(main.subscripts, self.path.parent)
        except FileNotFoundError as err:
            from sd.errors import DataFileError

            raise DataFileError(
                f"{self.path}: a subscript range is read from a file that does not exist ({err})"
            ) from err
        self.subs = {k: list(v) for k, v in sm.subscripts.items()}
        self.mapping = {k: list(v) for k, v in sm.mapping.items()}
        self.main_ranges = {k: list(v) for k, v in sm.subranges.items()}

    def expand(self, sub: str) -> list[str]:
        """The elements named by ``sub`` (a range, a range with '!', or one element)."""
        key = sub[:-1] if sub.endswith("!") else sub
        if key in self.subs:
            return self.subs[key]
        return [sub]

    def range_of(self, element: str, avoid: set[str]) -> str:
        for name, elems in self.subs.items():
            if element in elems and name not in avoid:
                return name
        for name, elems in self.subs.items():
            if element in elems:
                return name
        raise ModelError(f"{self.where(self.owner())}: '{element}' is not a subscript element")

    def declare(self, el: Any) -> None:
        norm = normalise(el.name)
        if norm in self.elements:
            raise ModelError(f"{self.where(el.name)}: variable '{el.name}' is defined twice")
        self.elements[norm] = el
        comps = list(el.components)
        decl = _Decl(el)
        self.decls[norm] = decl
        if not any(c.subscripts and c.subscripts[0] for c in comps):
            if len(comps) != 1:
                raise ModelError(f"{self.where(el.name)}: variable '{el.name}' is defined twice")
            decl.ident = _ident(norm, self.taken)
            self.ir.names[norm] = decl.ident
            return
        ndim = len(comps[0].subscripts[0])
        keys_per_comp: list[list[str]] = []
        defined: dict[tuple[str, ...], tuple[Any, dict[str, str], tuple[int, ...]]] = {}
        for comp in comps:
            subs = list(comp.subscripts[0])
            if len(subs) != ndim:
                raise ModelError(
                    f"{self.where(el.name)}: variable '{el.name}' is defined with {ndim} and "
                    f"{len(subs)} subscripts"
                )
            keys: list[str] = []
            lists: list[list[str]] = []
            for s in subs:
                if s in self.subs:
                    keys.append(s)
                else:
                    keys.append(self.range_of(s, set(subs) | set(keys)))
                lists.append(self.expand(s))
            keys_per_comp.append(keys)
            self.comp_coords[id(comp)] = dict(zip(keys, lists, strict=True))
            excluded = [[self.expand(s) for s in exc] for exc in (comp.subscripts[1] or []) if exc]
            for pos in itertools.product(*(range(len(lst)) for lst in lists)):
                elems = tuple(lst[i] for lst, i in zip(lists, pos, strict=True))
                if any(all(e in ex for e, ex in zip(elems, exc, strict=False)) for exc in excluded):
                    continue
                flat = int(np.ravel_multi_index(pos, [len(lst) for lst in lists]))
                defined[elems] = (comp, dict(zip(keys, elems, strict=True)), (flat,))
        dims: list[str] = []
        for j in range(ndim):
            union = {e[j] for e in defined}
            cands = [keys[j] for keys in keys_per_comp]
            dim = next((k for k in cands if set(self.subs[k]) == union), None)
            if dim is None or dim in dims:
                dim = next(
                    (k for k, v in self.subs.items() if set(v) == union and k not in dims), None
                )
            if dim is None:
                fits = [k for k, v in self.subs.items() if union <= set(v) and k not in dims]
                dim = min(fits, key=lambda k: len(self.subs[k])) if fits else None
            if dim is None:  # a repeated range: a copy under a new name
                base = cands[0]
                k = 1
                while f"{base}{k}" in self.subs:
                    k += 1
                dim = f"{base}{k}"
                self.subs[dim] = list(self.subs[base])
            dims.append(dim)
        coords = {d: tuple(self.subs[d]) for d in dims}
        info = ArrayInfo(name=el.name, dims=tuple(dims), coords=coords, elements={})
        for elems in itertools.product(*(coords[d] for d in dims)):
            if elems in defined:
                ident = _ident(f"{norm}__{'__'.join(normalise(e) for e in elems)}", self.taken)
                info.elements[elems] = ident
                decl.parts[ident] = defined[elems]
                self.ir.names[normalise_element(f"{el.name}[{','.join(elems)}]")] = ident
        missing = set(defined) - set(info.elements)
        if missing:
            raise ModelError(
                f"{self.where(el.name)}: variable '{el.name}' has elements outside its ranges "
                f"{dims}: {sorted(missing)[:3]}"
            )
        decl.array = info
        self.ir.arrays[el.name] = info

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

    def lower_element(
        self,
        el: Any,
        ident: str,
        name: str,
        comp: Any,
        binding: dict[str, str],
        pos: tuple[int, ...],
        hidden: bool = False,
        origin: str = "",
    ) -> Variable:
        norm = normalise(el.name)
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
            name=name,
            kind="aux",
            units=(el.units or "").strip(),
            doc=(el.documentation or "").strip(),
            limits=limits,
            line=self.lines.get(norm),
            hidden=hidden,
            origin=origin,
        )
        saved = self.current, self.binding, self.current_component
        self.current, self.binding, self.current_component = var, binding, comp
        try:
            self.lower_component(var, norm, comp, pos)
        finally:
            self.current, self.binding, self.current_component = saved
        self.ir.add(var)
        return var

    def lower_component(self, var: Variable, norm: str, comp: Any, pos: tuple[int, ...]) -> None:
        ctype = type(comp).__name__
        ast = comp.ast
        top = type(ast).__name__
        if ctype == "AbstractData" or comp.type == "Data":
            self.lower_data(var, comp, ast)
        elif ctype == "AbstractLookup":
            var.kind = "lookup"
            if top == "GetLookupsStructure":
                var.table = self.external().lookup(ast, self.binding, var.name)
            else:
                var.table = self.table(ast)
        elif norm in CONTROL_NAMES and not self.scopes:
            var.kind = "control"
            var.expr = self.expr(ast)
        elif _is_number(ast):
            var.kind = "constant"
            var.expr = Num(float(ast))
        elif isinstance(ast, np.ndarray):
            var.kind = "constant"
            arr = np.asarray(ast, dtype=float)
            var.expr = Num(float(_array_item(arr, pos)))
        elif top == "GetConstantsStructure":
            var.kind = "constant"
            var.expr = Num(self.external().constant(ast, self.binding, var.name))
        elif top == "IntegStructure":
            var.kind = "stock"
            var.ddt = self.expr(ast.flow)
            var.init = self.expr(ast.initial)
            var.non_negative = bool(getattr(ast, "non_negative", False))
        elif top == "InitialStructure":
            var.kind = "initial"
            var.expr = self.expr(ast.initial)
        else:
            var.expr = self.expr(ast)

    def lower_data(self, var: Variable, comp: Any, ast: Any) -> None:
        top = type(ast).__name__
        if top == "GetDataStructure":
            table = self.external().data(ast, self.binding, var.name, comp.keyword)
        elif top == "DataStructure":
            raise self.unsupported(
                "a data variable without an equation (its values come from a .vdf/.tab data "
                "file passed at run time)"
            )
        else:
            # data defined by an equation: x := expr (evaluated like an auxiliary)
            var.expr = self.expr(ast)
            return
        lk = self.hidden("data", "lookup", table=table)
        var.kind = "aux"
        var.expr = LookupCall(lk.ident, Time())

    def external(self) -> Any:
        if self.data is None:
            from sd.frontend.external import ExternalReader

            self.data = ExternalReader(self)
        return self.data

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
            origin=owner.origin or owner.ident,
            **fields,
        )
        self.ir.add(var)
        return var

    def static_value(self, expr: Expr, what: str) -> float:
        """Evaluate a structural argument (an order, an action code) from literals and constants."""

        def ev(e: Expr) -> float:
            if isinstance(e, Num):
                return e.value
            if isinstance(e, Ref):
                var = self.ir.variables.get(e.ident)
                if var is not None and var.kind == "constant" and var.value is not None:
                    self.ir.structural.add(e.ident)
                    return var.value
                for decl in self.decls.values():
                    part = decl.parts.get(e.ident)
                    if part is None and decl.ident == e.ident:
                        part = (next(iter(decl.el.components)), {}, ())
                    if part is None:
                        continue
                    comp, binding, pos = part
                    ast = comp.ast
                    if _is_number(ast) or isinstance(ast, np.ndarray):
                        self.ir.structural.add(e.ident)
                        return float(ast) if _is_number(ast) else float(_array_item(ast, pos))
                    saved = self.current, self.binding
                    self.binding = binding
                    try:
                        val = ev(self.expr(ast))
                    finally:
                        self.current, self.binding = saved
                    self.ir.structural.add(e.ident)
                    return val
            if isinstance(e, Time):  # structure is fixed at initialisation: TIME = INITIAL TIME
                return ev(Ref(self.ir.names["initial_time"]))
            if isinstance(e, Call) and e.fn == "step":
                h, ts = ev(e.args[0]), ev(e.args[1])
                t, dt = ev(Time()), ev(Ref(self.ir.names["time_step"]))
                return h * float(t + dt / 2 > ts)
            if isinstance(e, BinOp) and e.op in "+-*/":
                a, b = ev(e.left), ev(e.right)
                if e.op == "/":
                    return a / b if b else math.copysign(math.inf, a)
                return {"+": a + b, "-": a - b, "*": a * b}[e.op]
            if isinstance(e, Unary) and e.op == "-":
                return -ev(e.operand)
            raise self.unsupported(f"a {what} that is not a constant")

        return ev(expr)

    def static_int(self, expr: Expr, what: str) -> int:
        return int(self.static_value(expr, what))

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

    @contextmanager
    def bound(self, extra: dict[str, str]) -> Iterator[None]:
        saved = self.binding
        self.binding = {**saved, **extra}
        try:
            yield
        finally:
            self.binding = saved

    def ref(self, name: str, subs: list[str] | None = None) -> Expr:
        if name == "time":
            return Time()
        if self.scopes and name in self.scopes[-1]:
            return self.scopes[-1][name]
        decl = self.decls.get(name) or self.decls.get(normalise(name.replace("_", " ")))
        if decl is None:
            value = self.subscript_value(name)
            if value is not None:
                return value
            owner = self.owner()
            raise UndefinedVariableError(
                f"{self.where(owner)} variable '{owner}': refers to '{name.replace('_', ' ')}', "
                "which the model does not define"
            )
        if decl.array is None:
            assert decl.ident is not None
            return Ref(decl.ident)
        return Ref(self.element(decl, subs))

    def element(self, decl: _Decl, subs: list[str] | None) -> str:
        """The ident of the element of a subscripted variable that ``subs`` selects here."""
        info = decl.array
        assert info is not None
        wanted = list(subs) if subs else list(info.dims)
        if len(wanted) != len(info.dims):
            raise self.model_error(
                f"refers to '{info.name}' with {len(wanted)} subscripts; it has {len(info.dims)} "
                f"({', '.join(info.dims)})"
            )
        elems = tuple(self.resolve_sub(s, d) for s, d in zip(wanted, info.dims, strict=True))
        ident = info.elements.get(elems)
        if ident is None:
            raise self.model_error(
                f"refers to '{info.name}[{','.join(elems)}]', an element the model does not define"
            )
        return ident

    def resolve_sub(self, sub: str, dim: str) -> str:
        """The element that subscript ``sub`` (at a position of range ``dim``) denotes here."""
        binding = self.binding
        if sub in binding:
            return binding[sub]
        key = sub[:-1] if sub.endswith("!") else sub
        if key in self.subs:
            elems = self.subs[key]
            # mappings (and copies) are positional: ``a -> b`` pairs a's i-th element with b's
            for m in self.mapping.get(key, []):
                if isinstance(m, str) and m in binding and len(self.subs.get(m, ())) == len(elems):
                    return elems[self.subs[m].index(binding[m])]
            for b, e in binding.items():
                mapped = [m for m in self.mapping.get(b, []) if isinstance(m, str)]
                if key in mapped and len(self.subs.get(b, ())) == len(elems):
                    return elems[self.subs[b].index(e)]
            # a subrange or superrange of a bound range: the same element
            cands = [b for b, e in binding.items() if e in elems and not b.endswith("!")]
            if cands:
                related = [
                    b for b in cands
                    if set(self.subs.get(b, ())) <= set(elems)
                    or set(elems) <= set(self.subs.get(b, ()))
                ]  # fmt: skip
                return binding[(related or cands)[0]]
            raise self.unsupported(
                f"a reference over the range '{key}', which this equation's subscripts do not bind,"
            )
        if any(sub in v for v in self.subs.values()):
            return sub
        raise self.model_error(f"'{sub}' is neither a subscript range nor a subscript element")

    def subscript_value(self, name: str) -> Expr | None:
        """A subscript range or element used as a number: its position (1-based) in its range."""

        def key(s: str) -> str:
            return s.replace(" ", "_").lower()

        for r in self.subs:
            if key(r) == name:
                e = self.resolve_sub(r, r)
                main = next(
                    (m for m, sr in self.main_ranges.items() if r == m or r in sr),
                    r,
                )
                return Num(float(self.subs[main].index(e) + 1))
        position = None
        for m in self.main_ranges:
            for i, e in enumerate(self.subs[m], 1):
                if key(e) == name:
                    position = i
        return Num(float(position)) if position is not None else None

    def expr(self, ast: Any) -> Expr:
        if _is_number(ast):
            return Num(float(ast))
        if isinstance(ast, np.ndarray | list | tuple):
            raise self.unsupported("an array constant inside an expression")
        kind = type(ast).__name__
        handler: Callable[[Any], Expr] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            feature = {
                "DataStructure": "a data variable",
                "GetDataStructure": "GET DATA inside an expression",
                "GetLookupsStructure": "GET LOOKUPS inside an expression",
                "GetConstantsStructure": "GET CONSTANTS inside an expression",
            }.get(kind, kind)
            raise self.unsupported(feature)
        return handler(ast)

    def _ReferenceStructure(self, ast: Any) -> Expr:
        subs = list(ast.subscripts.subscripts) if ast.subscripts is not None else None
        return self.ref(ast.reference, subs)

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
        fsubs = getattr(getattr(ast.function, "subscripts", None), "subscripts", None)
        args = tuple(ast.arguments)
        if fname in self.macros and fname not in self.decls:
            return self.inline_macro(self.macros[fname], args)
        decl = self.decls.get(fname)
        if decl is not None and fname not in SUPPORTED_FUNCTIONS and fname not in ARRAY_FUNCTIONS:
            comp = next(iter(decl.el.components))
            if type(comp).__name__ != "AbstractLookup":
                raise self.model_error(
                    f"calls '{decl.el.name}' like a lookup, but it is not a lookup"
                )
            if len(args) != 1:
                raise self.unsupported(f"a lookup call with {len(args)} arguments")
            ident = decl.ident if decl.array is None else self.element(decl, fsubs)
            assert ident is not None
            return LookupCall(ident, self.expr(args[0]))
        if fname in ARRAY_FUNCTIONS:
            return getattr(self, f"array_{fname}")(args)
        if fname not in SUPPORTED_FUNCTIONS:
            shown = fname.upper().replace("_", " ")
            raise UnsupportedFeatureError(
                f"{self.where(self.owner())} variable '{self.owner()}': function {shown} is not "
                f"supported by sd (supported: {FUNCTION_LIST}; stateful: {STATEFUL})"
            )
        arity = SUPPORTED_FUNCTIONS[fname]
        if len(args) not in arity:
            raise ModelError(
                f"{self.where(self.owner())} variable '{self.owner()}': {fname.upper()} takes "
                f"{' or '.join(map(str, arity))} arguments, got {len(args)}"
            )
        lowered = tuple(self.expr(a) for a in args)
        if fname == "if_then_else":
            return If(*lowered)
        if fname == "active_initial":
            return ActiveInitial(lowered[0], lowered[1])
        if fname == "pi":
            return Num(math.pi)
        if fname in RANDOM_FUNCTIONS:
            return self.random(fname, lowered)
        if fname == "get_time_value":
            rel = self.static_int(lowered[0], "GET TIME VALUE 'relative to' argument")
            measure = self.static_int(lowered[2], "GET TIME VALUE 'measure' argument")
            if rel != 0 or measure != 0:
                raise self.unsupported(
                    f"GET TIME VALUE({rel}, ..., {measure}) (only relative to 0 with measure 0: "
                    "the simulation time plus an offset)"
                )
            return BinOp("+", Time(), lowered[1])
        return Call(fname, lowered)

    # -- macros ---------------------------------------------------------------------------------
    def inline_macro(self, section: Any, args: tuple[Any, ...]) -> Expr:
        """Lower the macro's body for this call site: parameters replaced by the lowered arguments,
        every internal variable (stocks included) a hidden variable of its own."""
        params = [normalise(p) for p in section.params]
        if len(args) != len(params) or section.returns:
            raise self.unsupported(
                f"the call of macro {section.name} with {len(args)} arguments for "
                f"{len(params)} parameters{' and extra outputs' if section.returns else ''}"
            )
        lowered = [self.expr(a) for a in args]
        self.ncalls += 1
        owner = self.current
        assert owner is not None
        scope: dict[str, Expr] = dict(zip(params, lowered, strict=True))
        body: list[tuple[Any, str]] = []
        for el in section.elements:
            norm = normalise(el.name)
            ident = _ident(f"_macro{self.ncalls}_{norm}", self.taken)
            scope[norm] = Ref(ident)
            body.append((el, ident))
        out = normalise(section.name)
        if out not in scope:
            raise self.model_error(f"macro {section.name} does not define its output")
        self.scopes.append(scope)
        try:
            for el, ident in body:
                comps = list(el.components)
                if len(comps) != 1 or (comps[0].subscripts and comps[0].subscripts[0]):
                    raise self.unsupported(f"a subscripted variable inside macro {section.name}")
                self.lower_element(
                    el, ident, f"{el.name}({section.name} in {owner.name})#{ident}", comps[0],
                    {}, (), hidden=True, origin=owner.origin or owner.ident,
                )  # fmt: skip
        finally:
            self.scopes.pop()
        return scope[out]

    # -- array functions ------------------------------------------------------------------------
    def bang_subs(self, ast: Any) -> list[str]:
        """The ``Dim!`` subscripts of ``ast`` not yet bound (nested aggregations excluded)."""
        found: list[str] = []
        for node in _ast_nodes(ast, stop=ARRAY_FUNCTIONS):
            if type(node).__name__ == "ReferenceStructure" and node.subscripts is not None:
                for s in node.subscripts.subscripts:
                    if s.endswith("!") and s not in self.binding and s not in found:
                        found.append(s)
        return found

    def unroll(self, ast: Any, subs: list[str]) -> list[Expr]:
        """``ast`` lowered once per combination of the elements of ``subs``."""
        out = []
        for combo in itertools.product(*(self.expand(s) for s in subs)):
            with self.bound(dict(zip(subs, combo, strict=True))):
                out.append(self.expr(ast))
        return out

    def fold(self, fname: str, terms: list[Expr]) -> Expr:
        result = terms[0]
        for t in terms[1:]:
            if fname == "sum":
                result = BinOp("+", result, t)
            elif fname == "prod":
                result = BinOp("*", result, t)
            else:
                result = Call("min" if fname == "vmin" else "max", (result, t))
        return result

    def aggregate(self, fname: str, args: tuple[Any, ...]) -> Expr:
        if len(args) != 1:
            raise self.model_error(f"{fname.upper()} takes 1 argument, got {len(args)}")
        bang = self.bang_subs(args[0])
        return self.fold(fname, self.unroll(args[0], bang) if bang else [self.expr(args[0])])

    def array_sum(self, args: tuple[Any, ...]) -> Expr:
        return self.aggregate("sum", args)

    def array_prod(self, args: tuple[Any, ...]) -> Expr:
        return self.aggregate("prod", args)

    def array_vmin(self, args: tuple[Any, ...]) -> Expr:
        return self.aggregate("vmin", args)

    def array_vmax(self, args: tuple[Any, ...]) -> Expr:
        return self.aggregate("vmax", args)

    def random(self, fname: str, args: tuple[Expr, ...]) -> Expr:
        """A per-draw, seed-stable random stream, keyed by the variable and its n-th random call."""
        import zlib

        owner = self.current
        assert owner is not None
        self.nrandom[owner.ident] = k = self.nrandom.get(owner.ident, 0) + 1
        key = zlib.crc32(f"{owner.name}#{k}".encode())
        keep = {"random_0_1": 0, "random_uniform": 2, "random_normal": 4,
                "random_exponential": 4}[fname]  # fmt: skip
        return Call("_" + fname, (Num(float(key)), Time(), *args[:keep]))

    def array_elmcount(self, args: tuple[Any, ...]) -> Expr:
        ref = args[0]
        name = getattr(ref, "reference", None)
        for r, elems in self.subs.items():
            if name is not None and r.replace(" ", "_").lower() == name:
                return Num(float(len(elems)))
        raise self.model_error(f"ELMCOUNT needs a subscript range, got {name!r}")

    def vector_axis(self, ast: Any, what: str, last: int = 1) -> list[str]:
        """The last ``last`` subscripts of the reference ``ast`` (a vector function's axes)."""
        if type(ast).__name__ != "ReferenceStructure" or ast.subscripts is None:
            raise self.unsupported(f"{what} of an expression that is not a subscripted reference")
        subs = list(ast.subscripts.subscripts)[-last:]
        if any(s.rstrip("!") not in self.subs for s in subs):
            raise self.unsupported(f"{what} along a single element")
        return subs

    def position(self, sub: str) -> int:
        key = sub.rstrip("!")
        return self.subs[key].index(self.resolve_sub(sub, key))

    def array_vector_select(self, args: tuple[Any, ...]) -> Expr:
        if len(args) != 5:
            raise self.model_error(f"VECTOR SELECT takes 5 arguments, got {len(args)}")
        bang = self.bang_subs(args[0])
        bang += [b for b in self.bang_subs(args[1]) if b not in bang]
        if not bang:
            raise self.unsupported("VECTOR SELECT without a 'Dim!' subscript")
        sel = self.unroll(args[0], bang)
        vals = self.unroll(args[1], bang)
        missing = self.expr(args[2])
        action = self.expr(args[3])  # may change over time (not across draws)
        return Call("_vector_select", (action, missing, Num(len(sel)), *sel, *vals))

    def array_vector_sort_order(self, args: tuple[Any, ...]) -> Expr:
        return self.sort_call("_vector_sort_order", args)

    def array_vector_rank(self, args: tuple[Any, ...]) -> Expr:
        return self.sort_call("_vector_rank", args)

    def sort_call(self, fn: str, args: tuple[Any, ...]) -> Expr:
        (axis,) = self.vector_axis(args[0], fn[1:].upper().replace("_", " "))
        pos = self.position(axis)
        elems = self.unroll(args[0], [axis])
        direction = self.expr(args[1])
        return Call(fn, (direction, Num(pos), *elems))

    def array_vector_reorder(self, args: tuple[Any, ...]) -> Expr:
        (axis,) = self.vector_axis(args[0], "VECTOR REORDER")
        elems = self.unroll(args[0], [axis])
        return Call("_vector_reorder", (self.expr(args[1]), *elems))

    def _AllocateByPriorityStructure(self, ast: Any) -> Expr:
        """ALLOCATE BY PRIORITY along the last subscript of the request."""
        (axis,) = self.vector_axis(ast.request, "ALLOCATE BY PRIORITY")
        pos = self.position(axis)
        requests = self.unroll(ast.request, [axis])
        priorities = self.unroll(ast.priority, [axis])
        width, supply = self.expr(ast.width), self.expr(ast.supply)
        return Call(
            "_allocate_by_priority",
            (Num(pos), Num(len(requests)), width, supply, *requests, *priorities),
        )

    def _AllocateAvailableStructure(self, ast: Any) -> Expr:
        """ALLOCATE AVAILABLE along the last subscript of the request; the priority profile along
        the last subscript of ``pp`` (type, priority, width, extra)."""
        (axis,) = self.vector_axis(ast.request, "ALLOCATE AVAILABLE")
        pp = ast.pp
        if type(pp).__name__ != "ReferenceStructure" or pp.subscripts is None:
            raise self.unsupported(
                "ALLOCATE AVAILABLE with a priority profile that is not a reference"
            )
        subs = list(pp.subscripts.subscripts)
        profile = subs[-1] if subs[-1] in self.subs else self.range_of(subs[-1], set())
        # Vensim names the profile by its first element (ptype): read the whole range
        pp = dataclasses.replace(
            pp, subscripts=dataclasses.replace(pp.subscripts, subscripts=[*subs[:-1], profile])
        )
        pos = self.position(axis)
        requests = self.unroll(ast.request, [axis])
        profiles = self.unroll(pp, [axis, profile])
        avail = self.expr(ast.avail)
        return Call(
            "_allocate_available", (Num(pos), Num(len(requests)), avail, *requests, *profiles)
        )

    def array_invert_matrix(self, args: tuple[Any, ...]) -> Expr:
        a, b = self.vector_axis(args[0], "INVERT MATRIX", last=2)
        size = len(self.expand(a))
        if len(self.expand(b)) != size:
            raise self.model_error("INVERT MATRIX needs a square matrix")
        i, j = self.position(a), self.position(b)
        elems = self.unroll(args[0], [a, b])
        return Call("_invert_matrix", (Num(i), Num(j), Num(size), *elems))

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


def _ast_nodes(ast: Any, stop: tuple[str, ...] = ()) -> Iterator[Any]:
    """pysd AST nodes below ``ast`` (itself included), not entering calls of functions in ``stop``."""
    stack = [ast]
    first = True
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
            continue
        if not dataclasses.is_dataclass(node):
            continue
        yield node
        name = type(node).__name__
        if name == "CallStructure" and not first:
            fname = getattr(getattr(node, "function", None), "reference", "")
            if fname in stop:
                continue
        first = False
        for f in dataclasses.fields(node):
            stack.append(getattr(node, f.name))


def _array_item(arr: Any, pos: tuple[int, ...]) -> float:
    """The element at flat position ``pos`` of a component's constant array (C order)."""
    a = np.asarray(arr, dtype=float).reshape(-1)
    return float(a[0] if a.size == 1 else a[pos[0]])


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
