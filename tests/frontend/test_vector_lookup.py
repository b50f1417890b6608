"""VECTOR LOOKUP(vec[first element], x, xmin, xmax, mode), against values derived by hand from Vensim's
documentation (fn_vector_lookup): the y values are vec along its last subscript, at n equally spaced x
from xmin to xmax (n - 1 equal intervals); mode 0 is a normal lookup (linear between points, the end
values held outside), 2 LOOKUP BACKWARD (the y of the last point at or before x), 3 LOOKUP EXTRAPOLATE
(the end segments extended), 4 LOOKUP FORWARD (the y of the first point at or after x). The other modes
are refused by name. A public model that uses it: Tom Fiddaman's InterpolatingArrays.mdl (metasd.com;
bpowers/simlin test/metasd/interpolating-arrays), whose use (vec[i1], a mode constant 'type') the model
below follows with its own numbers.

vec = 2, 1, 3, 5, 4 at x = 0, 0.25, 0.5, 0.75, 1; x = (Time - 2) / 16 runs from -0.125 to 1.125 in
steps of 1/16 (every value and point exact in binary), through each point every 4 steps."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import sd
from sd.backends import fused
from sd.testing.cuda import nvcc_ptx

BODY = """
i: (i1-i5) ~~|
r: (r1-r2) ~~|
v[i] = 2,1,3,5,4 ~~|
x = (Time - 2) / 16 ~~|
type = 2 ~~|
normal = VECTOR LOOKUP(v[i1], x, 0, 1, 0) ~~|
backward = VECTOR LOOKUP(v[i1], x, 0, 1, type) ~~|
extrapolate = VECTOR LOOKUP(v[i1], x, 0, 1, 3) ~~|
forward = VECTOR LOOKUP(v[i1], x, 0, 1, 4) ~~|
k = 1 ~~|
xmax = 1 ~~|
scaled[i] = v[i] * k * (1 + Time / 10) ~~|
moving = VECTOR LOOKUP(scaled[i1], x, 0, xmax, 0) ~~|
tab[r, i] = 2,1,3,5,4; 10,20,30,40,50; ~~|
rows[r] = VECTOR LOOKUP(tab[r, i1], x, 0, 1, 0) ~~|
"""

POINTS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
V = np.array([2.0, 1.0, 3.0, 5.0, 4.0])
T = np.arange(21.0)
X = (T - 2) / 16
# LOOKUP BACKWARD: x < 0 holds 2; [0, .25) 2, [.25, .5) 1, [.5, .75) 3, [.75, 1) 5, x >= 1: 4
BACKWARD = [2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 4, 4, 4]
# LOOKUP FORWARD: x <= 0 gives 2; (0, .25] 1, (.25, .5] 3, (.5, .75] 5, (.75, 1] 4, x > 1 holds 4
FORWARD = [2, 2, 2, 1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4]

BACKENDS = ["numpy", pytest.param("fused", marks=pytest.mark.skipif(
    not fused.available("c"), reason="no C compiler"))]  # fmt: skip


def normal(x, points=POINTS, v=V):
    """The normal lookup between the points: linear, the end values held."""
    return np.interp(x, points, v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_modes_0_2_3_4(write_mdl, backend: str) -> None:
    model = sd.load(write_mdl(BODY, final=20, dt=1))
    ds = model.run(backend=backend)
    assert ds.attrs["backend"].startswith(backend)
    np.testing.assert_allclose(ds["normal"].values[0], normal(X), rtol=1e-15)
    assert ds["normal"].values[0][[0, 6, 10, 20]].tolist() == [2.0, 1.0, 3.0, 4.0]
    np.testing.assert_array_equal(ds["backward"].values[0], BACKWARD)
    np.testing.assert_array_equal(ds["forward"].values[0], FORWARD)
    # the end segments extended: slope (1 - 2) / 0.25 = -4 below 0, (4 - 5) / 0.25 = -4 above 1
    extra = normal(X)
    extra[:2] = 2 - 4 * X[:2]  # 2.5, 2.25
    extra[-2:] = 4 - 4 * (X[-2:] - 1)  # 3.75, 3.5
    np.testing.assert_allclose(ds["extrapolate"].values[0], extra, rtol=1e-15)
    assert ds["extrapolate"].values[0][[0, 20]].tolist() == [2.5, 3.5]
    # a two-dimensional vec: each row r is a lookup along i
    rows = ds["rows"].transpose("draw", "r", "time").sel(r=["r1", "r2"]).values[0]
    np.testing.assert_allclose(rows[0], normal(X), rtol=1e-15)
    np.testing.assert_allclose(rows[1], normal(X, v=np.array([10.0, 20, 30, 40, 50])), rtol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vector_and_range_that_change_over_time_and_draws(write_mdl, backend: str) -> None:
    model = sd.load(write_mdl(BODY, final=20, dt=1))
    k, xmax = np.array([1.0, 2.0, 0.5]), np.array([1.0, 0.5, 2.0])
    ds = model.run({"k": k, "xmax": xmax}, backend=backend)
    for d in range(3):
        points = POINTS * xmax[d]  # 5 points from 0 to xmax
        expected = normal(X, points, V) * k[d] * (1 + T / 10)
        np.testing.assert_allclose(ds["moving"].values[d], expected, rtol=1e-13)


def test_numpy_and_fused_agree(write_mdl) -> None:
    if not fused.available("c"):
        pytest.skip("no C compiler")
    # TIME STEP 0.37: x never lands on a point, where the last bit of a float32 time (which the two
    # backends accumulate differently) would decide between two y values of BACKWARD or FORWARD
    model = sd.load(write_mdl(BODY, final=20, dt=0.37))
    p = {"k": np.array([1.0, 1.7, 0.3]), "xmax": np.array([1.0, 0.9, 1.3])}
    for dtype in ("float64", "float32"):
        a = model.run(p, dtype=dtype)
        b = model.run(p, dtype=dtype, backend="fused")
        assert b.attrs["backend"] == "fused-cpu"
        names = ["normal", "backward", "extrapolate", "forward", "moving", "rows"]
        for name in names:
            np.testing.assert_allclose(a[name].values, b[name].values,
                                       rtol=1e-12 if dtype == "float64" else 1e-6)  # fmt: skip


def test_the_mode_is_structural(write_mdl) -> None:
    model = sd.load(write_mdl(BODY, final=20, dt=1))
    assert model.ir.names["type"] in model.ir.structural
    with pytest.raises(sd.ParamError, match=r"'type' fixes the model's structure at load"):
        model.run({"type": 3})
    with pytest.raises(sd.ParamError, match=r"'type' sets the model's time grid or shape"):
        model.run({"type": np.array([2.0, 3.0])})


@pytest.mark.parametrize(
    ("equation", "match"),
    [
        ("VECTOR LOOKUP(v[i1], x, 0, 1, 1)", r"VECTOR LOOKUP mode 1 \(LOOKUP AREA"),
        ("VECTOR LOOKUP(v[i1], x, 0, 1, 5)", r"VECTOR LOOKUP mode 5 \(LOOKUP INVERT"),
        ("VECTOR LOOKUP(v[i1], x, 0, 1, 9)", r"VECTOR LOOKUP mode 9 \(LOOKUP SLOPE with extrap"),
        ("VECTOR LOOKUP(v[i2], x, 0, 1, 0)", r"VECTOR LOOKUP of 'v\[i2\]', which does not start at the first"),
        ("VECTOR LOOKUP(v[i1], x, 0, 1, Time)", r"a VECTOR LOOKUP mode that changes over time"),
    ],
)
def test_refused_by_name(write_mdl, equation: str, match: str) -> None:
    body = "i: (i1-i5) ~~|\nv[i] = 2,1,3,5,4 ~~|\nx = Time ~~|\nout = " + equation + " ~~|\n"
    with pytest.raises(sd.UnsupportedFeatureError, match=r"m\.mdl:5 variable 'out': " + match):
        sd.load(write_mdl(body))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc")
def test_cuda_source_compiles(write_mdl, tmp_path) -> None:
    """The fused CUDA kernel (double and float) compiles to PTX with the options sd's NVRTC uses."""
    model = sd.load(write_mdl(BODY, final=6, dt=1))
    for dtype in ("float64", "float32"):
        source = model.kernel_source("cuda", dtype=dtype)
        assert "sd_vector_lookup(" in source
        nvcc_ptx(source, tmp_path / f"k_{dtype}.cu")
