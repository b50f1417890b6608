"""Issue 16 items 6 and 7: outputs are written whole or not at all; NaN/inf draws are counted, not hidden.

The disk-full case is a simulated ENOSPC raised part-way through a write (no tmpfs can be mounted here)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from click.testing import CliRunner

from sd.cli import main

NAN_MODEL = """{UTF-8}
x = 10
\t~\tDimensionless [5,15]
\t~\t|

y = SQRT(x - 10) + Time
\t~\tDimensionless
\t~\t|

INITIAL TIME = 0
\t~\tYear
\t~\t|

FINAL TIME = 2
\t~\tYear
\t~\t|

TIME STEP = 1
\t~\tYear
\t~\t|

SAVEPER = TIME STEP
\t~\tYear
\t~\t|
"""


@pytest.fixture
def nan_model(tmp_path: Path) -> Path:
    path = tmp_path / "m.mdl"
    path.write_text(NAN_MODEL, encoding="utf-8")
    return path


def _disk_full(real: object) -> object:
    """A writer that writes a few bytes of its output, then fails as a full disk does."""

    def write(self: object, path: object, *args: object, **kwargs: object) -> None:
        Path(str(path)).write_bytes(b"PARTIAL")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    return write


@pytest.mark.parametrize("suffix", [".nc", ".csv"])
def test_disk_full_keeps_the_previous_output(
    nan_model: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """`sd run --out` on a full disk: one line, exit 2, the previous file intact, no temporary left."""
    import pandas as pd
    import xarray as xr

    out = nan_model.parent / f"runs{suffix}"
    out.write_text("PREVIOUS", encoding="utf-8")
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _disk_full(xr.Dataset.to_netcdf))
    monkeypatch.setattr(pd.DataFrame, "to_csv", _disk_full(pd.DataFrame.to_csv))
    res = CliRunner().invoke(main, ["run", str(nan_model), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "No space left on device writing" in res.output and "Traceback" not in res.output
    assert out.read_text(encoding="utf-8") == "PREVIOUS"
    assert sorted(p.name for p in nan_model.parent.iterdir()) == ["m.mdl", f"runs{suffix}"]


def test_failed_figure_keeps_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sd plot` / `sd report` write through the same temporary name: a failure mid-write leaves the old
    page as it was."""
    from sd import cli, plot

    out = tmp_path / "fig.html"
    out.write_text("OLD PAGE", encoding="utf-8")

    def failing_save(fig: object, path: Path, title: str | None = None) -> Path:
        Path(path).write_text("<html>half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(plot, "save", failing_save)
    with pytest.raises(OSError):
        cli._write_fig(object(), out, "t")
    assert out.read_text(encoding="utf-8") == "OLD PAGE"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.html"]


def test_nan_draws_counted_beside_the_statistics(nan_model: Path) -> None:
    """`sd run --draws 1000` where x < 10 makes y NaN: the count is printed beside the median, and
    --strict fails on it."""
    res = CliRunner().invoke(
        main, ["run", str(nan_model), "--draws", "1000", "--seed", "1", "-o", "y"]
    )
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.strip().startswith("y "))
    import numpy as np

    x = np.random.default_rng(1).uniform(5, 15, 1000)
    assert f"({int((x < 10).sum()):,} NaN of 1,000 draws left out)" in line, line
    res = CliRunner().invoke(
        main, ["run", str(nan_model), "--draws", "1000", "--strict", "-o", "y"]
    )
    assert res.exit_code == 1 and "--strict" in res.output
    res = CliRunner().invoke(
        main, ["run", str(nan_model), "--draws", "10", "--set", "x=11:13", "--strict", "-o", "y"]
    )
    assert res.exit_code == 0 and "left out" not in res.output, res.output


@pytest.mark.parametrize("args", [["prim", "--condition", "T > 80", "--draws", "-5"],
                                  ["prim", "--condition", "T > 80", "--min-coverage", "2"],
                                  ["first-order", "--outcome", "T", "--draws", "-5"]])  # fmt: skip
def test_analysis_options_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """Bad analysis options were tracebacks (numpy's 'negative dimensions') or silently accepted."""
    from fault_helpers import write_data_teacup, write_spec

    import sd

    monkeypatch.chdir(tmp_path)
    write_data_teacup(tmp_path)
    write_spec(
        tmp_path,
        draws=256,
        chunk=128,
        outcomes='"T" = { var = "Teacup Temperature", reduce = "final" }',
    )
    sd.sweep("spec.toml", scheduler="sync")
    res = CliRunner().invoke(main, ["analyze", args[0], "out.zarr", *args[1:]])
    assert res.exit_code == 2 and res.output.startswith("sd: error: --"), res.output


def test_a_sweep_that_runs_out_of_disk_says_so_and_the_rerun_is_identical(
    tmp_path, monkeypatch
) -> None:
    """Disk full while writing the 3rd chunk (a simulated ENOSPC from the store write): one line naming
    the store and what to do, exit 2; after space is freed the rerun finishes and equals a sweep that
    never failed."""
    import errno

    import numpy as np
    from click.testing import CliRunner
    from fault_helpers import TEACUP, write_spec

    import sd
    from sd.cli import main
    from sd.sweep import store as sweep_store

    (tmp_path / "teacup.mdl").write_text(TEACUP.format(final=30, dt=0.125), encoding="utf-8")
    write_spec(tmp_path, draws=2048, chunk=256)
    monkeypatch.chdir(tmp_path)
    real = sweep_store.write_region
    calls = {"n": 0}

    def full_disk(store, start, stop, arrays, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:  # part of the chunk written, then the disk is full
            first = dict(list(arrays.items())[:1])
            real(store, start, stop, first, **kw)
            raise OSError(errno.ENOSPC, "No space left on device", str(store))
        return real(store, start, stop, arrays, **kw)

    monkeypatch.setattr(sweep_store, "write_region", full_disk)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", "sync"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("sd: error:")]
    assert len(lines) == 1 and "No space left on device writing" in lines[0] and "rerun" in lines[0]
    assert "Traceback" not in res.output
    monkeypatch.setattr(sweep_store, "write_region", real)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", "sync"])
    assert res.exit_code == 0, res.output
    ref = sd.sweep("spec.toml", store="ref.zarr", scheduler="sync")
    got = sd.open("out.zarr")
    for name in ("T final", "Teacup Temperature", "Characteristic Time"):
        np.testing.assert_array_equal(got[name].values, ref[name].values)
