"""Sensitivity surfaces (a statistic of an outcome over two parameters) and fan charts (quantile bands of a
series over draws), computed on the store's dask arrays.

**Surfaces.** Draws are binned by the two parameters: ``bins`` equal-width bins over each parameter's
sampled range (log-spaced for a log-uniform one); a grid sweep uses its levels, one bin per level. Every
other parameter is marginalised (the statistic is over all draws in the cell, whatever their other values);
``where`` restricts the draws first (e.g. ``"robot lifetime > 10"``) to hold parameters in a range.

- ``mean``, ``prob:EXPR`` (the share of draws where EXPR holds, e.g. ``prob:debt ratio 2028 < 1``) and
  ``count`` are map-reduce sums: one ``bincount`` per dask chunk, added up; memory is one cell array per
  chunk whatever the number of draws.
- ``median`` and ``qNN`` (``q90``, ``q05``, ``q99.5``) are exact per cell: they read only three columns of
  the store (the two parameters and the outcome, 24 bytes per draw: 400 MB at 16M draws; never the time
  series) and sort by cell.

**Fan charts.** :func:`fan` gives the quantiles of a ``(draw, time)`` series over draws at each time; it
reads one time column at a time (rechunked to the whole draw axis: 8 bytes x draws per task).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from sd.analyze._common import (
    AnalysisError,
    condition,
    open_store,
    outcome,
    param_range,
    sampler_of,
)

__all__ = ["fan", "parse_stat", "surface"]


def parse_stat(stat: str) -> tuple[str, Any]:
    """``'median'`` -> ('quantile', 0.5); ``'q90'`` -> ('quantile', 0.9); ``'mean'``; ``'count'``;
    ``'prob:EXPR'`` -> ('prob', EXPR)."""
    s = stat.strip()
    if s == "median":
        return "quantile", 0.5
    if s in ("mean", "count"):
        return s, None
    if s.startswith("prob:"):
        expr = s[5:].strip()
        if not expr:
            raise AnalysisError("--stat prob:EXPR: the expression is empty (e.g. prob:debt ratio 2028 < 1)")
        return "prob", expr
    m = re.fullmatch(r"q(\d+(?:\.\d*)?)", s)
    if m:
        q = float(m[1]) / 100
        if not 0 <= q <= 1:
            raise AnalysisError(f"--stat {stat}: a quantile between q0 and q100")
        return "quantile", q
    raise AnalysisError(f"--stat {stat!r}: expected median, mean, count, qNN (e.g. q90) or prob:EXPR")


def _edges(ds: Any, name: str, bins: int) -> np.ndarray:
    sampler, _ = sampler_of(ds)
    if sampler == "grid":
        levels = np.unique(np.asarray(ds[name].values, dtype=float))
        if levels.size == 1:
            return np.array([levels[0] - 0.5, levels[0] + 0.5])
        mids = (levels[1:] + levels[:-1]) / 2
        return np.concatenate([[levels[0] - (mids[0] - levels[0])], mids,
                               [levels[-1] + (levels[-1] - mids[-1])]])  # fmt: skip
    lo, hi, log = param_range(ds, name)
    if not hi > lo:
        raise AnalysisError(f"{name!r}: is not varied by the sweep (range [{lo}, {hi}])")
    if log and lo > 0:
        return np.geomspace(lo, hi, bins + 1)
    return np.linspace(lo, hi, bins + 1)


def _index(x: Any, edges: np.ndarray) -> Any:
    """Bin index along draw, lazy where x is: 0 .. len(edges) - 2, -1 outside."""
    import xarray as xr

    def digitize(v: np.ndarray) -> np.ndarray:
        i = np.searchsorted(edges, v, side="right") - 1
        i = np.where(v == edges[-1], len(edges) - 2, i)
        return np.where((i < 0) | (i > len(edges) - 2) | ~np.isfinite(v), -1, i)

    return xr.apply_ufunc(digitize, x, dask="parallelized", output_dtypes=[np.int64])


def _bincount(cell: Any, weights: Any, n: int) -> np.ndarray:
    """Sum of weights per cell (cell -1 dropped), chunk by chunk on dask."""
    data_c, data_w = cell.data, weights.data
    if hasattr(data_c, "dask"):
        import dask.array as da

        ok = data_c >= 0
        return np.asarray(
            da.bincount(da.where(ok, data_c, n), weights=da.where(ok, data_w, 0.0), minlength=n + 1)
            [:n].compute()
        )
    data_c, data_w = np.asarray(data_c), np.asarray(data_w, dtype=float)
    ok = data_c >= 0
    return np.bincount(data_c[ok], weights=data_w[ok], minlength=n)[:n]


def surface(store: Any, x: str, y: str, z: str | None = None, *, stat: str = "median", bins: int = 20,
            where: str | None = None) -> Any:  # fmt: skip
    """The statistic ``stat`` of outcome ``z`` over parameters ``x`` and ``y`` (see the module doc).

    Returns a DataArray ``(y, x)`` of bin centres, with ``count`` (draws per cell) as a coordinate and attrs
    naming the stat, outcome, sampler, seed and spec file. A cell without draws is NaN. ``z`` may be left
    out for ``count`` and ``prob:``.
    """
    import xarray as xr

    ds = open_store(store)
    kind, arg = parse_stat(stat)
    for p in (x, y):
        outcome(ds, p)
        if ds[p].dims != ("draw",):
            raise AnalysisError(f"{p!r}: a surface's axes are drawn parameters (dims draw), got {ds[p].dims}")
    if x == y:
        raise AnalysisError(f"surface: --x and --y are both {x!r}")
    if kind in ("quantile", "mean") and z is None:
        raise AnalysisError(f"surface: --stat {stat} needs an outcome (--z)")
    zda = None
    if z is not None:
        zda = outcome(ds, z)
        if zda.dims != ("draw",):
            raise AnalysisError(f"{z!r}: a surface needs one value per draw (an outcome), got dims {zda.dims}")
    ex, ey = _edges(ds, x, bins), _edges(ds, y, bins)
    nx, ny = len(ex) - 1, len(ey) - 1
    ix, iy = _index(ds[x].variable.to_base_variable(), ex), _index(ds[y].variable.to_base_variable(), ey)
    ix, iy = xr.DataArray(ix, dims=("draw",)), xr.DataArray(iy, dims=("draw",))
    cell = xr.where((ix >= 0) & (iy >= 0), iy * nx + ix, -1)
    if where:
        cell = xr.where(condition(ds, where).variable.to_base_variable(), cell, -1)
    if zda is not None and kind in ("quantile", "mean"):
        cell = xr.where(np.isfinite(zda.variable.to_base_variable()), cell, -1)
    n = nx * ny
    count = _bincount(cell, xr.ones_like(cell, dtype=float), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "count":
            values = count.astype(float)
        elif kind == "mean":
            assert zda is not None
            zz = xr.DataArray(zda.variable.to_base_variable()).fillna(0.0)
            values = _bincount(cell, zz, n) / count
        elif kind == "prob":
            flag = condition(ds, arg).variable.to_base_variable().astype(float)
            values = _bincount(cell, xr.DataArray(flag), n) / count
        else:
            assert zda is not None
            c = np.asarray(cell.values)
            v = np.asarray(zda.values, dtype=float)
            values = _cell_quantile(c, v, n, float(arg))
    values = np.where(count > 0, values, np.nan).reshape(ny, nx)
    cx, cy = _centres(ex, ds, x), _centres(ey, ds, y)
    if kind == "quantile":
        label = "median" if arg == 0.5 else f"q{100 * float(arg):g}"
    else:
        label = {"mean": "mean", "count": "count", "prob": f"P({arg})"}[kind]
    name = label if z is None or kind == "prob" else f"{label} of {z}"
    da_out = xr.DataArray(
        values, dims=(y, x), coords={x: cx, y: cy, "count": ((y, x), count.reshape(ny, nx))}, name=name,
        attrs={
            "stat": stat, "outcome": z or "", "x": x, "y": y, "bins": bins, "where": where or "",
            "sampler": str(ds.attrs.get("sampler", "")), "seed": ds.attrs.get("seed", ""),
            "spec_file": str(ds.attrs.get("spec_file", "")), "draws": int(ds.sizes["draw"]),
            "x_edges": ex, "y_edges": ey, "long_name": name,
            "units": "" if zda is None or kind == "prob" else str(zda.attrs.get("units", "")),
        },
    )  # fmt: skip
    da_out[x].attrs["units"] = ds[x].attrs.get("units", "")
    da_out[y].attrs["units"] = ds[y].attrs.get("units", "")
    return da_out


def _centres(edges: np.ndarray, ds: Any, name: str) -> np.ndarray:
    sampler, _ = sampler_of(ds)
    _, _, log = param_range(ds, name) if sampler != "grid" else (0.0, 0.0, False)
    if log and edges[0] > 0:
        return np.sqrt(edges[1:] * edges[:-1])
    return (edges[1:] + edges[:-1]) / 2


def _cell_quantile(cell: np.ndarray, v: np.ndarray, n: int, q: float) -> np.ndarray:
    """Exact per-cell quantile (numpy's linear method) by one sort on (cell, value)."""
    ok = cell >= 0
    cell, v = cell[ok], v[ok]
    order = np.lexsort((v, cell))
    cell, v = cell[order], v[order]
    starts = np.searchsorted(cell, np.arange(n), side="left")
    stops = np.searchsorted(cell, np.arange(n), side="right")
    m = stops - starts
    out = np.full(n, np.nan)
    has = m > 0
    pos = starts[has] + q * (m[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, stops[has] - 1)
    frac = pos - lo
    out[has] = v[lo] + (v[hi] - v[lo]) * frac
    return out


def fan(store: Any, var: str, *, quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95),
        where: str | None = None) -> Any:  # fmt: skip
    """Quantiles over draws of the stored series ``var`` at each time: DataArray ``(quantile, time)``."""
    ds = open_store(store)
    da = outcome(ds, var)
    if set(da.dims) != {"draw", "time"}:
        raise AnalysisError(
            f"{var!r}: a fan chart needs a stored time series (dims draw, time), got {da.dims}; "
            "add it to [outputs] timeseries of the spec"
        )
    if where:
        da = da.where(condition(ds, where))
    if hasattr(da.data, "dask"):
        da = da.chunk({"draw": -1, "time": 1})
    out = da.quantile(list(quantiles), dim="draw", skipna=True).compute()
    out = out.transpose("quantile", "time")
    out.name = var
    out.attrs.update(
        units=ds[var].attrs.get("units", ""), sampler=str(ds.attrs.get("sampler", "")),
        seed=ds.attrs.get("seed", ""), spec_file=str(ds.attrs.get("spec_file", "")),
        draws=int(ds.sizes["draw"]), where=where or "",
    )  # fmt: skip
    return out
