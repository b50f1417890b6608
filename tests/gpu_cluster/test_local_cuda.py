"""--cluster local-cuda: a dask_cuda.LocalCUDACluster, or at once a one-line error saying what is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from _teacup import write
from click.testing import CliRunner

import sd
from sd.cli import main
from sd.errors import BackendUnavailableError
from sd.sweep import resources

HAS_CUDA_STACK = importlib.util.find_spec("dask_cuda") is not None and resources.gpu_usable()
no_gpu = pytest.mark.skipif(HAS_CUDA_STACK, reason="dask-cuda and a GPU are present")


@no_gpu
def test_cli_local_cuda_fails_at_once_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--cluster", "local-cuda"])
    assert res.exit_code == 2
    err = res.output.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("sd: error: --cluster local-cuda needs ")
    assert "pip install 'sd[gpu]' dask-cuda" in err and "or run without --cluster" in err
    missing = "dask-cuda" if importlib.util.find_spec("dask_cuda") is None else "CUDA device"
    assert missing in err
    assert not (tmp_path / "out.zarr").exists()  # nothing was started or written


@no_gpu
def test_cli_fails_before_reading_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["sweep", "missing.toml", "--cluster", "local-cuda"])
    assert res.exit_code == 2 and "--cluster local-cuda needs" in res.output


@no_gpu
def test_api_and_spec_scheduler_local_cuda_fail_clearly(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    spec = write(tmp_path)
    with pytest.raises(BackendUnavailableError, match=r"--cluster local-cuda needs .*dask-cuda"):
        sd.sweep(spec, cluster="local-cuda")
    with pytest.raises(BackendUnavailableError, match="local-cuda needs"):
        sd.sweep(spec, scheduler="local-cuda")
    text = spec.read_text().replace('store = "out.zarr"', 'store = "out.zarr"\nscheduler = "local-cuda"')
    spec.write_text(text)
    with pytest.raises(BackendUnavailableError, match="local-cuda needs"):
        sd.sweep(spec)
    assert not (tmp_path / "out.zarr").exists()


def test_cluster_and_scheduler_together_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--cluster", "local-cuda", "--scheduler", "sync"])
    assert res.exit_code == 2 and "give one" in res.output


def test_dry_run_with_local_cuda_still_prints_the_plan(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    write(tmp_path)
    res = CliRunner().invoke(main, ["sweep", "spec.toml", "--cluster", "local-cuda", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "scheduler  local-cuda" in res.output


def test_gpu_extra_lists_dask_cuda() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("dask-cuda") for req in extras["gpu"])
