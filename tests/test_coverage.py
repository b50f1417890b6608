"""Subscripts, macros, external data and random streams on the vectorised engine."""

from __future__ import annotations

import numpy as np
import pytest

import sd

POP = """
Region: north, south, east
\t~\t
\t~\t|

growth[Region] = 0.01, 0.02, 0.03
\t~\t1/year [0, 0.1]
\t~\t|

initial pop[Region] = 100
\t~\tpeople
\t~\t|

pop[Region] = INTEG(births[Region], initial pop[Region])
\t~\tpeople
\t~\t|

births[Region] = growth[Region] * pop[Region]
\t~\tpeople/year
\t~\t|

total = SUM(pop[Region!])
\t~\tpeople
\t~\t|
"""


@pytest.fixture
def pop(write_mdl) -> sd.Model:
    return sd.load(write_mdl(POP, name="pop.mdl"))


def test_outputs_have_subscript_dims_and_coords(pop) -> None:
    ds = pop.run()
    assert ds["pop"].dims == ("draw", "time", "Region")
    assert list(ds["Region"].values) == ["north", "south", "east"]
    assert ds["total"].dims == ("draw", "time")
    final = ds["pop"].isel(time=-1, draw=0).values
    np.testing.assert_allclose(ds["total"].values[0, -1], final.sum())
    np.testing.assert_allclose(final[0], 100 * 1.0025**40, rtol=1e-12)  # 40 Euler steps of dt 0.25
    one = pop.run(outputs=["pop[south]"])
    assert one["pop[south]"].dims == ("draw", "time")
    np.testing.assert_allclose(one["pop[south]"].values, ds["pop"].values[..., 1])
    assert pop.ir.arrays["pop"].dims == ("Region",)


def test_params_one_element_whole_array_and_per_draw(pop) -> None:
    base = pop.run()["pop"].values[0, -1]
    one = pop.run({"growth[north]": 0.0})["pop"].values[0, -1]
    np.testing.assert_allclose(one[0], 100.0)
    np.testing.assert_allclose(one[1:], base[1:])
    whole = pop.run({"growth": [0.0, 0.0, 0.0]})["pop"].values[0, -1]
    np.testing.assert_allclose(whole, 100.0)
    scalar = pop.run({"growth": 0.02})["pop"].values[0, -1]
    np.testing.assert_allclose(scalar, base[1])
    per_draw = np.array([[0.0, 0.02, 0.0], [0.01, 0.0, 0.03]])
    ds = pop.run({"growth": per_draw})
    assert ds.sizes["draw"] == 2
    np.testing.assert_allclose(ds["pop"].values[0, -1], [100.0, base[1], 100.0])
    np.testing.assert_allclose(ds["pop"].values[1, -1], [base[0], 100.0, base[2]])
    one_per_draw = pop.run({"growth[east]": [0.0, 0.03]})["pop"].values[:, -1, 2]
    np.testing.assert_allclose(one_per_draw, [100.0, base[2]])
    with pytest.raises(sd.ParamError, match="shape"):
        pop.run({"growth": np.ones((2, 2))})
    assert "growth[north]" in pop.constants  # subscripted constants are listed per element


def test_mapping_subrange_and_except(write_mdl) -> None:
    body = """
Age: young, middle, old
\t~\t
\t~\t|

Older: middle, old
\t~\t
\t~\t|

Younger: young, middle -> Older
\t~\t
\t~\t|

aging[Age] = 10, 20, 30
\t~\t
\t~\t|

gain[Older] = aging[Younger]
\t~\t
\t~\t|

flag[Age] :EXCEPT: [old] = 1
\t~\t
\t~\t|

flag[old] = 5
\t~\t
\t~\t|

count = ELMCOUNT(Age) + VMAX(aging[Age!]) + PROD(flag[Age!])
\t~\t
\t~\t|
"""
    ds = sd.load(write_mdl(body, name="map.mdl")).run(outputs=["gain", "flag", "count"])
    np.testing.assert_allclose(ds["gain"].values[0, 0], [10.0, 20.0])
    np.testing.assert_allclose(ds["flag"].values[0, 0], [1.0, 1.0, 5.0])
    np.testing.assert_allclose(ds["count"].values[0, 0], 3 + 30 + 5)


def test_macro_with_a_stock_is_inlined_per_call(write_mdl) -> None:
    body = """
:MACRO: ACCUM(input, start)
ACCUM = INTEG(input, start)
\t~\t
\t~\t|

:END OF MACRO:

a = ACCUM(1, 0)
\t~\t
\t~\t|

b = ACCUM(2, 10)
\t~\t
\t~\t|
"""
    ds = sd.load(write_mdl(body, name="macro.mdl")).run()
    np.testing.assert_allclose(ds["a"].values[0, -1], 10.0)
    np.testing.assert_allclose(ds["b"].values[0, -1], 30.0)


def test_a_missing_data_file_names_the_file_and_the_variable(write_mdl) -> None:
    body = "prices = GET XLS CONSTANTS('nowhere.xlsx', 'Sheet1', 'B2')\n\t~\t\n\t~\t|\n"
    with pytest.raises(sd.SDError) as err:
        sd.load(write_mdl(body, name="data.mdl"))
    assert isinstance(err.value, sd.errors.DataFileError)
    msg = str(err.value)
    assert "data.mdl" in msg and "'prices'" in msg and "nowhere.xlsx" in msg


RANDOM = """
u = RANDOM UNIFORM(2, 4, 1)
\t~\t
\t~\t|

z = RANDOM NORMAL(-100, 100, 1, 2, 1)
\t~\t
\t~\t|

e = RANDOM EXPONENTIAL(0, 1000, 0, 3, 1)
\t~\t
\t~\t|

r = RANDOM 0 1()
\t~\t
\t~\t|
"""


def test_random_streams_are_stable_per_seed_and_draw(write_mdl) -> None:
    model = sd.load(write_mdl(RANDOM, name="random.mdl", final=2, dt=1))
    full = model.run(draws=10, seed=7)
    part = model.run(draws=3, seed=7)
    chunk = model.run(draws=4, seed=7, first_draw=6)
    for v in ("u", "z", "e", "r"):
        np.testing.assert_array_equal(full[v].values[:3], part[v].values)
        np.testing.assert_array_equal(full[v].values[6:], chunk[v].values)
        assert not np.array_equal(full[v].values[:, 0], full[v].values[:, 1])  # new each step
    other = model.run(draws=3, seed=8)
    assert not np.array_equal(other["u"].values, part["u"].values)
    assert not np.array_equal(full["u"].values, full["r"].values * 2 + 2)


def test_random_moments(write_mdl) -> None:
    model = sd.load(write_mdl(RANDOM, name="random.mdl", final=0, dt=1))
    ds = model.run(draws=200_000, seed=1)
    u, z, e, r = (ds[v].values[:, 0] for v in ("u", "z", "e", "r"))
    assert u.min() >= 2 and u.max() <= 4 and abs(u.mean() - 3) < 0.01
    assert abs(r.var() - 1 / 12) < 0.002
    assert abs(z.mean() - 1) < 0.02 and abs(z.std() - 2) < 0.02
    assert abs(e.mean() - 3) < 0.03 and e.min() >= 0
