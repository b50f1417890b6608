"""Fixtures of the sweep tests: a teacup model with ranges, specs, and one real LocalCluster per session."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sweep_helpers import teacup_spec, write_teacup


@pytest.fixture
def teacup_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with teacup.mdl and spec.toml; the current directory (stores are cwd-relative)."""
    write_teacup(tmp_path)
    teacup_spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def cluster() -> Any:
    """A real distributed.LocalCluster: two single-threaded worker processes."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                      silence_logs=logging.ERROR) as lc, Client(lc) as client:  # fmt: skip
        yield client
