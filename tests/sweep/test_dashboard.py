"""A sweep that starts its own LocalCluster prints the dask dashboard's address."""

from __future__ import annotations

from pathlib import Path

from sd import examples
from sd.sweep import load_spec, sweep


def test_local_cluster_prints_dashboard_link(tmp_path: Path, capsys) -> None:
    spec = load_spec(examples.path("sir")).replace(draws=256, chunk=128, store=str(tmp_path / "s.zarr"))
    ds = sweep(spec, scheduler="local", workers=1, progress=False)  # the default runs on threads
    err = capsys.readouterr().err
    assert "dask dashboard: http://" in err and "/status" in err
    assert int(ds.sizes["draw"]) == 256 and bool(ds["peak infectious"].notnull().all())
