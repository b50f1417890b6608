"""The mission model through sd: equal to pysd per scenario, the CLI's scenario runs, and properties over
thousands of draws of every ranged parameter at once."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.testing.corpus import run_pysd

MODELS = Path(__file__).resolve().parents[2] / "models"
MDL = MODELS / "productivity_deflation.mdl"
SCENARIOS = tomllib.loads((MODELS / "scenarios.toml").read_text())
NAMES = [k for k, v in SCENARIOS.items() if isinstance(v, dict)]
# stocks that may legitimately go negative: the debt (a surplus retires it) and the interest bill
SIGNED = {"federal debt held by public", "interest bill", "short debt interest bill", "coupon debt interest bill",
          "lowest debt held by public to date", "lowest gross debt to date"}


def scenario_params(name: str) -> dict[str, float]:
    return {k: v for k, v in SCENARIOS[name].items() if k != "description"}


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(MDL)


def test_scenarios_are_there() -> None:
    assert {"cbo-baseline", "claim", "sceptic"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_sd_equals_pysd_per_scenario(model, name) -> None:
    params = scenario_params(name)
    ds = model.run(params)
    _, ref = run_pysd(MDL, params=params, return_columns=[str(v) for v in ds.data_vars])
    for col in ds.data_vars:
        expected = ref[str(col)].to_numpy(float)
        np.testing.assert_allclose(
            ds[col].values[0],
            expected,
            rtol=1e-10,
            atol=1e-12 * (1 + np.abs(expected).max()),
            err_msg=f"{name}: {col}",
        )


@pytest.mark.parametrize("name", NAMES)
def test_cli_runs_each_scenario(model, name, tmp_path) -> None:
    out = tmp_path / f"{name}.nc"
    proc = subprocess.run(
        [sys.executable, "-m", "sd", "run", str(MDL), "--scenario", name, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "at time 2028:" in proc.stdout
    ds = model.run(scenario_params(name), outputs=["federal debt held by public"])
    debt = float(ds["federal debt held by public"].sel(time=2028.0).values[0])
    line = next(ln for ln in proc.stdout.splitlines() if "federal debt held by public" in ln)
    assert float(line.split()[5]) == pytest.approx(debt, rel=1e-5)
    assert out.is_file() and out.stat().st_size > 0


def test_cli_unknown_scenario_is_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sd", "run", str(MDL), "--scenario", "utopia"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "no scenario 'utopia'" in proc.stderr and "'claim'" in proc.stderr


def _draws(model: sd.Model, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for name, var in model.constants.items():
        lo, hi = (var.limits or (None, None, None))[:2]
        if lo is not None and hi is not None and lo < hi:
            params[name] = rng.uniform(lo, hi, n)
    return params


def test_stocks_non_negative_over_the_ranges(model) -> None:
    """2,000 draws of every ranged constant at once, switches included."""
    stocks = [s for s in model.stocks if s not in SIGNED]
    params = _draws(model, 2000, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = model.run(params, outputs=stocks)
    for s in stocks:
        values = ds[s].values
        assert np.isfinite(values).all(), s
        assert values.min() >= -1e-9, f"{s} reaches {values.min()}"


def test_debt_identities_hold_in_every_draw(model) -> None:
    params = _draws(model, 500, seed=5)
    outs = ["federal debt held by public", "deficit", "revenue", "non interest outlays",
            "net interest", "primary balance", "Fed remittances beyond baseline"]  # fmt: skip
    dt = model.controls["TIME STEP"].expr.value  # a literal in the .mdl
    ds = model.run(params, outputs=outs, saveper=dt)
    d = {k: ds[k].values for k in outs}
    np.testing.assert_allclose(
        d["deficit"], d["non interest outlays"] + d["net interest"] - d["revenue"] - d["Fed remittances beyond baseline"], rtol=1e-12,
        atol=1e-12,
    )  # fmt: skip
    np.testing.assert_allclose(
        d["primary balance"], d["revenue"] - d["non interest outlays"], rtol=1e-12, atol=1e-12
    )
    debt = d["federal debt held by public"]
    # Euler: the debt moves by exactly the deficit x dt each step, in every draw
    np.testing.assert_allclose(
        np.diff(debt, axis=1), d["deficit"][:, :-1] * dt, rtol=1e-9, atol=1e-9 * dt
    )
