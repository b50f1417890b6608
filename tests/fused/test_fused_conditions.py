"""Outcomes over a condition (``when``, ``fails``, ``fails_end``): the condition of sd.conditions lowered into
IR nodes and computed at each saved time by the fused kernel and the numpy run, equal to the condition
evaluated (sd.conditions' own evaluator) on the full saved series."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from model_texts import TEACUP_TEMPLATE

import sd
from sd import Outcome
from sd.backends import fused
from sd.conditions import NotLowerable, compile_condition
from sd.ir.nodes import BinOp, Num, Ref
from sd.testing.cuda import nvcc_ptx

NAMES = ["Teacup Temperature", "Heat Loss to Room", "Room Temperature", "Characteristic Time"]
COMPILER = pytest.mark.skipif(not fused.available("c"), reason="no C compiler")
CONDITIONS = {
    "both": ("when", "Teacup Temperature < 85 and Heat Loss to Room < 1", None),
    "loss": ("fails", "Heat Loss to Room > 0.5", tuple(range(0, 241, 8))),
    "room": ("fails", "Teacup Temperature >= Room Temperature + 10 or not Characteristic Time < 12", None),
    "late": ("when", "Teacup Temperature - Room Temperature <= 15", tuple(range(0, 241, 8))),
    # 0/0 at t = 0 where Characteristic Time is 10: NaN compares false, so that draw fails
    "nan": ("fails", "(Teacup Temperature - 180) / (Characteristic Time - 10) >= -1e9", None),
    "end": ("fails_end", "Teacup Temperature < 78", None),
    "power": ("fails_end", "Heat Loss to Room ** 2 > 0.25 * 2 ** 0.5", None),
}


@pytest.fixture(scope="module")
def teacup(tmp_path_factory: pytest.TempPathFactory) -> sd.Model:
    path = tmp_path_factory.mktemp("cond") / "teacup.mdl"
    path.write_text(TEACUP_TEMPLATE.format(final=30, dt=0.125), encoding="utf-8")
    return sd.load(path)


def _expected(model: sd.Model, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each condition evaluated by sd.conditions on the full (draw, time) series: the series path."""
    ds = model.run(params, outputs=NAMES[:2])
    t = ds["time"].values
    n = len(params["Characteristic Time"])
    env = {k: ds[k].values for k in NAMES[:2]}
    env["Room Temperature"] = np.full((n, 1), 70.0)
    env["Characteristic Time"] = params["Characteristic Time"][:, None]
    out = {}
    for name, (kind, expr, rows) in CONDITIONS.items():
        holds = np.broadcast_to(compile_condition(expr, NAMES)(env), (n, len(t)))
        at = holds if rows is None else holds[:, list(rows)]
        ts = t if rows is None else t[list(rows)]
        if kind == "when":
            out[name] = np.where(at.any(axis=1), ts[at.argmax(axis=1)], np.nan)
        elif kind == "fails":
            out[name] = (~at.all(axis=1)).astype(float)
        else:
            out[name] = (~at[:, -1]).astype(float)
    return out


@pytest.mark.parametrize("backend", ["numpy", pytest.param("fused", marks=COMPILER)])
@pytest.mark.parametrize("outputs", [None, ["Heat Loss to Room"]])
def test_condition_outcomes_equal_the_series_evaluation(teacup: sd.Model, backend: str,
                                                        outputs: list[str] | None) -> None:  # fmt: skip
    ct = np.linspace(5, 15, 41)  # holds 10.0: the NaN draw
    params = {"Characteristic Time": ct}
    ocs = [Outcome(kind, expr, name=name, rows=rows) for name, (kind, expr, rows) in CONDITIONS.items()]
    ocs.append(Outcome("min", "Teacup Temperature"))  # a plain outcome next to them
    ds = teacup.run(params, outputs=outputs, outcomes=ocs, backend=backend)
    assert ds.attrs["backend"] == ("fused-cpu" if backend == "fused" else "numpy")
    want = _expected(teacup, params)
    for name, values in want.items():
        np.testing.assert_array_equal(ds[name].values, values, err_msg=name)
        assert len(np.unique(np.nan_to_num(values, nan=-1.0))) > 1, name  # not the same for every draw
    assert ds["nan"].values[20] == 1.0 and ds["nan"].values.sum() == 1.0
    if outputs:  # the saved series is untouched by the conditions that read it
        np.testing.assert_array_equal(ds["Heat Loss to Room"].values,
                                      teacup.run(params, outputs=outputs)["Heat Loss to Room"].values)  # fmt: skip


@COMPILER
def test_float32_kernel_computes_conditions(teacup: sd.Model) -> None:
    params = {"Characteristic Time": np.linspace(5, 15, 41)}
    ocs = [Outcome("when", "Teacup Temperature < 100", name="w"),
           Outcome("fails", "Heat Loss to Room < 9", name="f")]  # fmt: skip
    f32 = teacup.run(params, outcomes=ocs, backend="fused", dtype="float32")
    f64 = teacup.run(params, outcomes=ocs, backend="fused")
    np.testing.assert_array_equal(f32["f"].values, f64["f"].values)
    assert np.nanmax(np.abs(f32["w"].values - f64["w"].values)) <= 0.125  # one time step at most
    assert 0 < f64["f"].values.sum() < 41


def test_lowering() -> None:
    cond = compile_condition("0 <= a <= 1 / 0", ["a"])
    expr = cond.lower(lambda name: Ref(name))
    # chained comparison: both halves, the constant part folded with numpy's rules (1/0 is inf)
    assert expr == BinOp("and", BinOp("<=", Num(0.0), Ref("a")), BinOp("<=", Ref("a"), Num(float("inf"))))
    with pytest.raises(NotLowerable, match="arithmetic on a comparison"):
        compile_condition("(a > 1) + (a > 2) >= 1", ["a"]).lower(lambda name: Ref(name))


def test_model_refuses_a_condition_it_cannot_compute(teacup: sd.Model) -> None:
    with pytest.raises(sd.ParamError, match="arithmetic on a comparison"):
        teacup.run(outcomes=[Outcome("fails", "(Teacup Temperature > 1) - 1 < 0")])
    with pytest.raises(sd.ParamError, match="'Teacup Temp' is not a variable"):
        teacup.run(outcomes=[Outcome("when", "Teacup Temp < 1")])
    with pytest.raises(ValueError, match="takes no rows"):
        Outcome("fails_end", "Teacup Temperature < 1", rows=(0,))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_cuda_source_with_conditions_compiles_with_nvcc(teacup: sd.Model, tmp_path: Path) -> None:
    ocs = [Outcome(kind, expr, name=name, rows=rows) for name, (kind, expr, rows) in CONDITIONS.items()]
    for dtype in ("float64", "float32"):
        text = teacup.kernel_source("cuda", ["Teacup Temperature"], dtype=dtype, outcomes=ocs)
        assert "sd_first(red0[l]" in text and "rpar[(sd_i64)rpar[1] + j]" in text
        nvcc_ptx(text, tmp_path / f"conditions_{dtype}.cu")
