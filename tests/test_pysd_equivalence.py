"""sd equals pysd per draw (1e-10 relative) on the corpus models, for random constants.

Subscripted constants are varied element by element (sd takes ``"name[a,b]"`` parameters; pysd gets the
whole array as an xarray.DataArray with the other elements at their defaults).
"""

from __future__ import annotations

import os
import warnings
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from profiles import examples

import sd
from sd.ir.analysis import required
from sd.testing.corpus import EXPECTED, corpus_cases, corpus_root, run_pysd

# corpus-wide: every corpus model against pysd, per draw (deselect with -m 'not slow')
pytestmark = pytest.mark.slow

_root = corpus_root()
CASES = [
    c for c in (corpus_cases(_root) if _root else [])
    if EXPECTED.get(c.name, ("", ""))[0] != "unsupported"
]  # fmt: skip
# sample models without Vensim output that sd supports are compared with pysd only
_loadable = []
def _load(case) -> sd.Model:
    return sd.load(case.mdl, data_files=list(case.data_files) or None)


for _c in CASES:
    try:
        _load(_c)
    except sd.UnsupportedFeatureError:
        if _c.output is not None:
            raise
        continue
    _loadable.append(_c)
# pysd needs ~10 s per run of Workforce (xarray interpolation in its lookups, 4,800 steps): it gets a
# fixed set of draws below instead of a hypothesis search
SLOW = {"samples/Workforce"}


def _random(case) -> bool:
    """RANDOM functions: sd's seeded streams differ from pysd's global generator by design."""
    text = case.mdl.read_text(errors="replace").upper()
    return "RANDOM " in text


def _subscripted(case) -> bool:
    return bool(_load(case).ir.arrays)


# where pysd departs from Vensim, sd follows Vensim (its own output decides: tests/test_conformance.py)
VENSIM_NOT_PYSD = {
    # DELAY1/DELAY3 with a delay time below order x TIME STEP (MODULO(constant, 3) with TIME STEP 1):
    # pysd lowers the order, Vensim keeps its stages (docs/semantics.md)
    "tests/arguments",
}
_loadable = [c for c in _loadable if not _random(c) and c.name not in VENSIM_NOT_PYSD]
CASES = [c for c in _loadable if c.name not in SLOW and not _subscripted(c)]
# pysd takes 10-30 s per run of these (xarray in every subscripted lookup and delay): compared only
# with SD_SLOW_TESTS=1
SLOW_ARRAYS = {"tests/get_lookups_subscripted_args", "tests/subscripted_delays"}
ARRAY_CASES = [
    c for c in _loadable
    if c.name not in SLOW and _subscripted(c)
    and (c.name not in SLOW_ARRAYS or os.environ.get("SD_SLOW_TESTS"))
]  # fmt: skip
SLOW_CASES = [c for c in _loadable if c.name in SLOW]


@cache
def _models(case_name: str):
    case = next(c for c in _loadable if c.name == case_name)
    model = _load(case)
    pmodel, _ = run_pysd(case.mdl, run=False, data_files=case.data_files)
    return case, model, pmodel


def _ranges(model: sd.Model, limit: int | None = None) -> dict[str, tuple[float, float]]:
    """Each constant's [min, max] from the model, else +-50% of its default (subscripted constants
    element by element; at most ``limit`` of them, spread over the model's constants)."""
    out = {}
    items = list(model.constants.items())
    if limit is not None and len(items) > limit:
        step = len(items) / limit
        items = [items[int(k * step)] for k in range(limit)]
    # the time grid is one for every draw: what a control variable reads is not drawn per draw
    grid = required(model.ir, [k for k, v in model.ir.variables.items() if v.kind == "control"])
    for name, var in items:
        if var.ident in model.ir.structural or var.ident in grid:
            continue
        default = var.value
        assert default is not None
        lo, hi = (var.limits or (None, None, None))[:2]
        if lo is None or hi is None or not lo < hi:
            lo, hi = sorted((default * 0.5, default * 1.5)) if default else (-1.0, 1.0)
        out[name] = (lo, hi)
    return out


def test_scalar_models_are_covered() -> None:
    assert len(CASES) >= 35, [c.name for c in CASES]
    assert len(ARRAY_CASES) >= 40, [c.name for c in ARRAY_CASES]


def _pysd_params(model: sd.Model, pmodel, draw_params: dict[str, float]) -> dict:
    """pysd's params for one draw: subscripted constants as whole DataArrays."""
    import xarray as xr

    out: dict = {}
    arrays: dict[str, dict[tuple[str, ...], float]] = {}
    owner = {i: info for info in model.ir.arrays.values() for i in info.elements.values()}
    for name, value in draw_params.items():
        info = owner.get(model.resolve(name))
        if info is None:
            out[name] = value
            continue
        elems = next(e for e, i in info.elements.items() if i == model.resolve(name))
        arrays.setdefault(info.name, {})[elems] = value
    for array_name, changed in arrays.items():
        info = model.ir.arrays[array_name]
        values = np.full(info.shape, np.nan)
        for elems, ident in info.elements.items():
            v = changed.get(elems, model.ir.variables[ident].value)
            values[
                tuple(info.coords[d].index(e) for d, e in zip(info.dims, elems, strict=False))
            ] = v
        out[array_name] = xr.DataArray(
            values, {d: list(info.coords[d]) for d in info.dims}, list(info.dims)
        )
    return out


def _columns(ds) -> list[tuple[str, str, tuple]]:
    """(pysd column, sd variable, index) for every saved element."""
    cols = []
    for name, da in ds.data_vars.items():
        dims = da.dims[2:]
        if not dims:
            cols.append((str(name), str(name), ()))
            continue
        for idx in np.ndindex(*da.shape[2:]):
            elems = [str(da[d].values[i]) for d, i in zip(dims, idx, strict=False)]
            cols.append((f"{name}[{','.join(elems)}]", str(name), idx))
    return cols


# corpus models with a negative number to a fractional power (NaN in sd, complex in pysd)
COMPLEX_POWER_CASES = {"tests/arithmetics"}


@pytest.mark.parametrize("case", ARRAY_CASES, ids=[c.name for c in ARRAY_CASES])
@settings(
    max_examples=examples(1),
    phases=[Phase.explicit, Phase.generate],
    # ALLOCATE AVAILABLE refuses most random priority profiles, in pysd as in sd
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_subscripted_models_equal_pysd_per_draw(case, data) -> None:
    case, model, pmodel = _models(case.name)
    # pysd sets a subscripted constant as a whole: vary arrays whose every element is a constant
    mixed = {
        i for info in model.ir.arrays.values() for i in info.elements.values()
        if any(model.ir.variables[j].kind != "constant" for j in info.elements.values())
    }  # fmt: skip
    ranges = {k: v for k, v in _ranges(model, limit=None).items() if model.resolve(k) not in mixed}
    ranges = dict(list(ranges.items())[:: max(1, len(ranges) // 6)][:6])
    n = 1
    params: dict[str, np.ndarray] = {}
    for name, (lo, hi) in ranges.items():
        params[name] = np.array(
            data.draw(
                st.lists(st.floats(lo, hi, allow_nan=False), min_size=n, max_size=n), label=name
            )
        )
    try:
        ds = model.run(params, draws=n)
    except ValueError:
        # an invalid draw for ALLOCATE AVAILABLE (a priority type that is not 0-3, ...): pysd's
        # allocation algorithm, which sd calls, refuses it as pysd does
        assume(False)
    cols = _columns(ds)
    for d in range(n):
        draw_params = {k: float(v[d]) for k, v in params.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ref = pmodel.run(params=_pysd_params(model, pmodel, draw_params))
            except (IndexError, ValueError, ZeroDivisionError, KeyError):
                assume(False)
        assert np.allclose(ref.index.values, ds["time"].values, rtol=0, atol=1e-9)
        for col, var, idx in cols:
            if col not in ref.columns or np.iscomplexobj(ref[col].values):
                # pysd computes a negative number to a fractional power in complex numbers
                continue
            expected = ref[col].to_numpy(dtype=float)
            actual = ds[var].values[(d, slice(None), *idx)]
            # a negative number to a fractional power: NaN in sd, the real part of a complex number
            # in pysd (docs/semantics.md)
            if case.name in COMPLEX_POWER_CASES:
                expected = np.where(np.isnan(actual) & ~np.isnan(expected), np.nan, expected)
            scale = np.nanmax(np.abs(expected), initial=0.0)
            np.testing.assert_allclose(
                actual, expected, rtol=1e-10, atol=1e-12 * (1 + scale),
                err_msg=f"{case.name} draw {d} variable {col!r} params {draw_params}",
            )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@given(data=st.data())
def test_sd_equals_pysd_per_draw(case, data) -> None:
    case, model, pmodel = _models(case.name)
    ranges = _ranges(model)
    n = data.draw(st.integers(1, 3), label="draws") if ranges else 1
    params: dict[str, np.ndarray] = {}
    for name, (lo, hi) in ranges.items():
        params[name] = np.array(
            data.draw(
                st.lists(st.floats(lo, hi, allow_nan=False), min_size=n, max_size=n), label=name
            )
        )
    ds = model.run(params)
    columns = [model.ir.variables[model.resolve(v)].name for v in ds.data_vars]
    for d in range(n):
        draw_params = {k: float(v[d]) for k, v in params.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ref = pmodel.run(params=draw_params, return_columns=columns)
            except (IndexError, ValueError, ZeroDivisionError):
                # pysd itself cannot run this draw (e.g. a delay time of 0 lowers a delay's order
                # to 0 and crashes its stateful object): nothing to compare with
                assume(False)
        assert np.allclose(ref.index.values, ds["time"].values, rtol=0, atol=1e-9)
        for col in columns:
            expected = ref[col].to_numpy(dtype=float)
            actual = ds[col].values[d]
            scale = np.nanmax(np.abs(expected), initial=0.0)
            np.testing.assert_allclose(
                actual, expected, rtol=1e-10, atol=1e-12 * (1 + scale),
                err_msg=f"{case.name} draw {d} variable {col!r} params {draw_params}",
            )  # fmt: skip


def _compare(model, pmodel, params: dict[str, np.ndarray], n: int, label: str) -> None:
    ds = model.run(params, draws=n)
    columns = [str(v) for v in ds.data_vars]
    for d in range(n):
        draw_params = {k: float(v[d]) for k, v in params.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pmodel.run(params=draw_params, return_columns=columns)
        for col in columns:
            expected = ref[col].to_numpy(dtype=float)
            scale = np.nanmax(np.abs(expected), initial=0.0)
            np.testing.assert_allclose(
                ds[col].values[d], expected, rtol=1e-10, atol=1e-12 * (1 + scale),
                err_msg=f"{label} draw {d} variable {col!r} params {draw_params}",
            )  # fmt: skip


@pytest.mark.parametrize("case", SLOW_CASES, ids=[c.name for c in SLOW_CASES])
def test_slow_models_equal_pysd_on_fixed_draws(case) -> None:
    case, model, pmodel = _models(case.name)
    ranges = _ranges(model)
    rng = np.random.default_rng(7)
    params = {name: rng.uniform(lo, hi, 2) for name, (lo, hi) in ranges.items()}
    _compare(model, pmodel, params, 2, case.name)
