"""The zarr store of a sweep: initialised up front, written a chunk at a time, resumable.

Layout (zarr format 3, one group, written through xarray):

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

Local stores are initialised under a temporary name and renamed into place, so a store path either does
not exist or holds a complete skeleton. zarr's local store writes each chunk file atomically (temporary file +
rename), so a chunk is never half-written on disk either.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sd.errors import SpecError

if TYPE_CHECKING:
    from sd.sweep.plan import Plan

__all__ = [
    "DONE",
    "check_var",
    "done_mask",
    "init_store",
    "mark_done",
    "open_result",
    "prepare_store",
    "read_attrs",
    "record_backends",
    "remove_store",
    "template",
]

log = logging.getLogger("sd.sweep")

DONE = "_done"
KEY_ATTR = "sd_sweep"


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


def mark_done(store: str, i: int) -> None:
    import zarr

    zarr.open_array(store, path=DONE, mode="r+")[i] = True


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


def init_store(store: str, template: Any, chunk: int, n_chunks: int, attrs: dict[str, Any]) -> None:
    """Write the skeleton: coordinates, metadata of every array (no data) and ``_done`` all false."""
    import xarray as xr

    ds = template.copy()
    ds[DONE] = xr.DataArray(np.zeros(n_chunks, dtype=bool), dims=("chunk",))
    ds.attrs = {**attrs, KEY_ATTR: json.dumps(attrs[KEY_ATTR]) if not isinstance(attrs[KEY_ATTR], str)
                else attrs[KEY_ATTR]}  # fmt: skip
    encoding: dict[str, Any] = {DONE: {"chunks": (1,)}}
    for name, var in ds.data_vars.items():
        if name == DONE:
            continue
        shape = tuple(chunk if d == "draw" else ds.sizes[d] for d in var.dims)
        encoding[str(name)] = {"chunks": shape, "fill_value": np.nan}
    encoding["draw"] = {"chunks": (chunk,)}
    if _is_local(store):
        target = Path(store)
        tmp = target.with_name(target.name + ".init-partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        ds.to_zarr(str(tmp), mode="w", compute=False, encoding=encoding, consolidated=False)
        tmp.rename(target)
    else:
        ds.to_zarr(store, mode="w", compute=False, encoding=encoding, consolidated=False)


def open_result(store: str, params: list[str] | None = None) -> Any:
    """The store as a lazy (dask-backed) Dataset; sampled parameters become coordinates along draw."""
    import xarray as xr

    ds = xr.open_zarr(store, consolidated=False, drop_variables=[DONE])
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


def check_var(name: str) -> str:
    """The store variable of check ``name``: True where the draw violates it."""
    return f"violated: {name}"


def template(p: Plan) -> Any:
    """The full-size Dataset (lazy) the store is initialised from."""
    import dask.array as da
    import xarray as xr

    from sd._version import __version__
    from sd.sweep.plan import load_model

    n, t = p.draws, len(p.times)
    model = load_model(p.model_path, p.model_sha256)
    per_draw = [*p.sampled, *(o.name for o in p.outcomes), *(p.paired.names if p.paired else [])]
    data: dict[str, Any] = {}
    for name in p.timeseries:
        data[name] = (("draw", "time"), da.empty((n, t), chunks=(p.chunk, t), dtype=float))
    for name in per_draw:
        data[name] = (("draw",), da.empty((n,), chunks=(p.chunk,), dtype=float))
    for c in p.checks:
        data[check_var(c.name)] = (("draw",), da.zeros((n,), chunks=(p.chunk,), dtype=bool))
    ds = xr.Dataset(data, coords={"draw": np.arange(n, dtype=np.int64), "time": np.asarray(p.times)})
    for name in p.timeseries:
        var = model.variables[name]
        ds[name].attrs.update(units=var.units, description=var.doc)
    for name in p.sampled:
        var = model.variables[name]
        ds[name].attrs.update(units=var.units, description=var.doc, distribution=json.dumps(
            dict(p.params)[name].to_dict()))  # fmt: skip
    units = {o.name: "" if o.kind == "first_time" else model.variables[o.variable].units for o in p.outcomes}
    for o in p.outcomes:
        ds[o.name].attrs.update(variable=o.variable, outcome=json.dumps(p.spec.outcomes[o.name].to_dict()),
                                units=units[o.name])  # fmt: skip
    if p.paired is not None:
        twin = ", ".join(f"{k} = {v:g}" for k, v in p.paired.set.items())
        for name in p.paired.outcomes:
            ds[p.paired.stored(name)].attrs.update(
                outcome=name, paired=json.dumps(dict(p.paired.set)), units=units[name],
                description=f"'{name}' of the draw minus '{name}' of its twin with {twin}")  # fmt: skip
    for c in p.checks:
        ds[check_var(c.name)].attrs.update(check=c.expr, when=c.when, description=(
            f"True where the draw violates '{c.expr}' "
            f"({'at every saved time' if c.when == 'always' else 'at the end'})"))  # fmt: skip
    ds.attrs["sd_version"] = __version__
    return ds


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
        if isinstance(a, dict) and isinstance(b, dict):
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
    """Add what the chunks ran with to the store's attrs (merged with earlier runs of a resumed sweep):
    ``backend_used`` (sorted names), ``backend_chunks`` ({name: chunks}), ``backend_requested``,
    ``oom_splits`` (out-of-memory halvings)."""
    import zarr

    group = zarr.open_group(p.store, mode="r+")
    attrs: dict[str, Any] = dict(group.attrs)
    old: dict[str, Any] = dict(attrs.get("backend_chunks") or {})
    for name, count in used.items():
        old[name] = int(old.get(name, 0)) + int(count)
    group.attrs.update({
        "backend_requested": p.backend,
        "backend_chunks": old,
        "backend_used": sorted(old),
        "oom_splits": int(attrs.get("oom_splits") or 0) + int(splits),
    })  # fmt: skip
    log.info("sweep: backend %s (requested %s)", ", ".join(f"{k}: {v} chunk(s)" for k, v in
                                                           sorted(old.items())), p.backend)  # fmt: skip
