"""The flagship sweep end to end on a small Sobol sample: >= 8 reality checks, each holding in >= 99% of draws,
>= 3 paired 'claim effect on' outcomes stored, and the three monetary regimes all drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "sweeps" / "productivity_deflation.toml"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flagship")
    text = FLAGSHIP.read_text(encoding="utf-8").replace('model = "../models/', f'model = "{(ROOT / "models").as_posix()}/')
    spec = tmp / "flagship.toml"
    spec.write_text(text, encoding="utf-8")
    return sd.sweep(spec, draws=128, store=str(tmp / "f.zarr"), scheduler="sync", backend="numpy").load()


def test_at_least_eight_checks_each_holding_in_99_percent(store) -> None:
    checks = load_spec(FLAGSHIP).checks
    assert len(checks) >= 8
    for name in checks:
        share = 1 - store[f"violated: {name}"].values.mean()
        assert share >= 0.99, f"{name}: holds in {share:.1%}"


def test_paired_effects_stored(store) -> None:
    effects = [v for v in store.data_vars if str(v).startswith("claim effect on ")]
    assert len(effects) >= 3
    for base in ("debt held by public 2028", "debt ratio 2028", "real GDP 2028"):
        assert f"claim effect on {base}" in effects
    assert np.isfinite(store["claim effect on real GDP 2028"].values).all()
    # switching robots, AI and space energy on never lowers real GDP by 2028 in these draws
    assert (store["claim effect on real GDP 2028"].values >= -1e-9).all()


def test_regimes_all_drawn(store) -> None:
    assert set(np.unique(store["monetary regime"].values)) == {0, 1, 2}
