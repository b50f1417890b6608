"""Calibration of the mission model to CBO's baselines, asserted on runs of ``sd.load(...).run(...)``.

Targets are CBO's published figures, not model output:
- February 2026 (The Budget and Economic Outlook: 2026 to 2036): debt held by the public 108% of GDP at the end
  of FY2030 and 120% at the end of FY2036, FY2026 deficit USD 1.9T (scenario ``cbo-baseline``, the defaults).
- January 2025 (pub. 60870, Table 1-1): 109.2% in FY2030 and 118.5% in FY2035 (scenario ``cbo-jan2025``, the
  model's first fit, kept as a regression test).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import sd

MODELS = Path(__file__).resolve().parents[2] / "models"
MDL = MODELS / "productivity_deflation.mdl"
SCENARIOS = tomllib.loads((MODELS / "scenarios.toml").read_text(encoding="utf-8"))
OUTS = ["debt to GDP ratio", "federal debt held by public", "real GDP", "price level", "net interest",
        "energy demand met fraction"]  # fmt: skip


def params(name: str) -> dict:
    return {k: v for k, v in SCENARIOS[name].items() if k != "description"}


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(MDL)


def at(ds, var: str, t: float) -> float:
    return float(ds[var].sel(time=t).values[0])


def test_final_time_reaches_cbo_window(model) -> None:
    assert model.controls["FINAL TIME"].expr.value >= 2036


@pytest.mark.parametrize(
    ("year", "cbo_pct", "tol_pp"), [(2030, 108.0, 1.5), (2036, 120.0, 2.0)]
)
def test_cbo_feb_2026_debt_ratio(model, year, cbo_pct, tol_pp) -> None:
    ds = model.run(params("cbo-baseline"), outputs=OUTS)
    assert abs(100 * at(ds, "debt to GDP ratio", year) - cbo_pct) <= tol_pp


def test_cbo_feb_2026_deficit_and_interest(model) -> None:
    ds = model.run(params("cbo-baseline"), outputs=OUTS)
    debt = lambda t: at(ds, "federal debt held by public", t)  # noqa: E731
    assert debt(2026) - debt(2025) == pytest.approx(1.9, abs=0.15)  # FY2026 deficit, CBO USD 1.9T
    assert debt(2036) - debt(2035) == pytest.approx(3.1, abs=0.3)  # FY2036 deficit, CBO USD 3.1T
    assert at(ds, "net interest", 2036) == pytest.approx(2.1, abs=0.15)  # CBO: USD 2.1T in 2036
    # end-FY2025 debt is 99% of GDP in CBO Feb 2026 (the start value is a fit to it)
    assert 100 * at(ds, "debt to GDP ratio", 2025) == pytest.approx(99.0, abs=0.5)


def test_cbo_feb_2026_economy(model) -> None:
    ds = model.run(params("cbo-baseline"), outputs=OUTS)
    growth = np.log(at(ds, "real GDP", 2036) / at(ds, "real GDP", 2025)) / 11
    inflation = np.log(at(ds, "price level", 2036) / at(ds, "price level", 2025)) / 11
    assert growth == pytest.approx(0.018, abs=1e-4)  # CBO: 1.8%/yr after 2026
    assert inflation == pytest.approx(0.020, abs=2e-4)
    assert (ds["energy demand met fraction"].values == 1).all()


@pytest.mark.parametrize(("year", "cbo_pct"), [(2030, 109.2), (2035, 118.5)])
def test_cbo_jan_2025_regression(model, year, cbo_pct) -> None:
    ds = model.run(params("cbo-jan2025"), outputs=OUTS)
    assert abs(100 * at(ds, "debt to GDP ratio", year) - cbo_pct) <= 2.0


def test_baseline_is_the_same_under_money_rule_and_taylor_rule(model) -> None:
    """Switches off, inflation on target: the regime does not matter (within 0.5 pp of GDP by 2036)."""
    a = model.run({**params("cbo-baseline"), "monetary regime": 0}, outputs=OUTS)
    b = model.run({**params("cbo-baseline"), "monetary regime": 1}, outputs=OUTS)
    assert abs(at(a, "debt to GDP ratio", 2036) - at(b, "debt to GDP ratio", 2036)) < 0.005
