"""sd: system dynamics models compiled into array code that runs millions of parameter draws at once."""

from __future__ import annotations

from typing import Any

from sd._version import __version__
from sd.errors import (
    BackendUnavailableError,
    ModelError,
    ParamError,
    ParseError,
    SDError,
    SpecError,
    UndefinedVariableError,
    UnsupportedFeatureError,
)
from sd.ir.nodes import Variable
from sd.ir.outcomes import Outcome
from sd.model import Model, load, run


def sweep(spec: Any, **kwargs: Any) -> Any:
    """Run (or resume) a sweep and return its zarr store as a lazy xarray Dataset.

    ``spec`` is a sweep TOML file or an :class:`sd.sweep.Spec`; keyword arguments as
    :func:`sd.sweep.execute.sweep` (draws, chunk, store, scheduler, workers, client, overwrite, progress).
    Imports dask, zarr and the samplers only when called. See docs/sweeps.md.
    """
    from sd.sweep.execute import sweep as _sweep

    return _sweep(spec, **kwargs)


def open(store: Any, *, allow_incomplete: bool = False) -> Any:
    """A sweep's zarr store as a lazy xarray Dataset (parameters as coordinates along ``draw``).

    A store whose sweep did not finish, or whose chunk files are missing, raises
    :class:`sd.sweep.store.IncompleteStoreError` ("store incomplete: 7 of 16 chunks finished ...; rerun
    `sd sweep SPEC`"), unless ``allow_incomplete``: then the Dataset holds the finished draws only and
    ``attrs["draws_missing"]`` says how many are left out.
    """
    from sd.analyze._common import open_store

    return open_store(store, allow_incomplete=allow_incomplete)


def calibrate(model: Any, data: Any, params: Any, **kwargs: Any) -> Any:
    """Fit constants to observed series by vectorised differential evolution: see :func:`sd.calibration.calibrate`
    and docs/howto-calibrate.md. Imports scipy only when called."""
    from sd.calibration import calibrate as _calibrate

    return _calibrate(model, data, params, **kwargs)


def check_units(model: Any, **kwargs: Any) -> Any:
    """Check a model's units: see :func:`sd.units.check_units` and docs/howto-check-units.md. Imports pint
    only when called."""
    from sd.units import check_units as _check_units

    return _check_units(model, **kwargs)


def read_vensim(path: Any, **kwargs: Any) -> Any:
    """pysd drop-in: see :func:`sd.interop.read_vensim` and docs/howto-switch-from-pysd.md."""
    from sd.interop import read_vensim as _read_vensim

    return _read_vensim(path, **kwargs)


def __getattr__(name: str) -> Any:
    """``sd.analyze`` (docs/analysis.md) is imported on first use."""
    if name == "analyze":
        import importlib

        return importlib.import_module("sd.analyze")
    raise AttributeError(f"module 'sd' has no attribute {name!r}")

__all__ = [
    "BackendUnavailableError",
    "Model",
    "ModelError",
    "Outcome",
    "ParamError",
    "ParseError",
    "SDError",
    "SpecError",
    "UndefinedVariableError",
    "UnsupportedFeatureError",
    "Variable",
    "__version__",
    "calibrate",
    "check_units",
    "load",
    "open",
    "read_vensim",
    "run",
    "sweep",
]
