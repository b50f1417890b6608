"""Run a sweep: plan it (or take the caller's plan), initialise or resume the store, run the chunks left.

The stages live in their own modules: :mod:`sd.sweep.planning` (validate and resolve the spec),
:mod:`sd.sweep.chunk` (one task: run, reduce, write its region), :mod:`sd.sweep.store` (the zarr store:
skeleton, identity, resume) and :mod:`sd.sweep.cluster` (schedulers, memory budgets, progress).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import SpecError
from sd.sweep import cluster as _cluster
from sd.sweep import sample as _sample
from sd.sweep import store as _store
from sd.sweep.planning import Plan, data_file_names
from sd.sweep.planning import plan as make_plan
from sd.sweep.spec import Spec

__all__ = ["describe", "sweep"]

log = logging.getLogger("sd.sweep")


def sweep(
    spec: Spec | str | Path | Plan,
    *,
    draws: int | None = None,
    chunk: int | str | None = None,
    store: str | Path | None = None,
    backend: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    cluster: str | None = None,
    overwrite: bool = False,
    progress: bool | Callable[[int], None] = False,
    verify: bool = False,
) -> Any:
    """Run (or resume) the sweep ``spec`` and return its store as a lazy xarray Dataset.

    Parameters
    ----------
    spec
        A :class:`Spec`, the path of a TOML spec file, or a :class:`Plan` from :func:`sd.sweep.plan`
        (then it is not planned again; ``draws``, ``chunk``, ``store`` and ``backend`` must be None).
    draws, chunk, store, backend
        Override the spec's values (backend: numpy | cupy | fused | auto; ``auto`` resolves on each worker
        to the GPU when cupy and a device are usable, else fused CPU, else numpy; see docs/gpu.md).
    scheduler
        None or "threads": a pool of threads in this process, one per core (``workers`` of
        them; the kernels release the GIL; measured against worker processes in docs/performance.md);
        "local": a ``distributed.LocalCluster`` with one single-threaded worker process per core;
        "local-cuda": a ``dask_cuda.LocalCUDACluster`` (one worker per visible GPU); "sync": one task at
        a time; "tcp://host:port": an existing dask.distributed scheduler. Overrides the spec's
        ``scheduler``.
    client
        A ``distributed.Client`` to run on (overrides ``scheduler``).
    cluster
        "local-cuda" (the CLI's ``--cluster``): same as ``scheduler="local-cuda"``; raises
        :class:`sd.BackendUnavailableError` at once without dask-cuda or a GPU.
    overwrite
        Replace a store written by a different sweep instead of refusing it.
    progress
        True prints a progress line on stderr; a callable receives the draws of each finished chunk.
    verify
        Re-read every chunk of an existing store (checksums, missing chunk files) and recompute those
        that fail (``sd sweep SPEC --verify``).

    Returns
    -------
    xarray.Dataset
        Dims ``(draw, time)``: the stored time series, the outcomes along ``draw`` and the sampled
        parameters as coordinates along ``draw``; attrs with the spec, seed, model hash and versions, and
        ``backend_used`` (what the chunks ran with: numpy | cupy | fused-cpu | fused-cuda).
    """
    p = run(spec, draws=draws, chunk=chunk, store=store, backend=backend, scheduler=scheduler, workers=workers,
            client=client, cluster=cluster, overwrite=overwrite, progress=progress, verify=verify)  # fmt: skip
    return _store.open_result(p.store, p.sampled)


def run(
    spec: Spec | str | Path | Plan,
    *,
    draws: int | None = None,
    chunk: int | str | None = None,
    store: str | Path | None = None,
    backend: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    cluster: str | None = None,
    overwrite: bool = False,
    progress: bool | Callable[[int], None] = False,
    verify: bool = False,
    sink: Callable[[Any], None] | None = None,
) -> Plan:
    """:func:`sweep` without opening the result: run (or resume) the sweep and return its final plan (the
    store's chunking). ``sink`` receives each chunk's :class:`~sd.sweep.chunk.ChunkData` after it is
    written, where the tasks run in this process (threads, sync): the CLI's summary keeps the outcomes
    it prints instead of reading them back."""
    if cluster is not None and cluster not in ("local", "local-cuda"):
        raise SpecError(f"--cluster: {cluster!r} is not a cluster kind; expected local-cuda (or local)")
    if cluster == "local-cuda" and client is None:
        from sd.sweep.resources import local_cuda_available

        local_cuda_available()  # fail at once, before the model is even loaded
    p = _planned(spec, draws=draws, chunk=chunk, store=store, backend=backend)
    sched = cluster or scheduler or p.spec.scheduler
    if client is None:
        _cluster.check_scheduler(sched, p.spec.source)
        _check_local(p, sched, workers)  # before the store exists: nothing to clean up after a refusal
    own: tuple[Any, Any] | None = None
    if client is None and sched is not None and (sched == "local-cuda" or "://" in sched):
        client, cluster_obj = _cluster.connect(sched, workers)
        own = (client, cluster_obj)
    try:
        if p.spec.chunk == "auto":
            p = _cluster.size_chunks(p, sched, workers, client)
        log.info("sweep: chunk %d draws (%s budget %.0f MB per task)", p.chunk, p.memory_source,
                 p.memory_budget / 2**20)  # fmt: skip
        with _store.writer_lock(p.store):
            p, done = _store.prepare_store(p, overwrite=overwrite)
            if verify:
                done = _verified(p, done)
            _run_left(p, done, sched, workers, client, progress, sink)
    finally:
        if own is not None:
            own[0].close()
            if own[1] is not None:
                own[1].close()
    return p


def _check_local(p: Plan, sched: str | None, workers: int | None) -> None:
    """What a local run needs, checked before any store is created: a worker count >= 1 and, for
    ``backend = "cupy"``, a usable GPU on this machine."""
    from sd.errors import BackendUnavailableError

    if workers is not None and workers < 1:
        raise SpecError(f"{p.spec.source}: workers: must be >= 1, got {workers}")
    local = sched is None or sched in _cluster.LOCAL_SCHEDULERS
    if local and p.backend == "cupy":
        from sd.sweep.resources import gpu_usable

        if not gpu_usable():
            raise BackendUnavailableError(
                f"{p.spec.source}: backend: cupy needs cupy and a usable CUDA device on this machine; use "
                "--backend auto (GPU when there is one, else CPU), or --scheduler ADDR of GPU workers"
            )


def _verified(p: Plan, done: np.ndarray) -> np.ndarray:
    """``done`` less the chunks that fail to read back (checksum, missing file); those are unmarked in
    the store so that this run rewrites them."""
    bad = {i: why for i, why in _store.read_chunk_errors(p.store, p.chunk, p.n_chunks).items() if done[i]}
    if bad:
        log.warning("sweep: verify: %d damaged chunk(s) to recompute: %s", len(bad),
                    "; ".join(f"chunk {i}: {why}" for i, why in sorted(bad.items())[:5]))  # fmt: skip
        _store.unmark(p.store, sorted(bad))
        done = done.copy()
        done[sorted(bad)] = False
    print(f"sweep: verify: {int(done.sum())} of {p.n_chunks} chunks read back intact"
          + (f"; recomputing {len(bad)}: chunk(s) {', '.join(map(str, sorted(bad)[:10]))}" if bad else ""),
          file=sys.stderr)  # fmt: skip
    return done


def _planned(spec: Spec | str | Path | Plan, **overrides: Any) -> Plan:
    """The caller's plan as is, or the plan of ``spec`` with ``overrides``."""
    if isinstance(spec, Mapping):  # a spec given as a dict: the TOML's tables as Python values
        from sd.sweep.spec import spec_from_dict

        spec = spec_from_dict(spec, source="<dict>", base_dir=Path.cwd())
    if not isinstance(spec, Spec | str | Path | Plan):
        raise SpecError(
            f"sd.sweep: spec is a {type(spec).__name__}; expected the path of a TOML spec, an "
            "sd.sweep.Spec, a dict of the spec's tables or a Plan from sd.sweep.plan"
        )
    if not isinstance(spec, Plan):
        return make_plan(spec, **overrides)
    given = sorted(k for k, v in overrides.items() if v is not None)
    if given:
        raise SpecError(f"{spec.spec.source}: {', '.join(given)}: give overrides to plan(), not to "
                        "sweep() with a Plan")  # fmt: skip
    return spec


def _run_left(p: Plan, done: np.ndarray, sched: str | None, workers: int | None, client: Any,
              progress: bool | Callable[[int], None], sink: Callable[[Any], None] | None = None) -> None:  # fmt: skip
    """Run the chunks not done yet, then record in the store's attrs what backends they ran with."""
    todo = [i for i in range(p.n_chunks) if not done[i]]
    if not todo:
        return
    design = None
    if p.spec.sampler in ("saltelli", "morris"):
        design = _sample.design(p.spec.sampler, p.spec.seed, p.draws, len(p.params),
                                dict(p.spec.sampler_options))  # fmt: skip
    report: Callable[[int], None] | None = None
    if progress is True:
        already = int(sum(p.bounds(i)[1] - p.bounds(i)[0] for i in range(p.n_chunks) if done[i]))
        report = _cluster.Progress(p.draws, already).update
    elif callable(progress):
        report = progress
    used: dict[str, int] = {}
    splits = [0]

    def finished(result: tuple[int, int, str, int]) -> None:
        _i, n, backend, k = result
        for name in str(backend).split(","):
            used[name] = used.get(name, 0) + 1
        splits[0] += int(k)
        if report is not None:
            report(n)

    try:
        _cluster.execute(p, todo, design, sched, workers, client, finished, sink)
    finally:
        if used:
            _store.record_backends(p, used, splits[0])


def describe(p: Plan, done: np.ndarray | None = None, scheduler: str | None = None,
             workers: int | None = None) -> str:  # fmt: skip
    """The plan in words (``sd sweep --dry-run``)."""

    def size(b: float) -> str:
        for unit in ("B", "KB", "MB", "GB", "TB"):
            if b < 1024 or unit == "TB":
                return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
            b /= 1024
        return ""  # pragma: no cover

    sched = scheduler or p.spec.scheduler or _cluster.DEFAULT_LOCAL
    where = {"local": f"LocalCluster, {_cluster.local_workers(workers)} worker process(es) x 1 thread",
             "threads": f"threads in this process, {_cluster.local_workers(workers)} at a time"}.get(
        sched, sched)  # fmt: skip
    lines = [
        f"sweep {p.spec.source}",
        f"  model      {p.model_path} (sha256 {p.model_sha256[:12]})",
        f"  scenario   {p.spec.scenario or '(model defaults)'}"
        + (f" + {len(p.base)} fixed value(s)" if p.base else ""),
        f"  sampler    {p.spec.sampler}, seed {p.spec.seed}, {len(p.params)} parameter(s)",
        f"  draws      {p.draws:,}",
        f"  chunks     {p.n_chunks:,} of {p.chunk:,} draws",
        f"  memory     ~{size(p.bytes_per_draw * p.chunk)} per chunk task"
        + (f" (auto: budget {size(p.memory_budget)}, {p.memory_source})" if p.spec.chunk == "auto" else ""),
        f"  outputs    {len(p.timeseries)} time series x {len(p.times)} times, {len(p.outcomes)} outcome(s)"
        + (f" (reduced over {p.n_time_full} time steps)" if p.outcomes else "")
        + (f", {len(p.checks)} reality check(s)" if p.checks else ""),
    ]
    if p.data_files:
        lines.append("  data       " + ", ".join(f"{f} (sha256 {sha[:12]})" for f, sha in
                                                 data_file_names(p.model_path, p.data_files).items()))  # fmt: skip
    if p.paired is not None:
        twin = ", ".join(f"{k} = {v:g}" for k, v in p.paired.set.items())
        lines.append(f"  paired     every draw also runs its twin with {twin} (2 runs per draw); "
                     f"{len(p.paired.outcomes)} effect(s) stored as '{p.paired.prefix} <outcome>'")  # fmt: skip
    lines += [
        f"  store      {p.store} (~{size(p.store_bytes())} uncompressed)",
        f"  scheduler  {where}",
        f"  backend    {p.backend}",
    ]
    if done is not None and done.any():
        lines.append(f"  resume     {int(done.sum())} of {p.n_chunks} chunks already done")
    return "\n".join(lines)
