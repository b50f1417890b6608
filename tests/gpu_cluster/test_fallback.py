"""backend="auto" in a sweep: resolved per worker (GPU, else fused CPU, else numpy), logged and stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _teacup import write
from click.testing import CliRunner

import sd
from sd.cli import main
from sd.sweep import resources
from sd.sweep.planning import _MODELS


def _cpu_expected() -> str:
    """What auto must pick on a machine without a usable GPU: fused-cpu when a compiler works."""
    return "fused-cpu" if (shutil.which("cc") or shutil.which("gcc")) else "numpy"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_auto_resolves_to_the_host_without_a_gpu() -> None:
    if resources.gpu_usable():  # pragma: no cover - a GPU machine
        pytest.skip("a usable GPU is present")
    assert resources.resolve_backend("auto") == "auto"
    assert resources.resolve_backend("numpy") == "numpy"
    assert resources.free_device_memory() is None
    assert resources.worker_memory()["device"] == "cpu"


def test_no_gpu_env_forces_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SD_NO_GPU", "1")
    assert not resources.gpu_usable()
    assert resources.resolve_backend("auto") == "auto"


def test_auto_sweep_records_the_backend_in_the_store(here: Path) -> None:
    if resources.gpu_usable():  # pragma: no cover
        pytest.skip("a usable GPU is present")
    spec = write(here, draws=600, chunk=200)
    ds = sd.sweep(spec, scheduler="sync")
    expected = _cpu_expected()
    assert ds.attrs["backend_used"] == [expected]
    assert ds.attrs["backend_chunks"] == {expected: 3}
    assert ds.attrs["backend_requested"] == "auto"
    assert ds.attrs["oom_splits"] == 0


def test_explicit_numpy_is_recorded_and_resume_merges(here: Path) -> None:
    spec = write(here, draws=600, chunk=200, backend="numpy")
    ds = sd.sweep(spec, scheduler="sync")
    assert ds.attrs["backend_used"] == ["numpy"]
    # a resumed sweep that reruns one chunk records each chunk once (issue 16: the record counts the
    # finished chunks, never a chunk twice)
    import zarr

    zarr.open_array(str(here / "out.zarr"), path="_done", mode="r+")[1] = False
    ds = sd.sweep(spec, scheduler="sync", backend="numpy")
    assert ds.attrs["backend_chunks"] == {"numpy": 3}


def test_without_a_compiler_auto_falls_back_to_numpy(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if resources.gpu_usable():  # pragma: no cover
        pytest.skip("a usable GPU is present")
    from sd.backends.fused import cpu

    monkeypatch.setattr(cpu, "compiler", lambda: None)
    _MODELS.clear()  # a fresh model: no fused kernel cached in this process
    spec = write(here, draws=300, chunk=150)
    ds = sd.sweep(spec, scheduler="sync")
    assert ds.attrs["backend_used"] == ["numpy"]
    _MODELS.clear()


def test_cli_prints_one_backend_line(here: Path) -> None:
    write(here, draws=400, chunk=200)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", "threads", "--workers", "2"])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("backend: ")]
    assert len(lines) == 1
    if not resources.gpu_usable():
        assert lines[0] == f"backend: {_cpu_expected()} (2 chunks) [requested auto]"
