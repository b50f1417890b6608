"""Build the :class:`xarray.Dataset` a run returns: saved series (draw, time, *subscript dims), per-draw
outcomes (draw,), the given parameters as coordinates along ``draw``, and attrs that identify the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sd.ir.nodes import ArrayInfo, ModelIR
from sd.simulate import to_numpy

__all__ = ["OutputGroup", "build_dataset", "element_index", "group_series", "time_unit"]


@dataclass(frozen=True)
class OutputGroup:
    """One data variable of the result: a scalar variable (``ident``) or a subscripted one (``info``)."""

    label: str
    info: ArrayInfo | None = None
    ident: str | None = None


def element_index(info: ArrayInfo, elems: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(info.coords[d].index(e) for d, e in zip(info.dims, elems, strict=True))


def build_dataset(
    ir: ModelIR,
    groups: Sequence[OutputGroup],
    out: Mapping[str, Any],
    reds: Mapping[str, Any],
    *,
    saved: np.ndarray,
    n: int,
    given: Mapping[str, Any],
    attrs: Mapping[str, Any],
) -> Any:
    """The Dataset of one run (``out``: saved series by ident, (nsave, n); ``reds``: outcomes by label)."""
    import xarray as xr

    coords: dict[str, Any] = {"draw": np.arange(n), "time": saved}
    data: dict[str, Any] = {}
    labels = {g.label for g in groups} | set(reds)
    for name, value in given.items():
        if name in labels:  # also requested as an output: the series carries the values
            continue
        coords[name] = ("draw", np.broadcast_to(to_numpy(value), (n,)).copy())
    series = group_series(groups, out, n=n, nsave=len(saved), dtype=attrs.get("dtype", "float64"))
    for g in groups:
        dims = ("draw", "time") if g.info is None else ("draw", "time", *g.info.dims)
        data[g.label] = (dims, series[g.label])
        if g.info is not None:
            for d in g.info.dims:
                coords.setdefault(d, list(g.info.coords[d]))
    for label, value in reds.items():
        data[label] = (("draw",), to_numpy(value))
    ds = xr.Dataset(data, coords=coords, attrs=dict(attrs))
    ds["time"].attrs.update(units=time_unit(ir), long_name="time")
    for g in groups:
        ident = g.ident if g.info is None else next(iter(g.info.elements.values()))
        assert ident is not None
        var = ir.variables[ident]
        ds[g.label].attrs.update(units=var.units, description=var.doc)
    return ds


def group_series(groups: Sequence[OutputGroup], out: Mapping[str, Any], *, n: int, nsave: int,
                 dtype: Any) -> dict[str, np.ndarray]:  # fmt: skip
    """Each output group's saved series as a host array by label: (draw, time) for a scalar variable,
    (draw, time, *dims) for a subscripted one (``out``: (nsave, n) series by ident)."""
    result: dict[str, np.ndarray] = {}
    for g in groups:
        if g.info is None:
            assert g.ident is not None
            result[g.label] = to_numpy(out[g.ident]).T
            continue
        arr = np.full((n, nsave, *g.info.shape), np.nan, dtype=dtype)
        for elems, el_ident in g.info.elements.items():
            where: tuple[Any, ...] = (slice(None), slice(None), *element_index(g.info, elems))
            arr[where] = to_numpy(out[el_ident]).T
        result[g.label] = arr
    return result


def time_unit(ir: ModelIR) -> str:
    """The unit of the time axis: INITIAL TIME's units, else TIME STEP's ('' when none)."""
    for ctrl in ("initial_time", "time_step"):
        ident = ir.names.get(ctrl)
        if ident is not None and ir.variables[ident].units:
            return ir.variables[ident].units
    return ""
