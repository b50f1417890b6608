"""sd's version and pysd's (from its distribution's metadata, without importing pysd)."""

from __future__ import annotations

from functools import cache

__all__ = ["__version__", "pysd_version"]

# the one place sd's version is written: pyproject.toml reads it (tool.setuptools.dynamic), and importing
# sd does not pay importlib.metadata's import (~50 ms of every `sd` command)
__version__ = "0.1.0"


@cache
def pysd_version() -> str:
    """The installed pysd's version (metadata only: pysd itself is not imported)."""
    from importlib import metadata

    try:
        return metadata.version("pysd")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
