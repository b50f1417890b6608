"""Samplers: a draw's values depend only on (seed, draw index, spec), never on how the draws are chunked."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.stats import qmc

from sd.sweep.sample import BLOCK, design, unit_rows
from sd.sweep.spec import Distribution


def chunked(
    sampler: str, draws: int, d: int, chunk: int, seed: int = 3, **opts: object
) -> np.ndarray:
    parts = [unit_rows(sampler, seed, draws, d, a, min(draws, a + chunk), dict(opts))
             for a in range(0, draws, chunk)]  # fmt: skip
    return np.concatenate(parts)


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
@given(chunk=st.integers(1, 700))
def test_rows_do_not_depend_on_chunking(sampler: str, chunk: int) -> None:
    full = unit_rows(sampler, 3, 1024, 3, 0, 1024)
    assert np.array_equal(chunked(sampler, 1024, 3, chunk), full)


def test_mc_blocks_are_independent_of_chunk_across_block_boundaries() -> None:
    draws = BLOCK + 1000
    full = unit_rows("mc", 11, draws, 2, 0, draws)
    assert np.array_equal(chunked("mc", draws, 2, 9999, seed=11), full)
    # one stream per block: the second block does not repeat the first
    assert not np.array_equal(full[:1000], full[BLOCK:])
    assert full.min() >= 0 and full.max() < 1


def test_sobol_is_scipys_scrambled_sequence_and_seeded() -> None:
    full = unit_rows("sobol", 5, 256, 4, 0, 256)
    assert np.array_equal(full, qmc.Sobol(4, scramble=True, rng=5).random(256))
    assert not np.array_equal(full, unit_rows("sobol", 6, 256, 4, 0, 256))


def test_lhs_is_a_latin_hypercube() -> None:
    n = 500
    u = unit_rows("lhs", 2, n, 4, 0, n)
    for j in range(4):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))
    assert not np.array_equal(u[:, 0], u[:, 1])


def test_grid_is_the_full_factorial() -> None:
    u = unit_rows("grid", 0, 12, 2, 0, 12, {"levels": [3, 4]})
    assert sorted(map(tuple, u.tolist())) == sorted(
        (a / 2, b / 3) for a in range(3) for b in range(4)
    )
    assert np.array_equal(chunked("grid", 12, 2, 5, levels=[3, 4]), u)


def test_salib_designs() -> None:
    from SALib.sample import morris, sobol

    problem = {"num_vars": 3, "names": ["x0", "x1", "x2"], "bounds": [[0.0, 1.0]] * 3}
    s = design("saltelli", 4, 8 * 8, 3, {})
    assert np.array_equal(s, sobol.sample(problem, 8, calc_second_order=True, seed=4))
    assert design("saltelli", 4, 8 * 5, 3, {"second_order": False}).shape == (40, 3)
    m = design("morris", 4, 10 * 4, 3, {"levels": 4})
    assert np.array_equal(m, morris.sample(problem, 10, num_levels=4, seed=4))
    np.testing.assert_allclose(np.unique(m), [0, 1 / 3, 2 / 3, 1], atol=1e-12)


U = np.linspace(0.001, 0.999, 101)


@pytest.mark.parametrize(
    ("dist", "args", "ref"),
    [
        ("uniform", {"low": 2, "high": 6}, stats.uniform(2, 4)),
        ("loguniform", {"low": 1, "high": 100}, stats.loguniform(1, 100)),
        ("normal", {"mean": 3, "sd": 2}, stats.norm(3, 2)),
        ("truncnormal", {"mean": 0, "sd": 1, "low": -1, "high": 2}, stats.truncnorm(-1, 2)),
        ("lognormal", {"mu": 0.5, "sigma": 0.3}, stats.lognorm(0.3, scale=np.exp(0.5))),
        ("triangular", {"low": 0, "mode": 1, "high": 4}, stats.triang(0.25, 0, 4)),
        ("beta", {"a": 2, "b": 5, "low": 1, "high": 3}, stats.beta(2, 5, 1, 2)),
    ],
)
def test_ppf_is_scipys(dist: str, args: dict, ref: object) -> None:
    d = Distribution.from_value({"dist": dist, **args})
    np.testing.assert_allclose(d.ppf(U), ref.ppf(U), rtol=1e-12)  # type: ignore[attr-defined]


def test_choice_and_unbounded_ends() -> None:
    d = Distribution.from_value({"dist": "choice", "values": [1, 2, 5], "weights": [1, 1, 2]})
    v = d.ppf(np.linspace(0, 1, 4001)[:-1])
    assert set(np.unique(v)) == {1.0, 2.0, 5.0}
    assert abs((v == 5).mean() - 0.5) < 0.01
    n = Distribution.from_value({"dist": "normal", "mean": 0, "sd": 1})
    assert np.isfinite(n.ppf(np.array([0.0, 1.0]))).all()
