"""Sweep test helpers: a teacup model and spec, and the store comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model_texts import TEACUP_TEMPLATE as TEACUP  # .format(final=, dt=)

from sd.testing import assert_runs_close


def write_teacup(folder: Path, final: float = 30, dt: float = 0.125) -> Path:
    path = folder / "teacup.mdl"
    path.write_text(TEACUP.format(final=final, dt=dt), encoding="utf-8")
    return path


def teacup_spec(folder: Path, **changes: Any) -> str:
    """A teacup sweep spec (TOML text); ``changes`` replace top-level keys (values as TOML text)."""
    top = {
        "model": '"teacup.mdl"',
        "draws": "2000",
        "seed": "7",
        "sampler": '"mc"',
        "chunk": "300",
        "store": '"out.zarr"',
    }
    top.update({k: v for k, v in changes.items() if k not in ("parameters", "outputs", "outcomes")})
    lines = [f"{k} = {v}" for k, v in top.items() if v is not None]
    lines += [
        "[parameters]",
        changes.get(
            "parameters",
            '"Characteristic Time" = { dist = "uniform", low = 5, high = 15 }\n'
            '"Room Temperature" = { dist = "normal", mean = 70, sd = 4 }',
        ),
        "[outputs]",
        changes.get("outputs", 'timeseries = ["Teacup Temperature"]\nsaveper = 1'),
        "[outcomes]",
        changes.get(
            "outcomes",
            '"T at 10" = { var = "Teacup Temperature", at = 10 }\n'
            '"max loss" = { var = "Heat Loss to Room", reduce = "max" }\n'
            '"below 120" = { first_time = "Teacup Temperature < 120" }',
        ),
    ]
    text = "\n".join(lines) + "\n"
    (folder / "spec.toml").write_text(text, encoding="utf-8")
    return text


def assert_same(a: Any, b: Any) -> None:
    """Same variables, coordinates and values, bit for bit (NaN equal to NaN), and the same sweep."""
    assert_runs_close(a, b, attrs=("sd_sweep",))
