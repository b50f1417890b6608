"""Historical direction checks (issue 13, section 4): with the era's monetary regime and stylised facts
(models/scenarios.toml `history-1866`, `history-1946`, sources there), the model reproduces the *direction* of

- US 1866-1893: the debt was repaid in dollars during a productivity deflation, through primary surpluses
  (deflation itself raised the debt ratio);
- US 1946-1974: debt/GDP fell from 106% to 23% through real growth and inflation, while the debt in dollars rose.

The debt ratio's change is split, step by step, into what interest, primary balance, real growth and
inflation contributed: with D debt, Y nominal GDP (instantaneous), b = D/Y, each Euler step gives
Δb = i·dt/Y1 − pb·dt/Y1 + b0·(Y0/Y1 − 1), the last term shared between real growth and prices in proportion to
their log changes. The split adds up to the model's own Δb (checked), so the signs asserted are the model's.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import sd

MODELS = Path(__file__).resolve().parents[2] / "models"
SCENARIOS = tomllib.loads((MODELS / "scenarios.toml").read_text(encoding="utf-8"))
DT = 0.03125
OUTS = ["federal debt held by public", "nominal GDP", "real GDP", "price level", "net interest", "primary balance",
        "debt to GDP ratio", "inflation rate"]  # fmt: skip
ERAS = {"history-1866": 2052.0, "history-1946": 2053.0}  # 27 and 28 fiscal years


@pytest.fixture(scope="module")
def runs() -> dict:
    model = sd.load(MODELS / "productivity_deflation.mdl")
    out = {}
    for name, final in ERAS.items():
        params = {k: v for k, v in SCENARIOS[name].items() if k != "description"}
        ds = model.run(params, outputs=OUTS, final_time=final, saveper=DT)
        out[name] = {v: np.asarray(ds[v].values).reshape(-1) for v in OUTS}
    return out


def decompose(r: dict) -> dict:
    d, y, q, p = r["federal debt held by public"], r["nominal GDP"], r["real GDP"], r["price level"]
    b = d / y
    y0, y1 = y[:-1], y[1:]
    interest = r["net interest"][:-1] * DT / y1
    primary = -r["primary balance"][:-1] * DT / y1
    denominator = b[:-1] * (y0 / y1 - 1)
    lg, lp = np.diff(np.log(q)), np.diff(np.log(p))
    growth, prices = denominator * lg / (lg + lp), denominator * lp / (lg + lp)
    parts = {"interest": interest.sum(), "primary": primary.sum(), "growth": growth.sum(), "prices": prices.sum()}
    assert sum(parts.values()) == pytest.approx(b[-1] - b[0], abs=1e-9)  # the split is exact
    return parts | {"change": b[-1] - b[0]}


def test_1866_1893_debt_repaid_through_primary_surpluses_while_prices_fell(runs) -> None:
    r = runs["history-1866"]
    debt, ratio = r["federal debt held by public"], r["debt to GDP ratio"]
    assert debt[-1] < 0.6 * debt[0]  # repaid in dollars (history: interest-bearing debt 2.33bn -> 0.59bn)
    assert (r["primary balance"] > 0).all()  # 28 consecutive surpluses
    assert (r["inflation rate"] < 0).all() and r["price level"][-1] < 0.8  # a productivity deflation
    assert r["real GDP"][-1] > 2.5 * r["real GDP"][0]
    assert 0.03 <= ratio[-1] <= 0.12 and ratio[0] > 0.28  # ~30% of GDP -> ~7% (CBO 2010 historical series)
    parts = decompose(r)
    assert parts["change"] < 0
    assert parts["prices"] > 0  # deflation raised the debt ratio (Fisher), it did not lower it
    assert parts["primary"] < 0 and -parts["primary"] > -parts["change"]  # surpluses did more than all of it
    assert parts["interest"] + parts["growth"] + parts["prices"] > 0  # without them the ratio would have risen


def test_1946_1974_ratio_fell_through_growth_and_inflation_not_repayment(runs) -> None:
    r = runs["history-1946"]
    debt, ratio = r["federal debt held by public"], r["debt to GDP ratio"]
    assert debt[-1] > debt[0] and (np.diff(debt) > 0).all()  # never repaid: USD 242bn -> 344bn (OMB Table 7.1)
    assert ratio[0] > 1.0 and 0.15 <= ratio[-1] <= 0.40  # 106% -> 23% of GDP
    assert r["price level"][-1] > 1.8 and (r["inflation rate"] > 0).all()
    parts = decompose(r)
    assert parts["change"] < -0.6
    assert parts["growth"] < 0 and parts["prices"] < 0
    # growth and inflation did it: together more than three times what the primary surpluses did
    assert -(parts["growth"] + parts["prices"]) > 3 * abs(parts["primary"])
    assert -parts["prices"] > abs(parts["primary"]) and -parts["growth"] > abs(parts["primary"])


def test_the_eras_differ_by_regime_as_history_did(runs) -> None:
    # gold/greenback money rule (regime 0) in 1866-93 and the Fed's inflation rule (regime 1) in 1946-74
    assert SCENARIOS["history-1866"]["monetary regime"] == 0 and SCENARIOS["history-1946"]["monetary regime"] == 1
    assert np.mean(runs["history-1866"]["inflation rate"]) < -0.005 < 0.02 < np.mean(runs["history-1946"]["inflation rate"])
