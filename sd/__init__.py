"""sd: system dynamics models compiled into array code that runs millions of parameter draws at once."""

from __future__ import annotations

from typing import Any

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
from sd.model import Model, load, run

__version__ = "0.1.0"


def sweep(spec: Any, **kwargs: Any) -> Any:
    """Run (or resume) a sweep and return its zarr store as a lazy xarray Dataset.

    ``spec`` is a sweep TOML file or an :class:`sd.sweep.Spec`; keyword arguments as
    :func:`sd.sweep.execute.sweep` (draws, chunk, store, scheduler, workers, client, overwrite, progress).
    Imports dask, zarr and the samplers only when called. See docs/sweeps.md.
    """
    from sd.sweep.execute import sweep as _sweep

    return _sweep(spec, **kwargs)


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
    "ParamError",
    "ParseError",
    "SDError",
    "SpecError",
    "UndefinedVariableError",
    "UnsupportedFeatureError",
    "Variable",
    "__version__",
    "load",
    "run",
    "sweep",
]
