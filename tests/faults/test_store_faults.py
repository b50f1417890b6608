"""Issue 16 items 2, 3, 4, 8, 9: incomplete, damaged and contended stores, checked before any store exists.

Real zarr stores on disk, real `sd` processes for kills and concurrency (scheduler sync: one process, so
a kill -9 stops everything at once)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from fault_helpers import kill_after, one_line_error, sd_cli, start, write_data_teacup, write_spec

import sd
from sd.errors import BackendUnavailableError, SpecError
from sd.sweep.store import IncompleteStoreError


@pytest.fixture
def slow_teacup(tmp_path: Path) -> Path:
    """A teacup sweep of 16 chunks slow enough (~0.3 s a chunk) to be killed part-way."""
    write_data_teacup(tmp_path, room=70, final=60, dt=1 / 256)
    write_spec(tmp_path, draws=4096, chunk=256, extra="",
               outcomes='"T final" = { var = "Teacup Temperature", reduce = "final" }\n'
                        '"never" = { first_time = "Teacup Temperature < -1000" }')  # fmt: skip
    return tmp_path


def test_killed_sweep_refused_by_readers_then_resumed_with_exact_provenance(slow_teacup: Path) -> None:
    """Items 2 and 9: after kill -9 every reader refuses the store (one line, the chunk count, the
    command that finishes it) unless --allow-incomplete (which says how many draws are missing); the
    resumed store equals an uninterrupted one and records exactly 16 chunks."""
    d = slow_teacup
    done = kill_after(start(["sweep", "spec.toml", "--scheduler", "sync"], d), d / "out.zarr", 4)
    assert 4 <= done < 16
    line = one_line_error(sd_cli(["analyze", "prim", "out.zarr", "--condition", "T final > 71"], d))
    assert f"incomplete: {done} of 16 chunks finished" in line and "sd sweep spec.toml" in line, line
    one_line_error(sd_cli(["plot", "fan", "out.zarr", "--var", "Teacup Temperature", "--out", "f.html"], d))
    assert not (d / "f.html").exists()
    res = sd_cli(["analyze", "prim", "out.zarr", "--condition", "T final > 71", "--allow-incomplete"], d)
    assert res.returncode == 0, res.stderr
    assert f"{4096 - 256 * done:,} of 4,096 draws missing" in res.stderr
    with pytest.raises(IncompleteStoreError, match="incomplete"):
        sd.open(d / "out.zarr")
    part = sd.open(d / "out.zarr", allow_incomplete=True)
    assert part.sizes["draw"] == 256 * done and part.attrs["draws_missing"] == 4096 - 256 * done
    assert np.isfinite(part["T final"].values).all()  # no unfinished draw counted as a value
    res = sd_cli(["sweep", "spec.toml", "--scheduler", "sync"], d)
    assert res.returncode == 0, res.stderr
    resumed = sd.open(d / "out.zarr")
    assert resumed.attrs["backend_chunks"] == {"numpy": 16}, resumed.attrs["backend_chunks"]
    ref = sd.sweep(d / "spec.toml", store=str(d / "ref.zarr"), scheduler="sync")
    np.testing.assert_array_equal(resumed["T final"].values, ref["T final"].values)
    np.testing.assert_array_equal(resumed["Teacup Temperature"].values, ref["Teacup Temperature"].values)


def _chunk_file(store: Path, var: str, i: int) -> Path:
    return store / var / "c" / str(i)


def test_missing_and_corrupt_chunks_detected_and_repaired_by_verify(tmp_path: Path) -> None:
    """Item 3: every chunk is written (an all-NaN outcome too) and checksummed; a deleted chunk file makes
    the store incomplete (not NaN), a flipped byte is an error (not a value), and `--verify` recomputes
    both to the original values."""
    write_data_teacup(tmp_path)
    write_spec(tmp_path, draws=1024, chunk=128,
               outcomes='"T final" = { var = "Teacup Temperature", reduce = "final" }\n'
                        '"never" = { first_time = "Teacup Temperature < -1000" }')  # fmt: skip
    res = sd_cli(["sweep", "spec.toml", "--scheduler", "sync"], tmp_path)
    assert res.returncode == 0, res.stderr
    store = tmp_path / "out.zarr"
    assert all(_chunk_file(store, "never", i).exists() for i in range(8))  # NaN-only chunks written
    codecs = json.loads((store / "T final" / "zarr.json").read_text())["codecs"]
    assert [c["name"] for c in codecs][-1] == "crc32c"
    before = sd.open(store)["T final"].values.copy()
    _chunk_file(store, "T final", 2).unlink()
    with pytest.raises(IncompleteStoreError, match=r"chunk\(s\) 2 missing"):
        sd.open(store)
    line = one_line_error(sd_cli(["analyze", "prim", "out.zarr", "--condition", "T final > 80"], tmp_path))
    assert "--verify" in line
    f = _chunk_file(store, "T final", 5)
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum"):
        zarr.open_array(str(store), path="T final", mode="r")[5 * 128:6 * 128]
    res = sd_cli(["analyze", "prim", "out.zarr", "--condition", "T final > 80", "--allow-incomplete"], tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "--verify" in res.stderr, res.stderr
    res = sd_cli(["sweep", "spec.toml", "--scheduler", "sync", "--verify"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "recomputing 2: chunk(s) 2, 5" in res.stderr, res.stderr
    np.testing.assert_array_equal(sd.open(store)["T final"].values, before)


def test_two_sweeps_on_one_new_store(slow_teacup: Path) -> None:
    """Item 4: the second sweep is refused naming the first's pid; the first finishes a sound store and
    no temporary skeleton is left."""
    d = slow_teacup
    first = start(["sweep", "spec.toml", "--scheduler", "sync"], d)
    t0 = time.monotonic()
    while not (d / "out.zarr.lock").exists() and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    second = sd_cli(["sweep", "spec.toml", "--scheduler", "sync"], d)
    line = one_line_error(second)
    assert "is being written by another sweep (pid" in line, line
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sd.open(d / "out.zarr").sizes["draw"] == 4096
    assert not list(d.glob("out.zarr.init-*")) and not (d / "out.zarr.lock").exists()


def test_bad_time_grid_workers_and_backend_refused_before_a_store_exists(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Item 8: final_time before INITIAL TIME names the spec key; workers=0 and cupy without a GPU are
    refused with no store left behind."""
    monkeypatch.chdir(tmp_path)
    write_data_teacup(tmp_path)
    write_spec(tmp_path, extra="final_time = -10")
    line = one_line_error(sd_cli(["sweep", "spec.toml"], tmp_path))
    assert "spec.toml: final_time:" in line and "FINAL TIME -10 is before INITIAL TIME 0" in line
    write_spec(tmp_path)
    with pytest.raises(SpecError, match="workers: must be >= 1"):
        sd.sweep("spec.toml", workers=0)
    monkeypatch.setenv("SD_NO_GPU", "1")
    with pytest.raises(BackendUnavailableError, match="cupy needs"):
        sd.sweep("spec.toml", backend="cupy")
    assert not (tmp_path / "out.zarr").exists() and not list(tmp_path.glob("out.zarr*"))


@pytest.mark.parametrize("scheduler", ["threads", "local"])
def test_ctrl_c_says_one_line_and_the_rerun_resumes(slow_teacup: Path, scheduler: str) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) on the default thread pool and on a
    LocalCluster of worker processes: exit 130, one line saying a rerun resumes, no worker traceback;
    the rerun finishes the store, equal to an uninterrupted one."""
    d = slow_teacup
    proc = start(["sweep", "spec.toml", "--scheduler", scheduler, "--workers", "2"], d)
    done = kill_after(proc, d / "out.zarr", 2, sig=signal.SIGINT)
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err, err
    assert "rerun the same command to resume" in err, err
    assert done < 16
    res = sd_cli(["sweep", "spec.toml", "--scheduler", "sync"], d)
    assert res.returncode == 0, res.stderr
    ref = sd.sweep(d / "spec.toml", store=str(d / "ref.zarr"), scheduler="sync")
    np.testing.assert_array_equal(sd.open(d / "out.zarr")["T final"].values, ref["T final"].values)
