"""A run of one draw on Python floats (sd.backends._scalar) gives, bit for bit, the numpy program's run
on arrays: on every model of both corpora (and their XMILE exports), the public models, sd's own models,
and random models from hypothesis; a constant divided by zero gives inf (as arrays do), not an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import sd
from sd.errors import SDError
from sd.testing.corpus import corpus_cases, corpus_root
from sd.testing.sde import sde_cases, sde_root, xmile_cases
from sd.testing.strategies import vensim_models

ROOT = Path(__file__).resolve().parents[1]


def _cases() -> list[tuple[str, Path, tuple[Path, ...]]]:
    out: list[tuple[str, Path, tuple[Path, ...]]] = []
    corpus, sde = corpus_root(), sde_root()
    if corpus is not None:
        out += [(c.name, c.mdl, c.data_files) for c in corpus_cases(corpus)]
    if sde is not None:
        out += [(f"sde/{c.name}", c.model, c.data_files) for c in sde_cases(sde)]
    out += [(c.name, c.model, c.data_files) for c in xmile_cases(sde, corpus)]
    out += [(f"public/{p.parent.name}", p, ()) for p in sorted(ROOT.glob("tests/data/public_models/*/*.mdl"))]
    out += [(f"models/{p.name}", p, ()) for p in sorted(ROOT.glob("models/*.mdl"))]
    return out


CASES = _cases()
# time steps run of the models whose run is pysd's allocation algorithm, called per element and step in
# both paths alike (~0.3 s a step): a few steps compare everything else (the full runs took ~30 s)
SHORT = {"tests/allocate_available": 3, "tests/allocate_by_priority": 3}


def _both(model: Any, params: dict[str, Any] | None = None, integration: str = "euler",
          steps: int | None = None) -> tuple[dict[str, Any], dict[str, Any], int]:  # fmt: skip
    """The saved series of one draw: on Python floats (what Model.run does) and on arrays (``steps``:
    only the first ones)."""
    sim = model.simulator
    values, _, n = model._params(params)
    assert n in (None, 1)
    P = model._inputs(values)
    P["__rng__"] = (0, np.arange(0, 1, dtype=np.uint64))
    grid = sim.grid(P, {})
    if steps is not None:
        c = grid.first()
        grid = sim.grid(P, {"final_time": c["initial_time"] + steps * c["time_step"]})
    # every variable the program can save: constants too (some corpus models have nothing else)
    idents = [i for i, v in model.ir.variables.items() if v.kind not in ("lookup", "control")]
    arrays, _, _ = sim._run_numpy(dict(P), 1, idents, grid, "numpy", integration, "float64", (), False)
    scalar, _, _ = sim._run_numpy(dict(P), 1, idents, grid, "numpy", integration, "float64", (), True)
    return scalar, arrays, len(idents)


def _assert_bitwise(scalar: dict[str, Any], arrays: dict[str, Any]) -> None:
    assert scalar.keys() == arrays.keys()
    for k in arrays:
        a, s = np.asarray(arrays[k]), np.asarray(scalar[k])
        assert s.dtype == a.dtype and s.shape == a.shape, k
        # the same bits: equal values, NaN where NaN, and the sign of every zero
        assert np.array_equal(s.view(np.uint64), a.view(np.uint64)), (k, s[s != a], a[s != a])


@pytest.mark.parametrize("name,path,files", CASES, ids=[c[0] for c in CASES])
def test_one_draw_on_floats_is_the_array_run_bit_for_bit(name: str, path: Path, files: tuple[Path, ...]) -> None:
    try:
        model = sd.load(path, data_files=files or None)
    except SDError:  # refused by name: docs/conformance.md covers it
        pytest.skip("not loaded by sd (refused by name)")
    try:
        scalar, arrays, count = _both(model, steps=SHORT.get(name))
    except ZeroDivisionError:
        # Python floats raise where arrays give inf: Simulator.run repeats such a run on arrays
        model.run()
        return
    except SDError:
        pytest.skip("refused at run time by name")
    assert count > 0
    _assert_bitwise(scalar, arrays)


def test_the_corpora_were_found() -> None:
    if corpus_root() is None:
        pytest.skip("the test-models corpus is not beside the repository")
    assert len(CASES) > 150


def test_a_constant_divided_by_zero_is_inf_as_on_arrays(tmp_path: Path) -> None:
    mdl = tmp_path / "zero.mdl"
    mdl.write_text(
        "{UTF-8}\na = 0 ~~|\nb = 1 / a ~~|\nc = -1 / a ~~|\nd = a / a ~~|\ns = INTEG(b, 1) ~~|\n"
        "INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 0.5 ~~|\nSAVEPER = 0.5 ~~|\n"
    )
    model = sd.load(mdl)
    one = model.run()
    two = model.run(draws=2)
    assert np.isposinf(one["b"].values).all() and np.isneginf(one["c"].values).all()
    assert np.isnan(one["d"].values).all()
    assert one["s"].values[0].tolist() == [1.0, np.inf, np.inf]
    for k in ("b", "c", "d", "s"):
        np.testing.assert_array_equal(one[k].values[0], two[k].values[1])


def test_outcomes_of_one_draw_on_floats_are_the_array_runs() -> None:
    """Outcomes reduced as the run goes (variables not saved) and conditions evaluated from the program's
    row writes receive floats on the one-draw path: every kind gives the array run's bits."""
    model = sd.load(ROOT / "models" / "productivity_deflation.mdl")
    outcomes = [model._outcome(oc) for oc in (
        sd.Outcome("final", "price level"), sd.Outcome("initial", "real GDP"),
        sd.Outcome("at", "debt to GDP ratio", time=2028), sd.Outcome("min", "price level"),
        sd.Outcome("max", "robot fleet"), sd.Outcome("mean", "real GDP"),
        sd.Outcome("first", "debt to GDP ratio", op="<", value=1.05),
        sd.Outcome("when", "price level < 1.02 and real GDP > 0"),
        sd.Outcome("fails", "robot fleet >= 0"), sd.Outcome("fails_end", "price level > 10"),
    )]  # fmt: skip
    sim = model.simulator
    P = model._inputs({})
    P["__rng__"] = (0, np.arange(0, 1, dtype=np.uint64))
    grid = sim.grid(P, {})
    saved = [model.resolve("price level")]
    runs = [sim._run_numpy(dict(P), 1, saved, grid, "numpy", "euler", "float64", outcomes, scalar)
            for scalar in (False, True)]  # fmt: skip
    (series_a, reds_a, _), (series_s, reds_s, _) = runs
    _assert_bitwise(series_s, series_a)
    assert reds_a.keys() == reds_s.keys() and len(reds_a) == len(outcomes)
    _assert_bitwise({k: np.asarray(v, dtype=float) for k, v in reds_s.items()},
                    {k: np.asarray(v, dtype=float) for k, v in reds_a.items()})  # fmt: skip
    # and the values are the run's: the final price level is the last saved one, the check never fails
    assert float(reds_s["final price level"][0]) == float(series_a[saved[0]][-1, 0])
    assert float(reds_s["fails robot fleet >= 0"][0]) == 0.0


def test_the_mission_model_scenario_run_is_the_array_run() -> None:
    model = sd.load(ROOT / "models" / "productivity_deflation.mdl")
    scalar, arrays, _ = _both(model, {"ai switch": 0.0})
    _assert_bitwise(scalar, arrays)


@pytest.mark.parametrize("name", ["models/productivity_deflation.mdl", "samples/teacup", "tests/delay_pipeline",
                                  "tests/lookups", "samples/SIR"])  # fmt: skip
def test_rk4_on_floats_is_the_array_run(name: str) -> None:
    path = next((c[1] for c in CASES if c[0] == name), None)
    if path is None and corpus_root() is None:
        pytest.skip(f"{name}: the test-models corpus is not beside the repository")
    assert path is not None, name
    scalar, arrays, _ = _both(sd.load(path), integration="rk4")
    _assert_bitwise(scalar, arrays)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=vensim_models())
def test_random_models_on_floats_are_the_array_run(tmp_path_factory: Any, m: Any) -> None:
    path = tmp_path_factory.mktemp("scalar") / "model.mdl"
    path.write_text(m.text)
    model = sd.load(path)
    try:
        scalar, arrays, _ = _both(model)
    except ZeroDivisionError:
        return
    _assert_bitwise(scalar, arrays)
