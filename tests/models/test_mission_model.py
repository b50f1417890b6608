"""Checks of the mission model ``models/productivity_deflation.mdl``, run through pysd.

The model is translated once per module from a temporary copy (pysd writes a .py beside the .mdl).
Every run passes ``reload=True`` so parameters from one run never leak into the next.
"""

from __future__ import annotations

import shutil
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from profiles import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pysd = pytest.importorskip("pysd")
from pysd.translators.structures import abstract_expressions as ae  # noqa: E402
from pysd.translators.vensim.vensim_file import VensimFile  # noqa: E402

MODELS = Path(__file__).parents[2] / "models"
MDL = MODELS / "productivity_deflation.mdl"
SCENARIOS = MODELS / "scenarios.toml"

pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning"
)

# CBO, "The Budget and Economic Outlook: 2026 to 2036", February 2026: federal debt held by the public at the end
# of the fiscal year, percent of GDP: 99 in FY2025, 101 in FY2026, 108 in FY2030, 120 in FY2036 (the model's
# default since it was recalibrated to current law; the January 2025 fit is scenario cbo-jan2025,
# tests/models/test_mission_calibration.py).
CBO_DEBT_HELD_BY_PUBLIC_PCT_GDP = {2025: 99.0, 2026: 101.0, 2030: 108.0, 2036: 120.0}
CBO_TOLERANCE_PP = 2.0  # percentage points of GDP

# Acemoglu (2024, NBER WP 32487): at most 0.66% higher TFP after 10 years; the sceptic scenario is set to it.
ACEMOGLU_TFP_GAIN_10Y = 0.0066

SECTOR_VIEWS = {
    "Robot capital",
    "AI compute",
    "Energy supply",
    "Production",
    "Money and prices",
    "Federal debt",
}
REQUIRED_OUTPUTS = [
    "federal debt held by public",
    "gross federal debt",
    "nominal GDP",
    "real GDP",
    "price level",
    "inflation rate",
    "debt to GDP ratio",
    "real debt",
    "debt in energy terms",
    "energy demand met fraction",
    "robot fleet",
    "primary balance",
    "net interest",
    "deficit",
    "revenue",
    "non interest outlays",
]
SWITCHES = ["robot switch", "AI switch", "space energy switch"]
# Stocks that may legitimately change sign: debt would turn into net assets, interest into interest income.
# The running minima of debt and the two tranches' interest bills follow the debt's sign.
SIGNED_STOCKS = {"federal debt held by public", "interest bill", "short debt interest bill",
                 "coupon debt interest bill", "lowest debt held by public to date", "lowest gross debt to date"}
CONTROL = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}


@dataclass(frozen=True)
class Spec:
    elements: dict  # name -> AbstractElement
    ranged: dict  # name -> limits tuple, for constants with a finite [min,max]
    stocks: list
    views: dict  # view name -> set of variable names


@pytest.fixture(scope="module")
def spec() -> Spec:
    vf = VensimFile(MDL)
    vf.parse()
    vf.parse_sketch(subview_sep=[])
    am = vf.get_abstract_model()
    elements = {e.name: e for e in am.sections[0].elements}
    ranged = {
        name: e.limits
        for name, e in elements.items()
        if name not in CONTROL and e.limits and None not in e.limits[:2]
    }
    stocks = [n for n, e in elements.items() if isinstance(e.components[0].ast, ae.IntegStructure)]
    return Spec(elements, ranged, stocks, dict(am.sections[0].views_dict or {}))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mission_model") / MDL.name
    shutil.copy(MDL, tmp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.read_vensim(str(tmp))


@pytest.fixture(scope="module")
def scenarios() -> dict:
    with SCENARIOS.open("rb") as f:
        # top-level keys that are not tables (summary_at, summary_outputs) configure `sd run`
        return {k: v for k, v in tomllib.load(f).items() if isinstance(v, dict)}


def run(model, params=None, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.run(params=dict(params or {}), reload=True, **kwargs).astype(float)


def scenario_params(scenarios: dict, name: str) -> dict:
    return {k: v for k, v in scenarios[name].items() if k != "description"}


def assert_all_finite(df: pd.DataFrame) -> None:
    bad = [c for c in df.columns if not np.isfinite(df[c].to_numpy()).all()]
    assert not bad, f"non-finite values in {bad}"


# ---------------------------------------------------------------------------------------------- structure
def test_every_variable_has_units_documentation_and_one_view(spec):
    # pysd reports view names as Python identifiers ("Robot capital" -> "robot_capital").
    expected = {v.lower().replace(" ", "_") for v in SECTOR_VIEWS}
    assert expected <= set(spec.views), f"views: {sorted(spec.views)}"
    placed = [v for names in spec.views.values() for v in names]
    assert len(placed) == len(set(placed)), "a variable is defined in two views"
    for name, element in spec.elements.items():
        assert element.units and element.units.strip(), f"{name!r} has no units"
        assert element.documentation and len(element.documentation.strip()) > 10, (
            f"{name!r} undocumented"
        )
        if name not in CONTROL:
            assert name.lower().replace(" ", "_") in placed, f"{name!r} is in no view"
    for name in SWITCHES:
        assert spec.ranged[name][:2] == (0, 1), name
    assert len(spec.ranged) >= 40


def test_control_section(spec):
    value = {n: float(spec.elements[n].components[0].ast) for n in CONTROL}
    assert value["INITIAL TIME"] == 2025
    assert value["FINAL TIME"] >= 2035
    step = value["TIME STEP"]
    assert step <= 1 / 12 and np.log2(step) == round(np.log2(step)), (
        "step: power-of-two fraction, monthly or finer"
    )


# ----------------------------------------------------------------------------------------------- running
def test_model_runs_in_pysd_without_nan(model):
    df = run(model)
    assert df.index[0] == 2025 and df.index[-1] == 2036
    assert set(REQUIRED_OUTPUTS) <= set(df.columns)
    assert_all_finite(df)
    start = df.loc[2025]
    assert start["federal debt held by public"] == pytest.approx(30.28)  # JEC, 30 Sep 2025
    assert start["gross federal debt"] == pytest.approx(38.02)  # Treasury, 21 Oct 2025
    assert start["price level"] == 1.0
    assert start["robot fleet"] == 0.0


def test_switches_off_reproduce_cbo_baseline(model, scenarios):
    df = run(model, scenario_params(scenarios, "cbo-baseline"))
    assert_all_finite(df)
    for year, cbo_pct in CBO_DEBT_HELD_BY_PUBLIC_PCT_GDP.items():
        model_pct = 100 * df.loc[year, "debt to GDP ratio"]
        assert abs(model_pct - cbo_pct) <= CBO_TOLERANCE_PP, (
            f"{year}: model {model_pct:.1f}% vs CBO {cbo_pct}%"
        )
    # CBO's economic assumptions: real GDP 1.8%/yr, GDP prices 2.0%/yr, energy never binds.
    real_growth = np.log(df.loc[2036, "real GDP"] / df.loc[2025, "real GDP"]) / 11
    inflation = np.log(df.loc[2036, "price level"] / df.loc[2025, "price level"]) / 11
    assert real_growth == pytest.approx(0.018, abs=1e-4)
    assert inflation == pytest.approx(0.020, abs=2e-4)
    assert (df["energy demand met fraction"] == 1).all()
    assert (df["robot fleet"] == 0).all()


def test_default_run_is_the_cbo_baseline(model, scenarios):
    default = run(model)
    baseline = run(model, scenario_params(scenarios, "cbo-baseline"))
    pd.testing.assert_frame_equal(default, baseline)


@pytest.mark.parametrize("scenario", ["cbo-baseline", "claim"])
def test_accounting_identities_every_step(model, scenarios, scenario):
    cols = [*REQUIRED_OUTPUTS, "intragovernmental debt", "nominal GDP over fiscal year", "Fed remittances beyond baseline"]
    # TIME STEP read from the model file: 1/32 year.
    dt = 0.03125
    df = run(model, scenario_params(scenarios, scenario), saveper=dt, return_columns=cols)
    assert len(df) == 353  # 2025-2036
    assert np.allclose(np.diff(df.index.to_numpy()), dt)
    d = {c: df[c].to_numpy() for c in cols}
    np.testing.assert_allclose(
        d["deficit"],
        d["non interest outlays"] + d["net interest"] - d["revenue"] - d["Fed remittances beyond baseline"],
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        d["primary balance"], d["revenue"] - d["non interest outlays"], rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        d["gross federal debt"],
        d["federal debt held by public"] + d["intragovernmental debt"],
        rtol=1e-12,
    )
    debt = d["federal debt held by public"]
    scale = np.abs(debt).max()
    np.testing.assert_allclose(
        np.diff(debt), d["deficit"][:-1] * dt, rtol=1e-9, atol=1e-9 * scale * dt
    )
    # Real debt deflates by the price level; the debt ratio uses fiscal-year GDP (CBO's convention).
    np.testing.assert_allclose(d["real debt"] * d["price level"], debt, rtol=1e-12)
    np.testing.assert_allclose(
        d["debt to GDP ratio"] * d["nominal GDP over fiscal year"], debt, rtol=1e-12
    )


# ------------------------------------------------------------------------------------- parameter ranges
@settings(
    max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(data=st.data())
def test_stocks_stay_non_negative_over_parameter_ranges(model, spec, data):
    params = {}
    for name, limits in spec.ranged.items():
        lo, hi = float(limits[0]), float(limits[1])
        if len(limits) > 2 and limits[2] == 1:
            params[name] = data.draw(st.integers(int(lo), int(hi)), label=name)
        else:
            params[name] = data.draw(
                st.floats(lo, hi, allow_nan=False, allow_infinity=False), label=name
            )
    df = run(model, params)
    assert_all_finite(df)
    for stock in spec.stocks:
        if stock not in SIGNED_STOCKS:
            assert df[stock].min() >= -1e-9, f"{stock} went negative: {df[stock].min()}"
    met = df["energy demand met fraction"]
    assert ((met >= 0) & (met <= 1)).all()
    assert (df["price level"] > 0).all()


# ------------------------------------------------------------------------------------------- scenarios
def test_scenarios_name_only_model_constants_inside_their_ranges(spec, scenarios):
    assert {"cbo-baseline", "claim", "sceptic"} <= set(scenarios)
    for name, table in scenarios.items():
        assert isinstance(table.get("description"), str) and table["description"], name
        for constant, value in scenario_params(scenarios, name).items():
            assert constant in spec.elements, f"[{name}] unknown constant {constant!r}"
            # the ranges describe the 2025 US economy; the history-* scenarios are other eras (1866, 1946)
            if constant in spec.ranged and not name.startswith("history-"):
                lo, hi = spec.ranged[constant][:2]
                assert lo <= value <= hi, f"[{name}] {constant} = {value} outside [{lo}, {hi}]"


@pytest.fixture(scope="module")
def scenario_runs(model, scenarios):
    return {name: run(model, scenario_params(scenarios, name)) for name in scenarios}


def test_each_scenario_runs(scenario_runs):
    for df in scenario_runs.values():
        assert_all_finite(df)
        assert df.index[-1] == 2036


def test_claim_and_sceptic_differ_by_mechanism(scenario_runs):
    base, claim, sceptic = (scenario_runs[n] for n in ("cbo-baseline", "claim", "sceptic"))
    y = 2028
    # The claim raises real output far more than the sceptic case once the Optimus lines have ramped (logistic
    # ramp from end-2026 plus construction: little by 2028), and money does not follow, so prices fall.
    assert claim.loc[2030, "real GDP"] > 1.03 * sceptic.loc[2030, "real GDP"]
    assert claim.loc[2035, "price level"] < 0.95 * sceptic.loc[2035, "price level"]
    assert claim.loc[2030, "inflation rate"] < 0
    # Sticky prices: real gains still show up in nominal GDP at first, so the debt ratio is lower than the
    # sceptic's by more than a point...
    assert claim.loc[2030, "debt to GDP ratio"] < sceptic.loc[2030, "debt to GDP ratio"] - 0.01
    # ...but with tax rates and outlays unchanged the deficit persists: nominal debt has not closed.
    assert (
        claim.loc[y, "federal debt held by public"] > claim.loc[2025, "federal debt held by public"]
    )
    # Fisher's debt deflation: by 2035 falling prices make the real debt heavier than in the sceptic case.
    assert claim.loc[2035, "real debt"] > 1.2 * sceptic.loc[2035, "real debt"]
    # The sceptic's small gains cannot lower the debt ratio below CBO's path by more than a rounding margin.
    assert sceptic.loc[y, "debt to GDP ratio"] >= base.loc[y, "debt to GDP ratio"] - 0.005
    assert sceptic.loc[2035, "AI productivity index"] == pytest.approx(
        1 + ACEMOGLU_TFP_GAIN_10Y, abs=0.001
    )


def test_energy_can_bind(model, scenarios):
    claim = scenario_params(scenarios, "claim")
    limited = dict(claim)
    limited.update(
        {
            "space energy switch": 0,
            "maximum terrestrial build rate": 0.03,
            "terrestrial construction time": 6.0,
        }
    )
    free, short = run(model, claim), run(model, limited)
    assert free["energy demand met fraction"].min() == 1.0
    assert short["energy demand met fraction"].min() < 0.95
    assert short.loc[2035, "real GDP"] < 0.97 * free.loc[2035, "real GDP"]
