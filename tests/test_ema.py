"""EMA Workbench adapter: perform_experiments through SDModel equals sd's own run of the same experiments."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from model_texts import TEACUP

pytest.importorskip("ema_workbench")

from ema_workbench import (
    Constant,
    IntegerParameter,
    RealParameter,
    ScalarOutcome,
    SequentialEvaluator,
    TimeSeriesOutcome,
    perform_experiments,
)

import sd
from sd.ema import SDModel, VectorizedEvaluator
from sd.errors import SDError


@pytest.fixture
def teacup(tmp_path: Path) -> Path:
    p = tmp_path / "teacup.mdl"
    p.write_text(TEACUP % "Degrees Fahrenheit/Minute", encoding="utf-8")
    return p


def make(path: Path, **kw) -> SDModel:  # type: ignore[no-untyped-def]
    m = SDModel("teacup", mdl_file=str(path), **kw)
    m.uncertainties = [RealParameter("Characteristic Time", 5, 15)]
    m.levers = [RealParameter("room", 60, 80, variable_name="Room Temperature")]
    m.constants = [Constant("FINAL TIME", 20)]
    m.outcomes = [
        TimeSeriesOutcome("Teacup Temperature"),
        ScalarOutcome("max loss", variable_name="Heat Loss to Room", function=np.max),
        ScalarOutcome("Teacup Temperature final", variable_name="Teacup Temperature"),
    ]
    return m


def own_run(path: Path, experiments) -> object:  # type: ignore[no-untyped-def]
    params = {"Characteristic Time": experiments["Characteristic Time"].to_numpy()}
    if "room" in experiments:  # levers sampled (else the model's Room Temperature)
        params["Room Temperature"] = experiments["room"].to_numpy()
    return sd.load(path).run(
        params,
        outputs=["Teacup Temperature", "Heat Loss to Room"], final_time=20,
    )  # fmt: skip


def check(path: Path, experiments, outcomes) -> None:  # type: ignore[no-untyped-def]
    ds = own_run(path, experiments)
    T = ds["Teacup Temperature"].to_numpy()
    assert outcomes["Teacup Temperature"].shape == T.shape == (len(experiments), 161)
    np.testing.assert_allclose(outcomes["Teacup Temperature"], T, rtol=1e-12)
    np.testing.assert_allclose(
        outcomes["max loss"], ds["Heat Loss to Room"].to_numpy().max(axis=1), rtol=1e-12
    )
    np.testing.assert_allclose(outcomes["Teacup Temperature final"], T[:, -1], rtol=1e-12)


def test_perform_experiments_512_equals_sd(teacup: Path) -> None:
    experiments, outcomes = perform_experiments(make(teacup), 512)  # EMA's SequentialEvaluator
    assert (
        len(experiments) == 512 and "room" not in experiments
    )  # no policies: levers at model values
    check(teacup, experiments, outcomes)


def test_vectorized_evaluator_levers_and_both_outcome_kinds(teacup: Path) -> None:
    model = make(teacup)
    t0 = time.perf_counter()
    with VectorizedEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=256, policies=4)
    fast = time.perf_counter() - t0
    assert len(experiments) == 1024 and experiments["room"].nunique() == 4
    check(teacup, experiments, outcomes)
    # the same design through EMA's sequential evaluator gives the same outcomes
    from ema_workbench import Policy, Scenario

    scenarios = [Scenario(str(i), **{"Characteristic Time": float(v)})
                 for i, v in enumerate(experiments["Characteristic Time"].iloc[:32])]  # fmt: skip
    policies = [Policy("low", room=61.5), Policy("high", room=78.0)]
    with SequentialEvaluator(make(teacup)) as ev:
        e2, o2 = ev.perform_experiments(scenarios=scenarios, policies=policies)
    with VectorizedEvaluator(make(teacup)) as ev:
        e3, o3 = ev.perform_experiments(scenarios=scenarios, policies=policies)
    assert len(e2) == len(e3) == 64 and set(e2["room"]) == {61.5, 78.0}
    check(teacup, e2, o2)
    for k in o2:
        np.testing.assert_allclose(o3[k], o2[k], rtol=1e-12)
    assert fast < 60


def test_integer_parameter_and_batches(teacup: Path) -> None:
    model = make(teacup, batch=100)
    model.uncertainties = [IntegerParameter("Characteristic Time", 5, 15)]
    with VectorizedEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=300)
    assert set(experiments["Characteristic Time"]) <= set(range(5, 16))
    check(teacup, experiments, outcomes)


def test_errors(teacup: Path, tmp_path: Path) -> None:
    with pytest.raises(SDError, match=r"missing\.mdl not found"):
        SDModel("x", mdl_file=str(tmp_path / "missing.mdl"))
    model = make(teacup)
    model.uncertainties = [RealParameter("Characteristic Tme", 5, 15)]
    with pytest.raises(Exception, match="Characteristic Tme"), VectorizedEvaluator(model) as ev:
        ev.perform_experiments(scenarios=4)
