"""Scenario discovery: PRIM boxes for a boolean outcome (Friedman & Fisher 1999), in numpy.

PRIM (the Patient Rule Induction Method) looks for a box in parameter space (an interval per parameter)
where a condition holds far more often than overall. *Peeling*: starting from the whole sampled space, it
repeatedly removes the slice of draws (a fraction ``alpha`` of those in the box, at the low or the high end
of one parameter) whose removal raises the share of cases inside the box the most, until the box holds less
than ``min_mass`` of the draws. Every box along the way is kept (the *peeling trajectory*), with

- **coverage**: the share of all the cases (draws where the condition holds) that fall in the box;
- **density**: the share of the draws in the box that are cases;
- **mass**: the share of all draws that fall in the box.

*Pasting* then widens the chosen box back by ``alpha`` slices while that raises density (Friedman & Fisher
section 7). The box reported is the one of the trajectory with the highest density whose coverage is at
least ``min_coverage`` (EMA Workbench leaves this choice to the analyst; this default is a common one).

Why not EMA Workbench's ``prim``: its wheel is 28 MB and pulls scikit-learn, statsmodels, seaborn and
Platypus into an install that needs none of them, and it works on a pandas DataFrame of every draw. The
algorithm is 100 lines of numpy; this one follows the same definitions (coverage, density, mass, peeling
alpha 0.05, minimum mass 0.05).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sd.analyze._common import AnalysisError, columns, condition, open_store, param_names

__all__ = ["prim"]


def _peel(x: np.ndarray, y: np.ndarray, alpha: float, min_mass: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The peeling trajectory: a list of (lower, upper) bound vectors, starting with the full box."""
    n, _d = x.shape
    lo, hi = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
    inside = np.ones(n, dtype=bool)
    boxes = [(lo.copy(), hi.copy())]
    floor = max(min_mass * n, 1)
    while inside.sum() > floor:
        xin, yin = x[inside], y[inside]
        m, total = len(yin), yin.sum()
        # the peel thresholds from at most ~16k evenly spaced rows of the box: a slice of about alpha
        # either way, at a fraction of the cost of partitioning every column of a large box
        qs = np.quantile(xin[:: max(m // 16384, 1)], [alpha, 1 - alpha], axis=0)
        best: tuple[float, int, int] | None = None
        for side, removed in enumerate((xin <= qs[0], xin >= qs[1])):  # (m, d): peel low / high
            left = m - removed.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                dens = (total - yin @ removed) / left
            dens[(left == m) | (left < floor)] = -np.inf
            j = int(np.argmax(dens))
            if np.isfinite(dens[j]) and (best is None or dens[j] > best[0]):
                best = (float(dens[j]), j, side)
        if best is None:
            break
        _, j, side = best
        col = xin[:, j]
        keep = col > qs[0, j] if side == 0 else col < qs[1, j]
        if side == 0:
            lo[j] = col[keep].min()
        else:
            hi[j] = col[keep].max()
        inside[np.flatnonzero(inside)[~keep]] = False
        boxes.append((lo.copy(), hi.copy()))
    return boxes


def _in_box(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.all((x >= lo) & (x <= hi), axis=1)


def _paste(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: float,
           full: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Widen the box one parameter end at a time while density rises (pasting)."""
    lo, hi = lo.copy(), hi.copy()
    n = len(y)
    while True:
        inb = (x >= lo) & (x <= hi)
        out = x.shape[1] - inb.sum(axis=1)
        inside = out == 0
        dens0, m = y[inside].mean(), inside.sum()
        step = max(int(alpha * m), 1)
        best: tuple[float, int, str, float] | None = None
        for j in range(x.shape[1]):
            others = inside | ((out == 1) & ~inb[:, j])
            col = x[:, j]
            below = np.sort(col[others & (col < lo[j])])
            above = np.sort(col[others & (col > hi[j])])
            if below.size:
                nlo = below[max(below.size - step, 0)]
                sel = others & (col >= nlo) & (col <= hi[j])
                d = y[sel].mean()
                if d > dens0 and (best is None or d > best[0]):
                    best = (float(d), j, "low", float(nlo))
            if above.size:
                nhi = above[min(step, above.size) - 1]
                sel = others & (col >= lo[j]) & (col <= nhi)
                d = y[sel].mean()
                if d > dens0 and (best is None or d > best[0]):
                    best = (float(d), j, "high", float(nhi))
        if best is None or m >= n:
            return lo, hi
        _, j, side, v = best
        if side == "low":
            lo[j] = v if v > full[0][j] else full[0][j]
        else:
            hi[j] = v if v < full[1][j] else full[1][j]


def prim(store: Any, cond: str, *, params: list[str] | None = None, alpha: float = 0.05,
         min_mass: float = 0.05, min_coverage: float = 0.5, paste: bool = True,
         max_draws: int | None = 200_000, seed: int = 0) -> Any:  # fmt: skip
    """PRIM boxes where ``cond`` holds (a condition of :func:`sd.analyze.condition`, e.g.
    ``'debt held by public 2028 < initial debt held by public'``, or a boolean variable of the store).

    Returns an :class:`xarray.Dataset`: the peeling trajectory (``coverage``, ``density``, ``mass``,
    ``lower``, ``upper`` along ``box`` and ``parameter``) and the chosen box (attrs ``chosen``,
    ``coverage``, ``density``, ``mass``; variables ``box_lower``, ``box_upper``, ``restricted`` along
    ``parameter``). ``max_draws`` caps the draws used (a random subset with ``seed``); None uses all.
    """
    import xarray as xr

    ds = open_store(store)
    names = params or param_names(ds)
    if not names:
        raise AnalysisError("PRIM: the store has no drawn parameters")
    if not 0 < alpha < 0.5 or not 0 < min_mass < 1:
        raise AnalysisError(f"PRIM: need 0 < alpha < 0.5 and 0 < min_mass < 1, got {alpha}, {min_mass}")
    flag = ds[cond] if cond in ds.variables and ds[cond].dtype == bool else condition(ds, cond)
    if set(flag.dims) != {"draw"}:
        raise AnalysisError(f"PRIM: {cond!r} must be one value per draw, got dims {flag.dims}")
    n_all = int(ds.sizes["draw"])
    idx = np.arange(n_all)
    if max_draws is not None and n_all > max_draws:
        idx = np.sort(np.random.default_rng(seed).choice(n_all, max_draws, replace=False))
        sub = ds.isel(draw=idx)
        flag = flag.isel(draw=idx)
    else:
        sub = ds
    y = np.asarray(flag.values, dtype=bool).astype(float)
    x = columns(sub, names)
    total = y.sum()
    if total == 0:
        raise AnalysisError(f"PRIM: {cond!r} holds in none of the {len(y):,} draws: no box to find")
    boxes = _peel(x, y, alpha, min_mass)
    full = boxes[0]
    cov, dens, mass = [], [], []
    for lo, hi in boxes:
        inside = _in_box(x, lo, hi)
        cov.append(y[inside].sum() / total)
        dens.append(y[inside].mean() if inside.any() else np.nan)
        mass.append(inside.mean())
    cov_a, dens_a = np.asarray(cov), np.asarray(dens)
    ok = np.flatnonzero(cov_a >= min_coverage)
    chosen = int(ok[np.nanargmax(dens_a[ok])]) if ok.size else 0
    lo, hi = boxes[chosen]
    if paste and chosen:
        lo, hi = _paste(x, y, lo, hi, alpha, full)
    inside = _in_box(x, lo, hi)
    restricted = (lo > full[0]) | (hi < full[1])
    res = xr.Dataset(
        {
            "coverage": (("box",), cov_a),
            "density": (("box",), dens_a),
            "mass": (("box",), np.asarray(mass)),
            "lower": (("box", "parameter"), np.stack([b[0] for b in boxes])),
            "upper": (("box", "parameter"), np.stack([b[1] for b in boxes])),
            "box_lower": (("parameter",), lo),
            "box_upper": (("parameter",), hi),
            "restricted": (("parameter",), restricted),
        },
        coords={"parameter": names, "box": np.arange(len(boxes))},
        attrs={
            "condition": cond, "chosen": chosen, "coverage": float(y[inside].sum() / total),
            "density": float(y[inside].mean()), "mass": float(inside.mean()),
            "base_density": float(y.mean()), "draws_used": len(y), "alpha": alpha,
            "min_mass": min_mass, "min_coverage": min_coverage, "pasted": int(bool(paste and chosen)),
            "seed": ds.attrs.get("seed", ""), "sampler": str(ds.attrs.get("sampler", "")),
            "spec_file": str(ds.attrs.get("spec_file", "")),
        },
    )  # fmt: skip
    return res


def describe_box(res: Any) -> list[str]:
    """Lines describing the chosen box: coverage, density, mass and each restricted bound."""
    a = res.attrs
    lines = [
        f"{a['condition']}: holds in {100 * a['base_density']:.1f}% of draws; box: coverage "
        f"{100 * a['coverage']:.1f}%, density {100 * a['density']:.1f}%, mass {100 * a['mass']:.1f}%"
    ]
    full_lo, full_hi = res["lower"].isel(box=0).values, res["upper"].isel(box=0).values
    for k, p in enumerate(res["parameter"].values):
        if not bool(res["restricted"].values[k]):
            continue
        lo, hi = float(res["box_lower"].values[k]), float(res["box_upper"].values[k])
        parts = []
        if lo > full_lo[k]:
            parts.append(f">= {lo:.4g}")
        if hi < full_hi[k]:
            parts.append(f"<= {hi:.4g}")
        lines.append(f"  {p} {' and '.join(parts)}  (sampled [{full_lo[k]:.4g}, {full_hi[k]:.4g}])")
    return lines
