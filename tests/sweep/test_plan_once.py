"""`sd sweep` plans once: the CLI's plan (for the description and the dry run) is the one sweep() runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sd
from sd.cli import main
from sd.errors import SpecError
from sd.sweep import plan


def _count_grids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import sd.sweep.planning as planning
    calls: list[int] = []
    real = planning._grid

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "_grid", counted)
    return calls


def test_cli_sweep_plans_once(teacup_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_grids(monkeypatch)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", "sync", "--draws", "600"])
    assert res.exit_code == 0, res.output
    assert len(calls) == 1  # the spec was planned (and its time grid read) once
    ds = sd.sweep("spec.toml", scheduler="sync", draws=600)  # the store is complete: nothing rerun
    assert ds.sizes["draw"] == 600 and len(calls) == 2
    assert np.isfinite(ds["T at 10"].values).all()


def test_sweep_takes_a_plan_but_no_overrides_with_it(teacup_dir: Path) -> None:
    p = plan("spec.toml", draws=300)
    ds = sd.sweep(p, scheduler="sync")
    assert ds.sizes["draw"] == 300
    with pytest.raises(
        SpecError, match=r"spec\.toml: draws: give overrides to plan\(\), not to sweep\(\)"
    ):
        sd.sweep(p, draws=600, scheduler="sync")
