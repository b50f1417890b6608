"""Vensim's macros with output arguments, rewritten into macros pysd reads (part of the
normalisation pass, :mod:`sd.frontend.normalise`).

Vensim (documentation, "Defining Macros" and "Using Macros"): ``:MACRO: add3(v1, v2, v3 : lo, hi)``
declares, after the ``:``, variables of the macro body that are outputs besides the macro-named one;
a call ``total = add3(a, b, c : min reserve, max reserve)`` gives ``total`` the macro's value and makes
``min reserve`` and ``max reserve`` variables of the calling model, bound by position to ``lo`` and
``hi`` of that call's expansion (with the subscripts of the calling equation's left-hand side).

pysd's grammar has no ``:`` in a call, so the pass rewrites each call and its outputs:

- the header loses its outputs (``:MACRO: add3(v1, v2, v3)``) and each call its ``: ...`` part;
- for the k-th output a copy of the macro is added, ``add3 sdout k(v1, v2, v3)``, whose macro-named
  variable is that output (``add3 sdout k = lo``), and each output name bound at a call becomes a
  model variable ``min reserve[subscripts] = add3 sdout 1(a, b, c)``, at the calling equation's line.

The copy is a second expansion of the same equations on the same inputs: a macro body is
deterministic given its inputs and the model's control variables (``TIME STEP$``), so every copy's
variables (stocks included) take the values of the primary call's own. A body that draws random
numbers would draw a different stream in each copy; such a macro is refused by name, as is a call
with outputs inside another macro's body (its outputs would be that macro's local variables).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sd.errors import ParseError, UnsupportedFeatureError

if TYPE_CHECKING:
    from pathlib import Path

    from sd.frontend.normalise import Entry

__all__ = ["expand_output_macros"]

_HEADER = re.compile(r"\s*:MACRO:\s*(.+?)\s*\((.*)\)\s*$", re.IGNORECASE | re.S)
_RANDOM = re.compile(r"(?<![\w$])RANDOM[\w ]*\(", re.IGNORECASE)


def _split_top(text: str, seps: str) -> list[tuple[str, str]]:
    """``text`` split at the separators ``seps`` outside brackets and quotes: (piece, the separator
    that ended it, "" for the last)."""
    out: list[tuple[str, str]] = []
    depth, quote, start = 0, "", 0
    for i, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c in seps:
            out.append((text[start:i], c))
            start = i + 1
    out.append((text[start:], ""))
    return out


def _calls(eq: str, name: str) -> list[tuple[int, int, str]]:
    """Each call of macro ``name`` in the equation text ``eq``: (start, end after its ``)``, the text
    between the parentheses). A match preceded by a name character is part of another name."""
    pattern = re.compile(r"(?<![\w$])" + r"\s+".join(map(re.escape, name.split())) + r"\s*\(", re.I)
    out = []
    for m in pattern.finditer(eq):
        before = eq[: m.start()].rstrip()
        if before and (before[-1].isalnum() or before[-1] in "_$"):
            continue
        depth, quote = 1, ""
        for i in range(m.end(), len(eq)):
            c = eq[i]
            if quote:
                quote = "" if c == quote else quote
            elif c in "\"'":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    out.append((m.start(), i + 1, eq[m.end() : i]))
                    break
    return out


def _lhs_subscripts(entry: Entry) -> str:
    """The ``[...]`` of the entry's left-hand side ("" when it has none)."""
    head = re.split(r":?=", entry.text.split("~", 1)[0], maxsplit=1)[0]
    m = re.search(r"\[[^\]]*\]\s*$", head)
    return m.group(0).strip() if m else ""


def expand_output_macros(
    macros: list[tuple[str, list[Entry]]], main: list[Entry], path: Path | None
) -> list[str]:
    """Rewrite, in place, every macro with output arguments that the model calls (see the module
    docstring); return one line per rewrite. A macro nobody calls is left alone (Vensim ignores it)."""
    done: list[str] = []
    for k in range(len(macros)):
        header, body = macros[k]
        m = _HEADER.match(header)
        if m is None or ":" not in m.group(2):
            continue
        name = " ".join(m.group(1).split())
        inputs, outputs = (p.strip() for p in m.group(2).split(":", 1))
        outs = [o.strip() for o in outputs.split(",") if o.strip()]
        users = [e for e in main if e.name and _calls(e.text.split("~", 1)[0], name)]
        inner = [e for _, es in macros for e in es if _calls(e.text.split("~", 1)[0], name)]
        if not users and not inner:
            continue
        _refuse(name, body, inner, users, path)
        plain = f":MACRO: {name}({inputs})"
        macros[k] = (plain, [_retag(e, plain) for e in body])
        for j, out in enumerate(outs, 1):
            copy = f":MACRO: {name} sdout {j}({inputs})"
            ret = type(body[0])(f"{name} sdout {j}", body[0].line, f"{name} sdout {j} = {out} ~~|",
                                copy)  # fmt: skip
            macros.append((copy, [_retag(e, copy) for e in body] + [ret]))
        for e in users:
            main.extend(_rewrite_calls(e, name, outs, path))
        done.append(f"macro {name}: outputs {', '.join(outs)} bound at {len(users)} call(s)")
    return done


def _retag(entry: Entry, header: str) -> Entry:
    return type(entry)(entry.name, entry.line, entry.text, header)


def _refuse(name: str, body: list[Entry], inner: list[Entry], users: list[Entry], path: Any) -> None:
    if inner:
        e = inner[0]
        m = _HEADER.match(e.macro or "")
        outer = " ".join(m.group(1).split()) if m else e.macro
        raise UnsupportedFeatureError(
            f"{path}:{e.line} variable '{e.name}' of macro {outer}: a call of the macro {name} "
            f"with output arguments inside another macro is not supported by sd"
        )
    rnd = next((e for e in body if _RANDOM.search(e.text.split("~", 1)[0])), None)
    if rnd is not None:
        e = users[0]
        raise UnsupportedFeatureError(
            f"{path}:{e.line} variable '{e.name}': the macro {name} with output arguments draws "
            f"random numbers (its variable '{rnd.name}', line {rnd.line}): sd computes each output "
            f"from a copy of the macro, which would draw other numbers; not supported by sd"
        )


def _rewrite_calls(entry: Entry, name: str, outs: list[str], path: Any) -> list[Entry]:
    """Drop the ``: outputs`` of each call of ``name`` in ``entry``; the model variables they bind."""
    eq, rest = entry.text.split("~", 1) if "~" in entry.text else (entry.text, "")
    subs = _lhs_subscripts(entry)
    new: list[Entry] = []
    for start, end, args in reversed(_calls(eq, name)):
        parts = _split_top(args, ":")
        if len(parts) == 1:
            continue  # called for its value only
        ins = parts[0][0].strip()
        bound = [b.strip() for b, _ in _split_top(parts[1][0], ",")] if len(parts) == 2 else []
        if len(parts) > 2 or len(bound) > len(outs) or not all(bound):
            raise ParseError(
                f"{path}:{entry.line} variable '{entry.name}': the call of macro {name} binds "
                f"'{args.split(':', 1)[1].strip()}' to its {len(outs)} outputs ({', '.join(outs)})"
            )
        eq = f"{eq[:start]}{name}({ins}){eq[end:]}"
        for j, b in enumerate(bound, 1):
            text = (f"{b}{subs} = {name} sdout {j}({ins}) ~~ output {outs[j - 1]} of the call of "
                    f"macro {name} by {entry.name} |")  # fmt: skip
            new.append(type(entry)(b, entry.line, text, None))
    entry.text = f"{eq}~{rest}" if rest else eq
    return list(reversed(new))
