"""Vensim names: the normalised form references use, element keys, and Python-safe identifiers.

Pure string functions, shared by the frontend (which assigns identifiers) and the Model (which resolves
the names a user types), so the Model does not import the frontend.
"""

from __future__ import annotations

import re

__all__ = ["make_ident", "normalise", "normalise_element"]


def normalise(name: str) -> str:
    """pysd's reference form of a Vensim name: lower case, spaces as underscores."""
    return " ".join(name.strip().split()).lower().replace(" ", "_")


def normalise_element(name: str) -> str:
    """The lookup key of a variable or one of its elements: ``'Stock A[Entry 1, Col 2]'`` ->
    ``'stock_a[entry_1,col_2]'``."""
    name = name.strip()
    if name.endswith("]") and "[" in name:
        base, _, rest = name[:-1].partition("[")
        elems = ",".join(normalise(e) for e in rest.split(","))
        return f"{normalise(base)}[{elems}]"
    return normalise(name)


def make_ident(norm: str, taken: set[str]) -> str:
    """A Python/C identifier for the normalised name ``norm``, unique within ``taken`` (updated)."""
    base = re.sub(r"\W", "_", norm.strip('"'), flags=re.ASCII).strip("_") or "v"
    if base[0].isdigit():
        base = "_" + base
    ident, k = base, 1
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident
