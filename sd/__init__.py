"""sd: system dynamics models compiled into array code that runs millions of parameter draws at once."""

from __future__ import annotations

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
]
