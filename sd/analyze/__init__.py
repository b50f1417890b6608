"""Analysis of a sweep's store (docs/analysis.md): Sobol' and Morris indices through SALib, first-order
indices from any sample (RBD-FAST), PRIM scenario discovery, sensitivity surfaces and fan charts.

Every function takes a store path (or URL) or an opened Dataset (``sd.sweep(...)``), reads it lazily, and
returns xarray objects whose attrs name the sampler, the seed and the spec file that produced them.
"""

from __future__ import annotations

from sd.analyze._common import AnalysisError, condition, open_store
from sd.analyze.morris import morris
from sd.analyze.prim import describe_box, prim
from sd.analyze.sobol import first_order, sobol
from sd.analyze.surface import fan, parse_stat, surface

__all__ = [
    "AnalysisError",
    "condition",
    "describe_box",
    "fan",
    "first_order",
    "morris",
    "open_store",
    "parse_stat",
    "prim",
    "sobol",
    "surface",
]
