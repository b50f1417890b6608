"""The fused backend's CPU build against the numpy backend: corpus, mission model, stateful builtins."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from model_texts import LOOKUP_BODY, STATEFUL_BODY, TEACUP_BODY

import sd
from sd import Outcome
from sd.backends import fused
from sd.backends.fused import FusedUnsupportedError
from sd.simulate import Grid
from sd.testing import assert_runs_close
from sd.testing.corpus import EXPECTED, corpus_cases, corpus_root
from sd.testing.cuda import nvcc_ptx

ROOT = Path(__file__).resolve().parents[2]
MISSION = ROOT / "models" / "productivity_deflation.mdl"
RTOL = 1e-12

pytestmark = pytest.mark.skipif(not fused.available("c"), reason="no C compiler")


def assert_same(a, b, names=None) -> None:
    """Equal to 1e-12 relative, or to 1e-12 of the series' largest value where a value is ~0 by
    cancellation (numpy's SIMD exp/log, libm's and sd's vectorised exp/log/pow differ in the last bit
    for a few % of arguments; every other operation rounds identically)."""
    assert_runs_close(a, b, rtol=RTOL, names=names)


@pytest.fixture(scope="module")
def mission() -> sd.Model:
    return sd.load(MISSION)


# -- small models -----------------------------------------------------------------------------------
def test_stateful_builtins_equal_numpy(write_mdl) -> None:
    model = sd.load(write_mdl(STATEFUL_BODY, final=12, dt=0.25, name="stateful.mdl"))
    rng = np.random.default_rng(3)
    n = 37  # not a multiple of the kernel's 32 lanes
    params = {"k": rng.uniform(1, 5, n), "delay time": rng.uniform(0.1, 4, n)}
    a = model.run(params)
    for threads in ("1", "3"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SD_THREADS", threads)
            b = model.run(params, backend="fused")
        assert b.attrs["backend"] == "fused-cpu"
        assert_same(a, b)
    c = model.run(params, backend="auto")
    assert c.attrs["backend"] == "fused-cpu"
    np.testing.assert_array_equal(c["delayn"].values, b["delayn"].values)


def test_delay3_with_short_delay_times_per_draw(write_mdl) -> None:
    body = "out = DELAY3(Time, dly)\n\t~\t\n\t~\t|\n\ndly = 2\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, final=8, dt=1, name="order.mdl"))
    p = {"dly": np.array([2.0, 5.0, 0.5, 3.0])}  # 3 * dt > dly for two draws (Vensim: order kept)
    assert_same(model.run(p), model.run(p, backend="fused"))


def test_delay_fixed_ring_buffer_per_draw(write_mdl) -> None:
    body = "out = DELAY FIXED(Time * 2, lag, -1)\n\t~\t\n\t~\t|\n\nlag = 1\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, final=5, dt=0.5, name="fixed.mdl"))
    lags = np.array([1.0, 2.0, 0.2, 0.75, 1.25] * 7)  # 35 draws, rings of 1 to 4 slots
    a, b = model.run({"lag": lags}), model.run({"lag": lags}, backend="fused")
    np.testing.assert_array_equal(a["out"].values, b["out"].values)
    t = b["time"].values
    for d, lag in enumerate(lags[:5]):
        steps = max(int(np.round(lag / 0.5 + 1e-6)), 1)  # 1.25 / 0.5 -> 3 slots
        expected = np.where(t >= steps * 0.5 - 1e-9, 2 * (t - steps * 0.5), -1.0)
        np.testing.assert_allclose(b["out"].values[d], expected)
    # a scalar delay time: one ring size for every draw
    np.testing.assert_array_equal(
        model.run({"lag": 1.5}, draws=3)["out"].values,
        model.run({"lag": 1.5}, draws=3, backend="fused")["out"].values,
    )


def test_sample_if_true_holds_the_last_sample(write_mdl) -> None:
    body = (
        "out = SAMPLE IF TRUE(MODULO(Time, period) = 0, Time * 10, -5)\n\t~\t\n\t~\t|\n\n"
        "period = 2\n\t~\t\n\t~\t|\n"
    )
    model = sd.load(write_mdl(body, final=6, dt=1, name="sample.mdl"))
    ds = model.run({"period": np.array([2.0, 3.0])}, backend="fused")
    np.testing.assert_array_equal(ds["out"].values[0], [0, 0, 20, 20, 40, 40, 60])
    np.testing.assert_array_equal(ds["out"].values[1], [0, 0, 0, 30, 30, 30, 60])


def test_lookups_shared_replaced_and_per_draw(write_mdl) -> None:
    model = sd.load(write_mdl(LOOKUP_BODY, name="lk.mdl"))
    assert_same(model.run(), model.run(backend="fused"))
    p = {"tab": ([0, 10], [0, 20])}
    assert_same(model.run(p), model.run(p, backend="fused"))
    ys = np.array([[0.0, 20.0, 5.0], [10.0, 10.0, 10.0], [5.0, -5.0, 7.0]])
    for xs in ([0.0, 4.0, 10.0], [1.0, 2.0, 3.0]):
        p = {"tab": (xs, ys)}
        a, b = model.run(p), model.run(p, backend="fused")
        np.testing.assert_array_equal(a["effect"].values, b["effect"].values)


def test_min_max_propagate_nan_and_division_by_zero(write_mdl) -> None:
    body = (
        "ratio = x / y\n\t~\t\n\t~\t|\n\nx = 0\n\t~\t\n\t~\t|\n\ny = 1\n\t~\t\n\t~\t|\n\n"
        "lo = MIN(ratio, 3) + MAX(2, ratio) + XIDZ(x, y, 7) + ZIDZ(x, y)\n\t~\t\n\t~\t|\n\n"
        "s = INTEG(lo, 1)\n\t~\t\n\t~\t|\n"
    )
    model = sd.load(write_mdl(body, name="nan.mdl"))
    p = {"x": np.array([0.0, 1.0, -1.0, 5.0]), "y": np.array([0.0, 0.0, 0.0, 2.0])}
    a, b = model.run(p), model.run(p, backend="fused")
    assert np.isnan(a["lo"].values[0]).all() and np.isinf(a["ratio"].values[1]).all()
    assert_same(a, b)


def test_kernel_source_for_both_targets(write_mdl) -> None:
    model = sd.load(write_mdl(TEACUP_BODY, name="teacup.mdl"))
    c = model.kernel_source("c", ["Teacup Temperature"])
    cuda = model.kernel_source("cuda", ["Teacup Temperature"])
    assert "sd_run(" in c and "__global__" not in c
    assert "__global__ void sd_kernel(" in cuda
    assert model.kernel_source("c", ["Teacup Temperature"]) == c  # deterministic: one cache entry
    # the same body in both
    body = c[c.index("SD_FN void sd_block") : c.index("#if defined(_WIN32)")]
    assert body in cuda
    with pytest.raises(ValueError, match="Unknown target 'ptx'"):
        model.kernel_source("ptx")


def test_auto_falls_back_when_fusion_is_unavailable(write_mdl, monkeypatch) -> None:
    body = TEACUP_BODY + "\nroot = SQRT(Teacup Temperature)\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, name="fallback.mdl"))
    from sd.backends.fused import codegen

    monkeypatch.delitem(codegen.C_FUNCTIONS, "sqrt")
    with pytest.raises(FusedUnsupportedError, match=r"fallback\.mdl \(variable 'root'\).*SQRT"):
        model.run(backend="fused")
    ds = model.run(backend="auto")
    assert ds.attrs["backend"] == "numpy"
    assert isinstance(FusedUnsupportedError("x"), sd.SDError)
    monkeypatch.undo()
    from sd.backends.fused import cpu

    monkeypatch.setattr(cpu, "compiler", lambda: None)
    model2 = sd.load(write_mdl(TEACUP_BODY, name="nocc.mdl"))
    assert model2.run(backend="auto").attrs["backend"] == "numpy"
    with pytest.raises(sd.BackendUnavailableError, match="needs a C compiler"):
        model2.run(backend="fused")


def test_outcomes_reduced_in_the_kernel(write_mdl) -> None:
    model = sd.load(write_mdl(STATEFUL_BODY, final=12, dt=0.25, saveper=0.5, name="oc.mdl"))
    rng = np.random.default_rng(5)
    n = 21
    params = {"k": rng.uniform(1, 5, n), "delay time": rng.uniform(0.5, 4, n)}
    ident = model.resolve("delay3")
    ocs = [Outcome("final", ident), Outcome("at", ident, time=6.5), Outcome("min", ident),
           Outcome("max", ident), Outcome("mean", ident),
           Outcome("first", ident, op=">", value=9.0), Outcome("first", ident, op="<", value=-99)]  # fmt: skip
    got = model.run(params, outputs=["delay3"], outcomes=ocs, backend="fused")
    assert got.attrs["backend"] == "fused-cpu"
    series = model.run(params, outputs=["delay3"])["delay3"]
    x = series.values
    np.testing.assert_array_equal(got["delay3"].values, x)
    np.testing.assert_array_equal(got[ocs[0].label].values, x[:, -1])
    np.testing.assert_array_equal(got[ocs[1].label].values, series.sel(time=6.5).values)
    np.testing.assert_array_equal(got[ocs[2].label].values, x.min(axis=1))
    np.testing.assert_array_equal(got[ocs[3].label].values, x.max(axis=1))
    np.testing.assert_allclose(got[ocs[4].label].values, x.mean(axis=1), rtol=1e-13)
    t = series["time"].values
    hit = x > 9.0
    first = np.where(hit.any(axis=1), t[np.argmax(hit, axis=1)], np.nan)
    np.testing.assert_array_equal(got[ocs[5].label].values, first)
    assert np.isnan(got[ocs[6].label].values).all()
    # the numpy backend reduces the saved series the same way
    on_numpy = model.run(params, outcomes=ocs)
    for oc in ocs:
        np.testing.assert_allclose(on_numpy[oc.label].values, got[oc.label].values, rtol=1e-13)
    for backend in ("fused", "numpy"):
        with pytest.raises(ValueError, match="not a saved time"):
            model.run(params, outcomes=[Outcome("at", ident, time=6.25)], backend=backend)
    with pytest.raises(ValueError, match="Unknown outcome kind 'median'"):
        Outcome("median", ident)


# -- the corpus ---------------------------------------------------------------------------------------
_root = corpus_root()
CASES = [
    c for c in (corpus_cases(_root) if _root else [])
    if c.output is not None and EXPECTED.get(c.name, ("",))[0] != "unsupported"
]  # fmt: skip


# What the fused generator refuses (FusedUnsupportedError; backend="auto" runs numpy instead).
NOT_FUSED = {
    "lookup mode": "data variables held backward/forward or raw (GET DATA, :INTERPOLATE: modes)",
    # builtins the array runtime implements over whole arrays (RANDOM with per-draw seeded streams,
    # ALLOCATE AVAILABLE / BY PRIORITY, INVERT MATRIX, VECTOR SELECT, ...): IR calls named '_...'
    "function _": "array-runtime builtins",
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_model_fused_equals_numpy(case) -> None:
    model = sd.load(case.mdl, data_files=list(case.data_files) or None)
    a = model.run(draws=2)
    try:
        b = model.run(draws=2, backend="fused")
    except (FusedUnsupportedError, sd.BackendUnavailableError) as err:
        message = str(err)
        assert case.mdl.name in message
        assert any(key in message for key in NOT_FUSED), f"not a known gap of fusion: {message}"
        auto = model.run(draws=2, backend="auto")
        assert auto.attrs["backend"] == "numpy"
        assert_same(a, auto)
        return
    assert b.attrs["backend"] == "fused-cpu"
    assert_same(a, b)
    # per-draw constants: scale the first constant that does not set the time grid
    for name, var in model.constants.items():
        if var.ident in model.ir.structural or not var.value:
            continue
        p = {name: var.value * np.array([0.9, 1.0, 1.1])}
        try:
            a = model.run(p)
        except sd.SDError:
            continue  # it feeds a control variable
        assert_same(a, model.run(p, backend="fused"))
        break


# -- the mission model ------------------------------------------------------------------------------
def _mission_constants(model: sd.Model) -> list[str]:
    return [n for n, v in model.constants.items()
            if v.ident not in model.ir.structural and v.value and "switch" not in n.lower()]  # fmt: skip


@given(data=st.data())
def test_mission_model_with_drawn_params(mission, data) -> None:
    names = _mission_constants(mission)
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=12, unique=True))
    n = data.draw(st.integers(1, 20))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    params = {}
    for name in chosen:
        var = mission.constants[name]
        lo, hi, _ = var.limits or (None, None, None)
        lo = lo if lo is not None else 0.5 * var.value
        hi = hi if hi is not None else 1.5 * var.value
        lo, hi = min(lo, hi), max(lo, hi)
        params[name] = rng.uniform(lo, hi, n)
    outputs = ["federal debt held by public", "debt to GDP ratio", "price level", "real GDP"]
    a = mission.run(params, outputs=outputs)
    b = mission.run(params, outputs=outputs, backend="fused")
    assert_same(a, b)


def test_mission_model_all_outputs_threads(mission) -> None:
    names = _mission_constants(mission)
    rng = np.random.default_rng(11)
    n = 50
    params = {nm: mission.constants[nm].value * rng.uniform(0.9, 1.1, n) for nm in names}
    a = mission.run(params)
    b = mission.run(params, backend="fused")
    assert_same(a, b)
    # the split of draws between threads does not change any bit
    values, _, n = mission._params(params)
    P = mission._inputs(values)
    grid = Grid.from_controls(mission.control_values(params), "mission")
    idents = mission._output_idents(None)
    kernel = mission.simulator.kernel(idents, "c")
    one, _ = kernel(P, n, grid.controls, grid.times, grid.save, grid.saved, threads=1)
    two, _ = kernel(P, n, grid.controls, grid.times, grid.save, grid.saved, threads=2)
    for o in idents:
        np.testing.assert_array_equal(one[o], two[o])


# -- the CUDA source compiles (CI has nvcc, no GPU) --------------------------------------------------
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_cuda_sources_compile_with_nvcc(write_mdl, mission, tmp_path) -> None:
    models = {
        "teacup": sd.load(write_mdl(TEACUP_BODY, name="teacup.mdl")),
        "stateful": sd.load(write_mdl(STATEFUL_BODY, name="stateful.mdl")),
        "lookup": sd.load(write_mdl(LOOKUP_BODY, name="lookup.mdl")),
        "mission": mission,
    }
    fixed = "out = DELAY FIXED(Time * 2, lag, -1)\n\t~\t\n\t~\t|\n\nlag = 1\n\t~\t\n\t~\t|\n"
    models["fixed"] = sd.load(write_mdl(fixed, name="fixed.mdl"))
    for name, model in models.items():
        nvcc_ptx(model.kernel_source("cuda"), tmp_path / f"{name}.cu")


def test_lookup_modes_other_than_interpolation_are_refused(write_mdl) -> None:
    import dataclasses

    model = sd.load(write_mdl(LOOKUP_BODY, name="modes.mdl"))
    var = model.ir.variables[model.resolve("tab")]
    assert var.table is not None
    var.table = dataclasses.replace(var.table, interp="hold_backward")
    with pytest.raises(FusedUnsupportedError, match="lookup mode 'hold_backward'"):
        model.kernel_source("c")


def test_flop_count_leaves_per_draw_constants_out_of_the_step(write_mdl) -> None:
    """KernelSpec.flops['step'] counts the time loop only: an auxiliary of constants ('k2 = k * 2 + 1',
    2 operations) is computed once per draw before the loop ('static'); the loop computes 'rate = S * k2'
    (1) and the Euler update S + rate * dt (2)."""
    body = (
        "S = INTEG(rate, 1)\n\t~\t\n\t~\t|\n\nrate = S * k2\n\t~\t\n\t~\t|\n\n"
        "k2 = k * 2 + 1\n\t~\t\n\t~\t|\n\nk = 0.1\n\t~\t\n\t~\t|\n"
    )
    model = sd.load(write_mdl(body))
    spec = fused.generate(model.ir, [model.resolve("S")])
    assert spec.flops["static"] == 2
    assert spec.flops["step"] == 3
