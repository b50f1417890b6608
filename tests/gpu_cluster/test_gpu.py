"""On a machine with a GPU (marker ``gpu``): auto runs chunks on the device, records it, and agrees with numpy;
--cluster local-cuda runs the sweep on a LocalCUDACluster; an OOM split on the GPU path equals unsplit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _teacup import assert_same, write

import sd
from sd.sweep import chunk, cluster, resources
from sd.sweep.planning import plan

pytestmark = pytest.mark.gpu


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("cupy")
    if not resources.gpu_usable():
        pytest.skip("cupy imports but no usable CUDA device")
    monkeypatch.chdir(tmp_path)
    chunk._BATCH_LIMIT.clear()
    return tmp_path


def _close(a, b) -> None:  # type: ignore[no-untyped-def]
    a, b = a.load(), b.load()
    for name in a.data_vars:
        x, y = np.asarray(a[name].values, float), np.asarray(b[name].values, float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), name
        ok = ~np.isnan(x)
        np.testing.assert_allclose(y[ok], x[ok], rtol=1e-12, atol=1e-12 * np.abs(x[ok]).max(initial=0))


def test_auto_runs_on_the_gpu_and_records_it(here: Path) -> None:
    assert resources.resolve_backend("auto") == "gpu"
    assert resources.worker_memory()["device"] == "gpu"
    spec = write(here, draws=2000, chunk=500)
    ds = sd.sweep(spec, scheduler="sync")
    assert set(ds.attrs["backend_used"]) <= {"fused-cuda", "cupy"}
    ref = sd.sweep(spec, scheduler="sync", backend="numpy", store="ref.zarr")
    _close(ref, ds)


def test_oom_split_on_the_gpu_equals_unsplit(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(here, draws=1000, chunk=500)
    ref = sd.sweep(spec, scheduler="sync", store="ref.zarr")
    monkeypatch.setenv(resources.TEST_MEMORY_ENV, str(120 * plan(spec).bytes_per_draw))
    got = sd.sweep(spec, scheduler="sync", store="split.zarr")
    assert got.attrs["oom_splits"] > 0
    assert_same(got, ref)


def test_local_cuda_cluster_sweep(here: Path) -> None:
    pytest.importorskip("dask_cuda")
    spec = write(here, draws=4000, chunk="auto")
    ds = sd.sweep(spec, cluster="local-cuda")
    assert set(ds.attrs["backend_used"]) <= {"fused-cuda", "cupy"}
    assert "GPU" in cluster.size_chunks(plan(spec), "sync", 1).memory_source
    ref = sd.sweep(spec, scheduler="sync", backend="numpy", store="ref.zarr", chunk=4000)
    _close(ref, ds)
