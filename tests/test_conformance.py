"""Every corpus model against Vensim's own output, at the tolerance pysd's integration suite uses."""

from __future__ import annotations

import numpy as np
import pytest

import sd
from sd.backends import fused
from sd.testing.corpus import (
    EXPECTED,
    TOLERANCE,
    compare_with_vensim,
    corpus_cases,
    corpus_root,
    random_dependents,
    read_vensim_output,
)

# corpus-wide: every corpus model against Vensim's output (deselect with -m 'not slow')
pytestmark = pytest.mark.slow

_root = corpus_root()
CASES = [c for c in corpus_cases(_root) if c.output is not None] if _root else []
_BY_NAME = {c.name: c for c in CASES}
needs_corpus = pytest.mark.skipif(not CASES, reason="the Vensim corpus was not found")


def test_corpus_is_present() -> None:
    assert len(CASES) >= 90, (
        f"expected the conformance corpus (99 tests + samples), found {len(CASES)}"
    )


def test_expected_failures_name_real_cases() -> None:
    names = {c.name for c in CASES}
    assert set(EXPECTED) <= names, set(EXPECTED) - names
    assert {kind for kind, _ in EXPECTED.values()} <= {"unsupported", "float32", "stochastic"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_against_vensim(case) -> None:
    kind = EXPECTED.get(case.name, ("pass",))[0]
    tol = TOLERANCE.get(case.name, 1e-5)
    if kind == "unsupported":
        with pytest.raises(sd.UnsupportedFeatureError) as err:
            compare_with_vensim(case, rtol=tol, atol=tol)
        message = str(err.value)
        assert case.mdl.name in message and "not supported" in message
        return
    if kind == "float32":
        ok, detail = compare_with_vensim(case, tol, tol, dtype="float32")
        assert ok, f"{case.name} in float32: {detail}"
        ok64, detail = compare_with_vensim(case, tol, tol)
        assert not ok64, f"{case.name} now matches Vensim in float64: make it a plain pass"
        return
    if kind == "stochastic":
        columns = read_vensim_output(case.output).columns
        skip = random_dependents(sd.load(case.mdl), columns)
        assert skip, f"{case.name}: no column depends on a random draw"
        ok, detail = compare_with_vensim(case, tol, tol, skip=skip)
        assert ok, f"{case.name}, the columns not downstream of a random draw: {detail}"
        assert len(columns) - len(skip) > len(skip)  # most of the model is compared
        return
    ok, detail = compare_with_vensim(case, rtol=tol, atol=tol)
    assert ok, f"{case.name}: {detail}"


def _six_digits(x: np.ndarray) -> np.ndarray:
    return np.array([float(f"{v:.6g}") for v in np.asarray(x, dtype=float)])


@needs_corpus
@pytest.mark.parametrize("backend", ["numpy", "fused"])
def test_roessler_is_vensim_single_precision(backend) -> None:
    """Vensim wrote Roessler_Chaos's output from a single-precision run: sd in float32 gives every
    saved value of x, y, z (3201 times, to t=100, through the chaotic attractor) to the 6 significant
    digits Vensim writes, where sd in float64 agrees with under half of them (the attractor grows the
    rounding difference past 1e-5 by t~36)."""
    if backend == "fused" and not fused.available("c"):
        pytest.skip("no C compiler")
    case = _BY_NAME["samples/Roessler_Chaos"]
    canon = read_vensim_output(case.output)
    model = sd.load(case.mdl)
    ds32 = model.run(outputs=["x", "y", "z"], dtype="float32", backend=backend)
    ds64 = model.run(outputs=["x", "y", "z"], backend=backend)
    assert len(ds32["time"]) == len(canon) == 3201
    for v in ("x", "y", "z"):
        expected = canon[v].to_numpy(dtype=float)
        np.testing.assert_array_equal(_six_digits(ds32[v].values[0]), expected)
        assert np.mean(_six_digits(ds64[v].values[0]) == expected) < 0.5


@needs_corpus
def test_query_file_random_draws_stay_in_their_range() -> None:
    """Query_file's one random variable is kWhPerStovePerDay = RANDOM UNIFORM(0.23, 0.53, 1): the
    columns downstream of it are exactly it and the two that integrate it, and both the reference's
    draws and sd's lie in [0.23, 0.53] (Vensim's RANDOM UNIFORM(min, max, seed) draws in [min, max])."""
    case = _BY_NAME["samples/Query_file"]
    canon = read_vensim_output(case.output)
    model = sd.load(case.mdl)
    skip = random_dependents(model, canon.columns)
    assert sorted(skip) == ["EnergyConsumptionRate", "TotalEnergyConsumption", "kWhPerStovePerDay"]
    ok, _ = compare_with_vensim(case)
    assert not ok  # all columns compared: the draws differ (else this case is a plain pass)
    ours = model.run(outputs=["kWhPerStovePerDay"], draws=3)["kWhPerStovePerDay"].values
    theirs = canon["kWhPerStovePerDay"].to_numpy(dtype=float)
    for draws in (ours.ravel(), theirs):
        assert draws.min() >= 0.23 and draws.max() <= 0.53
        assert np.unique(draws).size > 100  # a fresh draw every step
