"""A small sweep for the GPU-cluster tests: the teacup model with ranges and a spec (outcomes, a series)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model_texts import TEACUP_TEMPLATE

from sd.testing import assert_runs_close

TEACUP = TEACUP_TEMPLATE.format(final=30, dt=0.125)

SPEC = """model = "teacup.mdl"
draws = {draws}
seed = 11
sampler = "{sampler}"
chunk = {chunk}
backend = "{backend}"
store = "{store}"
[parameters]
"Characteristic Time" = {{ dist = "uniform", low = 5, high = 15 }}
"Room Temperature" = {{ dist = "normal", mean = 70, sd = 4 }}
[outputs]
timeseries = ["Teacup Temperature"]
saveper = 1
[outcomes]
"T at 10" = {{ var = "Teacup Temperature", at = 10 }}
"mean loss" = {{ var = "Heat Loss to Room", reduce = "mean" }}
"below 120" = {{ first_time = "Teacup Temperature < 120" }}
[checks]
"above room" = {{ expr = "Teacup Temperature >= Room Temperature" }}
"""


def write(folder: Path, *, draws: int = 1000, chunk: Any = 250, backend: str = "auto",
          store: str = "out.zarr", sampler: str = "mc", name: str = "spec.toml") -> Path:  # fmt: skip
    (folder / "teacup.mdl").write_text(TEACUP, encoding="utf-8")
    chunk_text = f'"{chunk}"' if isinstance(chunk, str) else str(chunk)
    path = folder / name
    path.write_text(SPEC.format(draws=draws, chunk=chunk_text, backend=backend, store=store,
                                sampler=sampler), encoding="utf-8")  # fmt: skip
    return path


def assert_same(a: Any, b: Any) -> None:
    """Same variables and values, bit for bit (NaN equal to NaN), and the same sweep identity."""
    assert_runs_close(a, b, attrs=("sd_sweep",))
