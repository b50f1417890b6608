"""Control variables that change during the run (issue 18): FINAL TIME, TIME STEP, SAVEPER (and INITIAL TIME)
that read TIME are stepped on the host before the run, by pysd's rules (sd.simulate.stepped_grid), and every
draw runs over that one non-uniform grid. Control variables that read a draw's state are refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.backends.fused import FusedUnsupportedError
from sd.sweep import plan
from sd.testing.corpus import compare_with_vensim, corpus_cases, read_vensim_output


def _controls(initial: str = "0", final: str = "3", step: str = "1", saveper: str = "TIME STEP") -> str:
    return "".join(
        f"\n{name} = {value}\n\t~\tyear\n\t~\t|\n"
        for name, value in (("INITIAL TIME", initial), ("FINAL TIME", final), ("TIME STEP", step),
                            ("SAVEPER", saveper))
    )  # fmt: skip


GROWTH = """
level = INTEG(growth * level, 1)
\t~\tthing
\t~\t|

growth = 0.5
\t~\t1/year
\t~\t|

steps taken = INTEG(1 / TIME STEP, 0)
\t~\tstep
\t~\t|
"""
# TIME STEP is 1 while TIME < 2, then 0.25: the loop visits 0, 1, 2, 2.25, 2.5, 2.75, 3
STEP_BY_TIME = _controls(step="IF THEN ELSE(Time < 2, 1, 0.25)")


def _write(tmp_path: Path, body: str, controls: str, name: str = "m.mdl") -> Path:
    path = tmp_path / name
    path.write_text("{UTF-8}\n" + body.strip() + "\n" + controls, encoding="utf-8")
    return path


# -- Vensim's own output -------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["tests/control_vars", "tests/dynamic_final_time"])
def test_corpus_models_match_vensim(corpus: Path, case: str) -> None:
    (found,) = [c for c in corpus_cases(corpus) if c.name == case]
    ok, detail = compare_with_vensim(found)
    assert ok, detail
    # the saved times are Vensim's, without any saveper override
    vensim = read_vensim_output(found.output)
    model = sd.load(found.mdl)
    np.testing.assert_allclose(model.time_axis(), np.asarray(vensim.index, dtype=float))
    ds = model.run()
    np.testing.assert_allclose(ds["time"].values, np.asarray(vensim.index, dtype=float))


def test_control_vars_series_are_vensims(corpus: Path) -> None:
    """Each control variable is saved at every time with its value there, as Vensim writes it."""
    folder = corpus / "tests" / "control_vars"
    vensim = read_vensim_output(folder / "output.tab")
    names = ["FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP", "var"]
    ds = sd.load(folder / "test_control_vars.mdl").run(outputs=names)
    for name in names:
        np.testing.assert_allclose(ds[name].values[0], vensim[name].to_numpy(float), err_msg=name)


def test_dynamic_final_time_stops_where_vensim_does(corpus: Path) -> None:
    model = sd.load(corpus / "tests" / "dynamic_final_time" / "test_dynamic_final_time.mdl")
    # my control var = 2 TIME - 5 first exceeds 50 at TIME = 28; FINAL TIME is then TIME: the run stops
    assert model.time_axis()[-1] == 28
    assert model.control_values()["final_time"] == 28
    # overriding FINAL TIME fixes the grid again
    assert model.time_axis(final_time=40)[-1] == 40
    assert model.run(final_time=5, backend="fused")["time"].values.tolist() == [0, 1, 2, 3, 4, 5]


# -- hand-computed values --------------------------------------------------------------------------
def test_time_step_that_reads_time(tmp_path: Path) -> None:
    """Euler with each step's own dt: level(t + dt) = level(t) * (1 + 0.5 dt); ``steps taken`` adds
    dt * (1 / dt) = 1 per step, so it counts the steps (and checks that 1 / TIME STEP is recomputed)."""
    model = sd.load(_write(tmp_path, GROWTH, STEP_BY_TIME))
    times = [0, 1, 2, 2.25, 2.5, 2.75, 3]
    assert model.time_axis().tolist() == times
    ds = model.run(outputs=["level", "steps taken", "TIME STEP"])
    assert ds["time"].values.tolist() == times
    expected = [1.0, 1.5, 2.25] + [2.25 * 1.125**k for k in range(1, 5)]
    np.testing.assert_allclose(ds["level"].values[0], expected, rtol=1e-14)
    np.testing.assert_allclose(ds["steps taken"].values[0], range(7), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds["TIME STEP"].values[0], [1, 1, 0.25, 0.25, 0.25, 0.25, 0.25])
    ctrl = model.control_values()
    assert (ctrl["initial_time"], ctrl["final_time"], ctrl["time_step"]) == (0, 3, 1)


def test_final_time_that_reads_time(tmp_path: Path) -> None:
    """FINAL TIME = TIME once TIME reaches 2.5 (through an auxiliary): the run stops at 2.5; SAVEPER 0.5
    saves 0, 1, 2, 2.5 (the points whose distance from the start is a multiple of 0.5)."""
    body = GROWTH + "\nstop now = IF THEN ELSE(Time >= 2.5, 1, 0)\n\t~\t1\n\t~\t|\n"
    controls = _controls(final="IF THEN ELSE(stop now > 0, Time, 10)",
                         step="IF THEN ELSE(Time < 2, 1, 0.25)", saveper="0.5")  # fmt: skip
    model = sd.load(_write(tmp_path, body, controls))
    assert model.time_axis().tolist() == [0, 1, 2, 2.5]
    ds = model.run(outputs=["level", "FINAL TIME", "steps taken"])
    np.testing.assert_allclose(ds["level"].values[0], [1, 1.5, 2.25, 2.25 * 1.125**2], rtol=1e-14)
    np.testing.assert_allclose(ds["steps taken"].values[0], [0, 1, 2, 4], atol=1e-12)
    assert ds["FINAL TIME"].values[0].tolist() == [10, 10, 10, 2.5]


def test_rk4_uses_each_steps_dt(tmp_path: Path) -> None:
    """Classical RK4 on level' = 0.5 level multiplies by sum_{k<=4} (0.5 h)^k / k! per step of size h."""
    model = sd.load(_write(tmp_path, GROWTH, STEP_BY_TIME))
    ds = model.run(outputs=["level"], integration="rk4")

    def factor(h: float) -> float:
        return sum((0.5 * h) ** k / math.factorial(k) for k in range(5))

    expected = [1.0, factor(1), factor(1) ** 2] + [factor(1) ** 2 * factor(0.25) ** k for k in range(1, 5)]
    np.testing.assert_allclose(ds["level"].values[0], expected, rtol=1e-14)


def test_draws_share_the_stepped_grid(tmp_path: Path) -> None:
    model = sd.load(_write(tmp_path, GROWTH, STEP_BY_TIME))
    ds = model.run({"growth": np.array([0.5, 1.0])})
    np.testing.assert_allclose(ds["level"].values[:, -1], [2.25 * 1.125**4, 4 * 1.25**4], rtol=1e-14)


def test_fused_runs_the_stepped_grid(tmp_path: Path) -> None:
    """The fused kernel takes each step's dt and the varying control values from the grid stepped on the
    host (its ``ctrl`` argument): the hand-computed values of test_time_step_that_reads_time (growth 0.5:
    x1.5 per unit step, x1.125 per quarter step; growth 1: x2, x1.25), bit for bit numpy's."""
    model = sd.load(_write(tmp_path, GROWTH, STEP_BY_TIME))
    names = ["level", "steps taken", "TIME STEP", "SAVEPER"]
    params = {"growth": np.array([0.5, 1.0])}
    level = model.resolve("level")
    ocs = [sd.Outcome("at", level, time=2.25), sd.Outcome("max", level), sd.Outcome("mean", level),
           sd.Outcome("first", level, op=">", value=3.0)]  # fmt: skip
    ds = model.run(params, outputs=names, outcomes=ocs, backend="fused")
    assert ds.attrs["backend"] == "fused-cpu"
    assert ds["time"].values.tolist() == [0, 1, 2, 2.25, 2.5, 2.75, 3]
    np.testing.assert_allclose(ds["level"].values[0], [1, 1.5, 2.25] + [2.25 * 1.125**k for k in range(1, 5)],
                               rtol=1e-14)  # fmt: skip
    np.testing.assert_allclose(ds["level"].values[1], [1, 2, 4] + [4 * 1.25**k for k in range(1, 5)], rtol=1e-14)
    np.testing.assert_allclose(ds["steps taken"].values, [range(7)] * 2, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ds["TIME STEP"].values[0], [1, 1, 0.25, 0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(ds[ocs[0].label].values, [2.25 * 1.125, 4 * 1.25], rtol=1e-14)
    # first time level > 3: 2.25 * 1.125^3 = 3.2 at 2.75 (growth 0.5); 4 at 2 (growth 1)
    np.testing.assert_array_equal(ds[ocs[3].label].values, [2.75, 2])
    on_numpy = model.run(params, outputs=names, outcomes=ocs, backend="numpy")
    for name in [*names, *(oc.label for oc in ocs)]:
        np.testing.assert_array_equal(ds[name].values, on_numpy[name].values, err_msg=name)


def test_fused_final_time_that_reads_time(tmp_path: Path) -> None:
    """The run stops where FINAL TIME (= TIME once TIME >= 2.5) says, on the fused kernel too."""
    body = GROWTH + "\nstop now = IF THEN ELSE(Time >= 2.5, 1, 0)\n\t~\t1\n\t~\t|\n"
    controls = _controls(final="IF THEN ELSE(stop now > 0, Time, 10)",
                         step="IF THEN ELSE(Time < 2, 1, 0.25)", saveper="0.5")  # fmt: skip
    model = sd.load(_write(tmp_path, body, controls))
    ds = model.run(outputs=["level", "FINAL TIME", "steps taken"], backend="fused")
    assert ds.attrs["backend"] == "fused-cpu"
    np.testing.assert_allclose(ds["level"].values[0], [1, 1.5, 2.25, 2.25 * 1.125**2], rtol=1e-14)
    np.testing.assert_allclose(ds["steps taken"].values[0], [0, 1, 2, 4], atol=1e-12)
    assert ds["FINAL TIME"].values[0].tolist() == [10, 10, 10, 2.5]


@pytest.mark.parametrize("case", ["tests/control_vars", "tests/dynamic_final_time"])
def test_corpus_models_fused_equal_numpy(corpus: Path, case: str) -> None:
    (found,) = [c for c in corpus_cases(corpus) if c.name == case]
    model = sd.load(found.mdl)
    vensim = read_vensim_output(found.output)
    names = [str(c) for c in vensim.columns]  # every variable Vensim saved, the control variables too
    fused = model.run({}, outputs=names, backend="fused")
    assert fused.attrs["backend"] == "fused-cpu"
    numpy = model.run({}, outputs=names, backend="numpy")
    np.testing.assert_allclose(fused["time"].values, np.asarray(vensim.index, dtype=float))
    for name in fused.data_vars:
        np.testing.assert_array_equal(fused[name].values, numpy[name].values, err_msg=name)


def test_overridden_time_step_gives_the_fixed_grid(tmp_path: Path) -> None:
    model = sd.load(_write(tmp_path, GROWTH, STEP_BY_TIME))
    assert model.time_axis(time_step=0.5).tolist() == [0, 0.5, 1, 1.5, 2, 2.5, 3]
    assert model.run(time_step=0.5, backend="fused").attrs["backend"] == "fused-cpu"


# -- refusals ------------------------------------------------------------------------------------
def test_control_variable_reading_a_drawn_parameter_is_refused_by_name(tmp_path: Path) -> None:
    body = GROWTH + "\nhorizon = 2\n\t~\tyear\n\t~\t|\n"
    model = sd.load(_write(tmp_path, body, _controls(final="IF THEN ELSE(Time >= horizon, Time, 10)")))
    assert model.time_axis().tolist() == [0, 1, 2]
    assert model.run({"horizon": 1.0})["time"].values.tolist() == [0, 1]
    with pytest.raises(sd.ModelError, match=r"m\.mdl: control variable 'FINAL TIME' differs across draws"):
        model.run({"horizon": np.array([1.0, 2.0])})


def test_control_variable_reading_a_stock_is_refused_at_load(tmp_path: Path) -> None:
    path = _write(tmp_path, GROWTH, _controls(final="IF THEN ELSE(level > 2, Time, 10)"))
    with pytest.raises(sd.UnsupportedFeatureError,
                       match=r"m\.mdl:\d+ variable 'FINAL TIME': a control variable that depends on the "
                             r"state of the run \(it depends on level, a stock\) is not supported"):  # fmt: skip
        sd.load(path)


def test_delay_fixed_with_a_varying_time_step_is_refused(tmp_path: Path) -> None:
    body = GROWTH + "\nlate = DELAY FIXED(level, 1, 1)\n\t~\tthing\n\t~\t|\n"
    model = sd.load(_write(tmp_path, body, STEP_BY_TIME))
    with pytest.raises(sd.UnsupportedFeatureError, match=r"'late': DELAY FIXED with a TIME STEP that changes"):
        model.run(outputs=["late"])
    with pytest.raises(FusedUnsupportedError, match=r"m\.mdl: the fused backend has no DELAY FIXED with a "
                       "TIME STEP that changes"):  # fmt: skip
        model.run(outputs=["late"], backend="fused")
    assert model.run(outputs=["late"], time_step=1)["late"].values[0].tolist() == [1, 1, 1.5, 2.25]


def test_initial_time_without_a_consistent_value_is_refused(tmp_path: Path) -> None:
    model = sd.load(_write(tmp_path, GROWTH, _controls(initial="IF THEN ELSE(Time < 1, 5, 0)", final="8")))
    with pytest.raises(sd.ModelError, match=r"INITIAL TIME reads TIME and has no consistent value"):
        model.time_axis()


# -- sweeps ------------------------------------------------------------------------------------------
def _spec(folder: Path, outcomes: str = "") -> Path:
    (folder / "spec.toml").write_text(
        'model = "m.mdl"\ndraws = 6\nseed = 3\nsampler = "mc"\nchunk = 4\nstore = "out.zarr"\n'
        '[parameters]\ngrowth = { dist = "uniform", low = 0.2, high = 1 }\n'
        '[outputs]\ntimeseries = ["level"]\n' + (f"[outcomes]\n{outcomes}\n" if outcomes else ""),
        encoding="utf-8",
    )
    return folder / "spec.toml"


def test_sweep_stores_the_stepped_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, GROWTH, STEP_BY_TIME)
    monkeypatch.chdir(tmp_path)
    spec = _spec(tmp_path)
    assert plan(str(spec)).times == [0, 1, 2, 2.25, 2.5, 2.75, 3]
    ds = sd.sweep(spec, scheduler="sync")
    assert ds["time"].values.tolist() == [0, 1, 2, 2.25, 2.5, 2.75, 3]
    g = ds["growth"].values
    # level(3) = (1 + g)^2 (1 + g / 4)^4: two steps of 1, four of 0.25
    np.testing.assert_allclose(ds["level"].values[:, -1], (1 + g) ** 2 * (1 + g / 4) ** 4, rtol=1e-12)


def test_sweep_refuses_outcomes_over_a_varying_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, GROWTH, STEP_BY_TIME)
    monkeypatch.chdir(tmp_path)
    spec = _spec(tmp_path, '"top" = { var = "level", reduce = "max" }')
    with pytest.raises(sd.SpecError, match=r"outcomes: .*'TIME STEP', 'SAVEPER' change during the run"):
        sd.sweep(spec, scheduler="sync")
