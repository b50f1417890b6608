"""External inputs (GET XLS/DIRECT DATA, LOOKUPS, CONSTANTS), read once at load time.

pysd's readers (``pysd.py_backend.external``) do the spreadsheet and CSV work; sd keeps the values: a
constant becomes a ``constant`` variable, a lookup a ``lookup`` table and a data variable a table over
time, interpolated the way its keyword asks (interpolate, hold backward, look forward, raw).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import DataFileError
from sd.ir.nodes import Table

__all__ = ["ExternalReader"]

INTERPOLATIONS = ("interpolate", "raw", "look_forward", "hold_backward")


class ExternalReader:
    """Reads each external component once (all its elements) and hands out single elements."""

    def __init__(self, lowerer: Any) -> None:
        self.lowerer = lowerer
        self.root: Path = lowerer.path.parent
        self.cache: dict[int, Any] = {}
        # pysd keeps every file it read in a process-wide cache (Excels): a model loaded again after its
        # data file changed would get the old values; each load reads its files afresh
        from pysd.py_backend import external as ext

        ext.Excels.clean()

    # -- helpers --------------------------------------------------------------------------------
    def coords(self, binding: dict[str, str]) -> dict[str, list[str]]:
        """The coordinates of the component being lowered, as pysd's readers expect them."""
        comp = self.lowerer.current_component
        return dict(self.lowerer.comp_coords.get(id(comp), {})) if comp is not None else {}

    def read(self, ast: Any, kind: str, name: str, keyword: str | None = None) -> Any:
        comp = self.lowerer.current_component
        key = id(comp)
        if key in self.cache:
            return self.cache[key]
        from pysd.py_backend import external as ext

        coords = self.coords({})
        py_name = name.split("[", 1)[0]
        file, shown = self.resolve(str(ast.file), py_name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if kind == "data":
                    interp = (keyword or "interpolate").replace(" ", "_")
                    if interp not in INTERPOLATIONS:
                        interp = "interpolate"
                    obj: Any = ext.ExtData(
                        file, ast.tab, ast.time_row_or_col, ast.cell, interp, coords,
                        self.root, coords, py_name,
                    )  # fmt: skip
                elif kind == "lookup":
                    obj = ext.ExtLookup(
                        file, ast.tab, ast.x_row_or_col, ast.cell, coords, self.root, coords,
                        py_name,
                    )  # fmt: skip
                else:
                    obj = ext.ExtConstant(file, ast.tab, ast.cell, coords, self.root, coords,
                                          py_name)  # fmt: skip
                obj.initialize()
        except Exception as err:  # pysd raises FileNotFoundError, ValueError, KeyError, ...
            detail = " ".join(str(err).split())[:300]
            path = self.root / file
            what = (
                "does not exist"
                if not path.exists()
                else f"could not be read ({type(err).__name__}: {detail})"
            )
            raise DataFileError(
                f"{self.lowerer.where(py_name)} variable '{py_name}': the external file "
                f"{shown} (sheet '{ast.tab}', cell '{getattr(ast, 'cell', '')}') {what}"
            ) from err
        self.cache[key] = obj
        self.record(Path(file))
        return obj

    def resolve(self, file: str, name: str) -> tuple[str, str]:
        """(the file to read, how errors show it): ``'?alias'`` is Vensim's data file alias, the file
        the model's settings name (``30:?alias=file``, relative to the model's folder)."""
        if not file.startswith("?"):
            return file, f"'{file}'"
        from sd.frontend.normalise import alias_key

        target = self.lowerer.data_aliases.get(alias_key(file))
        if target is None:
            raise DataFileError(
                f"{self.lowerer.where(name)} variable '{name}': the data file alias '{file}' is not "
                f"defined in the model's settings (Vensim reads a line '30:{file}=<file>' after "
                f"':L<%^E!@' at the end of the .mdl)"
            )
        return target, f"'{target}' (the alias '{file}' in the model's settings)"

    def record(self, name: Path) -> None:
        """Note the data file ``name`` (relative to the model) and the SHA-256 of its bytes in the IR."""
        import hashlib

        path = name if name.is_absolute() else self.root / name
        if path.is_file():
            self.lowerer.ir.files[str(path.resolve())] = hashlib.sha256(path.read_bytes()).hexdigest()

    @staticmethod
    def select(data: Any, binding: dict[str, str]) -> Any:
        sel = {d: binding[d] for d in data.dims if d in binding}
        return data.sel(sel) if sel else data

    # -- the three kinds ------------------------------------------------------------------------
    def constant(self, ast: Any, binding: dict[str, str], name: str) -> float:
        obj = self.read(ast, "constant", name)
        data = obj.data
        if hasattr(data, "dims"):
            data = self.select(data, binding)
        return float(np.asarray(data, dtype=float).reshape(-1)[0])

    def lookup(self, ast: Any, binding: dict[str, str], name: str) -> Table:
        obj = self.read(ast, "lookup", name)
        data = self.select(obj.data, binding)
        return self.table(np.asarray(data["lookup_dim"].values, dtype=float),
                          np.asarray(data.values, dtype=float), "interpolate", name)  # fmt: skip

    def data(self, ast: Any, binding: dict[str, str], name: str, keyword: str | None) -> Table:
        obj = self.read(ast, "data", name, keyword)
        data = self.select(obj.data, binding)
        return self.table(np.asarray(data["time"].values, dtype=float),
                          np.asarray(data.values, dtype=float), obj.interp, name)  # fmt: skip

    def table(self, x: np.ndarray, y: np.ndarray, interp: str, name: str) -> Table:
        y = y.reshape(-1)
        keep = ~(np.isnan(x) | np.isnan(y))
        x, y = x[keep], y[keep]
        if not len(x):
            raise DataFileError(f"{self.lowerer.where(name)} variable '{name}': no values read")
        order = np.argsort(x, kind="stable")
        return Table(tuple(x[order].tolist()), tuple(y[order].tolist()), interp)
