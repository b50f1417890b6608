"""Variance-based indices through SALib, returned as xarray.

- :func:`sobol`: Sobol' first-order, total and second-order indices with confidence intervals
  (``SALib.analyze.sobol``) from a store written with ``sampler = "saltelli"``: the estimator needs
  Saltelli's design (A, B and the A_B^i matrices), so any other sampler is refused with
  :class:`~sd.analyze.AnalysisError`.
- :func:`first_order`: first-order indices from *any* random or quasi-random sample (mc, lhs, sobol) by
  RBD-FAST / EASI (``SALib.analyze.rbd_fast``, "compatible with all samplers"), with bootstrap confidence
  intervals: what the flagship store (a plain scrambled Sobol sequence) supports.

Both accept an outcome ``(draw,)`` or a stored series ``(draw, time)``; a series gives time-resolved indices
(one set per saved time).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sd.analyze._common import AnalysisError, columns, open_store, outcome, param_names, sampler_of

__all__ = ["first_order", "sobol"]


def _problem(names: list[str]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _y(ds: Any, name: str) -> Any:
    da = outcome(ds, name)
    if da.dtype == bool:
        da = da.astype(float)
    if "draw" not in da.dims or set(da.dims) - {"draw", "time"}:
        raise AnalysisError(f"{name!r}: expected a variable along draw (and time), got dims {da.dims}")
    return da


def _finite(y: np.ndarray, name: str, what: str) -> None:
    bad = ~np.isfinite(y)
    if bad.any():
        raise AnalysisError(
            f"{name!r}: {int(bad.sum())} of {y.size} draws are NaN or infinite; {what} needs a value in "
            "every draw (for a first_time outcome analyse a condition instead, e.g. "
            "'year debt closes <= 2028')"
        )


def _attrs(ds: Any, method: str, name: str) -> dict[str, Any]:
    return {
        "method": method, "outcome": name, "sampler": str(ds.attrs.get("sampler", "")),
        "seed": ds.attrs.get("seed", ""), "draws": int(ds.sizes["draw"]),
        "spec_file": str(ds.attrs.get("spec_file", "")), "model": str(ds.attrs.get("model", "")),
    }  # fmt: skip


def _resolve(ds: Any, outcome_name: str) -> tuple[Any, str]:
    """The DataArray of an outcome, a stored series, or a condition (``prob:`` not needed: any
    comparison is turned into a 0/1 indicator)."""
    from sd.analyze._common import condition

    if outcome_name in ds.variables:
        return _y(ds, outcome_name), outcome_name
    if any(op in outcome_name for op in ("<", ">", "==", "!=")):
        return condition(ds, outcome_name).astype(float), outcome_name
    return _y(ds, outcome_name), outcome_name


def _salib_seed(seed: int | None) -> int | None:
    """SALib's ``sobol.analyze`` seeds its bootstrap only when ``seed`` is truthy (``if seed:``), so
    ``seed=0`` gave different confidence intervals on every call: pass a non-zero seed derived from it."""
    if seed is None:
        return None
    return int(np.random.SeedSequence(int(seed)).generate_state(1)[0]) or 1


def sobol(store: Any, outcome_name: str, *, conf_level: float = 0.95, num_resamples: int = 100,
          seed: int | None = 0) -> Any:  # fmt: skip
    """Sobol' indices of ``outcome_name`` (an outcome, a stored series, or a condition such as
    ``'debt ratio 2028 < 1'`` analysed as its 0/1 indicator).

    Returns an :class:`xarray.Dataset` with ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` along ``parameter``
    (and ``time`` for a series), and ``S2``, ``S2_conf`` along ``(parameter, parameter_2)`` when the
    design has second-order rows. ``*_conf`` are half-widths of the ``conf_level`` bootstrap intervals.
    """
    import xarray as xr

    ds = open_store(store)
    sampler, options = sampler_of(ds)
    if sampler != "saltelli":
        raise AnalysisError(
            f"Sobol' indices need a store sampled with sampler = \"saltelli\" (Saltelli's design); this "
            f"store was sampled with {sampler!r}. Rerun the sweep with sampler = \"saltelli\", or use "
            "sd.analyze.first_order (RBD-FAST, any random sample)"
        )
    names = param_names(ds)
    second = bool(options.get("second_order", True))
    da, name = _resolve(ds, outcome_name)
    y = np.asarray(da.values, dtype=float)
    _finite(y, name, "Sobol' analysis")
    problem = _problem(names)
    from SALib.analyze import sobol as salib_sobol

    def one(col: np.ndarray) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(salib_sobol.analyze(problem, col, calc_second_order=second, conf_level=conf_level,
                                            num_resamples=num_resamples, seed=_salib_seed(seed)))  # fmt: skip

    cols = [y] if y.ndim == 1 else [y[:, k] for k in range(y.shape[1])]
    res = [one(c) for c in cols]
    keys = ["S1", "S1_conf", "ST", "ST_conf"]
    out: dict[str, Any] = {}
    for k in keys:
        arr = np.stack([np.asarray(r[k], dtype=float) for r in res])
        out[k] = (("time", "parameter"), arr) if y.ndim == 2 else (("parameter",), arr[0])
    if second:
        for k in ("S2", "S2_conf"):
            arr = np.stack([np.asarray(r[k], dtype=float) for r in res])
            dims = ("parameter", "parameter_2")
            out[k] = (("time", *dims), arr) if y.ndim == 2 else (dims, arr[0])
    coords: dict[str, Any] = {"parameter": names}
    if second:
        coords["parameter_2"] = names
    if y.ndim == 2:
        coords["time"] = ds["time"].values
    result = xr.Dataset(out, coords=coords, attrs=_attrs(ds, "sobol (SALib, Saltelli design)", name))
    result.attrs["conf_level"] = conf_level
    result.attrs["second_order"] = int(second)
    return result


def first_order(store: Any, outcome_name: str, *, conf_level: float = 0.95, num_resamples: int = 100,
                harmonics: int = 10, seed: int | None = 0, max_draws: int | None = 16_384) -> Any:  # fmt: skip
    """First-order indices from any sample by RBD-FAST (``SALib.analyze.rbd_fast``).

    Works on mc, lhs and sobol stores (and on saltelli/morris ones, treating every row as a draw, which
    biases nothing but wastes the design). ``max_draws`` caps the draws used: a random subset drawn with
    ``seed`` (not a prefix: the regular structure of a quasi-random sequence can alias with the estimator's
    harmonics), 16,384 by default (SALib's bootstrap costs ~12 s at that size for 67 parameters and grows
    linearly); None uses all. Returns ``S1`` and
    ``S1_conf`` along ``parameter`` (and ``time`` for a series).
    """
    import xarray as xr

    ds = open_store(store)
    names = param_names(ds)
    if not names:
        raise AnalysisError("the store has no drawn parameters")
    n_all = int(ds.sizes["draw"])
    n = n_all if max_draws is None else min(n_all, max_draws)
    sub = ds
    if n < n_all:
        idx = np.sort(np.random.default_rng(seed).choice(n_all, n, replace=False))
        sub = ds.isel(draw=idx)
    da, name = _resolve(sub, outcome_name)
    y = np.asarray(da.values, dtype=float)
    _finite(y, name, "RBD-FAST")
    x = columns(sub, names)
    from SALib.analyze import rbd_fast

    problem = _problem(names)

    def one(col: np.ndarray) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(rbd_fast.analyze(problem, x, col, M=harmonics, num_resamples=num_resamples,
                                         conf_level=conf_level, seed=seed))  # fmt: skip

    cols = [y] if y.ndim == 1 else [y[:, k] for k in range(y.shape[1])]
    res = [one(c) for c in cols]
    out: dict[str, Any] = {}
    for k in ("S1", "S1_conf"):
        arr = np.stack([np.asarray(r[k], dtype=float) for r in res])
        out[k] = (("time", "parameter"), arr) if y.ndim == 2 else (("parameter",), arr[0])
    coords: dict[str, Any] = {"parameter": names}
    if y.ndim == 2:
        coords["time"] = ds["time"].values
    result = xr.Dataset(out, coords=coords, attrs=_attrs(ds, "first order (SALib RBD-FAST)", name))
    result.attrs["conf_level"] = conf_level
    result.attrs["draws_used"] = int(n)
    return result
