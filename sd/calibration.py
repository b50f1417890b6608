"""Calibration: fit a model's constants to observed time series, every candidate of a population as one draw.

``sd.calibrate(model, data, params)`` minimises a weighted sum of squared errors with scipy's
differential evolution in its vectorised form: each population of candidates is **one** ``Model.run``
with the candidates along the ``draw`` axis. ``posterior=N`` then samples the posterior around the fit
with emcee's affine-invariant ensemble sampler, also vectorised (each half-ensemble move is one run),
and the sample can feed a sweep (``dist = "samples"``, docs/sweeps.md). See docs/howto-calibrate.md.

The loss of a candidate θ is

    L(θ) = Σ_s w_s Σ_t (f(y_s(t; θ)) - f(d_s(t)))²

over the data's series s and the times t where the observation d_s(t) is not NaN, with f the identity
(or ``log`` when ``log=True``, for series spanning orders of magnitude; both sides must then be > 0) and
the weight w_s given per series or, by default, 1 / (the variance of the observed f(d_s)) so that series of
different scales count alike (1 when a series is constant).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import ParamError, SDError

__all__ = ["CalibrationResult", "calibrate", "read_data"]

METHODS = ("de",)
_KIND = {"aux": "an auxiliary", "initial": "an auxiliary (INITIAL)", "stock": "a stock",
         "control": "a control variable", "lookup": "a lookup"}  # fmt: skip


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    best : dict[str, float]
        The fitted constants by Vensim name.
    loss : float
        The loss at ``best`` (module docstring).
    run : xarray.Dataset
        The fitted run (one draw), the data's series at the model's save times.
    history : pandas.DataFrame
        One row per population evaluated: ``evaluations`` (cumulative), ``best_loss`` so far and the best
        parameters so far.
    evaluations : int
        Candidates evaluated (model draws run) by the optimiser.
    runs : int
        Vectorised ``Model.run`` calls made by the optimiser.
    posterior : pandas.DataFrame | None
        Posterior samples (one column per parameter) when ``posterior=`` was asked for.
    """

    best: dict[str, float]
    loss: float
    run: Any
    history: Any
    evaluations: int
    runs: int
    seconds: float
    message: str
    bounds: dict[str, tuple[float, float]]
    weights: dict[str, float]
    posterior: Any = None
    acceptance: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def save_posterior(self, path: str | Path) -> Path:
        """Write the posterior sample as CSV (a header of Vensim names): the file ``dist = "samples"`` reads."""
        if self.posterior is None:
            raise SDError("no posterior sample: call sd.calibrate(..., posterior=N) to draw one")
        p = Path(path)
        self.posterior.to_csv(p, index=False)
        return p

    def to_toml(self) -> str:
        """The result as TOML text: ``[best]``, ``loss``, bounds and run facts (``sd calibrate --out``)."""

        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = [
            f"loss = {self.loss!r}",
            f"evaluations = {self.evaluations}",
            f"runs = {self.runs}",
            f"seconds = {self.seconds:.3f}",
            f"message = {q(self.message)}",
        ]
        for k, v in self.meta.items():
            if isinstance(v, bool):
                val = "true" if v else "false"
            elif isinstance(v, (int, float)):
                val = repr(v)
            else:
                val = q(str(v))
            lines.append(f"{k} = {val}")
        lines.append("\n[best]")
        lines += [f"{q(k)} = {v!r}" for k, v in self.best.items()]
        lines.append("\n[bounds]")
        lines += [f"{q(k)} = [{lo!r}, {hi!r}]" for k, (lo, hi) in self.bounds.items()]
        lines.append("\n[weights]")
        lines += [f"{q(k)} = {v!r}" for k, v in self.weights.items()]
        if self.posterior is not None:
            lines.append("\n[posterior]")
            lines.append(f"samples = {len(self.posterior)}")
            if self.acceptance is not None:
                lines.append(f"acceptance = {self.acceptance!r}")
            for c in self.posterior.columns:
                col = self.posterior[c].to_numpy()
                lines.append(
                    f"{q(c)} = {{ mean = {float(col.mean())!r}, sd = {float(col.std(ddof=1))!r}, "
                    f"q05 = {float(np.quantile(col, 0.05))!r}, q95 = {float(np.quantile(col, 0.95))!r} }}"
                )
        return "\n".join(lines) + "\n"


def read_data(data: Any) -> Any:
    """Observed series as a DataFrame indexed by time: a DataFrame as given, or a CSV / tab-separated
    file (``.tab``, ``.tsv``, ``.txt``) whose first column is time and whose header names the series."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        df = data.copy()
        where = "data"
    elif isinstance(data, pd.Series):
        df = data.to_frame()
        where = "data"
    elif isinstance(data, (str, Path)):
        p = Path(data)
        where = str(p)
        if not p.is_file():
            raise SDError(f"{p}: data file not found (expected a CSV or tab-separated file)")
        sep = "\t" if p.suffix.lower() in (".tab", ".tsv", ".txt") else ","
        try:
            df = pd.read_csv(p, sep=sep, index_col=0)
        except Exception as err:  # pandas raises many kinds
            raise SDError(f"{p}: could not read the data ({err})") from err
    else:
        raise SDError(
            f"data must be a pandas DataFrame or a CSV/tab file path, got {type(data).__name__}"
        )
    if df.shape[1] == 0 or len(df) == 0:
        raise SDError(f"{where}: no data (expected a time column and at least one series column)")
    try:
        df.index = np.asarray(df.index, dtype=float)
    except (TypeError, ValueError) as err:
        raise SDError(f"{where}: the first column (time) must be numeric ({err})") from None
    for col in df.columns:
        try:
            df[col] = pd.to_numeric(df[col])
        except (TypeError, ValueError):
            raise SDError(f"{where}: column {col!r} is not numeric") from None
    if not np.isfinite(df.index.to_numpy()).all():
        raise SDError(f"{where}: the time column holds NaN or infinite values")
    df.attrs["source"] = where
    return df


class _Objective:
    """The vectorised loss: one ``Model.run`` for a whole population of candidates."""

    def __init__(self, model: Any, df: Any, names: list[str], weights: dict[str, float],
                 log: bool, run_kwargs: dict[str, Any], fixed: Mapping[str, Any]) -> None:  # fmt: skip
        self.model = model
        self.names = names
        self.series = list(df.columns)
        self.log = log
        self.run_kwargs = run_kwargs
        self.fixed = dict(fixed)
        self.runs = 0
        self.evaluations = 0
        self.populations: list[tuple[np.ndarray, np.ndarray]] = []
        probe = model.run(self.fixed or None, outputs=self.series, draws=1, **run_kwargs)
        times = probe["time"].to_numpy()
        t_obs = df.index.to_numpy()
        idx = np.searchsorted(times, t_obs)
        idx = np.clip(idx, 0, len(times) - 1)
        left = np.clip(idx - 1, 0, len(times) - 1)
        near = np.where(np.abs(times[left] - t_obs) < np.abs(times[idx] - t_obs), left, idx)
        tol = 1e-6 * max(1.0, float(np.abs(times).max()))
        bad = np.abs(times[near] - t_obs) > tol
        if bad.any():
            t = float(t_obs[bad][0])
            raise SDError(
                f"{df.attrs.get('source', 'data')}: time {t:g} is not a save time of the run of "
                f"{model.path.name} (saved from {times[0]:g} to {times[-1]:g} every "
                f"{probe.attrs.get('saveper')}); expected data times on the save grid"
            )
        self.index = near
        self.obs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for s in self.series:
            d = df[s].to_numpy(dtype=float)
            mask = np.isfinite(d)
            if not mask.any():
                raise SDError(f"{df.attrs.get('source', 'data')}: series {s!r} holds no values")
            if log and (d[mask] <= 0).any():
                raise SDError(
                    f"{df.attrs.get('source', 'data')}: series {s!r} has values <= 0; log=True "
                    "needs positive data"
                )
            obs = np.log(d[mask]) if log else d[mask]
            self.obs[s] = (mask, obs)
        self.weights = dict(weights)

    def sse(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per-series sums of squared errors for candidates X of shape (S, D)."""
        params = dict(self.fixed)
        for j, name in enumerate(self.names):
            params[name] = X[:, j]
        ds = self.model.run(params, outputs=self.series, draws=X.shape[0], **self.run_kwargs)
        self.runs += 1
        self.evaluations += X.shape[0]
        out = {}
        for s in self.series:
            mask, obs = self.obs[s]
            y = ds[s].to_numpy()[:, self.index[mask]]
            if self.log:
                with np.errstate(all="ignore"):
                    y = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.nan)
            err = ((y - obs) ** 2).sum(axis=1)
            out[s] = np.where(np.isfinite(err), err, np.inf)
        return out

    def loss(self, X: np.ndarray) -> np.ndarray:
        parts = self.sse(X)
        total = np.zeros(X.shape[0])
        for s, e in parts.items():
            total = total + self.weights[s] * e
        return total


def _bounds(model: Any, params: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    where = model.path.name
    if not params:
        raise ParamError(f"{where}: no parameters to fit (expected {{name: (low, high)}})")
    constants = {v.name for v in model.constants.values()}
    out: dict[str, tuple[float, float]] = {}
    for name, rng in params.items():
        try:
            ident = model.resolve(name)
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, sorted(constants), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ParamError(f"{where}: parameter {name!r} is not a variable of the model{hint}") from None
        var = model.ir.variables[ident]
        if var.kind != "constant":
            raise ParamError(
                f"{where}: {name!r} is {_KIND.get(var.kind, 'a ' + var.kind)}, not a constant; only "
                "constants can be fitted"
            )
        if rng is None:
            rng = (var.limits or (None, None, None))[:2]
        try:
            lo, hi = (float(rng[0]), float(rng[1]))
        except (TypeError, ValueError, IndexError):
            raise ParamError(
                f"{where}: bounds of {name!r} must be (low, high) numbers, got {rng!r}"
                + (" (the model gives no [min, max] range)" if rng == (None, None) else "")
            ) from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise ParamError(
                f"{where}: bounds of {name!r} must be finite with low < high, got ({lo}, {hi})"
            )
        out[var.name] = (lo, hi)
    return out


def calibrate(
    model: Any,
    data: Any,
    params: Mapping[str, tuple[float, float] | None],
    *,
    method: str = "de",
    seed: int | None = None,
    weights: Mapping[str, float] | None = None,
    log: bool = False,
    popsize: int = 32,
    maxiter: int = 200,
    tol: float = 1e-8,
    fixed: Mapping[str, Any] | None = None,
    posterior: int | None = None,
    walkers: int = 64,
    burn: int = 100,
    backend: str = "auto",
    **run_kwargs: Any,
) -> CalibrationResult:
    """Fit ``params`` of ``model`` to ``data`` by vectorised differential evolution.

    Parameters
    ----------
    model
        An :class:`sd.Model` or a path to a ``.mdl``.
    data
        A DataFrame indexed by time with one column per observed variable (Vensim names; NaN = not
        observed), or the path of a CSV / tab-separated file of that shape (first column: time). Data
        times must be save times of the run (pass ``saveper=`` when the model's SAVEPER is coarser).
    params
        Constant -> ``(low, high)`` search bounds; ``None`` takes the model's ``[min, max]`` range.
    method
        ``"de"``: :func:`scipy.optimize.differential_evolution` with ``vectorized=True`` (every
        population is one run of ``popsize * len(params)`` draws).
    seed
        Makes the fit (and the posterior) reproducible.
    weights
        Per-series weights (by column name); the default is 1 / variance of each observed series.
    log
        Compare logarithms (positive series only).
    popsize, maxiter, tol
        Passed to differential evolution (``popsize`` is a multiplier of the number of parameters).
    fixed
        Other parameters, held for every candidate (as ``Model.run``'s ``params``).
    posterior
        Draw this many posterior samples with emcee (``walkers`` chains, ``burn`` steps discarded),
        under Gaussian errors with an unknown variance per series (profiled out: the log-likelihood is
        ``-Σ_s n_s/2 · log SSE_s``) and a uniform prior on the bounds. Needs ``emcee``.
    backend, run_kwargs
        Passed to ``Model.run`` (e.g. ``final_time``, ``saveper``, ``integration``).
    """

    if isinstance(model, (str, Path)):
        from sd import load

        model = load(model)
    _check_method(method)
    bounds = _bounds(model, params)
    names = list(bounds)
    df = read_data(data)
    source = df.attrs.get("source", "data")
    df, series = _observed(model, df, source)
    w = _weights(df, series, weights, log)
    if popsize < 1 or maxiter < 1:
        raise ParamError(f"calibrate: popsize and maxiter must be >= 1, got {popsize}, {maxiter}")
    kw = {**run_kwargs, "backend": backend}
    obj = _Objective(model, df, names, w, log, kw, fixed or {})
    lo = np.array([bounds[n][0] for n in names])
    hi = np.array([bounds[n][1] for n in names])
    t_start = _time.perf_counter()
    x_best, f_best, history, message = _evolve(obj, names, lo, hi, popsize, maxiter, tol, seed)
    result = CalibrationResult(
        best={n: float(x_best[j]) for j, n in enumerate(names)},
        loss=f_best,
        run=None,
        history=_frame(history),
        evaluations=obj.evaluations,
        runs=obj.runs,
        seconds=0.0,
        message=message,
        bounds=bounds,
        weights=w,
        meta={
            "model": str(model.path), "model_sha256": model.sha256, "method": method,
            "seed": seed if seed is not None else "none", "log": log, "backend": backend,
            "data": str(source),
        },
    )
    if posterior:
        result.posterior, result.acceptance = _posterior(
            obj, names, lo, hi, x_best, int(posterior), walkers, burn, seed
        )
    params_best = dict(fixed or {})
    params_best.update(result.best)
    result.run = model.run(params_best, outputs=series, **kw)
    result.seconds = _time.perf_counter() - t_start
    return result


def _posterior(obj: _Objective, names: list[str], lo: np.ndarray, hi: np.ndarray, x0: np.ndarray,
               n: int, walkers: int, burn: int, seed: int | None) -> tuple[Any, float]:  # fmt: skip
    """Posterior sample by emcee, every half-ensemble move one vectorised run."""
    try:
        import emcee
    except ImportError as err:
        raise SDError(
            "calibrate(posterior=...) needs emcee: pip install 'sd[calibrate]'"
        ) from err
    import pandas as pd

    d = len(names)
    walkers = max(int(walkers), 2 * d + 2)
    walkers += walkers % 2
    counts = {s: int(m.sum()) for s, (m, _) in obj.obs.items()}

    def log_prob(X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(X)
        inside = ((lo <= X) & (hi >= X)).all(axis=1)
        out = np.full(X.shape[0], -np.inf)
        if inside.any():
            parts = obj.sse(X[inside])
            ll = np.zeros(int(inside.sum()))
            for s, e in parts.items():
                with np.errstate(divide="ignore"):
                    ll -= 0.5 * counts[s] * np.log(np.maximum(e, 1e-300))
            out[inside] = np.where(np.isfinite(ll), ll, -np.inf)
        return out

    rs = np.random.RandomState(None if seed is None else (int(seed) + 1) % 2**32)
    scale = 1e-3 * (hi - lo)
    p0 = np.clip(x0 + scale * rs.standard_normal((walkers, d)), lo, hi)
    sampler = emcee.EnsembleSampler(walkers, d, log_prob, vectorize=True)
    sampler.random_state = rs.get_state()
    steps = burn + max(1, math.ceil(n / walkers))
    sampler.run_mcmc(p0, steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    idx = np.linspace(0, len(chain) - 1, n).round().astype(int) if len(chain) > n else slice(None)
    sample = pd.DataFrame(chain[idx], columns=names)
    return sample, float(np.mean(sampler.acceptance_fraction))


def _fit_args(fits: Sequence[str]) -> dict[str, tuple[float, float] | None]:
    """Parse CLI ``--fit "NAME=lo:hi"`` (or ``NAME`` alone: the model's range)."""
    out: dict[str, tuple[float, float] | None] = {}
    for item in fits:
        if "=" not in item:
            out[item.strip()] = None
            continue
        name, _, rng = item.rpartition("=")
        try:
            a, b = rng.split(":")
            out[name.strip()] = (float(a), float(b))
        except ValueError:
            raise ParamError(f"--fit {item!r}: expected NAME=LOW:HIGH, e.g. 'Duration=1:10'") from None
    return out


def _observed(model: Any, df: Any, source: str) -> tuple[Any, list[str]]:
    """``df`` with its columns renamed to the model's Vensim names, sorted by time."""
    series = []
    for col in df.columns:
        try:
            ident = model.resolve(str(col))
        except KeyError:
            raise SDError(
                f"{source}: column {col!r} is not a variable of {model.path.name} "
                "(expected Vensim names of the observed variables)"
            ) from None
        series.append(model.ir.variables[ident].name)
    df.columns = series
    return df.sort_index(), series


def _weights(
    df: Any, series: list[str], weights: Mapping[str, float] | None, log: bool
) -> dict[str, float]:
    """Per-series weights: as given, else 1 / variance of each observed series (of its logs)."""
    if weights is not None:
        unknown = [k for k in weights if k not in series]
        if unknown:
            raise ParamError(f"calibrate: weights for {unknown} which are not data columns {series}")
        return {s: float(weights.get(s, 1.0)) for s in series}
    w = {}
    for s in series:
        d = df[s].to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        if log:
            d = np.log(d[d > 0]) if (d > 0).any() else d
        var = float(np.var(d)) if d.size > 1 else 0.0
        w[s] = 1.0 / var if var > 0 else 1.0
    return w


def _evolve(obj: Any, names: list[str], lo: np.ndarray, hi: np.ndarray, popsize: int, maxiter: int,
            tol: float, seed: int | None) -> tuple[np.ndarray, float, list[dict[str, Any]], str]:  # fmt: skip
    """Vectorised differential evolution over ``obj.loss``: (best x, best loss, history, message)."""
    from scipy.optimize import differential_evolution

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"x": None, "f": np.inf}

    def f(x: np.ndarray) -> np.ndarray:  # x: (D, S)
        X = np.atleast_2d(np.asarray(x, dtype=float).T)
        values = obj.loss(X)
        k = int(np.argmin(values))
        if values[k] < best["f"]:
            best["f"], best["x"] = float(values[k]), X[k].copy()
        obj.populations.append((X, values))
        row = {"evaluations": obj.evaluations, "best_loss": best["f"]}
        row.update({n: float(best["x"][j]) for j, n in enumerate(names)} if best["x"] is not None else {})
        history.append(row)
        return values

    rng = np.random.default_rng(seed)
    res = differential_evolution(
        f, list(zip(lo, hi, strict=True)), popsize=popsize, maxiter=maxiter, tol=tol,
        vectorized=True, updating="deferred", polish=False, rng=rng,
    )  # fmt: skip
    x_best = np.asarray(best["x"], dtype=float)
    f_best = float(best["f"])

    return x_best, f_best, history, str(res.message)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ParamError(f"calibrate: unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows)
