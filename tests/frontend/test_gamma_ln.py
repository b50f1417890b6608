"""GAMMA LN (Vensim's log-gamma: ln of the gamma function), against Vensim's own output and closed forms.

The first model is SDEverywhere's models/gamma_ln/gamma_ln.mdl (climateinteractive/SDEverywhere, MIT
licence), its three equations written out here; the expected values are Vensim's, from that
repository's models/gamma_ln/gamma_ln.dat (6 significant digits as Vensim writes them): a = 12.8018,
b = 0.572365, c = -3.41362e-11 (Vensim's own approximation of ln Gamma(1) = 0).

The second model reads GAMMA LN over time and per draw, checked against closed forms of the gamma
function: Gamma(n) = (n - 1)! for whole n, Gamma(1/2) = sqrt(pi), Gamma(x + 1) = x Gamma(x)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.backends import fused
from sd.testing.cuda import nvcc_ptx

SDE_GAMMA_LN = """{UTF-8}
a = GAMMA LN(10) ~~|
b = GAMMA LN(0.5) ~~|
c = GAMMA LN(1) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 1 ~~|
TIME STEP = 1 ~~|
SAVEPER = TIME STEP ~~|
"""
# Vensim's values in SDEverywhere's gamma_ln.dat (times 0 and 1 alike)
VENSIM = {"a": 12.8018, "b": 0.572365, "c": -3.41362e-11}

BACKENDS = ["numpy", pytest.param("fused", marks=pytest.mark.skipif(
    not fused.available("c"), reason="no C compiler"))]  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_gamma_ln_matches_vensim(tmp_path: Path, backend: str) -> None:
    p = tmp_path / "gamma_ln.mdl"
    p.write_text(SDE_GAMMA_LN)
    ds = sd.load(p).run(backend=backend)
    assert ds.attrs["backend"].startswith(backend)
    for name in ("a", "b"):
        np.testing.assert_allclose(ds[name].values[0], VENSIM[name], rtol=5e-6)  # 6 digits written
    np.testing.assert_allclose(ds["c"].values[0], VENSIM["c"], atol=1e-10)


OVER_TIME = """
whole = GAMMA LN(Time + 1) ~~|
half = GAMMA LN(Time + 0.5) ~~|
x = 3 ~~|
drawn = GAMMA LN(x) ~~|
pole = GAMMA LN(0) ~~|
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_gamma_ln_over_time_and_draws(write_mdl, backend: str) -> None:
    model = sd.load(write_mdl(OVER_TIME, final=6, dt=1))
    xs = np.array([1.0, 2.0, 4.0, 5.0, 0.5])
    ds = model.run({"x": xs}, backend=backend)
    t = ds["time"].values
    factorial = np.array([float(math.factorial(int(k))) for k in t])
    np.testing.assert_allclose(ds["whole"].values[0], np.log(factorial), rtol=1e-12, atol=1e-14)
    # Gamma(k + 1/2) = sqrt(pi) * (1/2)(3/2)...(k - 1/2)
    half = np.array([math.sqrt(math.pi) * math.prod(j + 0.5 for j in range(int(k))) for k in t])
    np.testing.assert_allclose(ds["half"].values[0], np.log(half), rtol=1e-12)
    expected = np.log([1.0, 1.0, 6.0, 24.0, math.sqrt(math.pi)])  # (x - 1)!, and Gamma(1/2)
    np.testing.assert_allclose(ds["drawn"].values[:, 0], expected, rtol=1e-12, atol=1e-14)
    assert np.all(np.isposinf(ds["pole"].values))  # Gamma has a pole at 0


def test_numpy_and_fused_agree_in_float32(write_mdl) -> None:
    if not fused.available("c"):
        pytest.skip("no C compiler")
    model = sd.load(write_mdl(OVER_TIME, final=6, dt=1))
    xs = np.array([1.5, 2.5, 7.0])
    a = model.run({"x": xs}, dtype="float32")
    b = model.run({"x": xs}, dtype="float32", backend="fused")
    for name in ("whole", "half", "drawn"):
        assert a[name].dtype == np.float32 and b[name].dtype == np.float32
        np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-6)
    np.testing.assert_allclose(b["drawn"].values[:, 0], np.log([math.sqrt(math.pi) / 2,
                                                                  3 * math.sqrt(math.pi) / 4,
                                                                  720.0]), rtol=1e-6)  # fmt: skip


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")
def test_cuda_source_compiles(write_mdl, tmp_path) -> None:
    """The fused CUDA kernel (double and float) compiles to PTX with the options sd's NVRTC uses."""
    model = sd.load(write_mdl(OVER_TIME, final=6, dt=1))
    for dtype in ("float64", "float32"):
        source = model.kernel_source("cuda", dtype=dtype)
        assert "lgamma" in source
        nvcc_ptx(source, tmp_path / f"k_{dtype}.cu")
