"""A normalisation pass over Vensim ``.mdl`` text, run before pysd's parser.

pysd's grammar rejects some valid Vensim. Rather than fork it, sd rewrites the text into the subset pysd
reads, construct by construct, keeping a map from each equation back to the file's real line so that
errors still name it. Per construct, the choice and why:

- **comments** ``{...}`` inside an equation (between terms, after a number, spanning lines): removed from
  the equation field (Vensim ignores them; pysd's expression grammar has no comments). Comments outside
  any equation (``{UTF-8}`` and other headers, notes between equations) are removed too; the encoding
  is read from the first line, as pysd does. Text in the units and documentation fields is left alone.
- **line continuations** (``\\`` at the end of a line, followed by any indentation): joined with a space.
  pysd only joins ``\\`` + newline + one tab.
- **macros** (``:MACRO: ... :END OF MACRO:``) anywhere in the file, also before the first equation:
  moved before the main section's equations, where pysd's file grammar reads them (its main-section
  rule is greedy up to the last ``:MACRO:``, so two macros after the equations would be swallowed).
- **data variables without an equation** (``Values[DimA] ~~|``, read by Vensim from a data file given
  at run time): given pysd's ``:INTERPOLATE:`` keyword (Vensim's default), so pysd reads them as the
  data variables they are and the lowering refuses or reads them by name.
- **units with ranges**: only the last ``[min, max, step]`` group is a range; an empty bound or a
  non-numeric one becomes ``?`` (unbounded), which pysd reads.
- **the sketch and the settings section** are not given to pysd at all (it reads them only to split
  views); the settings section (after ``:L<%^E!@``) is kept in :attr:`Normalised.settings`, and its
  data file aliases (``30:?groupon data=groupon data.xlsx``: a file named ``'?groupon data'`` in
  GET XLS/DIRECT ... is that file, relative to the model's folder) in :attr:`Normalised.data_aliases`.
- **TABBED ARRAY** (numbers separated by tabs, one row per line): written as Vensim's constant array
  ``1, 2; 5, 6;``, which pysd reads.
- **lookups as one list** ``name(x1, ..., xn, y1, ..., yn)`` (Vensim's legacy form, from DYNAMO:
  the x values, then as many y values; xmutil's ``TransformLegacy`` splits the list in half): written
  as the pairs ``name((x1,y1), ..., (xn,yn))`` pysd reads, a leading ``[(xmin,ymin)-(xmax,ymax)]``
  range kept.
- **macros with output arguments** (``:MACRO: add3(a, b, c : lo, hi)`` called as
  ``add3(x, y, z : low, high)``): each output becomes a copy of the macro returning it and each name
  bound at a call a model variable calling that copy (:mod:`sd.frontend.macro_outputs`).
- ``TIME STEP$``-style references (``$`` after a control variable's name, used inside macros for the
  caller's control variables) become the plain control variable, which a macro's body resolves in the
  calling model.

Everything else is passed through byte for byte (whitespace is collapsed later by pysd anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sd.frontend.macro_outputs import expand_output_macros

__all__ = [
    "Entry",
    "Normalised",
    "alias_key",
    "describe_parse_error",
    "normalise",
    "normalise_text",
    "read_mdl_text",
    "vensim_file",
]

SKETCH = "\\\\\\---///"
PLOTS = "///---\\\\\\"
SETTINGS = ":L<%^E!@"

_CONTROLS = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER", "TIME")
_DOLLAR = re.compile(
    r"(?<![\w$])(" + "|".join(c.replace(" ", r"\s+") for c in _CONTROLS) + r")\s*\$", re.IGNORECASE
)
_NAME = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[^=(\[:~|"<]+)')
_BARE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|[A-Za-z_][^=(\[\]:~|"<>,]*?)\s*(\[[^\]]*\])?\s*$')


@dataclass
class Entry:
    """One equation (or group marker) of the file, as pysd will see it."""

    name: str  # the variable's name as written ("" for group markers)
    line: int  # 1-based line of the file where the entry starts
    text: str  # the normalised entry, ``equation ~ units ~ doc |``
    macro: str | None = None  # the macro it belongs to

    @property
    def flat(self) -> str:
        """The entry with whitespace collapsed, as pysd parses it."""
        return " ".join(self.text.split())


@dataclass
class Normalised:
    """The result of :func:`normalise`."""

    path: Path | None
    text: str  # the equation text pysd parses (encoding header, main section, macros)
    entries: list[Entry] = field(default_factory=list)
    settings: str = ""  # Vensim's settings section (after ``:L<%^E!@``), "" when absent
    rewrites: list[str] = field(default_factory=list)  # what the pass changed, one line each
    # range -> (line, mapping text) for subscript mappings with an explicit element list, which pysd
    # misreads (``DimB: B1, B2 -> (DimA: SubA, A3)``): dropped from pysd's text here and read by the
    # lowering (``Lowerer.list_mappings``, ``SubscriptMixin.list_mapping``)
    dropped_mappings: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def lines(self) -> dict[str, int]:
        """Normalised variable name (lower case, spaces as underscores) -> the line defining it."""
        out: dict[str, int] = {}
        for e in self.entries:
            if e.name and e.macro is None:
                out.setdefault(_norm(e.name), e.line)
        return out

    @property
    def data_aliases(self) -> dict[str, str]:
        """Vensim's data file aliases, from the settings' ``30:?alias=file`` lines: the alias (lower
        case, whitespace collapsed, without its ``?``) -> the file as written (relative to the model)."""
        out: dict[str, str] = {}
        for line in self.settings.splitlines():
            m = re.match(r"\s*30:\s*\?([^=]*)=(.*)$", line)
            if m and m.group(1).strip() and m.group(2).strip():
                out.setdefault(alias_key(m.group(1)), m.group(2).strip())
        return out

    @property
    def macro_lines(self) -> dict[str, tuple[str, dict[str, int]]]:
        """Normalised macro name -> (its name as written, {normalised variable name: line}): where
        each equation of a macro body is (errors raised while a call of it is inlined)."""
        out: dict[str, tuple[str, dict[str, int]]] = {}
        for e in self.entries:
            if e.name and e.macro is not None:
                shown = e.macro.split(":", 2)[-1].split("(", 1)[0].strip()
                out.setdefault(_norm(shown), (shown, {}))[1].setdefault(_norm(e.name), e.line)
        return out

    def locate(self, message: str) -> Entry | None:
        """The entry a pysd parse error refers to, found by the text it quotes.

        pysd collapses whitespace and parses each equation on its own, so its "line 1, column N" is a
        position in one equation; the quoted text (``didn't match at '...'``, ``begins with '...'``) says
        which one."""
        quotes = re.findall(r"(?:at|with) '(.*?)' \(line", message, flags=re.S)
        for q in quotes:
            q = " ".join(q.split())
            if not q:
                continue
            hits = [e for e in self.entries if q in e.flat]
            if hits:
                return hits[0]
        return None


def alias_key(alias: str) -> str:
    """A data file alias (``?groupon data`` or ``groupon data``) as :attr:`Normalised.data_aliases` keys it."""
    return " ".join(alias.strip().lstrip("?").split()).lower()


def _norm(name: str) -> str:
    return " ".join(name.strip().split()).lower().replace(" ", "_")


def read_mdl_text(path: Path) -> str:
    """The model file's text, in the encoding its first line names (``{UTF-8}``), as pysd reads it."""
    raw = path.read_bytes()
    first = raw.split(b"\n", 1)[0]
    m = re.match(rb"\s*\{([^}]*)\}", first)
    encoding = "utf-8"
    if m:
        name = m.group(1).decode("ascii", "ignore").strip()
        try:
            b"".decode(name)
            encoding = name
        except LookupError:
            encoding = "utf-8"
    return raw.decode(encoding, errors="ignore")


def normalise_text(text: str, path: str | Path | None = None) -> str:
    """``text`` rewritten into the Vensim pysd's grammar reads (see the module docstring)."""
    return normalise(text, path).text


def normalise(text: str, path: str | Path | None = None) -> Normalised:
    """Normalise a Vensim model's text; keep each equation's real line (see the module docstring)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    eq, settings = _split_sections(text)
    out = Normalised(Path(path) if path is not None else None, "", settings=settings)
    main: list[Entry] = []
    macros: list[tuple[str, list[Entry]]] = []
    current: tuple[str, list[Entry]] | None = None
    for raw, start in _raw_entries(eq, out):
        # macro markers sit at the start of the text before an entry's terminating "|"
        while True:
            head = raw.lstrip()
            start += raw[: len(raw) - len(head)].count("\n")
            if head.upper().startswith(":MACRO:"):
                header, raw = _macro_header(head)
                start += head[: len(head) - len(raw)].count("\n")
                current = (header, [])
                macros.append(current)
                continue
            if head.upper().startswith(":END OF MACRO:"):
                raw = head[len(":END OF MACRO:") :]
                current = None
                continue
            break
        if not head.strip():
            continue
        entry = _entry(head.rstrip(), start, current[0] if current else None, out)
        (current[1] if current else main).append(entry)
    if current is not None:
        raise_at = current[1][0].line if current[1] else 0
        out.rewrites.append(
            f"line {raise_at}: a :MACRO: without :END OF MACRO: (closed at the end)"
        )
    out.rewrites += expand_output_macros(macros, main, out.path)
    out.entries = [e for _, es in macros for e in es] + main
    parts = ["{UTF-8}"]
    for header, es in macros:
        parts.append(header)
        parts += [e.text for e in es]
        parts.append(":END OF MACRO:")
    parts += [e.text for e in main]
    out.text = "\n".join(parts) + "\n"
    return out


def _split_sections(text: str) -> tuple[str, str]:
    """(equations, settings): cut the sketch, the plots and the settings section off."""
    cut = len(text)
    for marker in (SKETCH, PLOTS, SETTINGS):
        i = text.find(marker)
        if i >= 0:
            cut = min(cut, i)
    settings = ""
    i = text.find(SETTINGS)
    if i >= 0:
        settings = text[i + len(SETTINGS) :]
    return text[:cut], settings


def _raw_entries(eq: str, out: Normalised) -> list[tuple[str, int]]:
    """Split the equation text at the ``|`` that end entries, removing comments and joining line
    continuations in equation fields; return (entry text without its "|", starting line)."""
    entries: list[tuple[str, int]] = []
    buf: list[str] = []
    line = 1
    start = 1
    fieldno = 0  # 0: equation, 1: units, 2+: documentation
    i, n = 0, len(eq)
    while i < n:
        c = eq[i]
        if c == "\n":
            line += 1
            buf.append(c)
            i += 1
            continue
        if fieldno == 0 and c == '"':
            j = i + 1
            while j < n and eq[j] != '"':
                j += 2 if eq[j] == "\\" else 1
            buf.append(eq[i : j + 1])
            line += eq[i : j + 1].count("\n")
            i = j + 1
            continue
        if fieldno == 0 and c == "{":
            j, depth = i, 0  # Vensim's comments nest
            while j < n:
                if eq[j] == "{":
                    depth += 1
                elif eq[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            comment = eq[i : j + 1]
            if "".join(buf).strip() and comment.strip() != "{UTF-8}":
                out.rewrites.append(f"line {line}: removed a comment inside an equation")
            nl = comment.count("\n")
            buf.append(" " + "\n" * nl)
            line += nl
            i = j + 1
            continue
        if fieldno == 0 and c == "\\":
            m = re.match(r"\\[ \t]*\n[ \t]*", eq[i:])
            if m:
                buf.append(" \n")
                line += 1
                i += m.end()
                continue
        if c == "~":
            fieldno += 1
        if c == "|":
            entries.append(("".join(buf), start))
            buf = []
            fieldno = 0
            i += 1
            start = line
            continue
        buf.append(c)
        i += 1
    rest = "".join(buf)
    if rest.strip():
        entries.append((rest, start))
    return entries


def _macro_header(head: str) -> tuple[str, str]:
    """Split ``:MACRO: NAME(args) rest`` into the header and the rest."""
    depth = 0
    for k, c in enumerate(head):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return " ".join(head[: k + 1].split()), head[k + 1 :]
    return " ".join(head.split()), ""


def _entry(raw: str, line: int, macro: str | None, out: Normalised) -> Entry:
    fields = raw.split("~")
    equation = fields[0]
    m = _NAME.match(equation)
    name = m.group(1).strip() if m else ""
    if name.startswith("*"):  # a group marker: ****\n.Control\n****~ doc |
        return Entry("", line, raw + "|", macro)
    eq = equation
    if len(fields) >= 2 and _BARE.match(eq) and not _is_keyword_only(eq):
        # a data variable without an equation: Vensim's default data keyword
        eq = eq.rstrip() + " :INTERPOLATE: "
        out.rewrites.append(f"line {line}: '{name}' is a data variable without an equation")
    m = _LIST_MAPPING.match(eq)
    if m:
        out.dropped_mappings[m.group(1).strip()] = (line, " ".join(m.group(3).split()))
        eq = m.group(1) + ":" + m.group(2)
        if m.group(4).strip():
            eq += " -> " + m.group(4).strip().lstrip(",")
        out.rewrites.append(f"line {line}: dropped the mapping {m.group(3).strip()} of '{name}'")
    if re.search(r"TABBED\s+ARRAY", eq, re.IGNORECASE):
        eq = _TABBED.sub(_tabbed, eq)
        out.rewrites.append(f"line {line}: TABBED ARRAY in '{name}' as a constant array")
    m = _LEGACY_TABLE.match(eq)
    if m:
        values = re.split(r"\s*,\s*", m.group(3).strip())
        if len(values) % 2 == 0:
            n = len(values) // 2
            pairs = ",".join(f"({x},{y})" for x, y in zip(values[:n], values[n:], strict=True))
            eq = f"{m.group(1)}({m.group(2) or ''}{pairs})"
            out.rewrites.append(
                f"line {line}: lookup '{name}' given as one list of x, then y values"
            )
    if "$" in eq:
        new = _DOLLAR.sub(lambda mm: mm.group(1), eq)
        if new != eq:
            out.rewrites.append(f"line {line}: control variable references with '$' in '{name}'")
            eq = new
    fields[0] = eq
    if len(fields) >= 2:
        fields[1] = _units(fields[1])
    return Entry(name, line, "~".join(fields) + "|", macro)


# "Dim: elements -> (Other: e1, e2), rest": a mapping with an explicit element list
_LIST_MAPPING = re.compile(r"^([^:=\[\]\"]+):([^:=]*?)->\s*(\([^)]*:[^)]*\))\s*(.*)$", re.S)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# "name(x1, ..., xn, y1, ..., yn)": a lookup definition as one flat list (an optional range first)
_LEGACY_TABLE = re.compile(
    rf'^(\s*(?:"(?:[^"\\]|\\.)*"|[^=(\[:~|"<]+?)\s*(?:\[[^\]]*\])?\s*)\(\s*'
    rf"(\[\s*\({_NUMBER}\s*,\s*{_NUMBER}\s*\)\s*-\s*\({_NUMBER}\s*,\s*{_NUMBER}\s*\)\s*\]\s*,\s*)?"
    rf"((?:{_NUMBER}\s*,\s*)+{_NUMBER})\s*\)\s*$"
)
_TABBED = re.compile(r"TABBED\s+ARRAY\s*\(([^()]*)\)", re.IGNORECASE)


def _tabbed(m: re.Match[str]) -> str:
    """``TABBED ARRAY(`` rows of numbers separated by tabs, one row per line ``)`` -> ``1, 2; 5, 6;``."""
    body = m.group(1).replace("\\t", "\t")
    rows = [r.split() for r in body.splitlines()]
    return " ".join(", ".join(r) + ";" for r in rows if r)


def _is_keyword_only(eq: str) -> bool:
    return bool(re.search(r":\s*[A-Za-z ]+\s*:\s*$", eq))


def _units(units: str) -> str:
    """Keep only a trailing ``[min, max, step]`` group as the range; unparsable bounds become ``?``."""
    s = units.rstrip()
    if not s.endswith("]") or "[" not in s:
        return units
    body, _, lims = s.rpartition("[")
    if "[" in body or "]" in body:
        body = body.replace("[", "(").replace("]", ")")
    parts = []
    for x in lims[:-1].split(","):
        x = x.strip()
        try:
            float(x)
            parts.append(x)
        except ValueError:
            parts.append("?")
    return f"{body}[{','.join(parts)}]"


def vensim_file(path: Path) -> tuple[Any, Normalised]:
    """A pysd ``VensimFile`` for ``path`` that parses the normalised text, and the :class:`Normalised`.

    Built without ``VensimFile.__init__`` (which reads the raw file and guesses its encoding from any
    ``{...}`` on the first line): the same four attributes, with ``model_text`` the normalised
    equations cleaned of whitespace as pysd's own ``_clean`` does. :meth:`Normalised.locate` turns a
    later parse error into the file's real line and variable."""
    from pysd.translators.vensim.vensim_file import VensimFile

    path = Path(path)
    norm = normalise(read_mdl_text(path), path)
    vf = VensimFile.__new__(VensimFile)
    vf.mdl_path = path
    vf.root_path = path.parent
    vf.sketch = ""
    vf.view_elements = None
    vf.model_text = vf._clean(norm.text)
    return vf, norm


def failing_entry(vf: Any, norm: Normalised) -> Entry | None:
    """Re-parse ``vf``'s equations one by one with pysd's own classes; the first that fails."""
    try:
        from pysd.translators.vensim import vensim_utils as vu
        from pysd.translators.vensim.vensim_section import SectionElementsVisitor

        vf.parse(parse_all=False)
        for section in vf.sections:
            tree = vu.Grammar.get("section_elements").parse(section.content)
            for el in SectionElementsVisitor(tree).entries:
                try:
                    comp = el.parse()
                    if hasattr(comp, "parse"):
                        comp.parse()
                except Exception:  # the failing equation
                    eq = " ".join(str(el.equation).split())
                    hits = [e for e in norm.entries if e.flat.startswith(eq)]
                    return hits[0] if hits else None
    except Exception:  # the file's structure itself failed: nothing finer to say
        return None
    return None


def describe_parse_error(norm: Normalised, message: str, vf: Any = None) -> str:
    """``"path:LINE variable 'NAME': "`` for the equation a pysd parse error comes from ("" if unknown).

    With ``vf`` given, the equations are re-parsed one by one (:func:`failing_entry`); failing that,
    the text the message quotes is looked up (:meth:`Normalised.locate`)."""
    entry = failing_entry(vf, norm) if vf is not None else None
    if entry is None:
        entry = norm.locate(message)
    if entry is None:
        return ""
    where = f"{norm.path}:{entry.line}" if norm.path is not None else f"line {entry.line}"
    what = f" variable '{entry.name}'" if entry.name else ""
    inside = f" (in macro {entry.macro})" if entry.macro else ""
    return f"{where}{what}{inside}: "
