"""The zarr store of a sweep: initialised up front, written a chunk at a time, resumable.

Layout (zarr format 3, one group, in xarray's zarr conventions; the skeleton is written with zarr, the
chunks through xarray):

- ``draw`` (int64) and ``time`` (float64) coordinates, written at initialisation;
- one ``(draw, time)`` array per stored time series, one ``(draw,)`` array per sampled parameter, per
  outcome and per ``[paired]`` effect, one boolean ``(draw,)`` array per reality check, chunked along
  ``draw`` by the sweep's chunk, filled with NaN until their chunk is written;
- ``_done`` (bool, dim ``chunk``, one zarr chunk per element): chunk ``i`` is complete. A task writes its
  region of every array first and sets ``_done[i]`` last, so a process killed at any moment leaves
  ``_done[i]`` false for every chunk it had not finished, and a rerun rewrites exactly those;
- attrs: ``sd_sweep`` (JSON of what decides the result: model hash, draws, seed, sampler, parameters,
  outputs, outcomes, ...; a rerun compares it), ``spec`` (the spec as JSON), ``chunk``, versions.

:func:`prepare_store` creates the skeleton from the plan (:func:`template`) or checks an existing store's
identity against it; :func:`record_backends` adds what the chunks ran with.

Local stores are initialised under a temporary name unique to the process and renamed into place, so a
store path either does not exist or holds a complete skeleton; one sweep at a time writes a local store
(:func:`writer_lock`, a ``flock`` released when the process dies, even by ``kill -9``). zarr's local store
writes each chunk file atomically (temporary file + rename), so a chunk is never half-written on disk either.

Integrity: every array's chunks go through a compressor and a CRC32C checksum (:func:`codecs`), so a flipped byte is
an error when read, never a value; every chunk is written, NaN-only ones too (``write_empty_chunks``), so a
chunk file that is missing is damage (:func:`missing_chunks`), not a chunk of NaN. ``_backend`` (int32, dim
``chunk``) records per chunk what ran it (:data:`BACKEND_BITS`, plus 256 x its out-of-memory splits),
written before ``_done``, so ``backend_chunks`` counts exactly the finished chunks whatever was
interrupted. Readers (:func:`open_result`) refuse a store with chunks not done or missing
(:class:`IncompleteStoreError`) unless asked for the finished draws only (``allow_incomplete``).
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sd.errors import SpecError

if TYPE_CHECKING:
    from sd.sweep.planning import Plan

__all__ = [
    "BACKEND",
    "DONE",
    "ChunkWriter",
    "IncompleteStoreError",
    "StoreLockedError",
    "StoreTemplate",
    "backend_counts",
    "check_var",
    "codecs",
    "completeness",
    "done_mask",
    "init_store",
    "mark_done",
    "missing_chunks",
    "open_result",
    "prepare_store",
    "read_arrays",
    "read_attrs",
    "read_chunk_errors",
    "record_backends",
    "remove_store",
    "template",
    "unmark",
    "write_region",
    "writer_lock",
]

log = logging.getLogger("sd.sweep")

DONE = "_done"
BACKEND = "_backend"
KEY_ATTR = "sd_sweep"
BACKEND_BITS = {"numpy": 1, "cupy": 2, "fused-cpu": 4, "fused-cuda": 8}
_OTHER_BACKEND = 128  # a backend name not in BACKEND_BITS


def codecs() -> list[Any]:
    """The compressors of every array: blosc lz4 with byte shuffle, then a CRC32C checksum of the compressed
    bytes. Chosen by measurement (docs/performance.md, "Store writes"): 1.5x the write speed of zstd 1 and
    10% smaller on sweep data; stores written with another codec keep theirs (it is in their metadata)."""
    from zarr.codecs import BloscCodec, Crc32cCodec

    return [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), Crc32cCodec()]


class IncompleteStoreError(SpecError):
    """A sweep's store whose chunks are not all finished (or whose chunk files are missing)."""


class StoreLockedError(SpecError):
    """Another sweep is writing the store."""


def _is_local(store: str) -> bool:
    return "://" not in store


def read_attrs(store: str) -> dict[str, Any] | None:
    """The store's group attrs; None when nothing is there. SpecError when it is not a zarr group."""
    import zarr

    if _is_local(store) and not Path(store).exists():
        return None
    try:
        group = zarr.open_group(store, mode="r")
    except FileNotFoundError:
        return None
    except Exception as err:
        raise SpecError(
            f"store {store}: exists but is not a zarr group ({type(err).__name__}: {err}); "
            "pass --overwrite to replace it, or choose another store"
        ) from err
    return dict(group.attrs)


def done_mask(store: str, n_chunks: int) -> np.ndarray:
    """Which chunks are complete (an unreadable element counts as not done)."""
    import zarr

    arr = zarr.open_array(store, path=DONE, mode="r")
    try:
        mask = np.asarray(arr[:], dtype=bool)
    except Exception:  # a damaged element: read them one by one
        mask = np.zeros(arr.shape[0], dtype=bool)
        for i in range(arr.shape[0]):
            try:
                mask[i] = bool(arr[i])
            except Exception:
                mask[i] = False
    if mask.shape != (n_chunks,):
        raise SpecError(f"store {store}: holds {mask.shape[0]} chunks, expected {n_chunks}")
    return mask


class ChunkWriter:
    """Writes the chunks of one store from this process: each array is opened once (zarr reads its
    metadata from disk on every open) and shared by the threads of a local sweep."""

    def __init__(self, store: str) -> None:
        import threading

        self.store = store
        self._arrays: dict[str, Any] = {}
        self._lock = threading.Lock()

    def array(self, name: str) -> Any:
        """Array ``name`` opened for writing, every chunk written (NaN-only ones too), or None if the
        store lacks it."""
        import zarr

        with self._lock:
            if name not in self._arrays:
                try:  # (open_array's config argument is ignored in mode r+ by zarr 3.1; with_config is not)
                    arr = zarr.open_array(self.store, path=name, mode="r+")
                    self._arrays[name] = arr.with_config({"write_empty_chunks": True})
                except FileNotFoundError:
                    self._arrays[name] = None
            return self._arrays[name]

    def write_region(self, start: int, stop: int, arrays: Mapping[str, np.ndarray]) -> None:
        for name, values in arrays.items():
            # contiguous first: a chunk's outcomes are columns of one (draws, outcomes) array, and zarr
            # writes a strided view slower than numpy's copy plus the write (9.7 vs 8.8 ms per 250,000
            # float64 draws, blosc lz4, median of 20 interleaved)
            self.array(name)[start:stop] = np.ascontiguousarray(values)

    def mark_done(self, i: int, backend: str | None = None, splits: int = 0) -> None:
        if backend is not None:
            arr = self.array(BACKEND)
            if arr is not None:  # None: a store from before _backend
                arr[i] = backend_code(backend, splits)
        self.array(DONE)[i] = True


def mark_done(store: str, i: int, backend: str | None = None, splits: int = 0,
              writer: ChunkWriter | None = None) -> None:  # fmt: skip
    """Chunk ``i`` is complete: record what ran it in ``_backend`` (where the store has it), then
    ``_done[i] = True``."""
    (writer or ChunkWriter(store)).mark_done(i, backend, splits)


def write_region(store: str, start: int, stop: int, arrays: Mapping[str, np.ndarray],
                 writer: ChunkWriter | None = None) -> None:  # fmt: skip
    """Write draws ``start:stop`` of each array (a whole chunk along draw), with zarr directly. Every chunk
    is written, NaN-only ones too (``write_empty_chunks``): a missing chunk file is then damage, not NaN."""
    (writer or ChunkWriter(store)).write_region(start, stop, arrays)


def backend_code(backend: str, splits: int = 0) -> int:
    """``_backend`` of a chunk: the bits of the backends that ran it plus 256 x its OOM splits."""
    bits = 0
    for name in str(backend).split(","):
        bits |= BACKEND_BITS.get(name, _OTHER_BACKEND)
    return bits + 256 * int(splits)


def backend_counts(store: str, done: np.ndarray) -> tuple[dict[str, int], int] | None:
    """({backend: finished chunks it ran}, OOM splits of finished chunks) from ``_backend``; None for a
    store without it."""
    import zarr

    try:
        codes = np.asarray(zarr.open_array(store, path=BACKEND, mode="r")[:], dtype=np.int64)
    except FileNotFoundError:
        return None
    codes = codes[np.asarray(done, dtype=bool)]
    counts = {name: int(((codes & bit) != 0).sum()) for name, bit in BACKEND_BITS.items()}
    if ((codes & _OTHER_BACKEND) != 0).any():
        counts["other"] = int(((codes & _OTHER_BACKEND) != 0).sum())
    return {k: v for k, v in counts.items() if v}, int((codes >> 8).sum())


def remove_store(store: str) -> None:
    """Delete a store for --overwrite; refuses a directory that is not a zarr store."""
    if not _is_local(store):
        import zarr

        zarr.open_group(store, mode="w")
        return
    p = Path(store)
    if not p.exists():
        return
    if p.is_dir() and not (p / "zarr.json").exists() and not (p / ".zgroup").exists():
        raise SpecError(f"store {store}: is a directory but not a zarr store; refusing to delete it")
    if p.is_dir():
        shutil.rmtree(p)
    else:
        p.unlink()


def init_store(store: str, template: StoreTemplate, chunk: int, n_chunks: int, attrs: dict[str, Any]) -> None:
    """Write the skeleton: coordinates, metadata of every array (no data) and ``_done`` all false.

    Written with zarr directly in the layout xarray's ``to_zarr`` gives (``dimension_names``, a base64
    ``_FillValue`` attribute on float arrays), so ``xarray.open_zarr`` reads it; no dask is needed."""
    attrs = {**attrs, KEY_ATTR: json.dumps(attrs[KEY_ATTR]) if not isinstance(attrs[KEY_ATTR], str)
             else attrs[KEY_ATTR]}  # fmt: skip
    if not _is_local(store):
        _write_skeleton(store, template, chunk, n_chunks, attrs)
        return
    import os
    import uuid

    target = Path(store)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.init-{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        _write_skeleton(str(tmp), template, chunk, n_chunks, attrs)
        if target.exists():  # someone else created it meanwhile (another sweep without our lock)
            raise SpecError(f"store {store}: was created by another sweep while this one initialised it; "
                            "rerun to resume it")  # fmt: skip
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_skeleton(store: str, template: StoreTemplate, chunk: int, n_chunks: int,
                    attrs: dict[str, Any]) -> None:  # fmt: skip
    import zarr

    group = zarr.open_group(store, mode="w", zarr_format=3, attributes=attrs)
    n, times = template.draws, np.asarray(template.times, dtype=float)
    arrays = [
        _Array("draw", ("draw",), np.int64, {}, np.arange(n, dtype=np.int64)),
        _Array("time", ("time",), np.float64, {"units": template.time_unit, "long_name": "time"}, times),
        *template.arrays,
        _Array(DONE, ("chunk",), np.bool_, {}, None, fill=False),
        _Array(BACKEND, ("chunk",), np.int32, {}, None, fill=0),
    ]
    sizes = {"draw": n, "time": len(times), "chunk": n_chunks}
    for a in arrays:
        dtype = np.dtype(a.dtype)
        shape = tuple(sizes[d] for d in a.dims)
        chunks = tuple((1 if a.name in (DONE, BACKEND) else chunk) if d in ("draw", "chunk") else sizes[d]
                       for d in a.dims)  # fmt: skip
        fill = a.fill if a.fill is not None else (np.nan if dtype.kind == "f" else 0 if dtype.kind in "iu"
                                                   else True)  # NaN cast to bool, as xarray writes it
        extra = {"_FillValue": _b64_nan(dtype)} if dtype.kind == "f" else {}
        arr = group.create_array(a.name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
                                 compressors=codecs(), dimension_names=a.dims,
                                 attributes={**a.attrs, **extra})  # fmt: skip
        if a.data is not None:
            arr[...] = a.data


def _b64_nan(dtype: np.dtype[Any]) -> str:
    """xarray's encoding of a NaN fill value in a zarr v3 attribute."""
    import base64

    return base64.standard_b64encode(np.array(np.nan, dtype=dtype).tobytes()).decode()


def missing_chunks(store: str, chunk: int, n_chunks: int) -> list[int]:
    """The chunks (along ``draw``) of which some array has no chunk file: damage, since every chunk of a
    finished sweep is written (an older store may lack NaN-only chunks; see :func:`read_chunk_errors`)."""
    import zarr
    from zarr.core.sync import sync

    group = zarr.open_group(store, mode="r")

    async def keys() -> set[str]:
        return {k async for k in group.store.list()}

    present = sync(keys())
    prefix = f"{group.path}/" if group.path else ""
    missing: set[int] = set()
    for name, arr in group.arrays():
        if name in (DONE, BACKEND) or not arr.shape or getattr(arr.metadata, "dimension_names", None) is None:
            continue
        dims = list(getattr(arr.metadata, "dimension_names", None) or ())
        if "draw" not in dims or name == "draw":
            continue
        axis = dims.index("draw")
        grid = [1 if j != axis else n_chunks for j in range(len(dims))]
        for i in range(n_chunks):
            coords = tuple(i if j == axis else 0 for j in range(len(grid)))
            if f"{prefix}{name}/{arr.metadata.encode_chunk_key(coords)}" not in present:
                missing.add(i)
    return sorted(missing)


def completeness(store: str) -> tuple[np.ndarray, list[int]]:
    """(the ``_done`` mask, chunks marked done whose files are missing) of a sweep's store."""
    attrs = read_attrs(store) or {}
    import zarr

    try:
        n_chunks = zarr.open_array(store, path=DONE, mode="r").shape[0]
    except FileNotFoundError:  # not written by `sd sweep` (e.g. `sd run --out x.zarr`): nothing to check
        return np.ones(0, dtype=bool), []
    done = done_mask(store, n_chunks)
    chunk = int(attrs.get("chunk") or 0)
    try:  # stores from before _backend did not write NaN-only chunks: a missing file is no sign there
        zarr.open_array(store, path=BACKEND, mode="r")
    except FileNotFoundError:
        return done, []
    missing = [i for i in missing_chunks(store, chunk, n_chunks) if done[i]] if chunk else []
    return done, missing


def open_result(store: str, params: list[str] | None = None, *, allow_incomplete: bool = False) -> Any:
    """The store as a lazy (dask-backed) Dataset; sampled parameters become coordinates along draw.

    A store with chunks not done, or with chunk files missing, is refused (:class:`IncompleteStoreError`);
    with ``allow_incomplete`` the Dataset holds the finished draws only and its attrs say how many are
    missing (``draws_missing``, ``chunks_missing``)."""
    import xarray as xr

    done, missing = completeness(store)
    ds = xr.open_zarr(store, consolidated=False, drop_variables=[DONE, BACKEND])
    bad = sorted(set(np.flatnonzero(~done).tolist()) | set(missing))
    if bad:
        ds = _incomplete(store, ds, done, missing, bad, allow_incomplete)
    try:
        key = json.loads(ds.attrs[KEY_ATTR])
    except (KeyError, ValueError, TypeError):
        key = {}
    if params is None:
        params = list(key.get("parameters_sampled", []))
    paired = key.get("paired") or {}
    effects = [f"{paired['prefix']} {o}" for o in paired.get("outcomes", [])] if paired else []
    order = [*key.get("timeseries", []), *key.get("outcome_names", []), *effects, *params]
    names = [v for v in order if v in ds.variables]
    names += [str(v) for v in ds.data_vars if v not in names]
    return ds[names].set_coords([p for p in params if p in ds.variables])


def read_arrays(store: str, names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """({name: zarr array}, the group's attrs), opened with zarr alone (no xarray, no dask); the values are
    read on ``numpy.asarray(array)``. For a finished store (the CLI's summary after its sweep);
    :func:`open_result` is the checked reader."""
    import zarr

    group = zarr.open_group(store, mode="r")
    return {n: group[n] for n in names}, dict(group.attrs)


def _incomplete(store: str, ds: Any, done: np.ndarray, missing: list[int], bad: list[int],
                allow: bool) -> Any:  # fmt: skip
    """Refuse the incomplete store, or (``allow``) keep the draws of its sound chunks and say so."""
    chunk = int(ds.attrs.get("chunk") or 1)
    n, n_chunks = ds.sizes["draw"], len(done)
    keep = np.ones(n, dtype=bool)
    for i in bad:
        keep[i * chunk:(i + 1) * chunk] = False
    lost = int(n - keep.sum())
    spec = ds.attrs.get("spec_file") or "SPEC"
    what = f"{int(done.sum()) - len(missing)} of {n_chunks} chunks finished ({lost:,} of {n:,} draws missing"
    what += f"; chunk file(s) of chunk(s) {', '.join(map(str, missing[:5]))} missing or damaged)" if missing else ")"
    if not allow:
        fix = f"sd sweep {spec} --verify" if missing else f"sd sweep {spec}"
        raise IncompleteStoreError(f"store {store}: incomplete: {what}; rerun `{fix}` to finish it, or pass "
                                   "--allow-incomplete to use the finished draws only")  # fmt: skip
    out = ds.isel(draw=np.flatnonzero(keep))
    out.attrs.update(draws_missing=lost, chunks_missing=len(bad), incomplete=f"store {store}: incomplete: {what}")
    return out


def check_var(name: str) -> str:
    """The store variable of check ``name``: True where the draw violates it."""
    return f"violated: {name}"


@dataclass(frozen=True)
class _Array:
    """One array of the store's skeleton: name, dims, dtype, attrs, data written at initialisation (the
    coordinates) and the fill value (None: NaN for floats, as xarray writes it)."""

    name: str
    dims: tuple[str, ...]
    dtype: Any
    attrs: dict[str, Any]
    data: np.ndarray | None = None
    fill: Any = None


@dataclass(frozen=True)
class StoreTemplate:
    """What the store holds before any chunk runs: sizes, the time coordinate and every array's metadata."""

    draws: int
    times: np.ndarray
    time_unit: str
    arrays: list[_Array]


def template(p: Plan) -> StoreTemplate:
    """The store's skeleton from the plan: every array with its dims, dtype and attrs (units, docs,
    distributions, outcome and check definitions)."""
    from sd.sweep.planning import load_model

    model = load_model(p.model_path, p.model_sha256, p.data_files, p.data_given)
    arrays: list[_Array] = []
    for name in p.timeseries:
        var = model.variables[name]
        arrays.append(_Array(name, ("draw", "time"), np.float64, {"units": var.units, "description": var.doc}))
    for name in p.sampled:
        var = model.variables[name]
        arrays.append(_Array(name, ("draw",), np.float64, {"units": var.units, "description": var.doc,
                             "distribution": json.dumps(dict(p.params)[name].to_dict())}))  # fmt: skip
    units = {o.name: model.time_unit if o.kind == "first_time" else model.variables[o.variable].units
             for o in p.outcomes}  # fmt: skip
    for o in p.outcomes:
        arrays.append(_Array(o.name, ("draw",), np.float64, {"variable": o.variable, "units": units[o.name],
                             "outcome": json.dumps(p.spec.outcomes[o.name].to_dict())}))  # fmt: skip
    if p.paired is not None:
        twin = ", ".join(f"{k} = {v:g}" for k, v in p.paired.set.items())
        for name in p.paired.outcomes:
            arrays.append(_Array(p.paired.stored(name), ("draw",), np.float64, {
                "outcome": name, "paired": json.dumps(dict(p.paired.set)), "units": units[name],
                "description": f"'{name}' of the draw minus '{name}' of its twin with {twin}"}))  # fmt: skip
    for c in p.checks:
        arrays.append(_Array(check_var(c.name), ("draw",), np.bool_, {"check": c.expr, "when": c.when,
                             "description": f"True where the draw violates '{c.expr}' "
                             f"({'at every saved time' if c.when == 'always' else 'at the end'})"}))  # fmt: skip
    return StoreTemplate(p.draws, np.asarray(p.times, dtype=float), model.time_unit, arrays)


def _attrs(p: Plan) -> dict[str, Any]:
    from sd._version import __version__, pysd_version

    spec = p.spec.to_dict()
    spec["draws"] = p.draws
    return {
        "title": f"sd sweep of {Path(p.model_path).name}",
        "model": Path(p.model_path).name,
        "model_sha256": p.model_sha256,
        "seed": p.spec.seed,
        "sampler": p.spec.sampler,
        "draws": p.draws,
        "chunk": p.chunk,
        "scenario": p.spec.scenario or "",
        "spec": json.dumps(spec),
        "spec_file": p.spec.source,
        "sd_version": __version__,
        "pysd_version": pysd_version(),
        "outcome_time_resolution": "every time step" if p.ts_rows is not None else "saveper",
        KEY_ATTR: json.dumps(p.key, sort_keys=True),
    }


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if k == "data_files":
            names = sorted(f for f in set(a or {}) | set(b or {}) if (a or {}).get(f) != (b or {}).get(f))
            out.append("data file " + ", ".join(names) + " (changed since the store was written)")
        elif isinstance(a, dict) and isinstance(b, dict):
            sub = [s for s in sorted(set(a) | set(b)) if a.get(s) != b.get(s)]
            out.append(f"{k} ({', '.join(map(repr, sub[:4]))}{' ...' if len(sub) > 4 else ''})")
        elif k == "model_sha256":
            out.append(f"model (sha256 {str(a)[:12]} in the store, {str(b)[:12]} now)")
        else:
            out.append(f"{k} ({a!r} in the store, {b!r} now)")
    return out


def prepare_store(p: Plan, *, overwrite: bool = False, create: bool = True) -> tuple[Plan, np.ndarray]:
    """Check an existing store against the plan (adopting its chunk), or create it. Returns the done mask."""
    import dataclasses

    attrs = None if overwrite else read_attrs(p.store)
    if attrs is not None:
        if KEY_ATTR not in attrs:
            raise SpecError(f"store {p.store}: is not an sd sweep store; pass --overwrite to replace it")
        old = json.loads(attrs[KEY_ATTR])
        if old != json.loads(json.dumps(p.key, sort_keys=True)):
            diff = "; ".join(_differences(old, json.loads(json.dumps(p.key))))
            raise SpecError(
                f"store {p.store}: was written by a different sweep (differs in: {diff}); "
                "pass --overwrite to replace it, or choose another store"
            )
        if int(attrs["chunk"]) != p.chunk:  # the store's chunking wins: results do not depend on it
            p = dataclasses.replace(p, chunk=int(attrs["chunk"]))
        return p, done_mask(p.store, p.n_chunks)
    if create:
        if overwrite:
            remove_store(p.store)
        init_store(p.store, template(p), p.chunk, p.n_chunks, _attrs(p))
    return p, np.zeros(p.n_chunks, dtype=bool)


def record_backends(p: Plan, used: Mapping[str, int], splits: int = 0) -> None:
    """Add what the chunks ran with to the store's attrs: ``backend_used`` (sorted names),
    ``backend_chunks`` ({name: chunks}), ``backend_requested``, ``oom_splits`` (out-of-memory halvings).

    Counted from the store's ``_backend`` over the finished chunks (so an interrupted run, whose driver
    never got to count, is right after its resume); a store without ``_backend`` merges ``used``."""
    import zarr

    group = zarr.open_group(p.store, mode="r+")
    attrs: dict[str, Any] = dict(group.attrs)
    counted = backend_counts(p.store, done_mask(p.store, p.n_chunks))
    if counted is not None:
        old, total_splits = counted
    else:
        old = dict(attrs.get("backend_chunks") or {})
        for name, count in used.items():
            old[name] = int(old.get(name, 0)) + int(count)
        total_splits = int(attrs.get("oom_splits") or 0) + int(splits)
    group.attrs.update({
        "backend_requested": p.backend,
        "backend_chunks": old,
        "backend_used": sorted(old),
        "oom_splits": total_splits,
    })  # fmt: skip
    # the finished store's metadata in one document: xarray.open_zarr(store) reads it without a warning
    with warnings.catch_warnings():  # zarr 3: "not part of the Zarr format 3 specification" (xarray reads it)
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        zarr.consolidate_metadata(p.store)
    log.info("sweep: backend %s (requested %s)", ", ".join(f"{k}: {v} chunk(s)" for k, v in
                                                           sorted(old.items())), p.backend)  # fmt: skip


@contextmanager
def writer_lock(store: str) -> Iterator[None]:
    """One writer per local store: an exclusive ``flock`` on ``<store>.lock`` (holding the pid), released
    when the sweep ends or its process dies. A second sweep gets StoreLockedError naming the holder."""
    if not _is_local(store):  # object stores: no lock (docs/reliability.md)
        yield
        return
    import fcntl
    import os

    path = Path(store).with_name(Path(store).name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreLockedError(f"store {store}: is being written by another sweep (pid {holder}); wait for "
                                   "it to finish, or stop it and rerun") from None  # fmt: skip
        try:  # the file may have been unlinked by the holder we waited on: lock the one at the path
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        _remove_stale_partials(Path(store))
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            os.close(fd)


def _remove_stale_partials(target: Path) -> None:
    """Skeletons left by initialisations that died (we hold the lock: nobody else is writing one)."""
    for tmp in target.parent.glob(f"{target.name}.init-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def read_chunk_errors(store: str, chunk: int, n_chunks: int) -> dict[int, str]:
    """Chunks that fail to read back (checksum, decompression, missing file): {chunk: why}. Reads every
    chunk of every array once (``sd sweep SPEC --verify``)."""
    import zarr

    group = zarr.open_group(store, mode="r")
    bad: dict[int, str] = {i: "chunk file missing" for i in missing_chunks(store, chunk, n_chunks)}
    for name, arr in group.arrays():
        dims = list(getattr(arr.metadata, "dimension_names", None) or ())
        if name in (DONE, BACKEND, "draw") or "draw" not in dims:
            continue
        axis = dims.index("draw")
        for i in range(n_chunks):
            sel = tuple(slice(i * chunk, (i + 1) * chunk) if j == axis else slice(None) for j in range(len(dims)))
            try:
                arr[sel]
            except Exception as err:  # a checksum mismatch, a truncated or garbled chunk
                bad.setdefault(i, f"{name}: {type(err).__name__}: {err}"[:200])
    return bad


def unmark(store: str, chunks: list[int]) -> None:
    """Mark ``chunks`` not done, so that the run rewrites them."""
    import zarr

    arr = zarr.open_array(store, path=DONE, mode="r+")
    for i in chunks:
        arr[i] = False
