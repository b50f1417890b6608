"""sd's version and pysd's (read from its files, without importing pysd)."""

from __future__ import annotations

from functools import cache

__all__ = ["__version__", "pysd_version"]

# the one place sd's version is written: pyproject.toml reads it (tool.setuptools.dynamic), and importing
# sd does not pay importlib.metadata's import (~50 ms of every `sd` command)
__version__ = "0.1.0"


@cache
def pysd_version() -> str:
    """The installed pysd's version, read from its ``_version.py`` without importing pysd (its
    distribution's metadata as the fallback: importlib.metadata's import alone costs ~50 ms, and this is
    part of every warm ``sd run``'s cache key)."""
    import re
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("pysd")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    for folder in locations:
        try:
            with open(f"{folder}/_version.py", encoding="utf-8") as fh:
                found = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", fh.read(), re.M)
        except OSError:
            continue
        if found:
            return found.group(1)
    from importlib import metadata

    try:
        return metadata.version("pysd")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
