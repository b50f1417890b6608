"""A sweep's result does not depend on the backend that ran its chunks (numpy vs fused CPU)."""

from __future__ import annotations

import numpy as np
import pytest

import sd


def test_numpy_and_fused_sweeps_agree(teacup_dir) -> None:
    spec = teacup_dir / "spec.toml"
    a = sd.sweep(spec, store="numpy.zarr", scheduler="sync", backend="numpy").load()
    try:
        b = sd.sweep(spec, store="fused.zarr", scheduler="sync", backend="fused").load()
    except sd.BackendUnavailableError:
        pytest.skip("no C compiler for the fused backend here")
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        if x.dtype.kind == "f":
            scale = np.nanmax(np.abs(x), initial=0.0)
            np.testing.assert_allclose(
                y, x, rtol=1e-12, atol=1e-12 * (1 + scale), err_msg=str(name)
            )
        else:
            np.testing.assert_array_equal(y, x, err_msg=str(name))
    # the drawn parameters are the same values: they depend on (seed, draw index, spec) only
    np.testing.assert_array_equal(a["Characteristic Time"].values, b["Characteristic Time"].values)
