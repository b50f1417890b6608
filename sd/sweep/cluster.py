"""Where the chunk tasks run: dask schedulers and clusters, memory budgets per task, progress.

Tasks run on a ``distributed`` cluster (a ``LocalCluster`` by default, a ``LocalCUDACluster``, or any
scheduler address) or on dask's threaded / synchronous schedulers. ``chunk = "auto"`` is sized here for
the memory of the workers that will run it (:func:`size_chunks`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time as _time
from collections.abc import Callable
from typing import Any

import numpy as np

from sd.errors import SpecError
from sd.sweep.chunk import run_chunk
from sd.sweep.planning import TASK_MEMORY, Plan, auto_chunk

__all__ = [
    "DEFAULT_LOCAL",
    "LOCAL_SCHEDULERS",
    "Progress",
    "check_scheduler",
    "connect",
    "execute",
    "local_workers",
    "memory_budget",
    "size_chunks",
]

log = logging.getLogger("sd.sweep")

LOCAL_SCHEDULERS = ("local", "threads", "sync", "synchronous", "processes")
# What runs the chunks on one machine when no scheduler or cluster is named: a pool of threads in this
# process. The fused C kernel (ctypes) and numpy's array operations release the GIL, the model is already
# loaded and compiled here, and nothing is pickled between processes; a LocalCluster of worker processes
# ("local") cost 3-8x the threads' wall time on teacup at 1M-4M draws (benchmarks/bench_sweep_overhead.py,
# docs/performance.md).
DEFAULT_LOCAL = "threads"


class Progress:
    """A one-line progress report on stderr: draws done, draws/s and ETA."""

    def __init__(self, total: int, done: int, stream: Any = None, every: float = 0.5) -> None:
        self.total, self.done0, self.done = total, done, done
        self.t0 = _time.perf_counter()
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if self.tty else 5.0
        self.last = -math.inf

    def update(self, n: int, force: bool = False) -> None:
        self.done += n
        now = _time.perf_counter()
        if not force and now - self.last < self.every and self.done < self.total:
            return
        self.last = now
        el = now - self.t0
        rate = (self.done - self.done0) / el if el > 0 else 0.0
        left = self.total - self.done
        eta = f"{int(left / rate) // 60}:{int(left / rate) % 60:02d}" if rate > 0 else "?"
        line = (f"sweep: {self.done:,}/{self.total:,} draws ({100 * self.done / self.total:5.1f}%)  "
                f"{rate:,.0f} draws/s  elapsed {int(el) // 60}:{int(el) % 60:02d}  ETA {eta}")  # fmt: skip
        end = "\r" if self.tty and self.done < self.total else "\n"
        print(line.ljust(90), end=end, file=self.stream, flush=True)


def announce(client: Any, stream: Any = None) -> None:
    """Print the dask dashboard's address of a cluster the sweep started (to watch tasks, memory, workers)."""
    link = getattr(client, "dashboard_link", None)
    if link:
        print(f"dask dashboard: {link}", file=stream or sys.stderr, flush=True)


def local_workers(workers: int | None) -> int:
    """Workers of a local cluster: ``workers``, else one per core this process may use."""
    if workers is not None:
        if workers < 1:
            raise SpecError(f"--workers must be >= 1, got {workers}")
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


def check_scheduler(sched: str | None, source: str = "<spec>") -> None:
    if sched is not None and sched not in (*LOCAL_SCHEDULERS, "local-cuda") and "://" not in sched:
        raise SpecError(f"{source}: scheduler: {sched!r} is not a scheduler address; expected "
                        "tcp://host:port, or local | local-cuda | threads | sync")  # fmt: skip
    if sched == "local-cuda":
        from sd.sweep.resources import local_cuda_available

        local_cuda_available()


def connect(sched: str, workers: int | None) -> tuple[Any, Any]:
    """A client (and the cluster it owns, or None) for ``local-cuda`` or a scheduler address."""
    from distributed import Client

    if sched == "local-cuda":
        from dask_cuda import LocalCUDACluster

        kwargs: dict[str, Any] = {"dashboard_address": ":0", "silence_logs": logging.ERROR}
        if workers is not None:
            kwargs["n_workers"] = workers
        cluster = LocalCUDACluster(**kwargs)
        client = Client(cluster)
        announce(client)
        return client, cluster
    try:
        return Client(sched, timeout="30s"), None
    except Exception as err:  # OSError, TimeoutError, ValueError for a malformed address
        raise SpecError(
            f"scheduler: cannot connect to {sched!r} ({type(err).__name__}: {err}); expected "
            "tcp://host:port of a running dask scheduler, or local | local-cuda | threads | sync"
        ) from err


def memory_budget(sched: str | None, workers: int | None, client: Any = None,
                  backend: str = "auto") -> tuple[int, str]:  # fmt: skip
    """(bytes one chunk task may use, where that came from) on the workers that will run the sweep.

    On GPU workers: a fraction of the device's free memory; on CPU workers: a fraction of the worker's
    memory limit per thread (or of the available RAM), at most :data:`TASK_MEMORY` (larger CPU chunks only
    cost load balance). With a client, every worker is asked (``client.run``) and the smallest wins.
    """
    from sd.sweep import resources

    if client is not None:
        try:
            infos = list(client.run(resources.worker_memory).values())
        except Exception as err:  # a worker without psutil, ...: keep the default
            log.warning("sweep: could not ask the workers for their memory (%s)", err)
            infos = []
    elif sched in ("sync", "synchronous"):
        infos = [resources.worker_memory(1)]
    else:
        infos = [resources.worker_memory(local_workers(workers))]
    if not infos:
        return TASK_MEMORY, "default"
    info = min(infos, key=lambda d: int(d["bytes"]))
    gpu = all(d["device"] == "gpu" for d in infos) and backend in ("auto", "cupy", "fused")
    if gpu:
        return max(1, int(info["bytes"])), f"{info['source']} x {resources.GPU_MEMORY_FRACTION}"
    cpu = [d for d in infos if d["device"] == "cpu"] or infos
    info = min(cpu, key=lambda d: int(d["bytes"]))
    b = int(info["bytes"])
    if b >= TASK_MEMORY:
        return TASK_MEMORY, f"default (<= {info['source']} x {resources.HOST_MEMORY_FRACTION})"
    return max(1, b), f"{info['source']} x {resources.HOST_MEMORY_FRACTION}"


def size_chunks(p: Plan, sched: str | None, workers: int | None, client: Any = None) -> Plan:
    """The plan with ``chunk = "auto"`` sized for the memory of the workers that will run it."""
    if p.spec.chunk != "auto":
        return p
    budget, source = memory_budget(sched, workers, client, p.backend)
    return dataclasses.replace(p, chunk=auto_chunk(p.draws, p.bytes_per_draw, budget),
                               memory_budget=budget, memory_source=source)  # fmt: skip


def _rows(p: Plan, design: np.ndarray | None, i: int) -> np.ndarray | None:
    if design is None:
        return None
    a, b = p.bounds(i)
    return design[a:b].copy()


def execute(p: Plan, todo: list[int], design: np.ndarray | None, scheduler: str | None,
            workers: int | None, client: Any, done: Callable[[tuple[int, int, str, int]], None],
            sink: Callable[[Any], None] | None = None) -> None:  # fmt: skip
    """Run chunks ``todo`` of ``p`` (``design``: the unit rows of saltelli/morris), calling ``done`` with
    each finished task's result: on dask's local schedulers (``scheduler`` None: :data:`DEFAULT_LOCAL`,
    ``workers`` threads), on ``client``, or (``scheduler`` "local") on a LocalCluster of ``workers``
    single-threaded processes that it starts and closes. ``sink`` receives each chunk's data where the
    tasks run in this process (threads, sync); elsewhere it is not called."""
    if client is None and scheduler in (None, "threads", "sync", "synchronous", "processes"):
        _execute_local(p, todo, design, scheduler or DEFAULT_LOCAL, workers, done, sink)
        return
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = client is None
    if client is None:
        cluster = LocalCluster(
            n_workers=min(local_workers(workers), len(todo)), threads_per_worker=1,
            processes=True, dashboard_address=":0", silence_logs=logging.ERROR,
            preload=["sd.sweep.worker_preload"],  # workers ignore Ctrl-C: the sd process answers it
        )  # fmt: skip
        client = Client(cluster)
        announce(client)
    try:
        futures = [
            client.submit(run_chunk, p, i, _rows(p, design, i), key=f"sd-chunk-{i}-{p.model_sha256[:8]}-"
                          f"{os.getpid()}-{_time.time_ns()}", pure=False, retries=2)
            for i in todo
        ]
        try:
            for fut in as_completed(futures):
                done(fut.result())
        except KeyboardInterrupt:
            _quiet_teardown()
            raise
        finally:
            for fut in futures:
                fut.cancel()
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()


def _quiet_teardown() -> None:
    """After Ctrl-C: what distributed and tornado log while the interrupted cluster is torn down (a
    cancelled ``sync`` call, a closed stream) is noise; the sd process says in one line what happened."""
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _execute_local(p: Plan, todo: list[int], design: np.ndarray | None, scheduler: str,
                   workers: int | None, done: Callable[[Any], None],
                   sink: Callable[[Any], None] | None = None) -> None:  # fmt: skip
    """Threads and sync run the tasks in this process directly (a thread pool, a loop: dask's local
    scheduler would add nothing but importing distributed to look for a client); processes run on dask's
    multiprocessing scheduler."""
    from sd.sweep.store import ChunkWriter

    writer = ChunkWriter(p.store)  # the tasks of this process share the store's opened arrays
    if scheduler in ("sync", "synchronous"):
        for i in todo:
            done(run_chunk(p, i, _rows(p, design, i), sink, writer))
        return
    if scheduler == "threads":
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(local_workers(workers), thread_name_prefix="sd-chunk") as pool:
            futures = [pool.submit(run_chunk, p, i, _rows(p, design, i), sink, writer) for i in todo]
            try:
                for fut in as_completed(futures):
                    done(fut.result())
            finally:
                for fut in futures:  # after an error: the tasks not started yet do not start
                    fut.cancel()
        return
    import dask
    from dask.callbacks import Callback

    tasks = [dask.delayed(run_chunk, pure=False)(p, i, _rows(p, design, i),
                                                 dask_key_name=f"sd-chunk-{i}") for i in todo]  # fmt: skip

    class _CB(Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if isinstance(result, tuple) and len(result) == 4:
                done(result)

    with _CB():
        dask.compute(*tasks, scheduler=scheduler, num_workers=local_workers(workers))
