"""LOOKUP FORWARD / BACKWARD / INVERT: one small model, values as Vensim defines them (SDEverywhere's
lookup.dat checks FORWARD and BACKWARD against Vensim's own output in tests/test_sde_conformance.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd

CONTROLS = "INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
MODEL = """g((0,0),(1,10),(2,30)) ~~|
c[DimA]((0,0),(1,1)) ~~|
DimA: A1, A2 ~~|
x = 0.5 ~~|
fwd = LOOKUP FORWARD(g, x) ~~|
bwd = LOOKUP BACKWARD(g, x) ~~|
plain = g(x) ~~|
inv = LOOKUP INVERT(g, 20) ~~|
below = LOOKUP BACKWARD(g, -1) ~~|
above = LOOKUP FORWARD(g, 5) ~~|
exact = LOOKUP FORWARD(g, 1) ~~|
sub[DimA] = LOOKUP FORWARD(c[DimA], 0.25) ~~|
"""


def test_lookup_forward_backward_invert(tmp_path: Path) -> None:
    p = tmp_path / "m.mdl"
    p.write_text(MODEL + CONTROLS)
    model = sd.load(p)
    names = ["fwd", "bwd", "plain", "inv", "below", "above", "exact", "sub"]
    ds = model.run(outputs=names)
    got = {n: ds[n].values[0, 0] for n in names if n != "sub"}
    # forward: the y of the first point at or after x; backward: of the last point at or before x;
    # beyond the ends the end values; invert: x where the (monotonic) table reaches 20
    assert got == {"fwd": 10.0, "bwd": 0.0, "plain": 5.0, "inv": 1.5, "below": 0.0,
                   "above": 30.0, "exact": 10.0}  # fmt: skip
    np.testing.assert_array_equal(ds["sub"].values[0, 0], [1.0, 1.0])
    # the fused backend does not read these modes: 'auto' runs numpy, with the same values
    auto = model.run(outputs=["fwd"], backend="auto")
    assert auto["fwd"].values[0, 0] == 10.0


def test_lookup_invert_of_a_non_monotonic_table_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "m.mdl"
    p.write_text("h((0,0),(1,10),(2,5)) ~~|\ny = LOOKUP INVERT(h, 3) ~~|\n" + CONTROLS)
    with pytest.raises(sd.UnsupportedFeatureError, match=r"m.mdl:2 variable 'y': LOOKUP INVERT"):
        sd.load(p)


def test_lookup_forward_of_a_non_lookup(tmp_path: Path) -> None:
    p = tmp_path / "m.mdl"
    p.write_text("k = 3 ~~|\ny = LOOKUP FORWARD(k, 3) ~~|\n" + CONTROLS)
    with pytest.raises(sd.errors.ModelError, match="LOOKUP FORWARD of 'k', which is not a lookup"):
        sd.load(p)
