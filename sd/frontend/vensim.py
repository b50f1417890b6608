"""Vensim .mdl -> pysd ``AbstractModel`` -> sd IR: the entry point of the frontend.

pysd parses (this package is the only place that imports pysd's translators); the lowering lives in
:mod:`sd.frontend.lowering` (driver), :mod:`sd.frontend.expressions` (the expression visitor),
:mod:`sd.frontend.functions` (the lowering table of scalar functions), :mod:`sd.frontend.stateful`
(stateful builtins as hidden stocks), :mod:`sd.frontend.arrays` (functions over ranges) and
:mod:`sd.frontend.subscripts` (subscript ranges, unrolled per element).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from sd.errors import ParseError
from sd.frontend.functions import SUPPORTED_FUNCTIONS
from sd.frontend.lowering import CONTROL_NAMES, Lowerer
from sd.ir.names import normalise, normalise_element
from sd.ir.nodes import ModelIR

__all__ = ["CONTROL_NAMES", "SUPPORTED_FUNCTIONS", "load_ir", "normalise", "normalise_element"]


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


def load_ir(path: str | Path) -> ModelIR:
    """Parse ``path`` with pysd and lower it into sd's IR."""
    p = Path(path)
    if not p.exists():
        raise ParseError(f"{p}: no such model file")
    if p.suffix.lower() != ".mdl":
        raise ParseError(f"{p}: expected a Vensim .mdl file")
    am = parse_abstract(p)
    return Lowerer(p, am, _line_index(p)).run()
