"""Reality checks end to end on a sweep of the mission model, with a planted violation that must be counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.sweep.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "sweeps" / "productivity_deflation.toml"


@pytest.fixture
def spec_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The flagship spec at 64 draws, plus a planted check that some draws must violate."""
    text = FLAGSHIP.read_text(encoding="utf-8")
    text = text.replace('model = "../models/', f'model = "{(ROOT / "models").as_posix()}/')
    text = text.replace(
        "[checks]\n",
        '[checks]\n"planted: prices never reach 1.05" = "price level < 1.05"\n',
        1,
    )
    spec = tmp_path / "flagship.toml"
    spec.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return spec


def test_flagship_declares_its_checks() -> None:
    checks = load_spec(FLAGSHIP).checks
    assert len(checks) >= 4
    assert any("energy demand met fraction" in c.expr for c in checks.values())


def test_checks_on_mission_model_sweep(spec_file: Path) -> None:
    ds = sd.sweep(spec_file, draws=64, store="mission.zarr", scheduler="sync", backend="numpy").load()
    # the model's own checks hold in every draw
    for name in load_spec(FLAGSHIP).checks:
        assert not ds[f"violated: {name}"].values.any(), name
    # the planted one is counted exactly where the stored price series crosses 1.05
    planted = ds["violated: planted: prices never reach 1.05"].values
    assert ds["price level"].sizes["time"] > 1
    expected = (ds["price level"].values >= 1.05).any(axis=1)
    np.testing.assert_array_equal(planted, expected)
    assert 0 < planted.sum() < 64
