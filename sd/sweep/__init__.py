"""Sweeps: declarative specs, samplers, chunked dask execution into zarr, resume (docs/sweeps.md).

Importing this package is light; dask, distributed, zarr, scipy and SALib are imported when a sweep runs.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sd.sweep.execute import sweep
    from sd.sweep.planning import Plan, plan
    from sd.sweep.spec import Distribution, Outcome, Paired, Spec, load_spec, spec_from_dict

# the public names, each imported on first use: `sd run --scenario` imports sd.sweep.scenarios, which
# needs none of the sweep machinery (~50 ms of imports)
_LAZY = {
    "sweep": "sd.sweep.execute", "Plan": "sd.sweep.planning", "plan": "sd.sweep.planning",
    "Distribution": "sd.sweep.spec", "Outcome": "sd.sweep.spec", "Paired": "sd.sweep.spec",
    "Spec": "sd.sweep.spec", "load_spec": "sd.sweep.spec", "spec_from_dict": "sd.sweep.spec",
}  # fmt: skip

__all__ = [
    "Distribution", "Outcome", "Paired", "Plan", "Spec", "load_spec", "plan", "spec_from_dict", "sweep",
]  # fmt: skip


class _CallableModule(types.ModuleType):
    """``sd.sweep`` is both this package and the function :func:`sd.sweep.execute.sweep`.

    Importing the subpackage makes ``sd.sweep`` the module (Python sets a package's submodules as its
    attributes), so the module itself is callable: ``sd.sweep(spec)`` works however it was imported.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from sd.sweep.execute import sweep

        return sweep(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name not in _LAZY:
            raise AttributeError(f"module 'sd.sweep' has no attribute {name!r}")
        value = getattr(importlib.import_module(_LAZY[name]), name)
        setattr(self, name, value)
        return value


sys.modules[__name__].__class__ = _CallableModule
