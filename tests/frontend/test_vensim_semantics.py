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
