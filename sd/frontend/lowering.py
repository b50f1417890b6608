"""The lowerer: pysd's ``AbstractModel`` -> sd's IR.

:class:`Lowerer` holds the state of one lowering (declared variables, the current equation, subscript
bindings, macro scopes) and drives it: declare every element, then lower each component. It dispatches
pysd's AST nodes through explicit tables, like pysd's own ``_builders``:

* :data:`sd.frontend.expressions.EXPRESSION_STRUCTURES` -- references, arithmetic, logic, calls
  (scalar functions through :data:`sd.frontend.functions.FUNCTIONS`);
* :data:`sd.frontend.stateful.STATEFUL_STRUCTURES` -- SMOOTH, DELAY, TREND, ... as hidden stocks;
* :data:`sd.frontend.arrays.ARRAY_STRUCTURES` -- ALLOCATE ... (and ``ARRAY_CALLS`` for SUM, VMIN, ...);

and resolves subscripts through :class:`sd.frontend.subscripts.SubscriptMixin`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import DataFileError, ModelError, UndefinedVariableError, UnsupportedFeatureError
from sd.frontend.arrays import ARRAY_STRUCTURES
from sd.frontend.data_files import DataFiles, RunTimeData
from sd.frontend.expressions import EXPRESSION_STRUCTURES, is_number
from sd.frontend.external import INTERPOLATIONS
from sd.frontend.functions import FUNCTION_LIST, LATER, STATEFUL
from sd.frontend.stateful import STATEFUL_STRUCTURES
from sd.frontend.static import static_value
from sd.frontend.subscripts import Decl, SubscriptMixin, ast_nodes
from sd.ir.names import make_ident, normalise
from sd.ir.nodes import (
    Call,
    Expr,
    LookupCall,
    ModelIR,
    Num,
    Ref,
    Table,
    Time,
    Variable,
)

__all__ = ["CONTROL_NAMES", "STRUCTURES", "Lowerer"]

CONTROL_NAMES = {
    "initial_time": "INITIAL TIME",
    "final_time": "FINAL TIME",
    "time_step": "TIME STEP",
    "saveper": "SAVEPER",
}

# pysd AST class -> builder(lowerer, node): the one dispatch table of the lowering
STRUCTURES: dict[str, Callable[[Any, Any], Expr]] = {
    **EXPRESSION_STRUCTURES,
    **STATEFUL_STRUCTURES,
    **ARRAY_STRUCTURES,
}
_REFUSED = {
    "DataStructure": "a data variable",
    "GetDataStructure": "GET DATA inside an expression",
    "GetLookupsStructure": "GET LOOKUPS inside an expression",
    "GetConstantsStructure": "GET CONSTANTS inside an expression",
}


class Lowerer(SubscriptMixin):
    """One lowering of an AbstractModel (``path`` names the file in every error)."""

    def __init__(
        self,
        path: Path,
        am: Any,
        lines: dict[str, int],
        ir: ModelIR | None = None,
        data_files: DataFiles | None = None,
    ) -> None:
        self.path = path
        # data files of data variables without an equation (sd.load(path, data_files=...))
        self.run_time_data = RunTimeData(data_files)
        self.data_tables: dict[str, Table] = {}  # data variable element ident -> its table over time
        self.am = am
        self.ir = ir if ir is not None else ModelIR(path=str(path))
        self.taken: set[str] = set()
        self.lines = lines
        self.elements: dict[str, Any] = {}
        self.decls: dict[str, Decl] = {}
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
        # range -> "(Target: e1, Sub2)": mappings with an explicit element list, which pysd misreads
        # (sd.frontend.normalise drops them from pysd's text; SubscriptMixin.list_mapping reads them)
        self.list_mappings: dict[str, str] = {}
        # macro -> (its name as written, {variable: line}) (sd.frontend.normalise); the macro calls
        # being inlined, outermost first, with the variable whose equation makes each call
        self.macro_lines: dict[str, tuple[str, dict[str, int]]] = {}
        self.macro_calls: list[tuple[str, Variable]] = []
        # Vensim's data file aliases ('?name' -> file, sd.frontend.normalise.Normalised.data_aliases)
        self.data_aliases: dict[str, str] = {}

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
        self.require_controls()
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

    def require_controls(self) -> None:
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

    def check_controls(self) -> None:
        """Control variables must not depend on a draw's state: every draw shares one time grid.

        A control variable that depends on TIME (and constants) is fine: the run layer steps its values
        on the host before the run (:meth:`sd.simulate.Simulator.grid`); one that reads a stock (or a
        delay's or a SAMPLE IF TRUE's state) would give each draw its own grid and is refused."""
        from sd.ir.analysis import required

        for norm in CONTROL_NAMES:
            ident = self.ir.names[norm]
            for dep in sorted(required(self.ir, [ident])):
                v = self.ir.variables[dep]
                if v.kind in ("stock", "discrete", "fixed_delay"):
                    name = self.ir.variables[ident].name
                    raise UnsupportedFeatureError(
                        f"{self.where(name)} variable '{name}': a control variable that depends on "
                        f"the state of the run (it depends on {v.name}, a {v.kind}) is not supported "
                        "by sd; every draw shares one time grid, fixed before the run"
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
        elif ctype == "AbstractLookup" or top == "LookupsStructure":  # (XMILE: a bare <gf>)
            var.kind = "lookup"
            if top == "GetLookupsStructure":
                var.table = self.external().lookup(ast, self.binding, var.name)
            else:
                var.table = self.table(ast)
        elif norm in CONTROL_NAMES and not self.scopes:
            var.kind = "control"
            var.expr = self.expr(ast)
        elif is_number(ast):
            var.kind = "constant"
            var.expr = Num(float(ast))
        elif isinstance(ast, np.ndarray):
            var.kind = "constant"
            arr = np.asarray(ast, dtype=float)
            var.expr = Num(float(array_item(arr, pos)))
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
        if type(ast).__name__ not in ("GetDataStructure", "DataStructure"):
            # data defined by an equation: x := expr (evaluated like an auxiliary)
            var.expr = self.expr(ast)
            return
        lk = self.hidden("data", "lookup", table=self.data_table(var.ident, var.name, comp,
                                                                 self.binding))  # fmt: skip
        var.kind = "aux"
        var.expr = LookupCall(lk.ident, Time())

    def data_table(self, ident: str, name: str, comp: Any, binding: dict[str, str]) -> Table:
        """The table over time of the data variable element ``ident`` (read once: GET DATA from its
        spreadsheet, a variable without an equation from the data files given at load time)."""
        if ident not in self.data_tables:
            saved = self.binding, self.current_component
            self.binding, self.current_component = binding, comp
            try:
                if type(comp.ast).__name__ == "GetDataStructure":
                    table = self.external().data(comp.ast, binding, name, comp.keyword)
                else:
                    table = self.run_time_table(name, comp.keyword)
            finally:
                self.binding, self.current_component = saved
            self.data_tables[ident] = table
        return self.data_tables[ident]

    def data_element(self, ref: Any, what: str) -> tuple[str, str, Any, dict[str, str]]:
        """(ident, element name, component, binding) of the data variable element that the reference
        ``ref`` (an argument of GET DATA BETWEEN TIMES, ...) names here."""
        name = getattr(ref, "reference", None)
        decl = self.decls.get(name) if isinstance(name, str) else None
        if decl is None:
            raise self.unsupported(f"{what} of something other than a data variable")
        if decl.array is None:
            assert decl.ident is not None
            binding: dict[str, Any] = {}
            ident, comp, ename = decl.ident, next(iter(decl.el.components)), decl.el.name
        else:
            subs = getattr(getattr(ref, "subscripts", None), "subscripts", None)
            ident = self.element(decl, subs)
            comp, binding, _ = decl.parts[ident]
            elems = next(k for k, v in decl.array.elements.items() if v == ident)
            ename = f"{decl.el.name}[{','.join(elems)}]"
        if type(comp.ast).__name__ not in ("GetDataStructure", "DataStructure"):
            raise self.unsupported(
                f"{what} of '{ename}', which is not a data variable read from a file (GET DATA or a "
                "data variable without an equation)"
            )
        return ident, ename, comp, binding

    def run_time_table(self, name: str, keyword: str | None) -> Table:
        """A data variable without an equation: its series in the data files given at load time."""
        base = name.split("[", 1)[0]
        found = self.run_time_data.find(base, name)
        if found is None:
            given = ", ".join(str(f) for f, _ in self.run_time_data.files)
            raise DataFileError(
                f"{self.where(base)} variable '{name}': a data variable without an equation takes its "
                "values from a data file given at load time ("
                + (f"none of {given} has it" if given else "none was given")
                + "; pass sd.load(path, data_files=...): a .tab, .csv or .dat file, a list of them, or "
                "{file: [variable names]}; sd run --data FILE)"
            )
        path, times, values = found
        self.ir.files[str(path)] = self.run_time_data.sha256[str(path)]
        interp = (keyword or "interpolate").replace(" ", "_")
        if interp not in INTERPOLATIONS:
            interp = "interpolate"
        keep = ~(np.isnan(times) | np.isnan(values))
        if not keep.any():
            raise DataFileError(f"{self.where(base)} variable '{name}': {path} holds no values for it")
        order = np.argsort(times[keep], kind="stable")
        return Table(tuple(times[keep][order].tolist()), tuple(values[keep][order].tolist()), interp)

    def external(self) -> Any:
        if self.data is None:
            from sd.frontend.external import ExternalReader

            self.data = ExternalReader(self)
        return self.data

    # -- hidden variables -----------------------------------------------------------------------
    def hidden(self, suffix: str, kind: str, **fields: Any) -> Variable:
        """A hidden variable of the current equation (a stage of a delay, a sampled value, ...)."""
        owner = self.current
        assert owner is not None
        ident = make_ident(f"_{suffix}_{owner.ident}", self.taken)
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

    def static_value(self, expr: Expr, what: str, initial: bool = False) -> float:
        """Evaluate a structural argument (an order, a mode) at load from literals and constants
        (:func:`sd.frontend.static.static_value`); the constants it reads become structural.
        ``initial``: TIME and STEP read at the initial time (a delay's or smooth's order)."""
        return static_value(
            expr, lambda ident: self._static_ref(ident, what, initial), what, self.unsupported,
            self._initial_time if initial else None,
        )  # fmt: skip

    def _initial_time(self) -> tuple[float, float]:
        names = self.ir.names
        return (
            self._static_ref(names["initial_time"], "INITIAL TIME", False),
            self._static_ref(names["time_step"], "TIME STEP", False),
        )

    def _static_ref(self, ident: str, what: str, initial: bool) -> float:
        var = self.ir.variables.get(ident)
        if var is not None and var.kind == "constant" and var.value is not None:
            self.ir.structural.add(ident)
            return var.value
        if var is not None and var.kind not in ("aux", "constant", "control"):
            kind = {"discrete": "a discrete state", "fixed_delay": "a DELAY FIXED",
                    "initial": "an INITIAL value", "lookup": "a lookup"}.get(var.kind, "a stock")
            raise self.unsupported(
                f"a {what} that depends on '{var.name}', which the run updates ({kind}; the order "
                "or mode fixes the model's structure, built once at load)"
            )
        for decl in self.decls.values():
            part = decl.parts.get(ident)
            if part is None and decl.ident == ident:
                part = (next(iter(decl.el.components)), {}, ())
            if part is None:
                continue
            comp, binding, pos = part
            ast = comp.ast
            if is_number(ast) or isinstance(ast, np.ndarray):
                self.ir.structural.add(ident)
                return float(ast) if is_number(ast) else float(array_item(ast, pos))
            if normalise(decl.el.name) in CONTROL_NAMES:
                self.ir.structural.add(ident)  # a control computed from others (settable too)
            stateful = any(type(n).__name__ in STATEFUL_STRUCTURES for n in ast_nodes(ast))
            if type(comp).__name__ in ("AbstractData", "AbstractLookup") or stateful:
                raise self.unsupported(
                    f"a {what} that depends on '{decl.el.name}', which the run updates (the order "
                    "or mode fixes the model's structure, built once at load)"
                )
            saved = self.binding
            self.binding = binding
            try:
                return self.static_value(self.expr(ast), what, initial)
            finally:
                self.binding = saved
        raise self.unsupported(f"a {what} that is not a constant expression")

    def static_int(self, expr: Expr, what: str, initial: bool = False) -> int:
        return int(self.static_value(expr, what, initial))

    # -- expressions ----------------------------------------------------------------------------
    def table(self, ast: Any) -> Table:
        if type(ast).__name__ != "LookupsStructure":
            raise self.unsupported(f"lookup definition {type(ast).__name__}")
        x = tuple(float(v) for v in ast.x)
        y = tuple(float(v) for v in ast.y)
        name = self.current.name if self.current else ""
        if len(x) != len(y) or not x:
            raise ModelError(
                f"{self.where(name)}: lookup '{name}' has {len(x)} x and {len(y)} y values"
            )
        order = np.argsort(x, kind="stable")
        xs = tuple(x[i] for i in order)
        ys = tuple(y[i] for i in order)
        if len(set(xs)) != len(xs):
            raise ModelError(f"{self.where(name)}: lookup '{name}' has repeated x values")
        return Table(xs, ys, getattr(ast, "type", "interpolate") or "interpolate")

    def ref(self, name: str, subs: list[str] | None = None) -> Expr:
        if name == "time":
            return Time()
        if self.scopes and name in self.scopes[-1]:
            return self.scopes[-1][name]
        decl = self.decls.get(name) or self.decls.get(normalise(name.replace("_", " ")))
        if (
            decl is None
            and name == "dt"
            and self.path.suffix.lower() in (".xmile", ".stmx", ".xml")
        ):
            return self.ref("time_step")  # XMILE's DT is the model's TIME STEP
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

    def expr(self, ast: Any) -> Expr:
        """Lower one pysd AST node through :data:`STRUCTURES`."""
        if is_number(ast):
            return Num(float(ast))
        if isinstance(ast, np.ndarray | list | tuple):
            raise self.unsupported("an array constant inside an expression")
        kind = type(ast).__name__
        builder = STRUCTURES.get(kind)
        if builder is None:
            raise self.unsupported(_REFUSED.get(kind, kind))
        return builder(self, ast)

    def random(self, fname: str, args: tuple[Expr, ...]) -> Expr:
        """A per-draw, seed-stable random stream, keyed by the variable and its n-th random call."""
        owner = self.current
        assert owner is not None
        self.nrandom[owner.ident] = k = self.nrandom.get(owner.ident, 0) + 1
        key = zlib.crc32(f"{owner.name}#{k}".encode())
        keep = {"random_0_1": 0, "random_uniform": 2, "random_normal": 4,
                "random_exponential": 4}[fname]  # fmt: skip
        return Call("_" + fname, (Num(float(key)), Time(), *args[:keep]))

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
            ident = make_ident(f"_macro{self.ncalls}_{norm}", self.taken)
            scope[norm] = Ref(ident)
            body.append((el, ident))
        out = normalise(section.name)
        if out not in scope:
            raise self.model_error(f"macro {section.name} does not define its output")
        self.scopes.append(scope)
        self.macro_calls.append((section.name, owner))
        try:
            for el, ident in body:
                comps = list(el.components)
                if len(comps) != 1 or (comps[0].subscripts and comps[0].subscripts[0]):
                    raise self.unsupported(f"a subscripted variable inside macro {section.name}")
                name = f"{el.name}({section.name} in {owner.name})#{ident}"
                try:
                    self.lower_element(el, ident, name, comps[0], {}, (), hidden=True,
                                       origin=owner.origin or owner.ident)  # fmt: skip
                except (UnsupportedFeatureError, ModelError) as err:
                    raise self.in_macro(err, section.name, el.name, name) from None
        finally:
            self.scopes.pop()
            self.macro_calls.pop()
        return scope[out]

    def in_macro(self, err: Exception, macro: str, var: str, hidden: str) -> Exception:
        """``err``, raised while lowering the macro variable ``var`` (``hidden``: its name in the IR)
        of a call being inlined, placed in the file: the macro equation's line, the macro (and the
        macros calling it) and the model's variable whose equation makes the call, with its line."""
        if getattr(err, "placed_in_macro", False):
            return err  # an inner macro's call placed it already
        text = str(err)
        prefix = f"{self.where(hidden)} variable '{hidden}': "
        detail = text[len(prefix):] if text.startswith(prefix) else text
        shown, lines = self.macro_lines.get(normalise(macro), (macro, {}))
        line = lines.get(normalise(var))
        outer = [self.macro_lines.get(normalise(m), (m, {}))[0] for m, _ in self.macro_calls[:-1]]
        via = f" (inside macro {', '.join(reversed(outer))})" if outer else ""
        caller = self.macro_calls[0][1].name
        placed = type(err)(
            f"{self.path}:{line or '?'} variable '{var}' of macro {shown}{via}, called by variable "
            f"'{caller}' at {self.where(caller)}: {detail}"
        )
        placed.placed_in_macro = True  # type: ignore[attr-defined]
        return placed


def array_item(arr: Any, pos: tuple[int, ...]) -> float:
    """The element at flat position ``pos`` of a component's constant array (C order)."""
    a = np.asarray(arr, dtype=float).reshape(-1)
    return float(a[0] if a.size == 1 else a[pos[0]])
