"""Shared helpers of :mod:`sd.analyze`: opening a store, reading its spec, evaluating conditions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import SDError

__all__ = ["AnalysisError", "columns", "condition", "open_store", "outcome", "param_names", "param_range", "spec_of"]


class AnalysisError(SDError, ValueError):
    """An analysis does not fit the store (wrong sampler, unknown outcome, bad expression, ...)."""


def open_store(store: Any, *, allow_incomplete: bool = False) -> Any:
    """A sweep's store as a lazy xarray Dataset: a path / URL (opened with :func:`sd.sweep.store.open_result`)
    or an already opened :class:`xarray.Dataset` (returned as is).

    A store whose sweep did not finish (or whose chunk files are missing) is refused with
    :class:`sd.sweep.store.IncompleteStoreError`, unless ``allow_incomplete`` (then only the finished draws,
    with ``attrs["draws_missing"]``); open it with ``sd.open(store, allow_incomplete=True)`` and pass the
    Dataset to analyse an unfinished sweep."""
    import xarray as xr

    if isinstance(store, xr.Dataset):
        return store
    from sd.sweep.store import open_result

    path = str(store)
    if "://" not in path and not Path(path).exists():
        raise AnalysisError(f"store {path}: does not exist (run `sd sweep SPEC` first)")
    try:
        return open_result(path, allow_incomplete=allow_incomplete)
    except SDError:
        raise
    except Exception as err:  # not a zarr store, or not a sweep's
        raise AnalysisError(f"store {path}: cannot be opened as a sweep's zarr store ({err})") from err


def _key(ds: Any) -> dict[str, Any]:
    try:
        return dict(json.loads(ds.attrs["sd_sweep"]))
    except (KeyError, ValueError, TypeError):
        return {}


def spec_of(ds: Any) -> dict[str, Any]:
    """The spec the store was written from (attr ``spec``), as a dict; {} when absent."""
    try:
        return dict(json.loads(ds.attrs["spec"]))
    except (KeyError, ValueError, TypeError):
        return {}


def sampler_of(ds: Any) -> tuple[str, dict[str, Any]]:
    key = _key(ds)
    name = str(ds.attrs.get("sampler", key.get("sampler", "")))
    return name, dict(key.get("sampler_options", {}) or {})


def param_names(ds: Any) -> list[str]:
    """The drawn parameters, in the order of the design's columns."""
    names = list(_key(ds).get("parameters_sampled", []))
    if not names:
        names = [str(c) for c in ds.coords if c not in ("draw", "time") and ds[c].dims == ("draw",)]
    return [n for n in names if n in ds.variables]


def param_range(ds: Any, name: str) -> tuple[float, float, bool]:
    """(low, high, log) of a drawn parameter: from its distribution when bounded, else its data range."""
    dist: dict[str, Any] = {}
    try:
        dist = json.loads(ds[name].attrs.get("distribution", "{}"))
    except (ValueError, TypeError):
        dist = {}
    kind = dist.get("dist")
    if kind in ("uniform", "loguniform", "truncnormal", "triangular", "beta") and "low" in dist:
        lo, hi = float(dist.get("low", 0.0)), float(dist.get("high", 1.0))
        return lo, hi, kind == "loguniform"
    lo, hi = float(ds[name].min().values), float(ds[name].max().values)
    return lo, hi, False


def columns(ds: Any, names: list[str]) -> np.ndarray:
    """The ``(draw,)`` variables ``names`` as the columns of one float array, read in one dask pass."""
    data = [ds[n].data for n in names]
    if any(hasattr(d, "dask") for d in data):
        import dask

        data = list(dask.compute(*data))
    return np.column_stack([np.asarray(d, dtype=float) for d in data])


def outcome(ds: Any, name: str) -> Any:
    """The DataArray ``name`` (an outcome, a stored series or a parameter), or AnalysisError naming the
    choices."""
    if name in ds.variables and name not in ("draw", "time"):
        return ds[name]
    import difflib

    choices = [str(v) for v in ds.variables if v not in ("draw", "time")]
    near = difflib.get_close_matches(name, choices, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else f" (it holds: {', '.join(choices)})"
    raise AnalysisError(f"{name!r} is not a variable of the store{hint}")


def condition(ds: Any, expr: str) -> Any:
    """A boolean DataArray (lazy where the store is) from ``expr``, a condition of sd's one condition
    language (:mod:`sd.conditions`, the same as a sweep's checks and ``first_time`` outcomes): names of the
    store's variables (outcomes, series, parameters; spaces allowed, quote them when in doubt), numbers,
    ``+ - * / **``, comparisons, ``and`` / ``&`` / ``or`` / ``|`` / ``not`` and parentheses. NaN compares
    false, so ``year debt closes <= 2028`` is false where the debt never closes. Example:
    ``debt held by public 2028 < initial debt held by public``."""
    from sd.conditions import compile_condition

    if not isinstance(expr, str) or not expr.strip():
        raise AnalysisError("condition: expected an expression such as 'debt ratio 2028 < 1'")
    names = [str(v) for v in ds.variables if v not in ("draw", "time")]
    try:
        cond = compile_condition(expr, names, of="the store")
    except ValueError as err:
        raise AnalysisError(f"condition: {err}") from None
    result = cond.evaluate({name: ds[name] for name in cond.names})
    result.name = expr
    return result
