"""Item 1 of issue 16: the files a model reads are part of a sweep's identity.

A teacup whose Room Temperature is read from room.csv: changing the file between a killed sweep and its
resume (or after a finished one) is refused naming the file, never mixed into the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from fault_helpers import (
    kill_after,
    one_line_error,
    sd_cli,
    start,
    write_data_teacup,
    write_room,
    write_spec,
)

import sd
from sd.errors import SpecError


def test_model_records_the_data_files_it_reads(tmp_path: Path) -> None:
    write_data_teacup(tmp_path, room=70)
    model = sd.load(tmp_path / "teacup.mdl")
    assert list(model.ir.files) == [str((tmp_path / "room.csv").resolve())]
    assert model.constants["Room Temperature"].value == 70.0


def test_finished_store_refused_after_the_data_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_data_teacup(tmp_path, room=70)
    spec = write_spec(tmp_path, draws=512, chunk=128)
    ds = sd.sweep(spec, scheduler="sync")
    want = 70 + 110 * np.exp(-30 / ds["Characteristic Time"].values)
    np.testing.assert_allclose(ds["T final"].values, want, rtol=2e-2)
    write_room(tmp_path, 20)
    with pytest.raises(SpecError, match=r"out.zarr.*data file room.csv"):
        sd.sweep(spec, scheduler="sync")  # the same process: the cached model is not reused either
    ds = sd.sweep(spec, scheduler="sync", overwrite=True)
    assert float(ds["T final"].max()) < 70  # every draw with the new room temperature


def test_killed_sweep_not_resumed_with_changed_data(tmp_path: Path) -> None:
    """The reported case: kill -9 part-way, change room.csv, rerun: refused (exit 2, one line naming
    room.csv); with --overwrite every chunk holds the new data."""
    write_data_teacup(tmp_path, room=70, final=60, dt=1 / 256)
    write_spec(tmp_path, draws=4096, chunk=256)
    proc = start(["sweep", "spec.toml", "--scheduler", "sync"], tmp_path)
    done = kill_after(proc, tmp_path / "out.zarr", 3)
    assert 3 <= done < 16
    write_room(tmp_path, 20)
    line = one_line_error(sd_cli(["sweep", "spec.toml", "--scheduler", "sync"], tmp_path))
    assert "room.csv" in line and "--overwrite" in line
    res = sd_cli(["sweep", "spec.toml", "--scheduler", "sync", "--overwrite"], tmp_path)
    assert res.returncode == 0, res.stderr
    final = xr.open_zarr(tmp_path / "out.zarr", consolidated=False)["T final"].values
    assert np.isfinite(final).all() and final.max() < 70  # no chunk of the old data left
