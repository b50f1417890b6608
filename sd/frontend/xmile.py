"""XMILE (.xmile, .stmx, .xml) models through pysd's XMILE translator.

pysd's ``XmileFile`` produces the same ``AbstractModel`` as its Vensim translator (sections, elements,
components with the same AST structures: ``IntegStructure``, ``SmoothStructure``, ``ReferenceStructure``
with pysd's normalised names, ...), so sd lowers it with the Vensim lowering unchanged. What differs:

- the file is XML: a file that is not well-formed XML, or not XMILE, is a :class:`ParseError`;
- error messages name the line of the ``<aux|stock|flow name="...">`` tag that defines a variable (the
  Vensim line index reads ``.mdl`` text), see :func:`line_index`;
- pysd's XMILE grammar knows fewer functions than its Vensim one; a function it does not know arrives as
  a ``CallStructure`` the lowering refuses by name (``UnsupportedFeatureError``).

Each equation goes through :func:`rewrite_equation` before pysd's expression grammar (pysd parses one
equation at a time, so sd wraps that call, :func:`_equation_parser`):

- ``a MOD b`` in capitals (XMILE's operator; pysd's grammar only reads lower-case ``mod``) -> ``a mod b``;
- ``LOOKUP(table, x)`` (XMILE's graphical-function call; pysd's grammar builds a ``LookupsStructure``
  from it and fails with a ``TypeError``) -> ``table(x)``, the call form pysd reads;
- XMILE's whole-dimension wildcard inside SUM, PROD, MIN, MAX and MEAN (the array builtins iterate over
  it): ``a[DimD, *]`` -> ``a[DimD, DimE!]`` (the dimension at that place in ``a``'s ``<dimensions>``)
  and ``a[*:SubA]`` -> ``a[SubA!]``, Vensim's ``!`` that pysd's grammar reads (:func:`_wildcards`);
- ``SIZE(DimA)`` (xmutil's export of ELMCOUNT) or ``SIZE(a)`` of a whole arrayed variable -> the
  number of elements, from the file's ``<dimensions>`` (:class:`Arrays`).

XMILE's PREVIOUS(x, init) and SELF are lowered in :mod:`sd.frontend.stateful` (``XMILE_CALLS``).
pysd's ``Section`` reading is extended to take a ``<dim>``'s ``<isee:maps_to>`` as the dimension's
mapping (Vensim's ``DimA: A1, A2 -> DimB``); ``<element subscript="D1, E1">`` loses the spaces
after its commas first (pysd keeps them, and ' E1' is no element).

pysd's ``Aux`` reading is extended the same way (:func:`_equation_parser`): an aux whose equation is
``0+0`` with a ``<gf>`` (xmutil's export of a Vensim lookup definition) is that lookup, not the
graphical function applied to 0; an ``<init_eqn>`` (pysd ignores it) is Vensim's ACTIVE INITIAL; a
``<gf>``'s ``<xpts>`` are its x values even where an ``<xscale>`` is given too (pysd spreads the points
evenly over the scale then).

An equation pysd's grammar still rejects is refused with ``UnsupportedFeatureError`` naming the variable,
the line of its tag and the construct (``???``: an equation the exporter could not translate; ``[*]``:
XMILE's whole-dimension wildcard outside those array builtins; ``{...}``: a Vensim function the exporter left as a comment; a call of a
macro the file does not define) -- never pysd's raw parse error.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import ParseError, UnsupportedFeatureError

__all__ = ["EXTENSIONS", "Arrays", "line_index", "parse_xmile_abstract", "rewrite_equation"]

EXTENSIONS = (".xmile", ".stmx", ".xml")

_TAG = re.compile(r"<\s*(aux|stock|flow|gf|module)\b[^>]*\bname\s*=\s*\"([^\"]*)\"", re.IGNORECASE)


def _normalise(name: str) -> str:
    name = name.replace("\\n", " ").replace("_", " ")
    return " ".join(name.strip().split()).lower().replace(" ", "_")


def line_index(path: Path) -> dict[str, int]:
    """Normalised variable name -> line of the XML tag that defines it."""
    index: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # pragma: no cover
        return index
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in _TAG.finditer(line):
            index.setdefault(_normalise(m.group(2)), lineno)
    return index


_MOD = re.compile(r"(?<![\w\"])MOD(?![\w\"])")
_LOOKUP = re.compile(
    r"\bLOOKUP\s*\(\s*((?:\"[^\"]*\"|[\w$']+)(?:\s*\[[^\]]*\])?)\s*,", re.IGNORECASE
)


@dataclass(frozen=True)
class Arrays:
    """What the XMILE file declares about arrays: each variable's dimensions (normalised name ->
    dimension names) and each dimension's size (normalised name -> number of elements)."""

    dims: dict[str, list[str]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, root: Any) -> Arrays:
        ns = {"ns": root.nsmap.get(None) or ""}
        dims: dict[str, list[str]] = {}
        for node in root.xpath("ns:model/ns:variables/*[@name]", namespaces=ns):
            names = [str(d) for d in node.xpath("ns:dimensions/ns:dim/@name", namespaces=ns)]
            if names:
                dims[_normalise(node.attrib["name"])] = names
        sizes: dict[str, int] = {}
        for node in root.xpath("ns:dimensions/ns:dim[@name]", namespaces=ns):
            n = len(node.xpath("ns:elem", namespaces=ns))
            size = node.attrib.get("size", "")
            sizes[_normalise(node.attrib["name"])] = n or (int(size) if size.isdigit() else 0)
        return cls(dims, {k: v for k, v in sizes.items() if v})


def rewrite_equation(eqn: str, arrays: Arrays | None = None) -> str:
    """An XMILE equation rewritten into what pysd's XMILE grammar reads (see the module docstring);
    ``arrays``: the file's dimensions, for wildcards and SIZE."""
    eqn = _MOD.sub("mod", eqn)
    eqn = _LOOKUP.sub(lambda m: f"{m.group(1)}(", eqn)
    if arrays is None:
        return eqn
    if "*" in eqn:
        eqn = _wildcards(eqn, arrays.dims)
    return _SIZE.sub(lambda m: _size(m, arrays), eqn)


_SIZE = re.compile(r"\bSIZE\s*\(\s*(\"[^\"]*\"|[A-Za-z_][\w$' ]*?)\s*\)", re.IGNORECASE)


def _size(m: re.Match[str], arrays: Arrays) -> str:
    """SIZE(DimA) (xmutil's export of Vensim's ELMCOUNT) or SIZE(a), a whole arrayed variable: the
    number of elements (XMILE's SIZE builtin), a constant of the file's dimensions."""
    name = _normalise(m.group(1).strip('"'))
    if name in arrays.sizes:
        return str(arrays.sizes[name])
    axes = arrays.dims.get(name)
    if axes and all(_normalise(a) in arrays.sizes for a in axes):
        return str(int(np.prod([arrays.sizes[_normalise(a)] for a in axes])))
    return m.group()


# a quoted name, a call, a name, a parenthesis or a subscript list (in that order of preference)
_TOKEN = re.compile(
    r"(?P<quoted>\"[^\"]*\")|(?P<call>[A-Za-z_][\w$']*)\s*\(|(?P<name>[A-Za-z_][\w$']*)"
    r"|(?P<open>\()|(?P<close>\))|(?P<subs>\[[^\]]*\])"
)
# XMILE's array builtins whose whole-dimension wildcard sd iterates (as Vensim's 'Dim!'); STDDEV and
# RANK too, so that the lowering refuses them by name (sd.frontend.arrays.XMILE_ARRAY_CALLS)
ITERATING_BUILTINS = ("SUM", "PROD", "MIN", "MAX", "MEAN", "STDDEV", "RANK")
_SUB_WILDCARD = re.compile(r"\*\s*:\s*(\"[^\"]*\"|[\w$' ]+?)\s*")


def _wildcards(eqn: str, dims: dict[str, list[str]]) -> str:
    """``a[DimD, *]`` -> ``a[DimD, DimE!]`` and ``a[*:SubA]`` -> ``a[SubA!]`` inside SUM, PROD,
    MIN, MAX and MEAN (XMILE: ``*`` is every element of that dimension of ``a``, and an array builtin
    iterates over it; Vensim's ``!``). A wildcard elsewhere, or on a name whose dimensions the file
    does not declare, is left for pysd to refuse."""
    out, last, stack, prev = [], 0, [], None
    for m in _TOKEN.finditer(eqn):
        kind = m.lastgroup
        if kind == "call":
            stack.append(m.group("call").upper())
        elif kind == "open":
            stack.append("")
        elif kind == "close" and stack:
            stack.pop()
        elif kind == "subs" and "*" in m.group() and prev is not None:
            inside = any(f in ITERATING_BUILTINS for f in stack)
            parts = [p.strip() for p in m.group()[1:-1].split(",")]
            axes = dims.get(_normalise(prev.strip('"')))
            if inside and axes is not None and len(axes) == len(parts):
                fixed = [_wildcard(p, axis) for p, axis in zip(parts, axes, strict=True)]
                out.append(eqn[last : m.start()] + "[" + ", ".join(fixed) + "]")
                last = m.end()
        prev = m.group() if kind in ("quoted", "name") else None
    return "".join(out) + eqn[last:]


def _wildcard(part: str, axis: str) -> str:
    if part == "*":
        return axis.strip().replace(" ", "_") + "!"
    m = _SUB_WILDCARD.fullmatch(part)
    if m is not None:
        return m.group(1).strip('"').strip().replace(" ", "_") + "!"
    return part


class _EquationError(Exception):
    def __init__(self, name: str, eqn: str, err: Exception) -> None:
        super().__init__(name)
        self.name, self.eqn, self.err = name, eqn, err


def _construct(eqn: str) -> str:
    """What in ``eqn`` pysd's XMILE grammar cannot read, in words."""
    if "???" in eqn:
        return "an equation the XMILE exporter could not translate ('???')"
    if re.search(r"\[[^\]]*\*", eqn):
        return (
            "XMILE's whole-dimension wildcard '*' in a subscript outside SUM, PROD, MIN, MAX and MEAN (or "
            "on a variable whose <dimensions> the file does not declare)"
        )
    if "{" in eqn:
        return "a Vensim function the XMILE exporter left as a comment ({...})"
    m = re.search(r"\b([A-Za-z_][\w ]*\bMACRO)\s*\(", eqn)
    if m:
        return f"a call of macro '{m.group(1)}', which the XMILE file does not define"
    return "an equation pysd's XMILE grammar does not read"


def _tidy(root: Any) -> None:
    """``<element subscript="D1, E1">``: pysd splits at the commas and keeps the spaces (' E1' is no
    element); the names without them. ``<inflow>`` and ``<outflow>`` name a flow, and in XMILE names a
    space is an underscore (Vensim's exporter writes ``<inflow>prey births</inflow>`` for the flow
    ``prey_births``); pysd parses the text as an equation, so the names in identifier form."""
    for node in root.iter("{*}element"):
        subs = node.attrib.get("subscript")
        if subs is not None:
            node.attrib["subscript"] = ",".join(s.strip() for s in subs.split(","))
    for tag in ("{*}inflow", "{*}outflow"):
        for node in root.iter(tag):
            if node.text and node.text.strip():
                node.text = "_".join(node.text.split())


@contextlib.contextmanager
def _equation_parser(arrays: Arrays) -> Iterator[None]:
    """Route every equation through :func:`rewrite_equation` and name the element pysd fails on."""
    from pysd.translators.xmile.xmile_element import Element

    original = Element._smile_parser

    def parse(self: Any, expression: str) -> Any:
        eqn = rewrite_equation(expression, arrays)
        try:
            return original(self, eqn)
        except Exception as err:
            raise _EquationError(str(self.name), expression.strip(), err) from err

    from pysd.translators.structures.abstract_expressions import CallStructure, ReferenceStructure
    from pysd.translators.xmile.xmile_element import Aux

    original_aux = Aux._parse_component

    def parse_aux(self: Any, node: Any, behaviors: dict) -> list[Any]:
        eqns = [re.sub(r"\s+", "", e.text or "") for e in node.xpath("ns:eqn", namespaces=self.ns)]
        gf = node.xpath("ns:gf", namespaces=self.ns) or self.node.xpath("ns:gf", namespaces=self.ns)
        if gf and eqns in (["0+0"], [], [""]):
            # a Vensim lookup definition: a graphical function of nothing (xmutil writes 0+0,
            # Vensim's own exporter no <eqn> at all)
            return [self._parse_lookup_xml_node(gf[0])]
        asts = original_aux(self, node, behaviors)
        init = node.xpath("ns:init_eqn", namespaces=self.ns)
        if init and init[0].text and init[0].text.strip():
            # <init_eqn>: the value at initialisation (Vensim's ACTIVE INITIAL)
            first = self._smile_parser(" ".join(init[0].text.split()))
            asts = [CallStructure(ReferenceStructure("active_initial"), (a, first)) for a in asts]
        return asts

    original_gf = Element._parse_lookup_xml_node

    def parse_gf(self: Any, node: Any) -> Any:
        # <xpts> are the x values where given; pysd spreads the points evenly over <xscale> whenever
        # it is present, which moves uneven points (XMILE: xscale only when there are no xpts)
        ast = original_gf(self, node)
        xs_node = node.xpath("ns:xpts", namespaces=self.ns)
        if not xs_node or not (xs_node[0].text or "").strip():
            return ast
        sep = xs_node[0].attrib.get("sep", ",")
        xs = np.array([float(v) for v in xs_node[0].text.split(sep)])
        ys_node = node.xpath("ns:ypts", namespaces=self.ns)[0]
        ys = np.array([float(v) for v in ys_node.text.split(ys_node.attrib.get("sep", ","))])
        if len(xs) != len(ys):
            return ast
        order = np.argsort(xs, kind="stable")
        return type(ast)(
            x=tuple(xs[order]), y=tuple(ys[order]), x_limits=(xs.min(), xs.max()),
            y_limits=(ys.min(), ys.max()), type=ast.type,
        )  # fmt: skip

    from pysd.translators.xmile.xmile_section import Section

    original_subscripts = Section._parse_subscripts

    def parse_subscripts(self: Any) -> list[Any]:
        # <isee:maps_to>DimB</isee:maps_to> in a <dim>: the dimension maps onto DimB element by
        # element (Vensim's 'DimA: A1, A2 -> DimB'); pysd reads no mapping
        ranges = original_subscripts(self)
        nodes = self.content.xpath("ns:dimensions/ns:dim", namespaces=self.ns)
        for subr, node in zip(ranges, nodes, strict=True):
            maps = [(t.text or "").strip() for t in node.iterchildren("{*}maps_to")]
            subr.mapping = [m for m in maps if m]
        return ranges

    Element._smile_parser = parse
    Aux._parse_component = parse_aux
    Element._parse_lookup_xml_node = parse_gf
    Section._parse_subscripts = parse_subscripts
    try:
        yield
    finally:
        Element._smile_parser = original
        Aux._parse_component = original_aux
        Element._parse_lookup_xml_node = original_gf
        Section._parse_subscripts = original_subscripts


def parse_xmile_abstract(path: Path) -> Any:
    """Run pysd's XMILE translator on ``path``; wrap its failures in :class:`ParseError`."""
    from pysd.translators.xmile.xmile_file import XmileFile

    try:
        head = path.read_bytes()[:4096]
    except FileNotFoundError as err:
        raise ParseError(f"{path}: no such model file") from err
    if not head.strip():
        raise ParseError(f"{path}: the file is empty")
    if b"\x00" in head:
        raise ParseError(f"{path}: a binary file, not an XMILE model")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xf = XmileFile(path)
            _tidy(xf.xmile_root)
            with _equation_parser(Arrays.of(xf.xmile_root)):
                xf.parse()
            return xf.get_abstract_model()
    except _EquationError as err:
        line = line_index(path).get(_normalise(err.name))
        where = f"{path}:{line}" if line else str(path)
        raise UnsupportedFeatureError(
            f"{where} variable '{err.name}': {_construct(err.eqn)} is not supported by sd "
            f"(equation '{err.eqn[:120]}'; pysd: {type(err.err).__name__})"
        ) from err
    except Exception as err:  # pysd and lxml raise bare exceptions of many kinds
        detail = str(err).strip().splitlines()
        msg = " ".join(detail[:6]) if detail else type(err).__name__
        raise ParseError(
            f"{path}: pysd's XMILE parser could not read the model: {type(err).__name__}: {msg}"
        ) from err
