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

from sd.errors import ParseError, UnsupportedFeatureError
from sd.frontend.data_files import DataFiles
from sd.frontend.functions import SUPPORTED_FUNCTIONS
from sd.frontend.lowering import CONTROL_NAMES, Lowerer
from sd.frontend.normalise import Normalised, describe_parse_error, vensim_file
from sd.frontend.xmile import EXTENSIONS as XMILE_EXTENSIONS
from sd.frontend.xmile import line_index as xmile_line_index
from sd.frontend.xmile import parse_xmile_abstract
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


def parse_abstract(path: Path) -> tuple[Any, Normalised]:
    """Run pysd's Vensim parser on the normalised text (:mod:`sd.frontend.normalise`); wrap its
    failures in :class:`ParseError` naming the file's real line and the variable."""
    norm = vf = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vf, norm = vensim_file(path)
            vf.parse()
            return vf.get_abstract_model(), norm
    except FileNotFoundError as err:
        raise ParseError(f"{path}: no such model file") from err
    except (UnsupportedFeatureError, ParseError):  # the normalisation pass's, placed already
        raise
    except Exception as err:  # pysd raises bare exceptions of many kinds
        detail = str(err).strip().splitlines()
        msg = " ".join(detail[:6]) if detail else type(err).__name__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            where = describe_parse_error(norm, msg, vf) if norm is not None else ""
        # pysd counts lines within the equation it was parsing: the file's line is in ``where``
        msg = re.sub(r"\(line \d+, column (\d+)\)", r"(column \1 of the equation)", msg)
        arity = _arity_error(msg)
        if arity:
            raise ParseError(f"{where or f'{path}: '}{arity}") from err
        raise ParseError(
            f"{where or f'{path}: '}pysd's Vensim parser could not read the model: "
            f"{type(err).__name__}: {msg}"
        ) from err


# a builtin pysd parses into a structure of its own: what it takes (for a call with too few/many arguments)
_SIGNATURES = {
    "IntegStructure": "INTEG(rate, initial value)",
    "InitialStructure": "INITIAL(value)",
    "SmoothStructure": "SMOOTH/SMOOTH3(input, smoothing time) or SMOOTHI/SMOOTH3I(input, time, initial)",
    "SmoothNStructure": "SMOOTH N(input, smoothing time, initial value, order)",
    "DelayStructure": "DELAY1/DELAY3(input, delay time) or DELAY1I/DELAY3I(input, delay time, initial)",
    "DelayNStructure": "DELAY N(input, delay time, initial value, order)",
    "DelayFixedStructure": "DELAY FIXED(input, delay time, initial value)",
    "TrendStructure": "TREND(input, average time, initial trend)",
    "ForecastStructure": "FORECAST(input, average time, horizon, initial trend)",
    "SampleIfTrueStructure": "SAMPLE IF TRUE(condition, input, initial value)",
}


def _arity_error(msg: str) -> str:
    """'INTEG takes INTEG(rate, initial value); this call lacks 'initial'' for pysd's TypeError."""
    m = re.search(r"(\w+Structure)\.__init__\(\) (missing \d+ required positional arguments?: (.+?)(?:  |$)"
                  r"|takes \d+ positional arguments? but \d+ were given)", msg)  # fmt: skip
    if m is None or m.group(1) not in _SIGNATURES:
        return ""
    sig = _SIGNATURES[m.group(1)]
    name = sig.split("(", 1)[0].split("/", 1)[0]
    detail = f"the call lacks {m.group(3)}" if m.group(3) else "the call has too many arguments"
    return f"{name} takes {sig}; {detail}"


def load_ir(path: str | Path, data_files: DataFiles | None = None) -> ModelIR:
    """Parse ``path`` with pysd and lower it into sd's IR (``data_files``: the data files of data
    variables without an equation, as :func:`sd.load` takes them)."""
    p = Path(path)
    if not p.exists():
        raise ParseError(f"{p}: no such model file")
    if p.suffix.lower() in XMILE_EXTENSIONS:
        return Lowerer(p, parse_xmile_abstract(p), xmile_line_index(p), data_files=data_files).run()
    if p.suffix.lower() != ".mdl":
        raise ParseError(f"{p}: expected a Vensim .mdl or an XMILE .xmile/.stmx file")
    _check_text_file(p)
    am, norm = parse_abstract(p)
    lw = Lowerer(p, am, {**_line_index(p), **norm.lines}, data_files=data_files)
    lw.list_mappings = {dim: text for dim, (_, text) in norm.dropped_mappings.items()}
    lw.macro_lines = norm.macro_lines
    lw.data_aliases = norm.data_aliases
    return lw.run()


def _check_text_file(p: Path) -> None:
    head = p.read_bytes()[:4096]
    if not head.strip():
        raise ParseError(f"{p}: the file is empty")
    if b"\x00" in head:
        raise ParseError(f"{p}: a binary file, not a Vensim .mdl text model")
