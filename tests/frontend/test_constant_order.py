"""DELAY N and SMOOTH N whose order is a constant expression (MAX(1, Delay Order), arithmetic of
constants), as real models write it (metasd's thyroid model: DELAY N(..., MAX(1, ...))). The order fixes
the number of hidden stocks, so it is evaluated once at load; the constants it reads are structural (a
run cannot set them per draw); an order that changes over time or across draws is refused by name.

Hand derivation (Euler, TIME STEP 1, Vensim's equations): SMOOTH N's n stages follow
s_i' = (s_{i-1} - s_i) * n / T (s_0 the input); with T = n each step sets s_i(k+1) = s_{i-1}(k), a pure
shift: the output at step k is the input at step k - n. DELAY N's stages hold c_i with outflow c_i / T
and c_i' = (in_i - c_i / T) * n; with T = n, c_i(k+1) / T = in_i(k): the outflow is again the input n
steps earlier. With the input STEP(10, 1) (10 from t = 1) and initial value 0, both outputs are 0 until
t = 1 + n and 10 from then on, so the step's time shows the order the model ran with."""

from __future__ import annotations

import numpy as np
import pytest

import sd
from sd.backends import fused

BODY = """
Delay Order = 3 ~~|
input = STEP(10, 1) ~~|
delayed = DELAY N(input, 3, 0, MAX(1, Delay Order)) ~~|
smoothed = SMOOTH N(input, 3, 0, MAX(1, Delay Order)) ~~|
delayed4 = DELAY N(input, 4, 0, Delay Order * 2 - 2) ~~|
smoothed2 = SMOOTH N(input, 2, 0, INTEGER(Delay Order / 2) + 1) ~~|
clipped = DELAY N(input, 1, 0, MIN(Delay Order, 1)) ~~|
"""

BACKENDS = ["numpy", pytest.param("fused", marks=pytest.mark.skipif(
    not fused.available("c"), reason="no C compiler"))]  # fmt: skip


def shifted(n: int, t: np.ndarray) -> np.ndarray:
    """STEP(10, 1) delayed by n steps of 1: 10 from t = 1 + n."""
    return np.where(t >= 1 + n, 10.0, 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_order_from_a_constant_expression(write_mdl, backend: str) -> None:
    model = sd.load(write_mdl(BODY, final=10, dt=1))
    ds = model.run(backend=backend, draws=2)
    assert ds.attrs["backend"].startswith(backend)
    t = ds["time"].values
    for name, n in [("delayed", 3), ("smoothed", 3), ("delayed4", 4), ("smoothed2", 2),
                    ("clipped", 1)]:  # fmt: skip
        np.testing.assert_allclose(ds[name].values, np.tile(shifted(n, t), (2, 1)), atol=1e-12,
                                   err_msg=name)  # fmt: skip


def test_the_constants_an_order_reads_are_structural(write_mdl) -> None:
    model = sd.load(write_mdl(BODY, final=10, dt=1))
    assert model.ir.names["delay_order"] in model.ir.structural
    model.run({"Delay Order": 3})  # its own value is fine
    with pytest.raises(sd.ParamError, match=r"'Delay Order' fixes the model's structure at load"):
        model.run({"Delay Order": 5})
    with pytest.raises(sd.ParamError, match=r"'Delay Order' sets the model's time grid or shape"):
        model.run({"Delay Order": np.array([3.0, 4.0])})


@pytest.mark.parametrize(
    ("order", "match"),
    [
        ("MAX(1, RANDOM UNIFORM(1, 4, 7))", r"a DELAY N order drawn at random"),
        ("MAX(1, level)", r"a DELAY N order that depends on 'level', which the run updates"),
        ("MAX(1, smoothed level)", r"a DELAY N order that depends on 'smoothed level', which the run"),
    ],
)
def test_an_order_that_changes_is_refused_by_name(write_mdl, order: str, match: str) -> None:
    body = (
        "level = INTEG(1, 2) ~~|\nsmoothed level = 2 * SMOOTH(3, 4) ~~|\n"
        f"out = DELAY N(STEP(10, 1), 3, 0, {order}) ~~|\n"
    )
    with pytest.raises(sd.UnsupportedFeatureError, match=r"m\.mdl:4 variable 'out': " + match):
        sd.load(write_mdl(body))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_order_reading_time_is_read_at_the_initial_time(write_mdl, backend: str) -> None:
    """Vensim evaluates the order once, at the initial time: vensim-test-models'
    subscripted_smooth (SMOOTH N order 2 + STEP(1, 1)) runs with order 2 in Vensim's output, which
    tests/test_conformance.py checks. Here the orders read 3 at t = 0 and would read 4 later."""
    body = (
        "input = STEP(10, 1) ~~|\nlater = 1 ~~|\n"
        "delayed = DELAY N(input, 3, 0, MAX(1, Time + 3)) ~~|\n"
        "smoothed = SMOOTH N(input, 3, 0, 3 + STEP(1, later)) ~~|\n"
    )
    model = sd.load(write_mdl(body, final=10, dt=1))
    assert {"initial_time", "time_step", "later"} <= model.ir.structural
    ds = model.run(backend=backend)
    t = ds["time"].values
    np.testing.assert_allclose(ds["delayed"].values[0], shifted(3, t), atol=1e-12)
    np.testing.assert_allclose(ds["smoothed"].values[0], shifted(3, t), atol=1e-12)
    with pytest.raises(sd.ParamError, match=r"'INITIAL TIME' fixes the model's structure"):
        model.run(initial_time=1.0)


def test_an_order_below_one_is_a_model_error(write_mdl) -> None:
    body = "k = 0 ~~|\nout = DELAY N(STEP(10, 1), 3, 0, MAX(0, k)) ~~|\n"
    with pytest.raises(sd.ModelError, match=r"m\.mdl:3 variable 'out': DELAY N order must be >= 1"):
        sd.load(write_mdl(body))
