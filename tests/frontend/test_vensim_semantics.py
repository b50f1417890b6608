"""Where sd follows Vensim's own output rather than pysd: one small model each (written here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sd

CONTROLS = "INITIAL TIME = 0 ~~|\nFINAL TIME = 40 ~~|\nTIME STEP = 0.25 ~~|\nSAVEPER = 0.25 ~~|\n"


def test_pulse_train_fires_the_pulse_that_starts_at_the_end_time(tmp_path: Path) -> None:
    """Vensim (SDEverywhere's pulsetrain.dat): PULSE TRAIN(10, 1, 5, 30) is 1 on [10, 11), [15, 16),
    ..., and at t = 30 too (one step: the train ends at 30); pysd stops before t = 30."""
    p = tmp_path / "pt.mdl"
    p.write_text("p = PULSE TRAIN(10, 1, 5, 30) ~~|\n" + CONTROLS)
    model = sd.load(p)
    t = np.arange(0, 40.001, 0.25)
    expected = np.zeros_like(t)
    for start in (10, 15, 20, 25):
        expected[(t >= start) & (t < start + 1)] = 1
    expected[t == 30] = 1
    for backend in ("numpy", "fused"):
        ds = model.run(outputs=["p"], backend=backend)
        np.testing.assert_array_equal(ds["p"].values[0], expected, err_msg=backend)


def test_sample_if_true_naming_its_own_variable_reads_the_held_value(tmp_path: Path) -> None:
    """Vensim's peak idiom ``Peak = SAMPLE IF TRUE(x > Peak, x, x)`` (Sterman's beer game,
    RealBeer4-Sterman13.mdl): SAMPLE IF TRUE holds a state, and the variable named in its own
    arguments is the value held from the step before, so Peak is the running maximum of x (and
    not an algebraic loop). Subscripted and inside a macro alike; derived by hand: x = t sin(t),
    Peak(t) = max of x over the saved times up to t, Low[d] = min(0, running min of k[d] x)."""
    p = tmp_path / "peak.mdl"
    p.write_text(
        ":MACRO: HIGHEST(input)\n"
        "HIGHEST = SAMPLE IF TRUE(input > HIGHEST, input, input) ~~|\n"
        ":END OF MACRO:\n"
        "d: a, b ~~|\nk[d] = 1, -1 ~~|\n"
        "x = Time * SIN(Time) ~~|\n"
        "Peak = SAMPLE IF TRUE(x > Peak, x, x) ~~|\n"
        "Low[d] = SAMPLE IF TRUE(k[d] * x < Low[d], k[d] * x, 0) ~~|\n"
        "h = HIGHEST(x) ~~|\n" + CONTROLS
    )
    model = sd.load(p)
    t = np.arange(0, 40.001, 0.25)
    x = t * np.sin(t)
    for backend in ("numpy", "fused"):
        ds = model.run(backend=backend)
        np.testing.assert_allclose(ds["Peak"].values[0], np.maximum.accumulate(x), err_msg=backend)
        np.testing.assert_allclose(ds["h"].values[0], np.maximum.accumulate(x), err_msg=backend)
        for i, k in enumerate((1, -1)):
            low = np.minimum(0, np.minimum.accumulate(k * x))
            np.testing.assert_allclose(ds["Low"].values[0][:, i], low, err_msg=backend)


def test_smooth_with_an_integer_initial_value_moves_in_its_first_step(tmp_path: Path) -> None:
    """``SMOOTHI(x, T, 1)`` (World3-03's Delayed Labor Utilization Fraction; also a SMOOTH whose
    input is ``ACTIVE INITIAL(..., 1)``): the first step moves by (x(t0) - 1) dt / T. pysd 3.14
    holds an integer literal initial value in an integer array and truncates x(t0) into it in its
    first derivative (1.5 -> 1: no move), then agrees again. Derived by hand: x = 1.5 + t, T = 2,
    dt = 1: s = 1, 1.25, 1.875, 2.6875 (s' = s + (x - s) / 2)."""
    p = tmp_path / "smoothi.mdl"
    p.write_text(
        "x = 1.5 + Time ~~|\ns = SMOOTHI(x, 2, 1) ~~|\n"
        "f = ACTIVE INITIAL(1.5 + Time, 1) ~~|\nsf = SMOOTH(f, 2) ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 3 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
    )
    ds = sd.load(p).run()
    np.testing.assert_allclose(ds["s"].values[0], [1, 1.25, 1.875, 2.6875])
    np.testing.assert_allclose(ds["sf"].values[0], [1, 1.25, 1.875, 2.6875])


def test_comparison_with_na_tests_for_na(tmp_path: Path) -> None:
    """Vensim's :NA: is a number equal to itself, so `x = :NA:` holds where x is NA (the idiom for missing
    data, e.g. RAW data between its points). sd holds NA as NaN, where `==` is always false (pysd gives
    0 here everywhere); sd lowers `x = :NA:` / `x <> :NA:` to a NaN test. By hand: x is NA from t = 3."""
    p = tmp_path / "na.mdl"
    p.write_text(
        "x = IF THEN ELSE(Time > 2, :NA:, Time) ~~|\n"
        "is na = IF THEN ELSE(x = :NA:, 1, 0) ~~|\n"
        "not na = IF THEN ELSE(:NA: <> x, 1, 0) ~~|\n"
        "count = INTEG(IF THEN ELSE(x = :NA:, 0, 1), 0) ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 5 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = TIME STEP ~~|\n"
    )
    model = sd.load(p)
    for backend in ("numpy", "fused"):
        ds = model.run(backend=backend)
        np.testing.assert_array_equal(ds["is na"].values[0], [0, 0, 0, 1, 1, 1], err_msg=backend)
        np.testing.assert_array_equal(ds["not na"].values[0], [1, 1, 1, 0, 0, 0], err_msg=backend)
        np.testing.assert_array_equal(ds["count"].values[0], [0, 1, 2, 3, 3, 3], err_msg=backend)
