"""Exception hierarchy of sd.

Every error sd raises on purpose is a subclass of :class:`SDError`, and its message names the file, the
variable and what was expected, so that a modeller can fix the input without reading sd's source.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "DataFileError",
    "ModelError",
    "ParamError",
    "ParseError",
    "SDError",
    "SpecError",
    "UndefinedVariableError",
    "UnsupportedFeatureError",
]


class SDError(Exception):
    """Base class of every error raised by sd."""


class ParseError(SDError):
    """The .mdl file could not be parsed by pysd's Vensim parser."""


class ModelError(SDError):
    """The model is structurally invalid (missing control variable, algebraic loop, ...)."""


class UndefinedVariableError(ModelError):
    """An equation refers to a variable that the model does not define."""


class DataFileError(ModelError):
    """An external data file (GET XLS/DIRECT ...) is missing, or lacks the sheet, cell or range."""


class UnsupportedFeatureError(SDError):
    """The model uses a Vensim feature sd does not (yet) compile."""


class ParamError(SDError, ValueError):
    """A parameter passed to ``Model.run`` is unknown, of the wrong shape or not finite."""


class SpecError(SDError, ValueError):
    """A sweep specification is invalid."""


class BackendUnavailableError(SDError):
    """The requested backend cannot run here (missing library or device)."""
