"""Subscripts: ranges, mappings and the unrolling of subscripted variables into scalar elements.

Every subscripted Vensim variable becomes one scalar IR variable per element (``ArrayInfo`` records the
dims, coordinates and the ident of each element). :class:`SubscriptMixin` is the part of the lowerer that
declares them and resolves which element a subscripted reference denotes in the current equation.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sd.errors import DataFileError, ModelError, UnsupportedFeatureError
from sd.frontend.xmile import EXTENSIONS as XMILE_EXTENSIONS
from sd.ir.names import make_ident, normalise, normalise_element
from sd.ir.nodes import ArrayInfo, Expr, ModelIR, Num

__all__ = ["Decl", "SubscriptMixin"]


@dataclass
class Decl:
    """A declared Vensim variable: scalar (one ident) or subscripted (one ident per element)."""

    el: Any
    ident: str | None = None
    array: ArrayInfo | None = None
    # ident -> (component, binding {dim: element}, position of the element in the component's array)
    parts: dict[str, tuple[Any, dict[str, str], tuple[int, ...]]] = field(default_factory=dict)


class SubscriptMixin:
    """Subscript state and resolution of the lowerer (mixed into :class:`sd.frontend.lowering.Lowerer`)."""

    path: Path
    ir: ModelIR
    taken: set[str]
    elements: dict[str, Any]
    decls: dict[str, Decl]
    binding: dict[str, str]
    subs: dict[str, list[str]]
    mapping: dict[str, list[Any]]
    main_ranges: dict[str, list[str]]
    comp_coords: dict[int, dict[str, list[str]]]

    if TYPE_CHECKING:

        def where(self, name: str) -> str: ...
        def owner(self) -> str: ...
        def unsupported(self, what: str, name: str | None = None) -> UnsupportedFeatureError: ...
        def model_error(self, what: str) -> ModelError: ...
        def expr(self, ast: Any) -> Expr: ...

    def read_subscripts(self, main: Any) -> None:
        if not main.subscripts:
            return
        from pysd.builders.python.subscripts import SubscriptManager

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sm = SubscriptManager(main.subscripts, self.path.parent)
        except FileNotFoundError as err:
            raise DataFileError(
                f"{self.path}: a subscript range is read from a file that does not exist ({err})"
            ) from err
        self.subs = {k: list(v) for k, v in sm.subscripts.items()}
        self.mapping = {k: list(v) for k, v in sm.mapping.items()}
        self.main_ranges = {k: list(v) for k, v in sm.subranges.items()}

    def list_mapping(self, source: str, target: str) -> dict[str, str] | None:
        """For a range mapped with an explicit element list (``source: s1, s2 -> (target: t1, T2)``,
        read from :attr:`list_mappings`): target element -> source element (an entry that is a range
        maps each of its elements), or None."""
        text = getattr(self, "list_mappings", {}).get(source)
        if not text:
            return None
        m = re.match(r"^\(\s*([^:]+?)\s*:(.*)\)$", text.strip(), re.S)
        if m is None or m.group(1) != target:
            return None
        entries = [x.strip() for x in m.group(2).split(",") if x.strip()]
        elems = self.subs.get(source, [])
        if len(entries) != len(elems):
            raise self.model_error(
                f"the mapping of '{source}' lists {len(entries)} entries for {len(elems)} elements"
            )
        out: dict[str, str] = {}
        for src, entry in zip(elems, entries, strict=True):
            for t in self.expand(entry):
                out[t] = src
        return out

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
        """Register ``el``: an ident for a scalar, an :class:`ArrayInfo` and one ident per element
        for a subscripted variable."""
        norm = normalise(el.name)
        if norm in self.elements:
            raise ModelError(f"{self.where(el.name)}: variable '{el.name}' is defined twice")
        self.elements[norm] = el
        comps = list(el.components)
        decl = Decl(el)
        self.decls[norm] = decl
        if not any(c.subscripts and c.subscripts[0] for c in comps):
            if len(comps) != 1:
                raise ModelError(f"{self.where(el.name)}: variable '{el.name}' is defined twice")
            decl.ident = make_ident(norm, self.taken)
            self.ir.names[norm] = decl.ident
            return
        keys_per_comp, defined = self._defined_elements(el, comps)
        dims = self._dims(keys_per_comp, defined)
        coords = {d: tuple(self.subs[d]) for d in dims}
        info = ArrayInfo(name=el.name, dims=tuple(dims), coords=coords, elements={})
        for elems in itertools.product(*(coords[d] for d in dims)):
            if elems in defined:
                ident = make_ident(f"{norm}__{'__'.join(normalise(e) for e in elems)}", self.taken)
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

    def _defined_elements(
        self, el: Any, comps: list[Any]
    ) -> tuple[list[list[str]], dict[tuple[str, ...], tuple[Any, dict[str, str], tuple[int, ...]]]]:
        """Each component's range names and every element it defines (EXCEPT removed)."""
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
        return keys_per_comp, defined

    def _dims(
        self, keys_per_comp: list[list[str]], defined: dict[tuple[str, ...], Any]
    ) -> list[str]:
        """The range of each dimension: the one whose elements are exactly those defined, else the
        smallest that holds them, else a copy of the first component's range under a new name."""
        dims: list[str] = []
        for j in range(len(keys_per_comp[0])):
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
        return dims

    @contextmanager
    def bound(self, extra: dict[str, str]) -> Iterator[None]:
        saved = self.binding
        self.binding = {**saved, **extra}
        try:
            yield
        finally:
            self.binding = saved

    def element(self, decl: Decl, subs: list[str] | None) -> str:
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
            # a mapping with an explicit element list (DimB: B1, B2 -> (DimA: SubA, A3)): the element
            # of ``key`` whose list entry holds the bound element of the target range
            for b, e in binding.items():
                listed = self.list_mapping(key, b)
                if listed is not None and e in listed:
                    return listed[e]
            # a subrange or superrange of a bound range: the same element
            cands = [b for b, e in binding.items() if e in elems and not b.endswith("!")]
            if cands:
                related = [
                    b for b in cands
                    if set(self.subs.get(b, ())) <= set(elems)
                    or set(elems) <= set(self.subs.get(b, ()))
                ]  # fmt: skip
                return binding[(related or cands)[0]]
            hint = ""
            if self.path.suffix.lower() in XMILE_EXTENSIONS:
                # xmutil's exports drop Vensim's subscript mappings ('DimB: B1, B2 -> DimA')
                hint = " (the XMILE file maps no dimension onto it: no <isee:maps_to>)"
            raise self.unsupported(
                f"a reference over the range '{key}', which this equation's subscripts do not "
                f"bind{hint},"
            )
        if any(sub in v for v in self.subs.values()):
            return sub
        # Vensim's names are case-insensitive (an XMILE export may declare 'suba' and write 'SubA')
        folded = _fold(sub, [*self.subs, *(e for v in self.subs.values() for e in v)])
        if folded is not None:
            return self.resolve_sub(folded, dim)
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

    # -- the 'Dim!' axes of functions over ranges ------------------------------------------------
    def bang_subs(self, ast: Any) -> list[str]:
        """The ``Dim!`` subscripts of ``ast`` not yet bound (nested aggregations excluded)."""
        from sd.frontend.functions import ARRAY_FUNCTIONS

        found: list[str] = []
        for node in ast_nodes(ast, stop=ARRAY_FUNCTIONS):
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


def ast_nodes(ast: Any, stop: tuple[str, ...] = ()) -> Iterator[Any]:
    """pysd AST nodes below ``ast`` (itself included), not entering calls of functions in ``stop``."""
    import dataclasses

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


def _fold(sub: str, names: list[str]) -> str | None:
    """The one name of ``names`` equal to ``sub`` up to case (and a trailing '!'), if any."""
    bang = "!" if sub.endswith("!") else ""
    key = sub.removesuffix("!").casefold()
    hits = {n for n in names if n.casefold() == key and n != sub.removesuffix("!")}
    return next(iter(hits)) + bang if len(hits) == 1 else None
