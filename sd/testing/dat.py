"""Read Vensim/SDEverywhere ``.dat`` output files.

Layout: a line holding a variable's name (subscripted ones as ``name[elem,elem]``), then one
``time<TAB>value`` line per saved time, then the next name. Names containing ``#`` or ``>`` are Vensim's
internal helper variables (the stages of a DELAY3, ...); :func:`read_dat` skips them unless asked.
Vensim writes values as 32-bit floats: compare with a relative tolerance near 1e-3.

Examples
--------
>>> from sd.testing.dat import read_dat
>>> series = read_dat("models/delay/delay.dat")  # doctest: +SKIP
>>> t, v = series["d10"]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["is_helper", "read_dat"]


def is_helper(name: str) -> bool:
    """Whether ``name`` is one of Vensim's internal helper variables (``#d10>DELAY3#``)."""
    return "#" in name or ">" in name


def read_dat(
    path: str | Path, *, helpers: bool = False
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (times, values)}`` in the file's order, as float64 arrays.

    A line that is not two numbers separated by whitespace starts a new variable. Raises
    ``ValueError`` naming the file and line for a number line before any name.
    """
    p = Path(path)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    name: str | None = None
    times: list[float] = []
    values: list[float] = []

    def flush() -> None:
        if name is not None and (helpers or not is_helper(name)):
            out[name] = (np.asarray(times, dtype=float), np.asarray(values, dtype=float))

    with p.open(encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            parts = s.split("\t") if "\t" in s else s.split()
            pair = _numbers(parts)
            if pair is None:
                flush()
                name, times, values = s, [], []
                continue
            if name is None:
                raise ValueError(f"{p}:{lineno}: a value line before any variable name")
            times.append(pair[0])
            values.append(pair[1])
    flush()
    return out


def _numbers(parts: list[str]) -> tuple[float, float] | None:
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None
