"""NPVE (Vensim's fn_npve: net present value with end-of-period valuation), against values derived by
hand from the equations Vensim's documentation gives for it:

    NPVE = (NCUM + stream * TIME STEP * df) * factor
    NCUM = INTEG(stream * df, init val)
    df   = INTEG(-df * rate / (1 + rate * TIME STEP), 1 / (1 + rate * TIME STEP))

With TIME STEP = 1 and Euler's step, df(k+1) = df(k) - df(k) * r / (1 + r) = df(k) / (1 + r), so
df(k) = (1 + r)^-(k+1), and NPVE at t = k is the sum over j = 0..k of stream(j) * (1 + r)^-(j+1): the
stream valued at the end of each period, as Excel's NPV, which is what the documentation says NPVE is.
For a constant stream s that is s * (1 - (1 + r)^-(k+1)) / r."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd

MODEL = """stream = 100 ~~|
rate = 0.1 ~~|
value = NPVE(stream, rate, 0, 1) ~~|
scaled = NPVE(stream, rate, 5, 2) ~~|
plain = NPV(stream, rate, 0, 1) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 10 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
"""


@pytest.mark.parametrize("backend", ["numpy", "fused"])
def test_npve_is_the_end_of_period_sum(tmp_path: Path, backend: str) -> None:
    p = tmp_path / "npve.mdl"
    p.write_text(MODEL)
    ds = sd.load(p).run(outputs=["value", "scaled", "plain"], backend=backend)
    k = np.arange(11)
    annuity = 100 * (1 - 1.1 ** -(k + 1)) / 0.1  # 90.909..., 173.553..., ..., 714.9 at t = 10
    np.testing.assert_allclose(ds["value"].values[0], annuity, rtol=1e-12)
    assert ds["value"].values[0][0] == pytest.approx(100 / 1.1)
    # the initial value adds to the accumulation, the factor scales the sum
    np.testing.assert_allclose(ds["scaled"].values[0], 2 * (annuity + 5), rtol=1e-12)
    # NPV values the first period at its start: each term one period less discounted
    np.testing.assert_allclose(ds["plain"].values[0], annuity * 1.1, rtol=1e-12)
