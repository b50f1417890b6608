"""IR nodes: frozen expression trees and the variables of a lowered model.

The IR imports neither pysd nor an array library. Stateful Vensim builtins (SMOOTH, DELAY, TREND, ...)
are already lowered into ordinary hidden stocks, discrete states and auxiliaries, so every backend sees only:

* ``constant`` -- a literal number (may be overridden per draw through ``params``);
* ``lookup``   -- a table (x, y) called through :class:`LookupCall` (may be replaced through ``params``);
* ``control``  -- INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER;
* ``aux``      -- an auxiliary equation (``expr``);
* ``initial``  -- ``INITIAL(expr)``: evaluated once at initialisation, held afterwards;
* ``stock``    -- ``init`` and derivative ``ddt`` (explicit Euler: ``x += ddt * dt``);
* ``discrete`` -- a state whose next value is ``update`` evaluated at t (SAMPLE IF TRUE, DELAY N times);
* ``fixed_delay`` -- DELAY FIXED's ring buffer (``args``: input, delay time, initial value).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "INTERNAL_CALLS",
    "ActiveInitial",
    "ArrayInfo",
    "BinOp",
    "Call",
    "Expr",
    "If",
    "LookupCall",
    "ModelIR",
    "Num",
    "Ref",
    "Table",
    "Time",
    "Unary",
    "Variable",
    "walk",
]

# Functions the lowering creates that are not Vensim's own (Vensim's keep their lower-case pysd names,
# see sd.frontend.functions.FUNCTIONS). Every backend's function table has a row for each name a model
# can contain, or refuses it with the backend's named error (tests/test_architecture.py).
INTERNAL_CALLS: dict[str, str] = {
    "_delay_order": "(order, delay time): the order a delay runs with (pysd lowers it when order*dt > T)",
    "_stage_factor": "(k, i): k if stage i <= k else 0 (stages past the effective order stand still)",
    "_stage": "(k, s1, ..., sn): the k-th stage's value",
    "_random_0_1": "(key, time): a uniform number in (0, 1), per draw, keyed by (seed, draw, key, time)",
    "_random_uniform": "(key, time, lo, hi)",
    "_random_normal": "(key, time, lo, hi, mean, sd): truncated normal",
    "_random_exponential": "(key, time, lo, hi, shift, stretch): truncated exponential",
    "_vector_select": "(action, missing, k, sel1..selk, val1..valk): VECTOR SELECT",
    "_vector_sort_order": "(direction, pos, x1..xn): element pos of VECTOR SORT ORDER",
    "_vector_rank": "(direction, pos, x1..xn): element pos of VECTOR RANK",
    "_vector_reorder": "(index, x1..xn): VECTOR REORDER's element",
    "_invert_matrix": "(i, j, m, a11..amm): element (i, j) of the inverse",
    "_vector_elm_map": "(index, x1..xn): x[index] (0-based, truncated; NaN outside): VECTOR ELM MAP",
    "_vector_lookup": "(mode, x, xmin, xmax, y1..yn): VECTOR LOOKUP of y at n points from xmin to xmax",
    "_allocate_by_priority": "(pos, k, width, supply, request1..k, priority1..k)",
    "_allocate_available": "(pos, k, avail, request1..k, profile1..k*4)",
}


class Expr:
    """Base class of expression nodes."""

    __slots__ = ()

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Num(Expr):
    value: float


@dataclass(frozen=True, slots=True)
class Ref(Expr):
    """Reference to another variable by its identifier."""

    ident: str


@dataclass(frozen=True, slots=True)
class Time(Expr):
    """The simulation time."""


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """Binary operation: ``+ - * / **``, comparisons ``== != < <= > >=`` and ``and`` / ``or``."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    """Unary operation: ``-`` or ``not``."""

    op: str
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A builtin function, by its canonical lower-case name (``exp``, ``step``, ``xidz``, ...)."""

    fn: str
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


@dataclass(frozen=True, slots=True)
class If(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.then, self.otherwise)


@dataclass(frozen=True, slots=True)
class ActiveInitial(Expr):
    """``ACTIVE INITIAL(expr, init)``: ``init`` while initialising, ``expr`` afterwards."""

    expr: Expr
    init: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.expr, self.init)


@dataclass(frozen=True, slots=True)
class LookupCall(Expr):
    """Linear interpolation in the table of lookup variable ``table`` at ``x`` (end values held)."""

    table: str
    x: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.x,)


@dataclass(frozen=True, slots=True)
class Table:
    x: tuple[float, ...]
    y: tuple[float, ...]
    interp: str = "interpolate"


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield ``expr`` and all its descendants, parents first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children()))


@dataclass(eq=False)
class Variable:
    """One variable of the model (visible or hidden)."""

    ident: str
    name: str
    kind: str
    expr: Expr | None = None
    init: Expr | None = None
    ddt: Expr | None = None
    update: Expr | None = None
    args: tuple[Expr, ...] = ()
    table: Table | None = None
    units: str = ""
    doc: str = ""
    limits: tuple[float | None, float | None, float | None] | None = None
    hidden: bool = False
    non_negative: bool = False
    origin: str = ""
    line: int | None = None

    @property
    def value(self) -> float | None:
        """The default value of a constant (None for other kinds)."""
        if self.kind == "constant" and isinstance(self.expr, Num):
            return self.expr.value
        return None

    def exprs(self, phase: str = "run") -> tuple[Expr, ...]:
        """The expressions whose references this variable needs in ``phase`` ('init' or 'run')."""
        if self.kind in ("aux", "constant", "control"):
            return (self.expr,) if self.expr is not None else ()
        if self.kind == "initial":
            return (self.expr,) if (phase == "init" and self.expr is not None) else ()
        if self.kind in ("stock", "discrete"):
            if phase == "init":
                return (self.init,) if self.init is not None else ()
            return tuple(e for e in (self.ddt, self.update) if e is not None)
        if self.kind == "fixed_delay":
            return (self.args[2], self.args[1]) if phase == "init" else (self.args[0],)
        return ()

    def __repr__(self) -> str:
        return f"Variable({self.name!r}, kind={self.kind!r}, units={self.units!r})"


STATE_KINDS = ("stock", "discrete", "fixed_delay", "initial")


@dataclass
class ArrayInfo:
    """A subscripted Vensim variable, unrolled into one scalar variable per element.

    ``dims`` names its subscript ranges in order, ``coords`` gives each range's elements, and
    ``elements`` maps each defined element tuple (one element per dim) to the identifier of its scalar
    variable. Elements a model leaves undefined are absent (their output is NaN).
    """

    name: str
    dims: tuple[str, ...]
    coords: dict[str, tuple[str, ...]]
    elements: dict[tuple[str, ...], str]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.coords[d]) for d in self.dims)


@dataclass
class ModelIR:
    """A lowered model: variables in definition order plus name lookup tables."""

    path: str
    variables: dict[str, Variable] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # normalised Vensim name -> ident
    structural: set[str] = field(default_factory=set)  # constants that fix the model's shape
    # subscripted variables by Vensim name: dims, coordinates and the ident of each element
    arrays: dict[str, ArrayInfo] = field(default_factory=dict)
    # the data files the model read at load time (GET XLS/DIRECT ...): resolved path -> SHA-256 of the
    # bytes read; part of a sweep's identity, so a changed data file is never mixed into a resumed store
    files: dict[str, str] = field(default_factory=dict)
    # the key of this IR in sd's cache (sd.cache.load_ir_cached sets it; "" when not cached): the
    # generated numpy programs of the model are cached under it
    cache_key: str = field(default="", compare=False)

    def add(self, var: Variable) -> Variable:
        self.variables[var.ident] = var
        return var

    def of_kind(self, *kinds: str, hidden: bool | None = None) -> list[Variable]:
        return [
            v
            for v in self.variables.values()
            if v.kind in kinds and (hidden is None or v.hidden == hidden)
        ]
