"""Memory-aware chunking and the halve-and-retry path on an out-of-memory error (simulated on the CPU).

The simulated limit is the TEST HOOK ``SD_TEST_MEMORY_LIMIT_BYTES`` (sd/sweep/resources.py): computing a
sub-batch whose estimate (draws x the plan's bytes per draw) exceeds it raises MemoryError before any work.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from _teacup import assert_same, write

import sd
from sd.sweep import chunk, cluster, resources
from sd.sweep.planning import TASK_MEMORY, auto_chunk, plan


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    chunk._BATCH_LIMIT.clear()
    yield tmp_path
    chunk._BATCH_LIMIT.clear()


def test_auto_chunk_rule() -> None:
    assert auto_chunk(10_000_000, 1000, 512 * 2**20) == 536_576  # 512 MiB / 1000 B, 1024-aligned
    assert auto_chunk(10_000_000, 1000, 50_000) == 50  # a small budget: what fits
    assert auto_chunk(1000, 8, 2**30) == 1000  # never more than the draws
    assert auto_chunk(10_000_000, 8, 2**40) == 625_000  # at most 1/16 of the draws
    assert auto_chunk(100, 10**9, 1) == 1


def test_plan_sizes_auto_chunks_from_the_memory_budget(here: Path) -> None:
    spec = write(here, draws=100_000, chunk="auto")
    p = plan(spec)
    assert p.memory_budget == TASK_MEMORY
    small = plan(spec, memory=p.bytes_per_draw * 5000)
    assert small.chunk == 4096 and small.memory_budget == p.bytes_per_draw * 5000


def test_gpu_budget_is_a_fraction_of_free_device_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "free_device_memory", lambda: 8 * 2**30)
    info = resources.worker_memory()
    assert info == {"device": "gpu", "bytes": int(8 * 2**30 * resources.GPU_MEMORY_FRACTION),
                    "source": "free GPU memory"}  # fmt: skip
    budget, source = cluster.memory_budget("sync", 1, backend="auto")
    assert budget == 4 * 2**30 and "GPU" in source  # GPU chunks are not capped at TASK_MEMORY


def test_cpu_budget_uses_available_ram_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import psutil

    class VM:
        available = 400 * 2**20

    monkeypatch.setattr(resources, "free_device_memory", lambda: None)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: VM())
    budget, source = cluster.memory_budget("threads", 4)
    assert budget == int(100 * 2**20 * resources.HOST_MEMORY_FRACTION) and "available RAM" in source
    VM.available = 64 * 2**30  # plenty: the CPU default caps it
    assert cluster.memory_budget("sync", 1)[0] == TASK_MEMORY


def test_cpu_budget_uses_the_distributed_worker_memory_limit(here: Path) -> None:
    """A real LocalCluster whose worker has a 2 GB limit (2 threads): chunk = auto is sized from it."""
    from distributed import Client, LocalCluster

    spec = write(here, draws=50_000, chunk="auto")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, memory_limit="2GB",
                      dashboard_address=":0", silence_logs=logging.ERROR) as lc, Client(lc) as client:  # fmt: skip
        infos = list(client.run(resources.worker_memory).values())
        assert infos[0]["source"] == "worker memory_limit"
        assert infos[0]["bytes"] == int(2e9 // 2 * resources.HOST_MEMORY_FRACTION)
        p = cluster.size_chunks(plan(spec), None, None, client)
        assert p.memory_budget == infos[0]["bytes"] and "memory_limit" in p.memory_source
        assert p.chunk == auto_chunk(50_000, p.bytes_per_draw, p.memory_budget)
        ds = sd.sweep(spec, client=client)
        assert ds.attrs["chunk"] == p.chunk
        ref = sd.sweep(spec, scheduler="sync", chunk=50_000, store="ref.zarr")
    assert_same(ds.drop_attrs(deep=False).assign_attrs(sd_sweep=ds.attrs["sd_sweep"]),
                ref.drop_attrs(deep=False).assign_attrs(sd_sweep=ref.attrs["sd_sweep"]))


def test_simulated_limit_raises_above_n_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(resources.TEST_MEMORY_ENV, "1000")
    resources.simulated_memory_check(10, 100)
    with pytest.raises(MemoryError, match="simulated"):
        resources.simulated_memory_check(11, 100)
    assert resources.is_out_of_memory(MemoryError())
    assert not resources.is_out_of_memory(ValueError())


@pytest.mark.parametrize("sampler", ["mc", "saltelli"])
def test_halve_and_retry_equals_an_unsplit_sweep(here: Path, monkeypatch: pytest.MonkeyPatch,
                                                 sampler: str) -> None:  # fmt: skip
    draws = 1200 if sampler == "mc" else 768  # saltelli: N (d + 2) rows
    spec = write(here, draws=draws, chunk=400, sampler=sampler)
    ref = sd.sweep(spec, scheduler="sync", store="ref.zarr")
    assert ref.attrs["oom_splits"] == 0
    p = plan(spec)
    # at most 90 draws fit: 400 -> 200 -> 100 -> 50 (and the process then starts at 50)
    monkeypatch.setenv(resources.TEST_MEMORY_ENV, str(90 * p.bytes_per_draw))
    chunk._BATCH_LIMIT.clear()
    got = sd.sweep(spec, scheduler="sync", store="split.zarr")
    assert got.attrs["oom_splits"] > 0
    assert got.attrs["backend_chunks"] == ref.attrs["backend_chunks"]  # each chunk counted (written) once
    assert_same(got, ref)
    import zarr

    assert np.asarray(zarr.open_array("split.zarr", path="_done", mode="r")[:]).all()


def test_halving_on_threads_and_a_learned_batch(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(here, draws=1000, chunk=250)
    ref = sd.sweep(spec, scheduler="sync", store="ref.zarr", backend="numpy")
    p = plan(spec)
    monkeypatch.setenv(resources.TEST_MEMORY_ENV, str(100 * p.bytes_per_draw))
    got = sd.sweep(spec, scheduler="threads", workers=2, store="split.zarr", backend="numpy")
    assert_same(got, ref)
    assert 0 < chunk._BATCH_LIMIT[f"{p.model_sha256}:numpy"] <= 100


def test_one_draw_that_does_not_fit_raises(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(here, draws=8, chunk=8)
    monkeypatch.setenv(resources.TEST_MEMORY_ENV, "1")
    with pytest.raises(MemoryError, match="simulated"):
        sd.sweep(spec, scheduler="sync")
    # the store stays consistent: no chunk is marked done, a rerun without the limit completes it
    monkeypatch.delenv(resources.TEST_MEMORY_ENV)
    chunk._BATCH_LIMIT.clear()
    ds = sd.sweep(spec, scheduler="sync")
    assert int(ds.sizes["draw"]) == 8 and np.isfinite(ds["T at 10"].values).all()


def test_cupy_out_of_memory_is_recognised() -> None:
    OOM = type("OutOfMemoryError", (Exception,), {"__module__": "cupy.cuda.memory"})
    assert resources.is_out_of_memory(OOM("out of memory allocating 8 bytes"))


def test_dry_run_shows_the_budget(here: Path) -> None:
    from click.testing import CliRunner

    from sd.cli import main

    write(here, draws=100_000, chunk="auto")
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--dry-run", "--scheduler", "sync"])
    assert res.exit_code == 0, res.output
    assert "(auto: budget " in res.output
