"""Morris elementary effects through SALib (``SALib.analyze.morris``), returned as xarray.

Needs a store written with ``sampler = "morris"``: the trajectories are rebuilt exactly from the store's
seed, draws and options (:func:`sd.sweep.sample.design`, the same call the sweep made), on the unit
hypercube, so the effects are per unit of each parameter's quantile range (every parameter on the same
footing, whatever its distribution or units).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sd.analyze._common import AnalysisError, open_store, param_names, sampler_of
from sd.analyze.sobol import _attrs, _finite, _resolve

__all__ = ["morris"]


def morris(store: Any, outcome_name: str, *, conf_level: float = 0.95, num_resamples: int = 100,
           seed: int | None = 0) -> Any:  # fmt: skip
    """Morris ``mu``, ``mu_star`` (with ``mu_star_conf``) and ``sigma`` along ``parameter`` (and ``time``
    for a stored series)."""
    import xarray as xr

    from sd.sweep.sample import design

    ds = open_store(store)
    sampler, options = sampler_of(ds)
    if sampler != "morris":
        raise AnalysisError(
            f"Morris screening needs a store sampled with sampler = \"morris\" (trajectories); this store "
            f"was sampled with {sampler!r}. Rerun the sweep with sampler = {{ name = \"morris\" }}"
        )
    names = param_names(ds)
    levels = int(options.get("levels", 4))
    draws = int(ds.sizes["draw"])
    x = design("morris", int(ds.attrs.get("seed", 0)), draws, len(names), {"levels": levels})
    da, name = _resolve(ds, outcome_name)
    y = np.asarray(da.values, dtype=float)
    _finite(y, name, "Morris analysis")
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    from SALib.analyze import morris as salib_morris

    def one(col: np.ndarray) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(salib_morris.analyze(problem, x, col, num_resamples=num_resamples,
                                             conf_level=conf_level, num_levels=levels, seed=seed))  # fmt: skip

    cols = [y] if y.ndim == 1 else [y[:, k] for k in range(y.shape[1])]
    res = [one(c) for c in cols]
    out: dict[str, Any] = {}
    for k in ("mu", "mu_star", "mu_star_conf", "sigma"):
        arr = np.stack([np.asarray(r[k], dtype=float) for r in res])
        out[k] = (("time", "parameter"), arr) if y.ndim == 2 else (("parameter",), arr[0])
    coords: dict[str, Any] = {"parameter": names}
    if y.ndim == 2:
        coords["time"] = ds["time"].values
    result = xr.Dataset(out, coords=coords, attrs=_attrs(ds, "morris (SALib)", name))
    result.attrs["conf_level"] = conf_level
    result.attrs["levels"] = levels
    return result
