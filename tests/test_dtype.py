"""Model.run(dtype=...): float64 (default, unchanged) and float32 on the numpy and fused backends.

float32 is compared with float64 by the error relative to the series' scale: |x32 - x64| / max_t |x64|,
per draw and output (a difference of two large stocks, e.g. the primary balance, has no meaningful
pointwise relative error). The tolerances are those documented in docs/performance.md ("float32").
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from model_texts import LOOKUP_BODY, STATEFUL_BODY, TEACUP_BODY

import sd
from sd.backends import fused
from sd.testing.cuda import nvcc_ptx

MDL = Path(__file__).resolve().parents[1] / "models" / "productivity_deflation.mdl"
TEACUP_RTOL = 1e-5  # pointwise relative: teacup is a smooth decay, no cancellation
MISSION_SCALE_TOL = 5e-3  # of the series scale; measured max ~1.2e-3 (avg interest rate)
needs_cc = pytest.mark.skipif(not fused.available("c"), reason="no C compiler")


def scale_error(x32: np.ndarray, x64: np.ndarray, floor: float = 0.0) -> float:
    """max over draws and times of |x32 - x64| / max(max_t |x64|, floor) (NaN where both are NaN
    ignored)."""
    x32 = np.asarray(x32, dtype=np.float64).reshape(x64.shape[0], x64.shape[1], -1)
    x64 = x64.reshape(x32.shape)
    scale = np.maximum(np.nanmax(np.abs(x64), axis=1, keepdims=True), floor)
    err = np.abs(x32 - x64) / np.where(scale > 0, scale, 1.0)
    assert np.array_equal(np.isnan(x32), np.isnan(x64))
    return float(np.nanmax(err)) if err.size else 0.0


@pytest.fixture(scope="module")
def mission() -> sd.Model:
    return sd.load(MDL)


@pytest.fixture(scope="module")
def mission_draws(mission) -> dict[str, np.ndarray]:
    """300 draws of every ranged constant (as tests/models/test_mission_model_sd.py draws them)."""
    rng = np.random.default_rng(7)
    params = {}
    for name, var in mission.constants.items():
        lo, hi = (var.limits or (None, None, None))[:2]
        if lo is not None and hi is not None and lo < hi:
            params[name] = rng.uniform(lo, hi, 300)
    return params


@pytest.fixture
def teacup(write_mdl) -> sd.Model:
    return sd.load(write_mdl(TEACUP_BODY, name="teacup.mdl"))


def _fraction_floor(var) -> float:
    """A gap or growth rate near zero (ln(MV/PY), d ln V/dt) cancels in float32: fractions and
    fractional rates are judged against a scale of at least 1 (an absolute error of 5e-3 points)."""
    units = var.attrs.get("units", "").lower().replace(" ", "")
    return 1.0 if units in ("dmnl", "1", "1/year", "dmnl/year") else 0.0


def run(model: sd.Model, params, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return model.run(params, **kw)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("fused", marks=needs_cc)])
def test_float64_default_is_bit_for_bit_unchanged(teacup, mission, mission_draws, backend) -> None:
    ct = {"Characteristic Time": np.linspace(5, 15, 64)}
    for model, params in ((teacup, ct), (mission, mission_draws)):
        plain = run(model, params, backend=backend)
        for dtype in ("float64", np.float64, np.dtype("float64")):
            ds = run(model, params, backend=backend, dtype=dtype)
            assert ds.attrs["dtype"] == "float64"
            for v in plain.data_vars:
                assert ds[v].dtype == np.float64
                np.testing.assert_array_equal(ds[v].values, plain[v].values, err_msg=str(v))
        assert plain.attrs["dtype"] == "float64"


@pytest.mark.parametrize("backend", ["numpy", pytest.param("fused", marks=needs_cc)])
def test_float32_teacup(teacup, backend) -> None:
    ct = {"Characteristic Time": np.linspace(5, 15, 200)}
    ref = run(teacup, ct, backend=backend)
    ds = run(teacup, ct, backend=backend, dtype="float32")
    assert ds.attrs["dtype"] == "float32"
    assert ds.attrs["backend"] == ("numpy" if backend == "numpy" else "fused-cpu")
    np.testing.assert_array_equal(ds["time"].values, ref["time"].values)  # same time points
    for v in ref.data_vars:
        assert ds[v].dtype == np.float32, v
        np.testing.assert_allclose(ds[v].values, ref[v].values, rtol=TEACUP_RTOL, err_msg=str(v))


@pytest.mark.parametrize("backend", ["numpy", pytest.param("fused", marks=needs_cc)])
def test_float32_mission_close_to_float64(mission, mission_draws, backend) -> None:
    ref = run(mission, mission_draws, backend=backend)
    ds = run(mission, mission_draws, backend=backend, dtype=np.float32)
    assert ds.attrs["dtype"] == "float32"
    np.testing.assert_array_equal(ds["time"].values, ref["time"].values)
    for v in ref.data_vars:
        assert ds[v].dtype == np.float32, v
        assert (
            scale_error(ds[v].values, ref[v].values, _fraction_floor(ref[v])) < MISSION_SCALE_TOL
        ), v


@needs_cc
def test_fused_float32_close_to_numpy_float32(mission, mission_draws) -> None:
    a = run(mission, mission_draws, dtype="float32")
    b = run(mission, mission_draws, backend="fused", dtype="float32")
    ref = run(mission, mission_draws)
    for v in a.data_vars:
        # both float32 results against float64's scale (float32's own scale can round to 0)
        floor = _fraction_floor(ref[v])
        diff = scale_error(b[v].values, ref[v].values.astype(np.float64), floor)
        assert diff < MISSION_SCALE_TOL, v
        x = a[v].values.astype(np.float64)
        scale = np.maximum(np.abs(ref[v].values).max(axis=1, keepdims=True), floor)
        rel = np.abs(b[v].values - x) / np.where(scale > 0, scale, 1.0)
        assert np.nanmax(rel) < MISSION_SCALE_TOL, v


@needs_cc
def test_float32_kernel_source(mission) -> None:
    src = mission.kernel_source("c", ["debt to GDP ratio"], dtype="float32")
    assert "float v_" in src and "double v_" not in src and "sd_vexpf" in src
    cuda = mission.kernel_source("cuda", ["debt to GDP ratio"], dtype="float32")
    assert "const float* pv" in cuda and "expf(x[l])" in cuda
    assert mission.kernel_source("c", ["debt to GDP ratio"]) != src


def test_float32_outcomes(mission, mission_draws) -> None:
    if not fused.available("c"):
        pytest.skip("no C compiler")
    oc = [sd.Outcome("final", "debt to GDP ratio")]
    a = mission.run(mission_draws, outcomes=oc, backend="fused")
    b = mission.run(mission_draws, outcomes=oc, backend="fused", dtype="float32")
    label = oc[0].label
    assert b[label].dtype == np.float32
    np.testing.assert_allclose(b[label], a[label], rtol=1e-3)


@pytest.mark.parametrize("bad", ["float16", "double", "f8", np.int32, 32])
def test_bad_dtype_names_the_choices(teacup, bad) -> None:
    with pytest.raises(sd.ParamError) as err:
        teacup.run({"Characteristic Time": 10.0}, dtype=bad)
    msg = str(err.value)
    assert "unknown dtype" in msg and "'float64'" in msg and "'float32'" in msg
    assert "teacup.mdl" in msg


FIXED = "out = DELAY FIXED(Time * 2, lag, -1)\n\t~\t\n\t~\t|\n\nlag = 1\n\t~\t\n\t~\t|\n"


@needs_cc
@pytest.mark.parametrize(
    "body", [STATEFUL_BODY, LOOKUP_BODY, FIXED], ids=["stateful", "lookup", "fixed"]
)
def test_fused_float32_builtins_match_numpy_float32(write_mdl, body) -> None:
    """Delays, smooths, lookups and DELAY FIXED in float32: fused against numpy float32."""
    model = sd.load(write_mdl(body))
    a = run(model, None, draws=40, dtype="float32")
    b = run(model, None, draws=40, dtype="float32", backend="fused")
    ref = run(model, None, draws=40)
    for v in ref.data_vars:
        assert a[v].dtype == b[v].dtype == np.float32, v
        assert scale_error(a[v].values, ref[v].values) < 1e-5, v
        assert scale_error(b[v].values, ref[v].values) < 1e-5, v


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_float32_cuda_sources_compile_with_nvcc(write_mdl, mission, tmp_path) -> None:
    models = {"mission": mission, "lookup": sd.load(write_mdl(LOOKUP_BODY, name="lookup.mdl")),
              "fixed": sd.load(write_mdl(FIXED, name="fixed.mdl"))}  # fmt: skip
    for name, model in models.items():
        nvcc_ptx(model.kernel_source("cuda", dtype="float32"), tmp_path / f"{name}32.cu")
