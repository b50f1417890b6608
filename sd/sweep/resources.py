"""Where a chunk runs and how big it may be: GPU or CPU backend, memory budgets, out-of-memory handling.

* :func:`resolve_backend` is called by every chunk task on its worker: ``backend="auto"`` becomes
  ``"gpu"`` (the fused CUDA kernel, or cupy per-op where the model cannot be fused) when cupy imports and a
  CUDA device is usable, else ``"auto"`` on the host (the fused CPU build when a C compiler works, else
  numpy). What actually ran is ``Model.run``'s ``ds.attrs["backend"]`` (numpy | cupy | fused-cpu |
  fused-cuda); the sweep stores it per store in ``attrs["backend_used"]``.
* :func:`worker_memory` measures the memory one chunk task may use on the worker it runs on: the free
  memory of its GPU (``cupy.cuda.Device().mem_info``), or the worker's ``memory_limit`` divided by its
  threads (a ``distributed`` worker), or the available RAM (psutil). The sweep turns that into the chunk
  size of ``chunk = "auto"`` with the plan's bytes per draw.
* :func:`is_out_of_memory` recognises ``MemoryError`` (numpy) and ``cupy.cuda.memory.OutOfMemoryError``;
  a chunk task that hits one halves its draw range and retries (:func:`sd.sweep.chunk.compute_range`).
* ``SD_TEST_MEMORY_LIMIT_BYTES`` (TEST HOOK, not for production use): when set, computing a sub-batch whose
  estimated memory (draws x bytes per draw) exceeds it raises ``MemoryError`` before any work, so that the
  halve-and-retry path can be exercised on a machine with plenty of memory (tests/gpu_cluster).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from sd.errors import BackendUnavailableError

__all__ = [
    "GPU_MEMORY_FRACTION",
    "HOST_MEMORY_FRACTION",
    "TEST_MEMORY_ENV",
    "free_device_memory",
    "gpu_usable",
    "is_out_of_memory",
    "local_cuda_available",
    "resolve_backend",
    "simulated_memory_check",
    "worker_memory",
]

GPU_MEMORY_FRACTION = 0.5  # of the device's free memory, for one chunk (the rest: cupy's pool, kernels)
HOST_MEMORY_FRACTION = 0.5  # of a worker thread's share of the memory limit / available RAM
TEST_MEMORY_ENV = "SD_TEST_MEMORY_LIMIT_BYTES"
INSTALL_HINT = "pip install 'sd[gpu]' dask-cuda"


def gpu_usable() -> bool:
    """True when cupy imports, a CUDA device is visible and a small allocation on it succeeds."""
    if os.environ.get("SD_NO_GPU"):
        return False
    try:
        from sd.simulate import cupy_module  # the run layer: sweeps import no backend module

        cp = cupy_module()
        cp.zeros(1).sum().item()  # a usable device, not only a visible one
    except Exception:  # BackendUnavailableError, CUDARuntimeError, driver mismatch, ...
        return False
    return True


def resolve_backend(requested: str) -> str:
    """The backend a chunk on this worker runs with.

    ``auto`` -> ``gpu`` (inputs moved to the device; ``Model.run(backend="auto")`` then runs the fused
    CUDA kernel or cupy per-op) when :func:`gpu_usable`, else ``auto`` (fused CPU, else numpy).
    Explicit backends are returned unchanged (``cupy`` without a GPU raises when the chunk runs).
    """
    if requested == "auto" and gpu_usable():
        return "gpu"
    return requested


def free_device_memory() -> int | None:
    """Free bytes on the current CUDA device (cupy's pool counted as free), or None without a GPU."""
    if not gpu_usable():
        return None
    import cupy

    free, _total = cupy.cuda.Device().mem_info
    pool = cupy.get_default_memory_pool()
    return int(free + pool.free_bytes())


def _host_memory_per_thread(worker: Any = None) -> tuple[int, str]:
    """(bytes, source) a task may use on this process: its distributed worker's limit, or RAM."""
    if worker is None and "distributed" in sys.modules:  # a distributed worker has imported it
        try:
            from distributed import get_worker

            worker = get_worker()
        except (ImportError, ValueError):
            worker = None
    if worker is not None:
        limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
        threads = max(1, int(getattr(worker.state, "nthreads", 1) or 1))
        if limit:
            return int(limit) // threads, "worker memory_limit"
    import psutil

    return int(psutil.virtual_memory().available), "available RAM"


def worker_memory(threads: int = 1, dask_worker: Any = None) -> dict[str, Any]:
    """The memory budget of one chunk task here: {'device': 'gpu'|'cpu', 'bytes': ..., 'source': ...}.

    Runs on a worker (``client.run`` passes ``dask_worker``) or on the driver for the local schedulers
    (``threads``: the number of tasks sharing the host's memory, or the GPU, at once).
    """
    free = free_device_memory()
    if free is not None:
        share = 1 if dask_worker is not None else max(1, threads)
        return {"device": "gpu", "bytes": int(free * GPU_MEMORY_FRACTION) // share,
                "source": "free GPU memory"}  # fmt: skip
    per_thread, source = _host_memory_per_thread(dask_worker)
    if source == "available RAM":
        per_thread //= max(1, threads)
    return {"device": "cpu", "bytes": int(per_thread * HOST_MEMORY_FRACTION), "source": source}


def is_out_of_memory(err: BaseException) -> bool:
    """MemoryError (numpy, the test hook) or cupy's OutOfMemoryError (or CUDA's allocation failure)."""
    if isinstance(err, MemoryError):
        return True
    name = type(err).__name__
    module = type(err).__module__ or ""
    if module.startswith("cupy") and name == "OutOfMemoryError":
        return True
    return module.startswith("cupy") and "cudaErrorMemoryAllocation" in str(err)


def release_device_memory() -> None:
    """After an out-of-memory error on the GPU: give cupy's cached blocks back before retrying."""
    try:
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()
    except Exception:  # no cupy: nothing cached
        pass


def simulated_memory_check(draws: int, bytes_per_draw: int) -> None:
    """TEST HOOK: raise MemoryError when ``SD_TEST_MEMORY_LIMIT_BYTES`` is set and exceeded."""
    limit = os.environ.get(TEST_MEMORY_ENV)
    if limit and draws * max(1, bytes_per_draw) > int(limit):
        raise MemoryError(
            f"simulated: {draws} draws x {bytes_per_draw} B > {TEST_MEMORY_ENV}={limit}"
        )


def local_cuda_available() -> None:
    """Raise BackendUnavailableError (one line: what is missing, how to install) unless dask-cuda and a
    CUDA device are there for ``--cluster local-cuda``."""
    try:
        import dask_cuda  # noqa: F401
    except ImportError as err:
        raise BackendUnavailableError(
            f"--cluster local-cuda needs dask-cuda ({err}); {INSTALL_HINT}, or run without --cluster"
        ) from None
    try:
        from sd.simulate import cupy_module

        cupy_module()
    except BackendUnavailableError as err:
        cause = err.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause is not None else str(err)
        raise BackendUnavailableError(
            f"--cluster local-cuda needs cupy and a visible CUDA device ({why}); {INSTALL_HINT} on a "
            "machine with a GPU, or run without --cluster"
        ) from None
