"""Interoperability: SALib problems to and from sweep specs, and a pysd drop-in (``sd.read_vensim``).

SALib (docs/howto-salib.md)::

    problem = sd.interop.to_problem("sweeps/teacup.toml")      # a SALib ProblemSpec of the drawn constants
    spec = sd.interop.spec_with_problem("sweeps/teacup.toml", problem)   # its distributions in a spec

pysd (docs/howto-switch-from-pysd.md)::

    model = sd.read_vensim("teacup.mdl")        # instead of pysd.read_vensim
    df = model.run(params={"Room Temperature": 60}, return_columns=["Teacup Temperature"])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import ParamError, SpecError

__all__ = ["PysdCompatModel", "from_problem", "read_vensim", "spec_with_problem", "to_problem"]

# sd distribution -> SALib dist name
_TO_SALIB = {"uniform": "unif", "loguniform": "logunif", "normal": "norm", "truncnormal": "truncnorm",
             "lognormal": "lognorm", "triangular": "triang"}  # fmt: skip


def _as_spec(spec: Any) -> Any:
    from sd.sweep.spec import Spec, load_spec

    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, (str, Path)):
        return load_spec(spec)
    raise SpecError(f"expected a sweep spec (a TOML path or an sd.sweep.Spec), got {type(spec).__name__}")


def _distributions(spec: Any) -> dict[str, Any]:
    """The spec's distributions with low/high filled from the model's ranges where left out."""
    dists = dict(spec.distributions)
    if any(d.needs_range() for d in dists.values()):
        from sd import load

        model = load(spec.resolve_model(), data_files=spec.resolve_data_files())
        for name, d in dists.items():
            if d.needs_range():
                try:
                    var = model.ir.variables[model.resolve(name)]
                except KeyError:
                    raise SpecError(f"{spec.source}: parameters.{name!r}: not a variable of "
                                    f"{model.path.name}") from None  # fmt: skip
                lo, hi = (var.limits or (None, None, None))[:2]
                if lo is None or hi is None:
                    raise SpecError(f"{spec.source}: parameters.{name!r}: low/high left out and the "
                                    "model gives no [min, max] range")  # fmt: skip
                dists[name] = d.with_range(lo, hi, spec.source, f"parameters.{name!r}")
    return dists


def to_problem(source: Any) -> Any:
    """A :class:`SALib.ProblemSpec` (names, bounds, dists) of a sweep spec's distributions, or of the
    spec recorded in a sweep store (an ``xarray.Dataset`` from ``sd.sweep`` or a store path).

    uniform, loguniform, normal, truncnormal, lognormal and triangular map to SALib's unif, logunif, norm,
    truncnorm, lognorm and triang; beta, choice and samples have no SALib equivalent (SpecError).
    """
    from SALib import ProblemSpec

    from sd.sweep.spec import spec_from_dict

    if hasattr(source, "data_vars"):  # an xarray Dataset: the spec its sweep recorded
        if "spec" not in source.attrs:
            raise SpecError("to_problem: the Dataset has no 'spec' attribute (not a sweep store)")
        spec = spec_from_dict(json.loads(source.attrs["spec"]), source="store")
    elif isinstance(source, (str, Path)) and str(source).rstrip("/").endswith(".zarr"):
        import xarray as xr

        ds = xr.open_zarr(str(source), consolidated=False)
        spec = spec_from_dict(json.loads(ds.attrs["spec"]), source=str(source))
    else:
        spec = _as_spec(source)
    names, bounds, dists = [], [], []
    for name, d in _distributions(spec).items():
        a = d.args
        if d.dist not in _TO_SALIB:
            raise SpecError(f"{spec.source}: parameters.{name!r}: {d.dist!r} has no SALib equivalent "
                            f"(SALib knows {', '.join(_TO_SALIB)} as {', '.join(_TO_SALIB.values())})")  # fmt: skip
        if d.dist in ("uniform", "loguniform"):
            b = [a["low"], a["high"]]
        elif d.dist == "normal":
            b = [a["mean"], a["sd"]]
        elif d.dist == "truncnormal":
            b = [a["low"], a["high"], a["mean"], a["sd"]]
        elif d.dist == "lognormal":
            b = [a["mu"], a["sigma"]]
        else:  # triangular: start, end, peak as a fraction of the width
            b = [a["low"], a["high"], (a["mode"] - a["low"]) / (a["high"] - a["low"])]
        names.append(name)
        bounds.append([float(x) for x in b])
        dists.append(_TO_SALIB[d.dist])
    return ProblemSpec({"names": names, "bounds": bounds, "dists": dists})


def from_problem(problem: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A SALib problem (``ProblemSpec`` or dict with names, bounds, optional dists) as a spec's
    ``[parameters]`` tables, e.g. ``{"x": {"dist": "uniform", "low": 0, "high": 1}}``."""
    if "names" not in problem or "bounds" not in problem:
        raise SpecError("SALib problem: expected 'names' and 'bounds'")
    names, bounds = list(problem["names"]), list(problem["bounds"])
    dists = list(problem.get("dists") or ["unif"] * len(names))
    if not (len(names) == len(bounds) == len(dists)):
        raise SpecError(f"SALib problem: {len(names)} names, {len(bounds)} bounds and {len(dists)} dists; "
                        "expected one of each per parameter")  # fmt: skip
    out: dict[str, dict[str, Any]] = {}
    for name, b, dist in zip(names, bounds, dists, strict=True):
        b = [float(x) for x in b]
        where = f"SALib problem: parameter {name!r} ({dist} {b})"
        need = {"unif": 2, "logunif": 2, "norm": 2, "lognorm": 2, "truncnorm": 4, "triang": 3}
        if dist not in need:
            raise SpecError(f"{where}: unknown dist; expected one of {', '.join(need)}")
        if len(b) != need[dist]:
            raise SpecError(f"{where}: expected {need[dist]} numbers in bounds")
        if dist == "unif":
            out[name] = {"dist": "uniform", "low": b[0], "high": b[1]}
        elif dist == "logunif":
            out[name] = {"dist": "loguniform", "low": b[0], "high": b[1]}
        elif dist == "norm":
            out[name] = {"dist": "normal", "mean": b[0], "sd": b[1]}
        elif dist == "lognorm":
            out[name] = {"dist": "lognormal", "mu": b[0], "sigma": b[1]}
        elif dist == "truncnorm":
            out[name] = {"dist": "truncnormal", "low": b[0], "high": b[1], "mean": b[2], "sd": b[3]}
        else:
            lo, hi, c = b
            out[name] = {"dist": "triangular", "low": lo, "high": hi, "mode": lo + c * (hi - lo)}
    return out


def spec_with_problem(spec: Any, problem: Mapping[str, Any], *, replace: bool = False) -> Any:
    """The sweep spec with the SALib problem's parameters as its distributions (added to, or with
    ``replace=True`` instead of, the spec's own); validated again (names are checked when it runs)."""
    from sd.sweep.spec import Distribution

    spec = _as_spec(spec)
    params: dict[str, Any] = {} if replace else dict(spec.parameters)
    for name, table in from_problem(problem).items():
        params[name] = Distribution.from_value(table, source="SALib problem", key=f"parameters.{name!r}")
    return spec.replace(parameters=params)


# -- pysd drop-in ------------------------------------------------------------------------------------
_CONTROLS = ("FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP")


class PysdCompatModel:
    """What :func:`read_vensim` returns: pysd's ``Model.run`` signature over an :class:`sd.Model`.

    ``run`` returns a pandas DataFrame indexed by ``time`` with one column per variable (Vensim names;
    subscripted variables flattened to ``name[elem,...]``; the control variables first, then the rest in
    the order of the model file, as pysd does). ``set_components(params)`` keeps values for later runs. ``model``
    is the underlying :class:`sd.Model` for vectorised runs.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.components: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<sd pysd-compatible model {self.model.path.name}>"

    def set_components(self, params: Mapping[str, Any]) -> None:
        """Set constants for every later run (pysd's ``set_components``)."""
        self.components.update(self._scalars(params))

    def _scalars(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in (params or {}).items():
            if hasattr(v, "index") and hasattr(v, "values") and not isinstance(v, np.ndarray):
                raise ParamError(
                    f"{self.model.path}: parameter {k!r}: a time series (pandas Series) is not supported "
                    "by sd's pysd drop-in; expected a number (use a lookup in the model instead)"
                )
            if callable(v):
                raise ParamError(f"{self.model.path}: parameter {k!r}: functions are not supported; "
                                 "expected a number")  # fmt: skip
            out[k] = v
        return out

    def doc(self) -> Any:
        """A DataFrame of the variables: Real Name, Py Name, Units, Limits, Type, Comment (like pysd)."""
        import pandas as pd

        rows = []
        for name, v in sorted(self.model.variables.items()):
            rows.append({"Real Name": name, "Py Name": v.ident, "Units": v.units, "Limits": v.limits,
                         "Type": v.kind, "Comment": v.doc})  # fmt: skip
        return pd.DataFrame(rows)

    def run(
        self,
        params: Mapping[str, Any] | None = None,
        return_columns: Sequence[str] | None = None,
        return_timestamps: Sequence[float] | float | None = None,
        initial_condition: str = "original",
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
        reload: bool = False,
        progress: bool = False,
        flatten_output: bool = True,
        **kwargs: Any,
    ) -> Any:
        """pysd's ``run``: one simulation, a DataFrame indexed by time (see the class docstring)."""
        import pandas as pd

        if initial_condition != "original":
            raise ParamError(f"{self.model.path}: initial_condition={initial_condition!r} is not supported "
                             "by sd's pysd drop-in; expected 'original'")  # fmt: skip
        if not flatten_output:
            raise ParamError(f"{self.model.path}: flatten_output=False is not supported; expected True")
        unknown = set(kwargs) - {"cache_output", "output_file"}
        if unknown:
            raise ParamError(f"{self.model.path}: unknown run() argument(s) {sorted(unknown)}")
        values = dict(self.components)
        values.update(self._scalars(params))
        m = self.model
        if return_columns is None:
            wanted = [v for v in m.variables.values() if v.kind != "lookup"]
            wanted.sort(key=lambda v: (v.kind != "control", v.line if v.line is not None else 1 << 30))
            columns = [v.name for v in wanted]
        else:
            columns = [return_columns] if isinstance(return_columns, str) else list(return_columns)
        times = None
        if return_timestamps is not None:
            times = np.atleast_1d(np.asarray(return_timestamps, dtype=float))
        run_kw: dict[str, Any] = {"final_time": final_time, "time_step": time_step, "saveper": saveper}
        # what to run: every requested column that is computed (not a constant or control)
        computed, sources = [], {}
        for c in columns:
            base = c.split("[", 1)[0].strip()
            try:
                ident = m.resolve(base)
            except KeyError:
                try:
                    ident = m.resolve(c)
                except KeyError:
                    raise ParamError(f"{m.path}: return column {c!r} is not a variable of the model") from None
            var = m.ir.variables[ident]
            sources[c] = (var, base)
            if var.kind in ("stock", "aux", "initial", "fixed_delay"):
                computed.append(var.name.split("[", 1)[0] if "[" in c else var.name)
        ds = m.run(values or None, outputs=list(dict.fromkeys(computed)) or None, draws=1,
                   **{k: v for k, v in run_kw.items() if v is not None})  # fmt: skip
        t = ds["time"].to_numpy()
        if times is not None:
            if times.size and (times.min() < t[0] - 1e-9 or times.max() > t[-1] + 1e-9):
                raise ParamError(f"{m.path}: return_timestamps outside the run ({t[0]:g} to {t[-1]:g})")
            if ds.attrs.get("saveper") != ds.attrs.get("time_step") and not np.isin(
                    np.round(times, 9), np.round(t, 9)).all():  # fmt: skip
                ds = m.run(values or None, outputs=list(dict.fromkeys(computed)) or None, draws=1,
                           final_time=final_time, time_step=time_step,
                           saveper=ds.attrs.get("time_step"))  # fmt: skip
                t = ds["time"].to_numpy()
            idx = np.array([int(np.argmin(np.abs(t - x))) for x in times])
            if not np.allclose(t[idx], times, rtol=0, atol=1e-9 * max(1.0, float(np.abs(t).max()))):
                raise ParamError(f"{m.path}: return_timestamps {times.tolist()} are not on the time grid")
        else:
            idx = np.arange(len(t))
        data: dict[str, Any] = {}
        flat_cache: dict[str, list[tuple[str, np.ndarray]]] = {}
        ctrl = {"INITIAL TIME": ds.attrs.get("initial_time"), "FINAL TIME": ds.attrs.get("final_time"),
                "TIME STEP": ds.attrs.get("time_step"), "SAVEPER": ds.attrs.get("saveper")}  # fmt: skip
        for c in columns:
            var, base = sources[c]
            if var.kind == "control":
                data[c] = np.full(len(idx), float(ctrl[var.name]))
            elif var.kind == "constant":
                v = self._constant(values, var)
                data[c] = np.full(len(idx), v)
            else:
                vname = var.name.split("[", 1)[0] if "[" in var.name else var.name
                arr = ds[vname]
                if arr.ndim > 2:
                    if vname not in flat_cache:
                        flat_cache[vname] = self._flatten(arr, vname)
                    for flat, series in flat_cache[vname]:
                        if flat in data:
                            continue
                        if return_columns is None or flat == c or c == base:
                            data[flat] = series[idx]
                    continue
                data[c] = arr.to_numpy()[0][idx]
        df = pd.DataFrame(data, index=pd.Index(t[idx], name="time"))
        return df

    def _constant(self, values: Mapping[str, Any], var: Any) -> float:
        for k, v in values.items():
            try:
                if self.model.resolve(k) == var.ident:
                    return float(np.asarray(v).reshape(-1)[0])
            except KeyError:
                continue
        val = var.value
        return float(val) if val is not None else math.nan

    @staticmethod
    def _flatten(arr: Any, name: str) -> list[tuple[str, np.ndarray]]:
        dims = arr.dims[2:]
        coords = {d: [str(x) for x in arr[d].values] for d in dims}
        out = []
        values = arr.to_numpy()[0]  # (time, *dims)
        for pos in np.ndindex(*values.shape[1:]):
            elems = [coords[d][i] for d, i in zip(dims, pos, strict=True)]
            out.append((f"{name}[{','.join(elems)}]", values[(slice(None), *pos)]))
        return out


def read_vensim(path: str | Path) -> PysdCompatModel:
    """Load a Vensim model like ``pysd.read_vensim``: the result's ``run(params=..., return_columns=...,
    final_time=..., saveper=...)`` returns pysd's DataFrame. The sd model is ``.model``."""
    from sd import load

    return PysdCompatModel(load(path))
