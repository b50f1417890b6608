"""The fused CUDA kernel and the cupy backend against numpy (needs a GPU: ``pytest -m gpu``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from model_texts import STATEFUL_BODY

import sd
from sd import Outcome
from sd.testing import assert_runs_close

pytestmark = pytest.mark.gpu
MISSION = Path(__file__).resolve().parents[2] / "models" / "productivity_deflation.mdl"


@pytest.fixture(scope="module")
def cp():
    cupy = pytest.importorskip("cupy")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as err:
        pytest.skip(f"no CUDA device ({err})")
    return cupy


def test_fused_cuda_and_cupy_equal_numpy_on_stateful_builtins(cp, write_mdl) -> None:
    model = sd.load(write_mdl(STATEFUL_BODY, final=12, dt=0.25, name="stateful.mdl"))
    rng = np.random.default_rng(0)
    k, dly = rng.uniform(1, 5, 1000), rng.uniform(0.1, 4, 1000)
    a = model.run({"k": k, "delay time": dly})
    b = model.run({"k": cp.asarray(k), "delay time": cp.asarray(dly)}, backend="fused")
    assert b.attrs["backend"] == "fused-cuda"
    assert_runs_close(a, b, rtol=1e-12)
    c = model.run({"k": cp.asarray(k), "delay time": cp.asarray(dly)}, backend="cupy")
    assert_runs_close(a, c, rtol=1e-12)


def test_fused_cuda_mission_model_and_outcomes(cp) -> None:
    model = sd.load(MISSION)
    rng = np.random.default_rng(1)
    n = 4096
    names = [nm for nm, v in model.constants.items()
             if v.ident not in model.ir.structural and v.value and "switch" not in nm.lower()]  # fmt: skip
    params = {nm: model.constants[nm].value * rng.uniform(0.9, 1.1, n) for nm in names}
    a = model.run(params)
    b = model.run({k: cp.asarray(v) for k, v in params.items()}, backend="fused")
    assert_runs_close(a, b, rtol=1e-12)
    ident = model.resolve("debt to GDP ratio")
    ocs = [Outcome("max", ident), Outcome("final", ident)]
    got = model.run({k: cp.asarray(v) for k, v in params.items()}, outcomes=ocs, backend="fused")
    x = a["debt to GDP ratio"].values
    np.testing.assert_allclose(got[ocs[0].label].values, x.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(got[ocs[1].label].values, x[:, -1], rtol=1e-12)
