"""The engine core: IR inspection, params, outputs, stateful builtins (against pysd or closed forms)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from model_texts import LOOKUP_BODY, STATEFUL_BODY, TEACUP_BODY

import sd
from sd.testing.corpus import run_pysd


@pytest.fixture
def teacup(write_mdl) -> sd.Model:
    return sd.load(write_mdl(TEACUP_BODY, final=30, dt=0.125, name="teacup.mdl"))


def test_ir_is_inspectable(teacup) -> None:
    ct = teacup.constants["Characteristic Time"]
    assert ct.value == 10.0
    assert ct.units == "minute"
    assert ct.limits == (5.0, 15.0, 0.5)
    assert ct.doc == "How long the tea takes to cool."
    assert set(teacup.stocks) == {"Teacup Temperature"}
    assert set(teacup.auxiliaries) == {"Heat Loss"}
    assert set(teacup.controls) == {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}
    assert "1 stocks" in repr(teacup)


def test_dataset_layout_and_attrs(teacup) -> None:
    ct = np.array([5.0, 10.0, 15.0])
    ds = teacup.run({"Characteristic Time": ct, "Room Temperature": 60.0})
    assert ds["Teacup Temperature"].dims == ("draw", "time")
    assert ds.sizes == {"draw": 3, "time": 241}
    np.testing.assert_array_equal(ds["Characteristic Time"].values, ct)
    np.testing.assert_array_equal(ds["Room Temperature"].values, [60.0] * 3)
    assert ds.attrs["model_sha256"] and ds.attrs["pysd_version"] == "3.14.3"
    assert ds.attrs["sd_version"] == sd.__version__
    assert ds["Teacup Temperature"].attrs["units"] == "degF"
    # the analytic Euler recurrence: T_{k+1} = T_k - (T_k - room) / ct * dt
    temp = np.full(3, 180.0)
    for _ in range(80):  # to t = 10
        temp = temp + (-(temp - 60.0) / ct) * 0.125
    np.testing.assert_allclose(ds["Teacup Temperature"].sel(time=10.0).values, temp, rtol=1e-14)


def test_scalars_broadcast_and_draws_argument(teacup) -> None:
    ds = teacup.run({"Room Temperature": 50.0}, draws=4)
    assert ds.sizes["draw"] == 4
    values = ds["Teacup Temperature"].values
    assert (values == values[0]).all()


def test_pysd_python_names_are_accepted(teacup) -> None:
    a = teacup.run({"characteristic_time": 7.0}, outputs=["teacup_temperature"])
    b = teacup.run({"Characteristic Time": 7.0}, outputs=["Teacup Temperature"])
    np.testing.assert_array_equal(a["Teacup Temperature"].values, b["Teacup Temperature"].values)


def test_outputs_prune_the_computation(write_mdl) -> None:
    body = TEACUP_BODY + "\nunused = EXP(Teacup Temperature) * 2\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, name="pruned.mdl"))
    src = model.source(["Heat Loss"])
    assert "v_unused" not in src and "v_heat_loss" in src
    assert "v_unused" in model.source()
    ds = model.run(outputs=["Heat Loss"])
    assert list(ds.data_vars) == ["Heat Loss"]


def test_control_overrides_follow_pysd_time_rules(teacup) -> None:
    ds = teacup.run(final_time=10, time_step=3, saveper=3)
    # dt does not divide the horizon: pysd overshoots (0, 3, 6, 9, 12)
    np.testing.assert_array_equal(ds["time"].values, [0, 3, 6, 9, 12])
    ds = teacup.run(time_step=0.1, saveper=0.5, final_time=2)
    np.testing.assert_allclose(ds["time"].values, [0, 0.5, 1.0, 1.5, 2.0])


def test_lookup_replaced_shared_and_per_draw(write_mdl) -> None:
    model = sd.load(write_mdl(LOOKUP_BODY, name="lk.mdl"))
    base = model.run()
    np.testing.assert_allclose(base["effect"].sel(time=2.5).values, [5.0])
    np.testing.assert_allclose(base["effect"].sel(time=7.5).values, [5.0])
    ds = model.run({"tab": ([0, 10], [0, 20])})
    np.testing.assert_allclose(ds["effect"].sel(time=2.5).values, [5.0])
    ys = np.array([[0.0, 20.0], [10.0, 10.0], [5.0, -5.0]])
    ds = model.run({"tab": ([0.0, 10.0], ys)})
    np.testing.assert_allclose(ds["effect"].sel(time=2.5).values, [5.0, 10.0, 2.5])
    # end values are held outside the table
    ds = model.run({"tab": ([1.0, 2.0], ys)})
    np.testing.assert_allclose(ds["effect"].sel(time=0.0).values, ys[:, 0])
    np.testing.assert_allclose(ds["effect"].sel(time=10.0).values, ys[:, 1])


def test_bad_lookup_param(write_mdl) -> None:
    model = sd.load(write_mdl(LOOKUP_BODY, name="lk.mdl"))
    with pytest.raises(sd.ParamError, match=r"lookup 'tab': x has shape \(2,\) and y \(3,\)"):
        model.run({"tab": ([0, 1], [1, 2, 3])})
    with pytest.raises(sd.ParamError, match=r"lookup 'tab' has repeated x values"):
        model.run({"tab": ([1, 1], [1, 2])})


def test_stateful_builtins_equal_pysd(write_mdl) -> None:
    path = write_mdl(STATEFUL_BODY, final=12, dt=0.25, name="stateful.mdl")
    model = sd.load(path)
    ks = np.array([1.0, 3.0, 4.5])
    dts = np.array([1.0, 2.5, 4.0])
    ds = model.run({"k": ks, "delay time": dts})
    pmodel, _ = run_pysd(path)
    columns = [str(v) for v in ds.data_vars]
    assert {"smoothn", "delayn", "forecast of input", "inline", "math"} <= set(columns)
    for d in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pmodel.run(params={"k": ks[d], "delay time": dts[d]}, return_columns=columns)
        for col in columns:
            np.testing.assert_allclose(
                ds[col].values[d], ref[col].to_numpy(float), rtol=1e-12, atol=1e-12,
                err_msg=f"{col} draw {d}",
            )  # fmt: skip


def test_delay3_keeps_its_order_for_short_delay_times_like_vensim(write_mdl) -> None:
    """Vensim runs DELAY3 with three stages whatever the delay time (pysd lowers the order when
    3 * TIME STEP > delay time): a draw with dly = 2, dt = 1 follows the three-stage Euler recurrence;
    a draw with dly = 5 still equals pysd."""
    body = "out = DELAY3(Time, dly)\n\t~\t\n\t~\t|\n\ndly = 2\n\t~\t\n\t~\t|\n"
    path = write_mdl(body, final=8, dt=1, name="order.mdl")
    model = sd.load(path)
    ds = model.run({"dly": np.array([2.0, 5.0])})
    T, s = 2.0, [0.0, 0.0, 0.0]  # stages hold value * T; Time starts at 0
    expected = []
    for t in range(9):
        expected.append(s[2] / T)
        outs = [x / T for x in s]
        ins = [float(t), outs[0], outs[1]]
        s = [x + (i - o) * 3 for x, i, o in zip(s, ins, outs, strict=True)]
    np.testing.assert_allclose(ds["out"].values[0], expected, rtol=1e-12)
    pmodel, _ = run_pysd(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pmodel.run(params={"dly": 5.0}, return_columns=["out"])
    np.testing.assert_allclose(ds["out"].values[1], ref["out"].to_numpy(float), rtol=1e-12)


def test_delay_fixed_uses_the_input_at_t(write_mdl) -> None:
    body = "out = DELAY FIXED(Time * 2, lag, -1)\n\t~\t\n\t~\t|\n\nlag = 1\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, final=5, dt=0.5, name="fixed.mdl"))
    ds = model.run({"lag": np.array([1.0, 2.0, 0.2])})
    t = ds["time"].values
    for d, lag in enumerate([1.0, 2.0, 0.2]):
        steps = max(round(lag / 0.5), 1)
        expected = np.where(t >= steps * 0.5 - 1e-9, 2 * (t - steps * 0.5), -1.0)
        np.testing.assert_allclose(ds["out"].values[d], expected, err_msg=f"lag {lag}")


def test_sample_if_true_holds_the_last_sample(write_mdl) -> None:
    body = (
        "out = SAMPLE IF TRUE(MODULO(Time, period) = 0, Time * 10, -5)\n\t~\t\n\t~\t|\n\n"
        "period = 2\n\t~\t\n\t~\t|\n"
    )
    model = sd.load(write_mdl(body, final=6, dt=1, name="sample.mdl"))
    ds = model.run({"period": np.array([2.0, 3.0])})
    np.testing.assert_array_equal(ds["out"].values[0], [0, 0, 20, 20, 40, 40, 60])
    np.testing.assert_array_equal(ds["out"].values[1], [0, 0, 0, 30, 30, 30, 60])


def test_algebraic_loop_is_reported(write_mdl) -> None:
    body = "a = b + 1\n\t~\t\n\t~\t|\n\nb = a * 2\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, name="loop.mdl"))
    with pytest.raises(
        sd.ModelError, match=r"loop\.mdl: algebraic loop .*: a -> b -> a|b -> a -> b"
    ):
        model.run()


def test_negative_base_to_fractional_power_is_nan_not_complex(write_mdl) -> None:
    body = "x = base ^ 0.5\n\t~\t\n\t~\t|\n\nbase = -4\n\t~\t\n\t~\t|\n"
    model = sd.load(write_mdl(body, name="pow.mdl"))
    ds = model.run()
    assert np.isnan(ds["x"].values).all()
    ds = model.run({"base": np.array([4.0, -1.0])})
    np.testing.assert_array_equal(ds["x"].values[:, 0], [2.0, np.nan])


def test_a_constant_both_varied_and_saved(teacup) -> None:
    ds = teacup.run({"Room Temperature": np.array([60.0, 70.0])}, outputs=["Room Temperature"])
    np.testing.assert_array_equal(ds["Room Temperature"].values[:, 0], [60.0, 70.0])
    assert ds["Room Temperature"].dims == ("draw", "time")
