"""Comparing two runs (or two sweep stores) value by value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["assert_runs_close"]


def assert_runs_close(
    a: Any,
    b: Any,
    *,
    rtol: float = 0.0,
    names: Iterable[str] | None = None,
    attrs: Iterable[str] = (),
) -> None:
    """Assert that two Datasets (``Model.run`` results or opened stores) hold the same values.

    ``rtol=0`` (default): the same variables, sizes and dtypes, bit for bit (NaN equal to NaN).
    ``rtol>0``: each of ``names`` (default: every data variable of ``a``) equal to ``rtol`` relative,
    or to ``rtol`` of the series' largest value along its last axis where a value is ~0 by
    cancellation; NaN and inf in the same places. ``attrs``: attributes that must be equal too.
    """
    if hasattr(a, "load"):
        a, b = a.load(), b.load()
    for key in attrs:
        assert a.attrs[key] == b.attrs[key], f"attribute {key!r} differs"
    if rtol == 0:
        _assert_identical(a, b, names)
        return
    for name in names if names is not None else list(a.data_vars):
        _assert_close(name, np.asarray(a[name].values, float), np.asarray(b[name].values, float), rtol)


def _assert_identical(a: Any, b: Any, names: Iterable[str] | None) -> None:
    if names is None:
        assert sorted(map(str, a.variables)) == sorted(map(str, b.variables)), "variables differ"
        assert dict(a.sizes) == dict(b.sizes), "sizes differ"
        names = list(a.variables)
    for name in names:
        x, y = np.asarray(a[name].values), np.asarray(b[name].values)
        assert x.dtype == y.dtype, f"{name}: dtype {x.dtype} != {y.dtype}"
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"{name}: values differ"


def _assert_close(name: str, x: np.ndarray, y: np.ndarray, rtol: float) -> None:
    assert x.shape == y.shape, f"{name}: shape {x.shape} != {y.shape}"
    np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=f"{name}: NaN positions")
    finite = np.isfinite(x)
    np.testing.assert_array_equal(x[~finite], y[~finite], err_msg=f"{name}: inf values")
    x0, y0 = np.where(finite, x, 0.0), np.where(finite, y, 0.0)
    scale = np.max(np.abs(x0), axis=-1, keepdims=True) if x0.ndim else np.abs(x0)
    diff = np.abs(x0 - y0)
    bound = rtol * np.maximum(np.abs(x0), scale)
    worst = float(np.max(diff / np.where(bound > 0, bound / rtol, 1.0), initial=0.0))
    assert (diff <= bound).all(), f"{name}: differs by {worst:.2e} relative"
