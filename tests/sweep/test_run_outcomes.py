"""Sweep outcomes computed where the draws are computed (fused kernel, numpy as it saves) equal the values
reduced independently from the full-resolution series; no series is saved that the store does not keep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sweep_helpers import teacup_spec

import sd
from sd.ir.outcomes import Outcome
from sd.simulate import Running, reduce_outcomes
from sd.sweep.chunk import compute_chunk, run_outcomes
from sd.sweep.planning import plan
from sd.sweep.store import check_var

OUTCOMES = "\n".join([
    '"T at 10" = { var = "Teacup Temperature", at = 10 }',
    '"max loss" = { var = "Heat Loss to Room", reduce = "max" }',
    '"min loss" = { var = "Heat Loss to Room", reduce = "min" }',
    '"mean T" = { var = "Teacup Temperature", reduce = "mean" }',
    '"final T" = { var = "Teacup Temperature", reduce = "final" }',
    '"initial loss" = { var = "Heat Loss to Room", reduce = "initial" }',
    '"below 80" = { first_time = "Teacup Temperature < 80" }',
    '"both" = { first_time = "Teacup Temperature < 85 and Heat Loss to Room < 1" }',
])  # fmt: skip
CHECKS = "\n".join([
    "[checks]",
    '"cool at end" = { expr = "Teacup Temperature < 78", when = "end" }',
    '"loss positive" = { expr = "Heat Loss to Room > 0.5", when = "always" }',
])  # fmt: skip


def _spec(folder: Path, timeseries: str = "[]") -> Path:
    text = teacup_spec(folder, outputs=f"timeseries = {timeseries}\nsaveper = 1", outcomes=OUTCOMES,
                       draws="900", chunk="400")  # fmt: skip
    path = folder / "spec.toml"
    path.write_text(text + CHECKS + "\n", encoding="utf-8")
    return path


def _independent(ds: Any) -> dict[str, np.ndarray]:
    """Every outcome and check recomputed from the full-resolution series of the stored draws."""
    model = sd.load("teacup.mdl")
    params = {k: ds[k].values for k in ("Characteristic Time", "Room Temperature")}
    full = model.run(params, outputs=["Teacup Temperature", "Heat Loss to Room"], saveper=0.125)
    T, L = full["Teacup Temperature"].values, full["Heat Loss to Room"].values
    t = full["time"].values

    def first(hit: np.ndarray) -> np.ndarray:
        return np.where(hit.any(axis=1), t[hit.argmax(axis=1)], np.nan)

    row10 = int(np.flatnonzero(np.isclose(t, 10))[0])
    stored = np.isclose(t[:, None], np.arange(0, 31)[None, :]).any(axis=1)
    return {
        "T at 10": T[:, row10], "max loss": L.max(axis=1), "min loss": L.min(axis=1),
        "mean T": T.mean(axis=1), "final T": T[:, -1], "initial loss": L[:, 0],
        "below 80": first(T < 80), "both": first((T < 85) & (L < 1)),
        "check cool at end": ~(T[:, -1] < 78), "check loss positive": ~(L[:, stored] > 0.5).all(axis=1),
    }  # fmt: skip


@pytest.mark.parametrize("backend", ["numpy", "fused"])
def test_sweep_outcomes_equal_series_reductions(teacup_dir: Path, backend: str) -> None:
    if backend == "fused" and not sd.simulate.fused_available():
        pytest.skip("no C compiler for the fused backend here")
    spec = _spec(teacup_dir)
    ds = sd.sweep(spec, store=f"{backend}.zarr", scheduler="sync", backend=backend).load()
    want = _independent(ds)
    nsave = 241
    for name, expected in want.items():
        got = ds[check_var(name[6:]) if name.startswith("check ") else name].values
        if name == "mean T":
            # the run sums the saved points in time order (as the fused kernel does); numpy's mean of a
            # contiguous row sums pairwise. Both are within n * eps * sum|x| / n of the exact mean
            # (Higham, recursive summation), so they differ by at most 2 * nsave * eps * mean|x|.
            bound = 2 * nsave * np.finfo(float).eps * np.abs(expected)
            assert np.all(np.abs(got - expected) <= bound), name
        else:
            np.testing.assert_array_equal(got, expected, err_msg=name)
    # not vacuous: the conditions hold for some draws and not for others
    for name in ("below 80", "both"):
        assert 0 < np.isnan(ds[name].values).sum() < ds.sizes["draw"], name
    for name in ("cool at end", "loss positive"):
        assert 0 < ds[check_var(name)].values.sum() < ds.sizes["draw"], name


def test_outcomes_only_sweep_saves_no_series(teacup_dir: Path) -> None:
    """Every outcome and check is computed by the run (the compound condition and the checks too): it
    saves no series. The series path (run_conditions=False) saves what the compound condition and the
    ``always`` check read."""
    p = plan(_spec(teacup_dir))
    assert p.run_outputs == []
    labels = [oc.label for oc in run_outcomes(p)]
    assert labels == ["T at 10", "max loss", "min loss", "mean T", "final T", "initial loss", "below 80",
                      "both", "__check__ cool at end", "__check__ loss positive"]  # fmt: skip
    fallback = plan(_spec(teacup_dir), run_conditions=False)
    assert fallback.run_outputs == ["Teacup Temperature", "Heat Loss to Room"]
    assert [o.name for o in fallback.outcomes if o.run is None] == ["both"]
    assert [oc.label for oc in run_outcomes(fallback)] == [
        "T at 10", "max loss", "min loss", "mean T", "final T", "initial loss", "below 80",
        "__end__ Teacup Temperature"]  # fmt: skip
    assert p.bytes_per_draw < fallback.bytes_per_draw
    chunk = compute_chunk(p, 0)
    assert all(a.shape == (p.bounds(0)[1],) for a in chunk.arrays.values())  # no (draw, time) array
    assert chunk.arrays[check_var("loss positive")].dtype == bool
    only = teacup_spec(teacup_dir, outputs="timeseries = []", outcomes=OUTCOMES.rsplit("\n", 1)[0])
    (teacup_dir / "only.toml").write_text(only, encoding="utf-8")
    q = plan(teacup_dir / "only.toml", backend="numpy", run_conditions=False)
    assert q.run_outputs == []
    assert q.bytes_per_draw < fallback.bytes_per_draw
    chunk = compute_chunk(q, 0)
    assert all(a.shape == (q.bounds(0)[1],) for a in chunk.arrays.values())  # no (draw, time) array
    assert "time" not in chunk.dataset().dims
    assert sorted(chunk.arrays) == sorted(
        ["T at 10", "max loss", "min loss", "mean T", "final T", "initial loss", "below 80",
         "Characteristic Time", "Room Temperature"])  # fmt: skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_running_reductions_equal_series_reductions(dtype: str) -> None:
    """The streaming reducer equals reduce_outcomes on the whole (nsave, n) series, NaN included."""
    rng = np.random.default_rng(3)
    series = rng.normal(size=(50, 64)).astype(dtype)
    series[7, 3] = np.nan
    series[:, 5] = np.nan
    saved = np.linspace(0, 49 * 0.5, 50)
    ocs = [Outcome(k, "x") for k in ("final", "initial", "min", "max", "mean")] + [
        Outcome("at", "x", time=3.5), Outcome("first", "x", op=">", value=1.5),
        Outcome("first", "x", op="<=", value=-9.0)]  # fmt: skip
    r = Running(ocs, saved, 0.5, 64, np, dtype)
    for j in range(50):
        r[j] = series[j]
    got = r.result()
    want = reduce_outcomes({"x": series}, ocs, saved, 0.5)
    for oc in ocs:
        np.testing.assert_array_equal(got[oc.label], want[oc.label], err_msg=oc.label)
    assert np.isnan(got["first x <= -9"]).all() and np.isnan(got["max x"][5])
