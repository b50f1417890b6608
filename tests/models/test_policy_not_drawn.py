"""The claim study tests the claim, not tax policy: no constant tagged [policy] in its .mdl documentation is drawn
(or overridden) by a claim sweep or a claim scenario, and the tax rates no longer move with the labour share."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
MDL = ROOT / "models" / "productivity_deflation.mdl"
SCENARIOS = tomllib.loads((ROOT / "models" / "scenarios.toml").read_text(encoding="utf-8"))
SWEEPS = sorted((ROOT / "sweeps").glob("*.toml"))
# The levers issue 13 names (current law, CBO February 2026): they must carry the tag.
MUST_BE_POLICY = {
    "baseline revenue share",
    "real growth of non interest outlays",
    "initial non interest outlays",
    "intragovernmental debt growth rate",
    "baseline money growth rate",
    "money policy response",
    "Taylor inflation response",
    "Taylor output gap response",
}


@pytest.fixture(scope="module")
def model() -> sd.Model:
    return sd.load(MDL)


@pytest.fixture(scope="module")
def policy(model) -> set[str]:
    return {name for name, var in model.constants.items() if "[policy]" in (var.doc or "")}


def claim_specs() -> list[Path]:
    return [p for p in SWEEPS if (load_spec(p).scenario or "").startswith("claim") and p.stem != "policy"]


def test_policy_tags_cover_the_levers(model, policy) -> None:
    assert MUST_BE_POLICY <= policy, MUST_BE_POLICY - policy
    # the tax rates are derived, not constants that could be drawn
    for rate in ("effective tax rate on labour income", "effective tax rate on capital income"):
        assert rate not in model.constants
    assert model.constants["baseline money growth rate"].value == pytest.approx(0.038)
    # the regime axis is tagged as such, not as a fiscal lever
    assert "[regime]" in model.constants["monetary regime"].doc


def test_flagship_is_a_claim_sweep() -> None:
    assert ROOT / "sweeps" / "productivity_deflation.toml" in claim_specs()


@pytest.mark.parametrize("path", claim_specs(), ids=lambda p: p.stem)
def test_no_policy_constant_drawn_or_set_in_a_claim_sweep(path, policy) -> None:
    spec = load_spec(path)
    drawn = set(spec.distributions)
    assert not drawn & policy, f"{path.name} draws policy constants {sorted(drawn & policy)}"
    fixed = set(spec.parameters) - drawn
    assert not fixed & policy, f"{path.name} overrides policy constants {sorted(fixed & policy)}"
    assert len(drawn) >= 40  # the claim's mechanisms are drawn


@pytest.mark.parametrize("name", [k for k, v in SCENARIOS.items() if isinstance(v, dict) and k.startswith("claim")])
def test_claim_scenarios_keep_current_law(name, policy) -> None:
    assert not set(SCENARIOS[name]) & policy, name


def test_policy_sweep_draws_policy(policy) -> None:
    spec = load_spec(ROOT / "sweeps" / "policy.toml")
    assert set(spec.distributions) - {"monetary regime"} <= policy
    assert "baseline revenue share" in spec.distributions


def test_labour_share_of_income_no_longer_changes_taxes(model) -> None:
    """Switches off: revenue is the revenue share of GDP whatever the labour share of income."""
    shares = np.linspace(0.45, 0.65, 5)
    ds = model.run({"labour share of income": shares}, outputs=["revenue", "nominal GDP"])
    ratio = ds["revenue"].values / ds["nominal GDP"].values
    share = model.constants["baseline revenue share"].value
    np.testing.assert_allclose(ratio, share, rtol=1e-12)
    # ...while the labour share of *revenue* (a structural band, drawn) does move it once robots take labour income
    claim = {k: v for k, v in SCENARIOS["claim"].items() if k != "description"}
    lo = model.run({**claim, "labour share of revenue": 0.62}, outputs=["revenue"])["revenue"].sel(time=2036).values[0]
    hi = model.run({**claim, "labour share of revenue": 0.78}, outputs=["revenue"])["revenue"].sel(time=2036).values[0]
    assert float(hi) < float(lo)  # more revenue on labour, which robots displace: less revenue
