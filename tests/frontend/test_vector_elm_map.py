"""VECTOR ELM MAP: one small model (SDEverywhere's vector_simple checks it against Vensim's .dat in
tests/test_sde_conformance.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sd

MODEL = """DimA: A1, A2, A3 ~~|
DimB: B1, B2 ~~|
d[DimA, DimB] = 1, 4; 2, 5; 3, 6 ~~|
off[DimA] = 0, 1, 1 ~~|
m[DimA] = VECTOR ELM MAP(d[DimA, B1], off[DimA]) ~~|
moving = VECTOR ELM MAP(d[A1, B1], Time) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 7 ~~|
TIME STEP = 1 ~~|
SAVEPER = 1 ~~|
"""


def test_vector_elm_map_counts_in_the_flattened_array(tmp_path: Path) -> None:
    p = tmp_path / "m.mdl"
    p.write_text(MODEL)
    ds = sd.load(p).run(outputs=["m", "moving"], backend="auto")
    # d laid out last subscript fastest: 1, 4, 2, 5, 3, 6; d[A2,B1] is the 3rd, +1 is d[A2,B2] = 5
    np.testing.assert_array_equal(ds["m"].values[0, 0], [1.0, 5.0, 6.0])
    np.testing.assert_array_equal(ds["moving"].values[0], [1, 4, 2, 5, 3, 6, np.nan, np.nan])
