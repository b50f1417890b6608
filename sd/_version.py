"""sd's version (from the installed distribution's metadata) and pysd's, without importing either."""

from __future__ import annotations

from functools import cache
from importlib import metadata

__all__ = ["__version__", "pysd_version"]

try:
    __version__ = metadata.version("sd")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"


@cache
def pysd_version() -> str:
    """The installed pysd's version (metadata only: pysd itself is not imported)."""
    try:
        return metadata.version("pysd")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
