"""Sweeps: declarative specs, samplers, chunked dask execution into zarr, resume (docs/sweeps.md).

Importing this package is light; dask, distributed, zarr, scipy and SALib are imported when a sweep runs.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from sd.sweep.execute import sweep
from sd.sweep.planning import Plan, plan
from sd.sweep.spec import Distribution, Outcome, Paired, Spec, load_spec, spec_from_dict

__all__ = [
    "Distribution", "Outcome", "Paired", "Plan", "Spec", "load_spec", "plan", "spec_from_dict", "sweep",
]  # fmt: skip


class _CallableModule(types.ModuleType):
    """``sd.sweep`` is both this package and the function :func:`sd.sweep.execute.sweep`.

    Importing the subpackage makes ``sd.sweep`` the module (Python sets a package's submodules as its
    attributes), so the module itself is callable: ``sd.sweep(spec)`` works however it was imported.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
