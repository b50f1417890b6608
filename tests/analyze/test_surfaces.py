"""Surfaces, fan charts and PRIM on dask-backed stores; figures and the CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

import sd
from sd.analyze import AnalysisError
from sd.cli import main

STATS = ["median", "q90", "q5", "mean", "count", "prob:y > 5", "prob:y > 2 and x3 < 0"]


@pytest.mark.parametrize("stat", STATS)
def test_surface_dask_equals_loaded(mc_store, stat) -> None:
    assert hasattr(mc_store["y"].data, "dask")  # the store is lazy
    lazy = sd.analyze.surface(mc_store, "x1", "x2", "y", stat=stat, bins=8)
    loaded = sd.analyze.surface(mc_store.compute(), "x1", "x2", "y", stat=stat, bins=8)
    np.testing.assert_allclose(lazy.values, loaded.values, rtol=1e-12, equal_nan=True)
    assert lazy.dims == ("x2", "x1") and lazy.shape == (8, 8)
    assert int(lazy["count"].sum()) == mc_store.sizes["draw"]


def test_surface_values_by_hand(mc_store) -> None:
    ds = mc_store.compute()
    surf = sd.analyze.surface(ds, "x1", "x2", "y", stat="median", bins=4)
    edges = np.linspace(-np.pi, np.pi, 5)
    x1, x2, y = ds["x1"].values, ds["x2"].values, ds["y"].values
    sel = (x1 >= edges[1]) & (x1 < edges[2]) & (x2 >= edges[3]) & (x2 <= edges[4])
    assert float(surf.values[3, 1]) == pytest.approx(np.median(y[sel]), rel=1e-12)
    prob = sd.analyze.surface(ds, "x1", "x2", stat="prob:y > 5", bins=4)
    assert float(prob.values[3, 1]) == pytest.approx((y[sel] > 5).mean())


def test_surface_errors(mc_store) -> None:
    with pytest.raises(AnalysisError, match="expected median"):
        sd.analyze.surface(mc_store, "x1", "x2", "y", stat="mode")
    with pytest.raises(AnalysisError, match="did you mean 'x2'"):
        sd.analyze.surface(mc_store, "x1", "x22", "y")
    with pytest.raises(AnalysisError, match="one value per draw"):
        sd.analyze.surface(mc_store, "x1", "x2", "z")


def test_fan(mc_store) -> None:
    fan = sd.analyze.fan(mc_store, "z")
    assert fan.dims == ("quantile", "time") and fan.sizes["time"] == 3
    assert np.all(np.diff(fan.values, axis=0) >= 0)  # quantiles ordered
    z = mc_store["z"].values
    np.testing.assert_allclose(fan.sel(quantile=0.5).values, np.quantile(z, 0.5, axis=0))
    with pytest.raises(AnalysisError, match="stored time series"):
        sd.analyze.fan(mc_store, "y")


def test_prim_finds_the_box(mc_store) -> None:
    # y > 7 needs sin(x2)^2 near 1 (x2 near +-pi/2) and sin(x1) > 0
    box = sd.analyze.prim(mc_store, "y > 7", min_coverage=0.3)
    a = box.attrs
    assert 0 < a["coverage"] <= 1 and a["density"] > 2 * a["base_density"]
    assert bool(box["restricted"].sel(parameter="x1"))
    assert float(box["box_lower"].sel(parameter="x1")) > -0.5
    assert np.all(np.diff(box["mass"].values) <= 0)
    lines = sd.analyze.describe_box(box)
    assert "coverage" in lines[0] and any(line.strip().startswith("x1") for line in lines[1:])
    with pytest.raises(AnalysisError, match="holds in none"):
        sd.analyze.prim(mc_store, "y > 100")


def _path(ds) -> str:
    return json.loads(ds.attrs["spec"])["store"]


def test_cli_plots_and_report(mc_store, tmp_path) -> None:
    store = _path(mc_store)
    run = CliRunner().invoke
    res = run(main, ["plot", "surface", store, "--x", "x1", "--y", "x2", "--z", "y", "--stat", "q90",
                     "--out", str(tmp_path / "s.html")])  # fmt: skip
    assert res.exit_code == 0, res.output
    page = (tmp_path / "s.html").read_text()
    assert "q90 of y" in page and "seed 7" in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # every resource inline: opens offline
    res = run(main, ["plot", "surface", store, "--x", "x1", "--y", "x3", "--stat", "prob:y > 5",
                     "--out", str(tmp_path / "s.png")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    res = run(main, ["plot", "fan", store, "--var", "z", "--out", str(tmp_path / "f.png")])
    assert res.exit_code == 0, res.output
    res = run(main, ["plot", "fan", store, "--var", "z", "--out", str(tmp_path / "f.txt")])
    assert res.exit_code == 2 and "expected a .html or .png" in res.output
    res = run(main, ["analyze", "prim", store, "--condition", "y > 7"])
    assert res.exit_code == 0 and "coverage" in res.output
    res = run(main, ["report", store, "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r.html").read_text()
    assert "Most influential parameters for y" in page and "federal debt" not in page
    res = run(main, ["report", str(tmp_path / "nothing.zarr"), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "does not exist" in res.output
