"""Named parameter sets (scenarios) from a TOML file beside the model; shared by ``sd run`` and sweeps."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from sd.errors import ParamError

__all__ = ["load_scenario", "summary_defaults"]


def load_scenario(model_path: Path, name: str, scenarios: Path | None) -> dict[str, Any]:
    """The parameter set ``name`` from a scenarios TOML file (default: scenarios.toml beside the model)."""
    file = scenarios or model_path.parent / "scenarios.toml"
    if not file.is_file():
        raise ParamError(f"{file}: no scenarios file (needed for --scenario {name!r})")
    try:
        data = _read(file, file.stat().st_mtime_ns)
    except tomllib.TOMLDecodeError as err:
        raise ParamError(f"{file}: not valid TOML: {err}") from err
    if name not in data or not isinstance(data[name], dict):
        choices = ", ".join(repr(k) for k, v in data.items() if isinstance(v, dict))
        raise ParamError(f"{file}: no scenario {name!r} (valid choices: {choices})")
    return {
        k: v for k, v in data[name].items() if k != "description" and not isinstance(v, dict | str)
    }


def summary_defaults(model_path: Path, scenarios: Path | None) -> tuple[float | None, list[str]]:
    """``summary_at`` and ``summary_outputs`` from the scenarios file, if it sets them (for ``sd run``)."""
    file = scenarios or model_path.parent / "scenarios.toml"
    if not file.is_file():
        return None, []
    try:
        data = _read(file, file.stat().st_mtime_ns)
    except tomllib.TOMLDecodeError:
        return None, []
    at = data.get("summary_at")
    outs = data.get("summary_outputs", [])
    return (float(at) if isinstance(at, int | float) else None), [str(o) for o in outs]


@functools.lru_cache(maxsize=8)
def _read(file: Path, mtime_ns: int) -> dict[str, Any]:
    """The parsed scenarios file (read once per version of the file: ``sd run`` asks twice)."""
    with file.open("rb") as fh:
        return tomllib.load(fh)
