"""Model.run_arrays: Model.run without the Dataset (what `sd run` prints its summary from, without importing
xarray); its .dataset() is Model.run's result, and the CLI's snapshot of it equals the Dataset's values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import sd
from sd.cli import _snapshot

SUBSCRIPTED = """{UTF-8}
Region: north, south, east
\t~\t
\t~\t|
growth[Region] = 0.02, 0.03, 0.05
\t~\t1/Year [0, 0.1]
\t~\t|
scale = 2
\t~\tDmnl [1, 3]
\t~\t|
Population[Region] = INTEG(births[Region], 100 * scale)
\t~\tPeople
\t~\t|
births[Region] = growth[Region] * Population[Region]
\t~\tPeople/Year
\t~\t|
total = SUM(Population[Region!])
\t~\tPeople
\t~\t|
INITIAL TIME = 0
\t~\tYear
\t~\t|
FINAL TIME = 10
\t~\tYear
\t~\t|
TIME STEP = 0.25
\t~\tYear
\t~\t|
SAVEPER = 1
\t~\tYear
\t~\t|
"""


def _model(tmp_path: Path) -> Path:
    path = tmp_path / "pop.mdl"
    path.write_text(SUBSCRIPTED, encoding="utf-8")
    return path


def test_run_arrays_dataset_is_run(tmp_path: Path) -> None:
    model = sd.load(_model(tmp_path))
    params = {"scale": np.array([1.0, 2.5, 3.0]), "growth[south]": 0.04}
    outcomes = [sd.Outcome("max", "total"), sd.Outcome("at", "total", time=5)]
    ds = model.run(params, outputs=["Population", "total"], outcomes=outcomes)
    res = model.run_arrays(params, outputs=["Population", "total"], outcomes=outcomes)
    xr.testing.assert_identical(res.dataset(), ds)
    assert res.n == 3 and [g.label for g in res.groups] == ["Population", "total"]


def test_snapshot_equals_the_dataset_values(tmp_path: Path) -> None:
    model = sd.load(_model(tmp_path))
    res = model.run_arrays({"scale": np.array([1.0, 2.5])}, outputs=["Population", "births", "total"])
    ds = res.dataset()
    for label in ("Population", "births", "total"):
        for row in (0, 4, 10):
            vals, units = _snapshot(res, label, row)
            np.testing.assert_array_equal(vals, ds[label].isel(time=row).values, err_msg=label)
            assert units == ds[label].attrs["units"]
    assert _snapshot(res, "Population", 10)[0].shape == (2, 3)


def test_sd_run_summary_does_not_import_xarray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm `sd run` without --out prints its summary from the arrays: xarray (and the dask.array import
    it triggers, the larger part of a warm `sd run`) is never imported; with --out the Dataset is written."""
    monkeypatch.setenv("SD_CACHE_DIR", str(tmp_path / "cache"))
    path = _model(tmp_path)
    sd.load(path)  # the cold load parses with pysd (which imports xarray); the run below is warm
    code = ("import sys, sd.cli\n"
            f"sd.cli.main(['run', {str(path)!r}, '-o', 'Population', '-o', 'total', '--at', '5'], "
            "standalone_mode=False)\n"
            "print('xarray imported:', 'xarray' in sys.modules)\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "xarray imported: False" in out, out
    ds = sd.load(path).run(outputs=["Population", "total"])
    assert f"total       {float(ds['total'].sel(time=5).values[0]):.6g} People" in out, out
    nc = tmp_path / "r.nc"
    res = subprocess.run([sys.executable, "-m", "sd", "run", str(path), "--out", str(nc)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert "wrote" in res.stdout
    with xr.open_dataset(nc) as back:
        np.testing.assert_array_equal(back["total"].values, sd.load(path).run()["total"].values)
