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
