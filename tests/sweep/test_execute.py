"""Sweep execution: schedulers, chunking, resume after kill -9, a killed worker, outcomes, dry runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from sweep_helpers import assert_same, teacup_spec, write_teacup

import sd
from sd.cli import main
from sd.errors import SpecError
from sd.sweep import plan

ROOT = Path(__file__).resolve().parents[2]


def done_count(store: Path) -> int:
    try:
        return int(np.asarray(zarr.open_array(str(store), path="_done", mode="r")[:]).sum())
    except Exception:
        return 0


@pytest.fixture
def reference(teacup_dir: Path):
    """The teacup spec run on dask's synchronous scheduler, into ref.zarr."""
    return sd.sweep(teacup_dir / "spec.toml", store="ref.zarr", scheduler="sync")


def test_result_layout_and_values_equal_model_run(teacup_dir: Path, reference) -> None:
    ds = reference
    assert dict(ds.sizes) == {"draw": 2000, "time": 31}
    assert ds["Teacup Temperature"].chunks is not None  # lazy, dask-backed
    assert list(ds.data_vars) == ["Teacup Temperature", "T at 10", "max loss", "below 120"]
    assert {"Characteristic Time", "Room Temperature"} <= set(ds.coords)
    assert ds.attrs["seed"] == 7 and ds.attrs["model_sha256"] == sd.load("teacup.mdl").sha256
    assert json.loads(ds.attrs["spec"])["parameters"]["Room Temperature"]["dist"] == "normal"
    assert {"sd_version", "pysd_version"} <= set(ds.attrs)
    ct, rt = ds["Characteristic Time"].values, ds["Room Temperature"].values
    assert ct.min() >= 5 and ct.max() <= 15 and abs(rt.mean() - 70) < 0.5
    # the stored series at saveper 1 are what Model.run gives for the same parameters
    run = sd.load("teacup.mdl").run({"Characteristic Time": ct, "Room Temperature": rt},
                                    outputs=["Teacup Temperature"], saveper=1)  # fmt: skip
    assert np.array_equal(run["time"].values, ds["time"].values)
    assert np.array_equal(run["Teacup Temperature"].values, ds["Teacup Temperature"].values)


def test_outcomes_equal_reductions_of_the_full_series(teacup_dir: Path) -> None:
    teacup_spec(
        teacup_dir,
        outputs='timeseries = ["Teacup Temperature", "Heat Loss to Room"]\nsaveper = 0.125',
        outcomes="\n".join([
            '"at" = { var = "Teacup Temperature", at = 10 }',
            '"between" = { var = "Teacup Temperature", at = 10.2 }',
            '"max" = { var = "Heat Loss to Room", reduce = "max" }',
            '"min" = { var = "Heat Loss to Room", reduce = "min" }',
            '"mean" = { var = "Teacup Temperature", reduce = "mean" }',
            '"final" = { var = "Teacup Temperature", reduce = "final" }',
            '"initial" = { var = "Heat Loss to Room", reduce = "initial" }',
            '"first" = { first_time = "Teacup Temperature <= 80" }',
            '"never" = { first_time = "Teacup Temperature > 500" }',
        ]),
    )  # fmt: skip
    ds = sd.sweep("spec.toml", scheduler="sync").load()
    T, H, t = ds["Teacup Temperature"], ds["Heat Loss to Room"], ds["time"].values
    assert len(t) == 241  # every time step
    np.testing.assert_array_equal(ds["at"], T.sel(time=10))
    np.testing.assert_array_equal(ds["between"], T.sel(time=10.125))  # last step <= 10.2
    np.testing.assert_array_equal(ds["max"], H.max("time"))
    np.testing.assert_array_equal(ds["min"], H.min("time"))
    np.testing.assert_allclose(ds["mean"], T.mean("time"), rtol=1e-14)
    np.testing.assert_array_equal(ds["final"], T.isel(time=-1))
    np.testing.assert_array_equal(ds["initial"], H.isel(time=0))
    hit = (T <= 80).values
    expect = np.where(hit.any(1), t[hit.argmax(1)], np.nan)
    np.testing.assert_array_equal(ds["first"], expect)
    assert np.isfinite(expect).any() and np.isnan(expect).any()
    assert np.isnan(ds["never"]).all()


def test_chunk_size_and_threads_give_the_identical_result(teacup_dir: Path, reference) -> None:
    other = sd.sweep("spec.toml", store="c.zarr", chunk=777, scheduler="threads", workers=2)
    assert other.attrs["chunk"] == 777 and reference.attrs["chunk"] == 300
    assert_same(reference, other)


def test_local_cluster_gives_the_identical_result(teacup_dir: Path, reference, cluster) -> None:
    assert_same(reference, sd.sweep("spec.toml", store="lc.zarr", client=cluster))
    addr = cluster.scheduler.address
    assert_same(reference, sd.sweep("spec.toml", store="addr.zarr", scheduler=addr))


@pytest.mark.parametrize("sampler", ["lhs", "sobol", "saltelli", "morris", "grid"])
def test_other_samplers_run_and_do_not_depend_on_chunks(teacup_dir: Path, sampler: str) -> None:
    draws = {"lhs": "1000", "sobol": "1024", "saltelli": "768", "morris": "300", "grid": None}[
        sampler
    ]
    teacup_spec(
        teacup_dir, sampler=f'"{sampler}"', draws=draws,
        parameters=('"Characteristic Time" = { dist = "uniform", low = 5, high = 15 }\n'
                    '"Room Temperature" = { dist = "choice", values = [60, 65, 70, 80] }'),
    )  # fmt: skip
    a = sd.sweep("spec.toml", store="a.zarr", scheduler="sync", chunk=128)
    b = sd.sweep("spec.toml", store="b.zarr", scheduler="sync", chunk=1000)
    assert_same(a, b)
    ct = a["Characteristic Time"].values
    assert ct.min() >= 5 and ct.max() <= 15
    assert set(np.unique(a["Room Temperature"].values)) <= {60, 65, 70, 80}
    if sampler == "grid":
        assert a.sizes["draw"] == 20 and len(np.unique(ct)) == 5


def test_rerun_skips_done_chunks_and_refuses_another_spec(teacup_dir: Path, reference) -> None:
    seen: list[int] = []
    again = sd.sweep("spec.toml", store="ref.zarr", scheduler="sync", progress=seen.append)
    assert seen == []  # nothing left to do
    assert_same(reference, again)
    # an existing store keeps its chunking
    assert (
        sd.sweep("spec.toml", store="ref.zarr", chunk=999, scheduler="sync").attrs["chunk"] == 300
    )
    teacup_spec(teacup_dir, seed="8")
    with pytest.raises(SpecError, match=r"store .*ref\.zarr: was written by a different sweep "
                       r"\(differs in: seed \(7 in the store, 8 now\)\); pass --overwrite"):  # fmt: skip
        sd.sweep("spec.toml", store="ref.zarr", scheduler="sync")
    write_teacup(teacup_dir, final=20)
    with pytest.raises(SpecError, match=r"differs in: model \(sha256 \w+ in the store, \w+ now\)"):
        sd.sweep("spec.toml", store="ref.zarr", scheduler="sync")
    new = sd.sweep("spec.toml", store="ref.zarr", scheduler="sync", overwrite=True)
    assert new.attrs["seed"] == 8 and new.sizes["time"] == 21
    (teacup_dir / "plain").mkdir()
    (teacup_dir / "plain" / "keep.txt").write_text("x")
    with pytest.raises(SpecError, match=r"not a zarr store; refusing to delete it"):
        sd.sweep("spec.toml", store="plain", scheduler="sync", overwrite=True)
    assert (teacup_dir / "plain" / "keep.txt").exists()


def test_partial_store_resumes_to_the_identical_result(teacup_dir: Path, reference) -> None:
    """Chunks written but not marked done, and chunks never written, are redone."""
    import shutil

    shutil.copytree("ref.zarr", "part.zarr")
    done = zarr.open_array("part.zarr", path="_done", mode="r+")
    done[[1, 4]] = False
    arr = zarr.open_array("part.zarr", path="T at 10", mode="r+")
    arr[300:600] = -1.0  # a half-finished chunk: garbage, not marked done
    seen: list[int] = []
    out = sd.sweep("spec.toml", store="part.zarr", scheduler="sync", progress=seen.append)
    assert sorted(seen) == [300, 300]
    assert_same(reference, out)


def test_killing_a_worker_mid_sweep_completes_identically(teacup_dir: Path, cluster) -> None:
    write_teacup(teacup_dir, final=60, dt=1 / 64)  # slower chunks: the kill lands mid-sweep
    teacup_spec(teacup_dir, draws="6000", chunk="200")
    ref = sd.sweep("spec.toml", store="ref.zarr", scheduler="sync")
    pids = list(cluster.run(os.getpid).values())
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and done_count(Path("kw.zarr")) < 3:
            time.sleep(0.01)
        killed.append(done_count(Path("kw.zarr")))
        os.kill(pids[0], signal.SIGKILL)

    th = threading.Thread(target=killer)
    th.start()
    out = sd.sweep("spec.toml", store="kw.zarr", client=cluster)
    th.join()
    assert killed and killed[0] < 30, killed  # killed while chunks were left
    assert_same(ref, out)
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests


@pytest.mark.parametrize("after_chunks", [0, 4])
def test_sigkill_of_the_whole_sweep_then_rerun_resumes_identically(teacup_dir: Path,
                                                                   after_chunks: int) -> None:  # fmt: skip
    write_teacup(teacup_dir, final=60, dt=1 / 64)
    teacup_spec(teacup_dir, draws="8000", chunk="200")
    ref = sd.sweep("spec.toml", store="ref.zarr", scheduler="sync")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sd", "sweep", "spec.toml", "--store", "k.zarr", "--workers", "2"],
        cwd=teacup_dir, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        if after_chunks:
            while done_count(teacup_dir / "k.zarr") < after_chunks and time.monotonic() < deadline:
                assert proc.poll() is None, "the sweep ended before it could be killed"
                time.sleep(0.01)
        else:
            while not (teacup_dir / "k.zarr").exists() and time.monotonic() < deadline:
                time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its scheduler and its worker processes
        proc.wait()
    at_kill = done_count(teacup_dir / "k.zarr")
    assert at_kill < 40, at_kill
    seen: list[int] = []
    out = sd.sweep("spec.toml", store="k.zarr", scheduler="threads", progress=seen.append)
    assert sum(seen) == 8000 - 200 * at_kill  # only the unfinished chunks ran again
    assert_same(ref, out)


def test_dry_run_prints_the_plan(teacup_dir: Path) -> None:
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--dry-run", "--workers", "2"])
    assert res.exit_code == 0, res.output
    out = res.output
    for line in ["sweep spec.toml", "sampler    mc, seed 7, 2 parameter(s)", "draws      2,000",
                 "chunks     7 of 300 draws", "outputs    1 time series x 31 times, 3 outcome(s) "
                 "(reduced over 241 time steps)", "scheduler  threads in this process, 2 at a time"]:  # fmt: skip
        assert line in out, out
    assert "memory     ~" in out and " per chunk task" in out
    assert "out.zarr (~" in out and "uncompressed" in out
    assert not (teacup_dir / "out.zarr").exists()
    teacup_spec(teacup_dir, seed="1")
    sd.sweep("spec.toml", scheduler="sync")
    teacup_spec(teacup_dir, seed="2")
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--dry-run"])
    assert res.exit_code == 0
    assert (
        "note       store" in res.output
        and "differs in: seed (1 in the store, 2 now)" in res.output
    )
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--dry-run", "--draws", "100"])
    assert "draws      100\n" in res.output and "chunks     1 of 100 draws" in res.output


def test_cli_runs_and_summarises(teacup_dir: Path) -> None:
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", "sync"])
    assert res.exit_code == 0, res.output
    assert "spec.toml: 2,000 draws in" in res.output
    assert "below 120: holds in 100.00% of draws; first time median" in res.output
    assert "sweep: 2,000/2,000 draws (100.0%)" in res.output  # the progress line (stderr)
    ds = sd.sweep("spec.toml", scheduler="sync")
    assert ds.sizes["draw"] == 2000


def test_flagship_dry_run(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["sweep", str(ROOT / "sweeps" / "productivity_deflation.toml"),
                                    "--dry-run", "--store", str(tmp_path / "pd.zarr")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "sampler    sobol, seed 2026, 67 parameter(s)" in res.output
    assert "scenario   claim" in res.output
    p = plan(ROOT / "sweeps" / "productivity_deflation.toml", draws=1024)
    assert p.bytes_per_draw * p.chunk < 2**30
