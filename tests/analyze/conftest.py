"""Stores of the Ishigami function (a Vensim model) for the analysis tests, swept once per session."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

ISHIGAMI = Path(__file__).with_name("ishigami.mdl")
PI = math.pi
XS = {f"x{i}": {"dist": "uniform", "low": -PI, "high": PI} for i in (1, 2, 3)}


def _sweep(tmp: Path, name: str, sampler: object, draws: int) -> object:
    from sd.sweep import Spec, sweep

    spec = Spec(model=str(ISHIGAMI), draws=draws, seed=7, sampler=sampler if isinstance(sampler, str) else
                sampler["name"], sampler_options={} if isinstance(sampler, str) else
                {k: v for k, v in sampler.items() if k != "name"}, parameters=XS, timeseries=("z",),
                outcomes={"y": {"var": "y", "at": 0}}, store=str(tmp / f"{name}.zarr"),
                chunk=max(draws // 4, 1), source=f"{name}.toml")  # fmt: skip
    return sweep(spec, scheduler="sync", progress=False)


@pytest.fixture(scope="session")
def saltelli_store(tmp_path_factory: pytest.TempPathFactory) -> object:
    return _sweep(tmp_path_factory.mktemp("saltelli"), "saltelli", "saltelli", 4096 * 8)


@pytest.fixture(scope="session")
def mc_store(tmp_path_factory: pytest.TempPathFactory) -> object:
    return _sweep(tmp_path_factory.mktemp("mc"), "mc", "mc", 8192)


@pytest.fixture(scope="session")
def morris_store(tmp_path_factory: pytest.TempPathFactory) -> object:
    return _sweep(tmp_path_factory.mktemp("morris"), "morris", {"name": "morris", "levels": 4}, 200 * 4)


@pytest.fixture(scope="session")
def sir_store(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The packaged SIR example swept at 1,024 Sobol draws with its own [report] table."""
    from sd import examples
    from sd.sweep import load_spec, sweep

    tmp = tmp_path_factory.mktemp("sir")
    spec = load_spec(examples.path("sir", "sir.toml")).replace(draws=1024, chunk=256, store=str(tmp / "sir.zarr"))
    return sweep(spec, scheduler="sync", progress=False)
