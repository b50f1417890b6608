"""integration='rk4': fourth-order convergence against closed forms; Euler stays the default."""

from __future__ import annotations

import numpy as np
import pytest

import sd

DECAY = "x = INTEG(-k * x, 1)\n\t~\t\n\t~\t|\n\nk = 0.7\n\t~\t[0.1, 2]\n\t~\t|\n"
OSCILLATOR = (
    "position = INTEG(velocity, 1)\n\t~\t\n\t~\t|\n\n"
    "velocity = INTEG(acceleration, 0)\n\t~\t\n\t~\t|\n\n"
    "acceleration = -omega * omega * position\n\t~\t\n\t~\t|\n\n"
    "omega = 2\n\t~\t[1, 3]\n\t~\t|\n"
)


K = np.array([0.7, 1.9])
OMEGA = np.array([2.0, 2.9])


def _errors(model: sd.Model, var: str, exact, integration: str, params) -> list[float]:
    errs = []
    for dt in (0.1, 0.05, 0.025):
        ds = model.run(params, time_step=dt, saveper=1.0, final_time=5, integration=integration)
        t = ds["time"].values
        errs.append(float(np.max(np.abs(ds[var].values - exact(t)))))
    return errs


@pytest.mark.parametrize(
    ("body", "var", "exact"),
    [
        (DECAY, "x", lambda t: np.exp(-K[:, None] * t)),
        (OSCILLATOR, "position", lambda t: np.cos(OMEGA[:, None] * t)),
    ],
    ids=["exponential decay", "harmonic oscillator"],
)
def test_convergence_order(write_mdl, body, var, exact) -> None:
    model = sd.load(write_mdl(body, final=5, dt=0.1))
    name = "k" if "k =" in body else "omega"
    params = {name: K if name == "k" else OMEGA}
    rk4 = _errors(model, var, exact, "rk4", params)
    euler = _errors(model, var, exact, "euler", params)
    rk4_orders = np.log2(np.array(rk4[:-1]) / np.array(rk4[1:]))
    euler_orders = np.log2(np.array(euler[:-1]) / np.array(euler[1:]))
    assert np.all((rk4_orders > 3.7) & (rk4_orders < 4.3)), (rk4, rk4_orders)
    # Euler is first order (its finest pair of steps is in the asymptotic regime)
    assert 0.8 < euler_orders[-1] < 1.3, (euler, euler_orders)
    assert rk4[-1] < 1e-5 and rk4[-1] < euler[-1] * 1e-3


def test_euler_is_the_default_and_rk4_is_recorded(write_mdl) -> None:
    model = sd.load(write_mdl(DECAY))
    assert model.run().attrs["integration"] == "euler"
    ds = model.run(integration="rk4", backend="auto")
    assert ds.attrs["integration"] == "rk4" and ds.attrs["backend"] == "numpy"
    with pytest.raises(sd.BackendUnavailableError, match="integrates with Euler only"):
        model.run(integration="rk4", backend="fused")
    with pytest.raises(sd.ParamError, match="unknown integration 'rk5'"):
        model.run(integration="rk5")
