"""The zarr store of a sweep: initialised up front, written a chunk at a time, resumable.

Layout (zarr format 3, one group, written through xarray):

- ``draw`` (int64) and ``time`` (float64) coordinates, written at initialisation;
- one ``(draw, time)`` array per stored time series, one ``(draw,)`` array per sampled parameter and per
  outcome, chunked along ``draw`` by the sweep's chunk, filled with NaN until their chunk is written;
- ``_done`` (bool, dim ``chunk``, one zarr chunk per element): chunk ``i`` is complete. A task writes its
  region of every array first and sets ``_done[i]`` last, so a process killed at any moment leaves
  ``_done[i]`` false for every chunk it had not finished, and a rerun rewrites exactly those;
- attrs: ``sd_sweep`` (JSON of what decides the result: model hash, draws, seed, sampler, parameters,
  outputs, outcomes, ...; a rerun compares it), ``spec`` (the spec as JSON), ``chunk``, versions.

Local stores are initialised under a temporary name and renamed into place, so a store path either does
not exist or holds a complete skeleton. zarr's local store writes each chunk file atomically (temporary file +
rename), so a chunk is never half-written on disk either.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import SpecError

__all__ = ["DONE", "done_mask", "init_store", "mark_done", "open_result", "read_attrs", "remove_store"]

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
    order = [*key.get("timeseries", []), *key.get("outcome_names", []), *params]
    names = [v for v in order if v in ds.variables]
    names += [str(v) for v in ds.data_vars if v not in names]
    return ds[names].set_coords([p for p in params if p in ds.variables])
