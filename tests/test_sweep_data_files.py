"""Sweeps of a model with a data variable without an equation (issue 18): the spec's ``data_files``
(paths relative to the spec, like ``model``; a list or a table {file: [variables]}), ``sd sweep --data``,
and the data file's bytes in the store's identity (a changed file refuses a resume, naming the file).

The model: ``stock = INTEG(gain * demand, 0)`` with ``demand`` read from demand.tab (points (0, 1),
(4, 5): interpolated, demand(t) = 1 + t, Vensim's default for a data variable). Euler at TIME STEP 0.5:
stock(4) = gain * 0.5 * sum over t = 0, 0.5, ..., 3.5 of (1 + t) = gain * 0.5 * (8 + 14) = 11 * gain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import sd
from sd.cli import main
from sd.errors import DataFileError, SpecError
from sd.sweep.planning import plan

MODEL = """demand ~~|
gain = 1 ~ [0.5, 1.5] ~|
stock = INTEG(gain * demand, 0) ~~|
INITIAL TIME = 0 ~~|
FINAL TIME = 4 ~~|
TIME STEP = 0.5 ~~|
SAVEPER = 1 ~~|
"""
SPEC = """model = "m.mdl"
{data}
draws = 40
chunk = 16
seed = 5
backend = "numpy"
store = "out.zarr"
[parameters]
gain = {{ dist = "uniform", low = 0.5, high = 1.5 }}
[outputs]
timeseries = ["stock", "demand"]
[outcomes]
"stock final" = {{ var = "stock", reduce = "final" }}
"""


def write(folder: Path, data: str = 'data_files = ["data/demand.tab"]', top: float = 5.0) -> Path:
    (folder / "m.mdl").write_text(MODEL)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "demand.tab").write_text(f"Time\tdemand\n0\t1\n4\t{top:g}\n")
    spec = folder / "spec.toml"
    spec.write_text(SPEC.format(data=data))
    return spec


@pytest.mark.parametrize("data", ['data_files = ["data/demand.tab"]', 'data_files = "data/demand.tab"',
                                  '[data_files]\n"data/demand.tab" = ["demand"]'])  # fmt: skip
def test_sweep_stores_the_series_of_model_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str) -> None:
    if data.startswith("["):  # a table must come after the top-level keys
        spec = write(tmp_path, data="")
        spec.write_text(spec.read_text().replace("[parameters]", data + "\n[parameters]"))
    else:
        spec = write(tmp_path, data=data)
    monkeypatch.chdir(tmp_path / "data")  # the data file is found beside the spec, not the cwd
    ds = sd.sweep(spec, scheduler="sync")
    gain = ds["gain"].values
    assert len(gain) == 40 and np.ptp(gain) > 0.5
    np.testing.assert_allclose(ds["stock final"].values, 11 * gain, rtol=1e-12)  # the hand value
    np.testing.assert_allclose(ds["demand"].values[0], 1 + ds["time"].values, rtol=1e-12)
    run = sd.load(tmp_path / "m.mdl", data_files=tmp_path / "data" / "demand.tab").run(
        {"gain": gain}, outputs=["stock", "demand"])  # fmt: skip
    np.testing.assert_array_equal(ds["stock"].values, run["stock"].values)
    np.testing.assert_array_equal(ds["demand"].values, run["demand"].values)


def test_changed_data_file_refuses_the_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = write(tmp_path)
    sd.sweep(spec, scheduler="sync")
    write(tmp_path, top=9.0)  # demand(t) = 1 + 2t now
    with pytest.raises(SpecError, match=r"out.zarr.*data file data/demand.tab \(changed since the store"):
        sd.sweep(spec, scheduler="sync")
    ds = sd.sweep(spec, scheduler="sync", overwrite=True)
    # stock(4) = gain * 0.5 * sum (1 + 2t) over t = 0 .. 3.5 = gain * 0.5 * (8 + 28) = 18 * gain
    np.testing.assert_allclose(ds["stock final"].values, 18 * ds["gain"].values, rtol=1e-12)


def test_without_data_files_the_sweep_names_the_missing_data(tmp_path: Path) -> None:
    spec = write(tmp_path, data="")
    with pytest.raises(DataFileError, match="demand"):
        plan(spec)
    with pytest.raises(SpecError, match=r"data_files.*no such file 'nope.tab'"):
        plan(write(tmp_path, data='data_files = ["nope.tab"]'))
    with pytest.raises(SpecError, match="data_files"):
        plan(write(tmp_path, data="data_files = 3"))


def test_cli_data_option_and_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = write(tmp_path, data="")
    runner = CliRunner()
    res = runner.invoke(main, ["sweep", str(spec), "--data", "data/demand.tab", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "data       data/demand.tab (sha256" in res.output
    res = runner.invoke(main, ["sweep", str(spec), "--data", "data/demand.tab", "--scheduler", "sync"])
    assert res.exit_code == 0, res.output
    ds = xr.open_zarr(tmp_path / "out.zarr", consolidated=False)
    np.testing.assert_allclose(ds["stock final"].values, 11 * ds["gain"].values, rtol=1e-12)
    write(tmp_path, data="", top=9.0)
    res = runner.invoke(main, ["sweep", str(spec), "--data", "data/demand.tab", "--scheduler", "sync"])
    assert res.exit_code == 2 and "data/demand.tab" in res.output and "--overwrite" in res.output
