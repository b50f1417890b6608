"""Calibration speed: sd.calibrate (vectorised DE, one run per population) against scipy's DE over a pysd loop.

Both fit SIR's Contact Infectivity and Duration to the same data (daily Infectious and Recovered of the
true run with 1% multiplicative noise), with the same loss (module docstring of sd.calibration), the same
DE settings (popsize, maxiter, tol, seed, deferred updating, no polish) and so the same budget of
candidates. Prints each side's time, candidates, runs and fit, and the ratio.

    python benchmarks/bench_calibrate.py [--popsize 10] [--maxiter 10] [--full]

``--full`` also times sd.calibrate at its defaults (popsize 32, maxiter 200, to convergence).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_calibrate import FIT, noisy_data, write_sir  # noqa: E402

import sd  # noqa: E402


def pysd_de(path: Path, data: pd.DataFrame, weights: dict[str, float], popsize: int, maxiter: int,
            tol: float, seed: int) -> tuple[dict[str, float], float, int, float]:  # fmt: skip
    """scipy's DE calling pysd once per candidate (the loop EMA's PysdModel and most scripts run)."""
    import pysd
    from scipy.optimize import differential_evolution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(path))
    names = list(FIT)
    times = data.index.to_numpy()
    count = [0]

    def loss(x: np.ndarray) -> float:
        count[0] += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model.run(params=dict(zip(names, x, strict=True)), return_columns=list(data.columns),
                            return_timestamps=times)  # fmt: skip
        total = 0.0
        for s in data.columns:
            total += weights[s] * float(((out[s].to_numpy() - data[s].to_numpy()) ** 2).sum())
        return total if np.isfinite(total) else np.inf

    t0 = time.perf_counter()
    res = differential_evolution(loss, [FIT[n] for n in names], popsize=popsize, maxiter=maxiter, tol=tol,
                                 updating="deferred", polish=False, rng=np.random.default_rng(seed))  # fmt: skip
    return dict(zip(names, map(float, res.x), strict=True)), float(res.fun), count[0], time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--popsize", type=int, default=10)
    ap.add_argument("--maxiter", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = write_sir(folder)
    model = sd.load(path)
    data = noisy_data(model)
    model.run(outputs=["Infectious"], draws=2, backend="auto")  # compile outside the timing
    kw = dict(popsize=args.popsize, maxiter=args.maxiter, tol=0.0, seed=args.seed)
    t0 = time.perf_counter()
    ours = sd.calibrate(model, data, FIT, **kw)
    t_sd = time.perf_counter() - t0
    print(f"SIR, {len(data)} daily points of Infectious and Recovered with 1% noise; DE popsize {args.popsize}, "
          f"maxiter {args.maxiter}, tol 0, seed {args.seed}")  # fmt: skip
    print(f"sd.calibrate   {t_sd:8.2f} s  {ours.evaluations:6d} candidates in {ours.runs:4d} runs  "
          f"best {ours.best}  loss {ours.loss:.4g}  [backend {ours.run.attrs.get('backend')}]")  # fmt: skip
    best, loss, n, t_pysd = pysd_de(path, data, ours.weights, args.popsize, args.maxiter, 0.0, args.seed)
    print(f"DE over pysd   {t_pysd:8.2f} s  {n:6d} candidates in {n:4d} runs  best {best}  loss {loss:.4g}")
    print(f"ratio (pysd loop / sd): {t_pysd / t_sd:.0f}x  ({t_pysd / n * 1e3:.1f} ms per pysd run, "
          f"{t_sd / ours.runs * 1e3:.1f} ms per sd population of {ours.evaluations // ours.runs})")  # fmt: skip
    if args.full:
        t0 = time.perf_counter()
        full = sd.calibrate(model, data, FIT, seed=args.seed)
        t = time.perf_counter() - t0
        err = {k: f"{100 * (v / {'Contact Infectivity': 0.3, 'Duration': 5.0}[k] - 1):+.2f}%"
               for k, v in full.best.items()}  # fmt: skip
        print(f"sd.calibrate at defaults: {t:.2f} s, {full.evaluations} candidates in {full.runs} runs, "
              f"error vs truth {err}; {full.message}")  # fmt: skip


if __name__ == "__main__":
    main()
