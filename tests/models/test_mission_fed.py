"""Fed remittances and seigniorage (issue 13, section 3.7): small channels, shown to be small.

Over 2,048 draws of the claim scenario (regime, AI, robots, rates, prices, money demand and the Fed's own
balance-sheet parameters drawn): the deferred asset never goes negative, nothing is remitted while it is being
repaid, remittances are never negative, the channel is zero on CBO's baseline (so the calibration is unchanged)
and, beyond CBO's own remittances, moves the deficit by at most a few tenths of a percent of GDP.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import sd

MODELS = Path(__file__).resolve().parents[2] / "models"
SCENARIOS = tomllib.loads((MODELS / "scenarios.toml").read_text(encoding="utf-8"))
N = 2048
DT = 0.03125
OUTS = ["Fed deferred asset", "Fed net income", "Fed remittances", "Fed remittances beyond baseline",
        "seigniorage", "nominal GDP", "deficit"]  # fmt: skip


def scenario(name: str) -> dict:
    return {k: v for k, v in SCENARIOS[name].items() if k != "description"}


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(MODELS / "productivity_deflation.mdl")


@pytest.fixture(scope="module")
def draws(model) -> dict:
    rng = np.random.default_rng(13)
    u = lambda lo, hi: rng.uniform(lo, hi, N)  # noqa: E731
    params = scenario("claim") | {
        "monetary regime": rng.integers(0, 3, N).astype(float),
        "AI TFP growth potential": np.exp(u(np.log(0.0005), np.log(0.03))),
        "labour equivalents per robot": np.exp(u(np.log(0.1), np.log(3))),
        "announced robot capacity target": u(0, 20),
        "baseline real interest rate": u(0.005, 0.025),
        "Ramsey growth sensitivity": u(1, 3),
        "Ramsey real rate cap": u(0.05, 0.2),
        "price adjustment time": u(0.5, 4),
        "money demand semi elasticity": u(0, 3),
        "Fed interest bearing liability share": u(0.4, 0.6),
        "Fed portfolio repricing time": u(5, 10),
    }
    ds = model.run(params, outputs=OUTS, saveper=DT)
    return {v: np.asarray(ds[v].values) for v in OUTS} | {"time": np.asarray(ds["time"].values)}


def test_deferred_asset_and_remittances_keep_their_signs(draws) -> None:
    assert (draws["Fed deferred asset"] >= -1e-12).all()
    assert (draws["Fed remittances"] >= -1e-12).all()


def test_nothing_is_remitted_while_the_deferred_asset_is_repaid(draws) -> None:
    being_repaid = draws["Fed deferred asset"] > np.maximum(draws["Fed net income"], 0) * DT
    assert being_repaid.any() and (~being_repaid).any()
    assert (draws["Fed remittances"][being_repaid] == 0).all()
    # the 2025 deferred asset (USD 243bn) is not repaid before the end of FY2027 in any draw
    early = draws["time"] <= 2027.0
    assert (draws["Fed remittances"][:, early] == 0).all()


def test_the_channel_is_small(draws) -> None:
    share = np.abs(draws["Fed remittances beyond baseline"]) / draws["nominal GDP"]
    by_2028 = draws["time"] <= 2028.0
    assert share[:, by_2028].max() < 0.005  # under 0.5% of GDP in every year up to the end of FY2028
    # what it does to debt by end-FY2028: at most a few hundred billion, against USD 30T to close
    cumulative = (draws["Fed remittances beyond baseline"][:, by_2028][:, :-1] * DT).sum(axis=1)
    assert np.abs(cumulative).max() < 0.3 and np.median(np.abs(cumulative)) < 0.05
    assert share.max() < 0.02 and np.median(share[:, -1]) < 0.005  # and small to 2036
    seigniorage = draws["seigniorage"] / draws["nominal GDP"]
    assert (seigniorage >= 0).all() and seigniorage.max() < 0.02 and np.median(seigniorage) < 0.005


def test_zero_on_cbo_baseline(model) -> None:
    ds = model.run(scenario("cbo-baseline"), outputs=["Fed remittances beyond baseline", "Fed remittances"])
    assert np.abs(ds["Fed remittances beyond baseline"].values).max() < 1e-3
    assert ds["Fed remittances"].values.max() > 0.05  # remittances do resume on the baseline (by the 2030s)
