"""NPV: Vensim's values for an investment of 100 at month 12 and a revenue of 3 a month from then,
discounted at 10%/12 a month (Vensim's output for this setup in SDEverywhere's models/npv/npv.dat,
MIT licence: -87.8056 at t = 12, 0.334138 at t = 50, 81.0743 at t = 100)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd

MODEL = """stream = -100 / TIME STEP * PULSE(12, TIME STEP) + STEP(3, 12) ~~|
rate = 10 / 12 / 100 ~~|
value = NPV(stream, rate, 0, 1) ~~|
scaled = NPV(stream, rate, 5, 2) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 100 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
"""


@pytest.mark.parametrize("backend", ["numpy", "fused"])
def test_npv_matches_vensim(tmp_path: Path, backend: str) -> None:
    p = tmp_path / "npv.mdl"
    p.write_text(MODEL)
    ds = sd.load(p).run(outputs=["value", "scaled"], backend=backend)
    v = ds["value"].values[0]
    np.testing.assert_array_equal(v[:12], 0.0)
    np.testing.assert_allclose(v[[12, 13, 50, 100]], [-87.8056, -85.1124, 0.334138, 81.0743],
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    # the initial value is added to the accumulation, the factor scales the sum
    np.testing.assert_allclose(ds["scaled"].values[0], 2 * (v + 5), rtol=1e-12)
