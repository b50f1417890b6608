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
    ``ValueError`` naming the file and line for a number line before any name. (The reader is the
    one ``sd.load(..., data_files=...)`` uses for ``.dat`` data files.)
    """
    from sd.frontend.data_files import read_dat as read_all

    return {k: v for k, v in read_all(path).items() if helpers or not is_helper(k)}
