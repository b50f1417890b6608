"""XMILE (.xmile, .stmx, .xml) models through pysd's XMILE translator.

pysd's ``XmileFile`` produces the same ``AbstractModel`` as its Vensim translator (sections, elements,
components with the same AST structures: ``IntegStructure``, ``SmoothStructure``, ``ReferenceStructure``
with pysd's normalised names, ...), so sd lowers it with the Vensim lowering unchanged. What differs:

- the file is XML: a file that is not well-formed XML, or not XMILE, is a :class:`ParseError`;
- error messages name the line of the ``<aux|stock|flow name="...">`` tag that defines a variable (the
  Vensim line index reads ``.mdl`` text), see :func:`line_index`;
- pysd's XMILE grammar knows fewer functions than its Vensim one; a function it does not know arrives as
  a ``CallStructure`` the lowering refuses by name (``UnsupportedFeatureError``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from sd.errors import ParseError

__all__ = ["EXTENSIONS", "line_index", "parse_xmile_abstract"]

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
            xf.parse()
            return xf.get_abstract_model()
    except Exception as err:  # pysd and lxml raise bare exceptions of many kinds
        detail = str(err).strip().splitlines()
        msg = " ".join(detail[:6]) if detail else type(err).__name__
        raise ParseError(
            f"{path}: pysd's XMILE parser could not read the model: {type(err).__name__}: {msg}"
        ) from err
