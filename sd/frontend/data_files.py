"""Data files given at load time: the values of data variables without an equation.

A Vensim data variable written without an equation (``sales data ~~|``, ``x :HOLD BACKWARD: ~~|``) takes
its values from a data file named when the model is run. ``sd.load(path, data_files=...)`` names them as
pysd's ``read_vensim(..., data_files=...)`` does: one file, a list of files (each variable is taken from
the first file that has it) or a dict ``{file: [variable names]}`` (those variables from that file).
The files are read once, at load time, like sd's other external data (:mod:`sd.frontend.external`); each
variable becomes a table over time, read the way its keyword asks (interpolate, the default, hold
backward, look forward, raw).

Formats: ``.tab``/``.csv`` (Vensim's tabular export: the names across the first row and the times down
the first column, or transposed) and ``.dat`` (Vensim's text format: a name line, then one ``time value``
line per point). A subscripted variable's elements are columns named ``name[e1,e2]``. Empty cells are
missing points: the variable interpolates (or holds) across them. Vensim's binary ``.vdf`` is refused by
name (export it to ``.tab`` or ``.dat`` first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import DataFileError
from sd.ir.names import normalise_element

__all__ = ["DataFiles", "RunTimeData", "read_dat", "read_series"]

# (Mapping is invariant in its key: both key types are listed, so a dict[str, list[str]] is accepted)
DataFiles = (str | Path | Sequence[str | Path] | Mapping[str, Sequence[str]] | Mapping[Path, Sequence[str]]
             | Mapping[str | Path, Sequence[str]])  # fmt: skip
Series = dict[str, tuple[np.ndarray, np.ndarray]]
FORMATS = (".tab", ".csv", ".dat")


def _key(name: str) -> str:
    """The normalised key of a (possibly subscripted, possibly quoted) variable name."""
    name = name.strip()
    base, bracket, rest = name.partition("[")
    return normalise_element(base.strip().strip('"') + bracket + rest)


def read_dat(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (times, values)}`` of a Vensim ``.dat`` file, in the file's order (helpers included).

    A line that is not two numbers separated by whitespace names the next variable; a number line
    before any name is a ValueError naming the file and line."""
    p = Path(path)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    name: str | None = None
    points: list[tuple[float, float]] = []

    def flush() -> None:
        if name is not None:
            arr = np.asarray(points, dtype=float).reshape(-1, 2)
            out[name] = (arr[:, 0].copy(), arr[:, 1].copy())

    with p.open(encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            parts = s.split("\t") if "\t" in s else s.split()
            pair = _numbers(parts)
            if pair is None:
                flush()
                name, points = s, []
                continue
            if name is None:
                raise ValueError(f"{p}:{lineno}: a value line before any variable name")
            points.append(pair)
    flush()
    return out


def _numbers(parts: list[str]) -> tuple[float, float] | None:
    if len(parts) != 2:
        return None
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        return None


def _read_table(path: Path) -> Series:
    """A ``.tab``/``.csv`` export: names across the first row (times down the first column), or
    transposed (names down the first column, times across the first row)."""
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tab" else ","
    frame = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False)
    frame = frame.apply(lambda col: col.str.strip())
    head = list(frame.iloc[0, 1:])
    if head and all(_is_number(h) for h in head if h):  # times across the first row: transpose
        frame = frame.T.reset_index(drop=True)
    names = list(frame.iloc[0, 1:])
    times = pd.to_numeric(frame.iloc[1:, 0], errors="coerce").to_numpy(dtype=float)
    out: Series = {}
    for j, name in enumerate(names, start=1):
        if name:
            values = pd.to_numeric(frame.iloc[1:, j], errors="coerce").to_numpy(dtype=float)
            out[name] = (times, values)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_series(path: Path) -> Series:
    """Every series of the data file ``path``, keyed by its normalised name."""
    suffix = path.suffix.lower()
    if suffix == ".vdf":
        raise DataFileError(
            f"{path}: a .vdf data file (Vensim's binary format) cannot be read by sd; export it from "
            "Vensim as .tab or .dat and pass that"
        )
    if suffix not in FORMATS:
        raise DataFileError(f"{path}: a data file must be {', '.join(FORMATS)} (got '{suffix}')")
    if not path.is_file():
        raise DataFileError(f"{path}: the data file does not exist")
    try:
        raw = read_dat(path) if suffix == ".dat" else _read_table(path)
    except (ValueError, OSError, IndexError) as err:
        raise DataFileError(f"{path}: the data file could not be read ({err})") from err
    return {_key(name): series for name, series in raw.items()}


class RunTimeData:
    """The data files of one load, read on first use; hands out one variable element's series."""

    def __init__(self, spec: DataFiles | None) -> None:
        self.files: list[tuple[Path, set[str] | None]] = []
        self.series: dict[Path, Series] = {}
        self.sha256: dict[str, str] = {}
        if spec is None:
            return
        if isinstance(spec, Mapping):
            for f, names in spec.items():
                if isinstance(names, str):
                    names = [names]
                self.files.append((Path(f).resolve(), {_key(n) for n in names}))
        elif isinstance(spec, str | Path):
            self.files.append((Path(spec).resolve(), None))
        else:
            self.files.extend((Path(f).resolve(), None) for f in spec)

    def identity(self) -> list[Any]:
        """What the lowered model depends on (the cache key): the files and which variables each gives."""
        return [[str(f), sorted(names) if names is not None else None] for f, names in self.files]

    def _series(self, path: Path) -> Series:
        if path not in self.series:
            self.series[path] = read_series(path)
            self.sha256[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self.series[path]

    def find(self, base: str, element: str) -> tuple[Path, np.ndarray, np.ndarray] | None:
        """(file, times, values) of the element ``element`` (``'var[A,B]'``) of the data variable
        ``base``, from the first file that has it (or the file a dict names it in); None if none."""
        key, base_key = _key(element), _key(base)
        for path, names in self.files:
            if names is not None and base_key not in names and key not in names:
                continue
            series = self._series(path)
            if key in series:
                times, values = series[key]
                return path, times, values
        return None
