"""Unit-hypercube samples by draw index: a draw's values depend only on (seed, draw index, spec).

Never on the chunk size, the worker count or the backend: every sampler here can produce the rows
``[start, stop)`` of the full design on its own, so a chunk task builds exactly its slice, and the full
sample (1M draws x 90 parameters = 720 MB) is never materialised for mc, lhs, sobol or grid.

- ``mc``: independent uniforms from numpy's PCG64, one stream per *block* of :data:`BLOCK` draws
  (``SeedSequence(seed, spawn_key=(block,))``); the block size is a constant, unrelated to ``chunk``.
- ``sobol``: scipy.stats.qmc.Sobol, scrambled with the seed; ``fast_forward(start)`` gives rows
  ``start..`` of the same sequence, so slices are exact. Needs a power-of-two number of draws.
- ``lhs``: scipy.stats.qmc.LatinHypercube, one dimension at a time with its own seed
  (``SeedSequence(seed, spawn_key=(j,))``): a Latin hypercube is one independent stratified permutation
  per dimension, so this is an LHS of the full size; a chunk builds one column of ``draws`` values at a
  time (8 MB per million draws) and keeps its slice.
- ``grid``: the full factorial of ``levels`` points per parameter (each choice value for ``choice``),
  row ``i`` by ``numpy.unravel_index``; the last parameter varies fastest.
- ``saltelli`` and ``morris``: SALib's designs (``SALib.sample.sobol.sample``, Saltelli's scheme with a
  scrambled Sobol base; ``SALib.sample.morris.sample``) need the whole design at once: the driver builds it
  once (rows x parameters x 8 bytes) and hands each chunk its rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["BLOCK", "design", "unit_rows"]

BLOCK = 65536  # draws per mc random stream: fixed, never tied to the chunk size


def unit_rows(sampler: str, seed: int, draws: int, d: int, start: int, stop: int,
              options: dict[str, Any] | None = None) -> np.ndarray:  # fmt: skip
    """Rows ``[start, stop)`` of the unit-hypercube design, shape ``(stop - start, d)``."""
    if not 0 <= start <= stop <= draws:
        raise ValueError(f"rows [{start}, {stop}) outside [0, {draws})")
    n = stop - start
    if sampler == "mc":
        out = np.empty((n, d))
        b0, b1 = start // BLOCK, (stop - 1) // BLOCK if n else start // BLOCK - 1
        for b in range(b0, b1 + 1):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
            lo, hi = max(start, b * BLOCK), min(stop, (b + 1) * BLOCK)
            # rows of a block are generated in order; only the first hi - b*BLOCK are needed
            block = rng.random((hi - b * BLOCK, d))
            out[lo - start : hi - start] = block[lo - b * BLOCK :]
        return out
    if sampler == "sobol":
        from scipy.stats import qmc

        eng = qmc.Sobol(d, scramble=True, rng=seed)
        if start:
            eng.fast_forward(start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "balance properties": the full design is a power of 2
            return eng.random(n)
    if sampler == "lhs":
        from scipy.stats import qmc

        out = np.empty((n, d))
        for j in range(d):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(j,)))
            out[:, j] = qmc.LatinHypercube(1, rng=rng).random(draws)[start:stop, 0]
        return out
    if sampler == "grid":
        levels = list((options or {})["levels"])
        idx = np.unravel_index(np.arange(start, stop), levels)
        out = np.empty((n, d))
        for j, (k, m) in enumerate(zip(idx, levels, strict=True)):
            out[:, j] = k / (m - 1) if m > 1 else 0.5
        return out
    raise ValueError(f"sampler {sampler!r} builds its whole design at once: use design()")


def design(sampler: str, seed: int, draws: int, d: int, options: dict[str, Any]) -> np.ndarray:
    """The full unit design of SALib's samplers (saltelli, morris), shape ``(draws, d)``."""
    problem = {"num_vars": d, "names": [f"x{j}" for j in range(d)], "bounds": [[0.0, 1.0]] * d}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's and scipy's deprecation notices
        if sampler == "saltelli":
            from SALib.sample import sobol

            second = bool(options.get("second_order", True))
            n = draws // (2 * d + 2 if second else d + 2)
            out = sobol.sample(problem, n, calc_second_order=second, scramble=True, seed=seed)
        elif sampler == "morris":
            from SALib.sample import morris

            n = draws // (d + 1)
            out = morris.sample(problem, n, num_levels=int(options.get("levels", 4)), seed=seed)
        else:
            raise ValueError(f"sampler {sampler!r} has no whole design; use unit_rows()")
    out = np.asarray(out, dtype=float)
    assert out.shape == (draws, d), (out.shape, draws, d)
    return out
