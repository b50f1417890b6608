"""What ``sd.open`` shows of a store: results as data variables, the drawn parameters as coordinates,
no internals, a time axis with units (and outcomes that are times carry them too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sd


def test_open_hides_internals_and_labels_time(teacup_dir: Path) -> None:
    sd.sweep("spec.toml", scheduler="sync")
    ds = sd.open("out.zarr")
    assert set(ds.data_vars) == {"Teacup Temperature", "T at 10", "max loss", "below 120"}
    assert {"Characteristic Time", "Room Temperature"} <= set(ds.coords)
    assert not [v for v in ds.variables if str(v).startswith("_")]
    assert ds["time"].attrs["units"] == "Minute"
    assert ds["below 120"].attrs["units"] == "Minute"  # the first time a condition holds is a time
    assert ds["Teacup Temperature"].attrs["units"] == "Degrees Fahrenheit"
    first = ds["below 120"].values
    assert np.isfinite(first).all() and (first > 0).all()


def test_a_run_labels_its_time_axis(teacup_dir: Path) -> None:
    ds = sd.load("teacup.mdl").run(outputs=["Teacup Temperature"])
    assert ds["time"].attrs == {"units": "Minute", "long_name": "time"}


def test_plain_xarray_opens_the_finished_store_without_warnings(teacup_dir: Path) -> None:
    import warnings

    import xarray as xr

    sd.sweep("spec.toml", scheduler="sync")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "consolidated metadata" RuntimeWarning
        ds = xr.open_zarr("out.zarr")
    np.testing.assert_array_equal(ds["T at 10"].values, sd.open("out.zarr")["T at 10"].values)


def test_a_spec_given_as_a_dict_sweeps_like_its_toml(teacup_dir: Path) -> None:
    import tomllib

    data = tomllib.loads(Path("spec.toml").read_text(encoding="utf-8"))
    data["store"] = "from_dict.zarr"
    got = sd.sweep(data, scheduler="sync")
    ref = sd.sweep("spec.toml", scheduler="sync")
    np.testing.assert_array_equal(got["T at 10"].values, ref["T at 10"].values)
