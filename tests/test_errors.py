"""Bad input gets an SDError subclass whose message names the file, the variable and what was expected."""

from __future__ import annotations

import numpy as np
import pytest
from model_texts import TEACUP_BODY

import sd


def test_errors_share_a_base_class() -> None:
    for cls in (sd.ParseError, sd.ModelError, sd.UndefinedVariableError, sd.ParamError,
                sd.UnsupportedFeatureError, sd.BackendUnavailableError, sd.SpecError):  # fmt: skip
        assert issubclass(cls, sd.SDError)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(sd.ParseError, match=r"nothere\.mdl: no such model file"):
        sd.load(tmp_path / "nothere.mdl")


def test_unparsable_model(write_mdl) -> None:
    path = write_mdl("this is = = not ( vensim\n\t~\t\n\t~\t|\n", name="broken.mdl")
    with pytest.raises(sd.ParseError) as err:
        sd.load(path)
    msg = str(err.value)
    assert "broken.mdl" in msg and "could not read the model" in msg


def test_missing_control_variable(write_mdl) -> None:
    body = TEACUP_BODY + "\nINITIAL TIME = 0\n\t~\tm\n\t~\t|\n\nTIME STEP = 1\n\t~\tm\n\t~\t|\n"
    path = write_mdl(body, controls=False, name="nofinal.mdl")
    with pytest.raises(sd.ModelError) as err:
        sd.load(path)
    msg = str(err.value)
    assert "nofinal.mdl" in msg and "'FINAL TIME'" in msg and "INITIAL TIME" in msg


def test_undefined_variable_names_file_line_and_variable(write_mdl) -> None:
    body = TEACUP_BODY.replace("Room Temperature) /", "Room Temprature) /")
    path = write_mdl(body, name="typo.mdl")
    with pytest.raises(sd.UndefinedVariableError) as err:
        sd.load(path)
    msg = str(err.value)
    # the equation of 'Heat Loss' starts on line 7 of the written file
    assert "typo.mdl:7" in msg and "'Heat Loss'" in msg and "'room temprature'" in msg


@pytest.mark.parametrize(
    ("equation", "feature"),
    [
        ("DELAY CONVEYOR(1, 1, 0, 0, 0, 0)", "DELAY CONVEYOR"),
        ("SINTEG(1, 0, 0, 10, 1, 0, 0.1)", "SINTEG"),
        ("GET TIME VALUE(2, 0, 1)", "GET TIME VALUE"),
    ],
)
def test_unsupported_function(write_mdl, equation, feature) -> None:
    body = (
        TEACUP_BODY
        + f"\ntab(\n\t[(0,0)-(1,1)],(0,0),(1,1))\n\t~\t\n\t~\t|\n\nodd = {equation}\n\t~\t\n\t~\t|\n"
    )
    path = write_mdl(body, name="odd.mdl")
    with pytest.raises(sd.UnsupportedFeatureError) as err:
        sd.load(path)
    msg = str(err.value)
    assert "odd.mdl:" in msg and "variable 'odd'" in msg and feature in msg
    assert "supported: ABS" in msg  # lists the valid choices


def test_an_unbound_range_is_refused(write_mdl) -> None:
    body = (
        "Region: north, south\n\t~\t\n\t~\t|\n\npop[Region] = 1, 2\n\t~\t\n\t~\t|\n\n"
        "total = pop[Region]\n\t~\t\n\t~\t|\n"
    )
    path = write_mdl(body, name="subs.mdl")
    with pytest.raises(sd.UnsupportedFeatureError, match=r"subs\.mdl.*'total'.*range 'Region'"):
        sd.load(path)


def test_a_macro_with_output_arguments_nobody_calls_is_left_alone(write_mdl) -> None:
    """Vensim's multiple-output macros (``:MACRO: FIT(x, y : total, count)``, as the summary-statistics
    macro of the COVID-19 US model) are read when called (tests/frontend/test_macro_outputs.py); one
    nobody calls is left alone, as Vensim leaves it, even with a body sd refuses when it is called
    (random numbers: see test_macro_outputs)."""
    body = (
        ":MACRO: FIT(x, y : total, count)\nFIT = y - x ~~|\ntotal = INTEG(y, 0) ~~|\n"
        "count = INTEG(RANDOM UNIFORM(0, 1, 1), 0) ~~|\n:END OF MACRO:\n"
        "a = Time ~~|\nb = 2 * Time ~~|\n"
    )
    b = sd.load(write_mdl(body, name="u.mdl")).run(outputs=["b"])["b"].values[0]
    np.testing.assert_array_equal(b[:3], [0, 0.5, 1])  # b = 2 Time, TIME STEP 0.25


@pytest.fixture
def teacup(write_mdl) -> sd.Model:
    return sd.load(write_mdl(TEACUP_BODY, final=30, dt=0.125, name="teacup.mdl"))


def test_unknown_param_lists_choices(teacup) -> None:
    with pytest.raises(sd.ParamError) as err:
        teacup.run({"Characteristic Tim": 3.0})
    msg = str(err.value)
    assert "teacup.mdl" in msg and "'Characteristic Tim'" in msg
    assert "did you mean 'Characteristic Time'" in msg and "valid choices" in msg


def test_param_that_is_not_a_constant(teacup) -> None:
    with pytest.raises(sd.ParamError, match=r"'Heat Loss' is a aux .*not a constant"):
        teacup.run({"Heat Loss": 3.0})


def test_param_of_wrong_shape(teacup) -> None:
    with pytest.raises(
        sd.ParamError,
        match=r"'Characteristic Time' has shape \(2, 2\); expected a scalar or a 1-D array",
    ):
        teacup.run({"Characteristic Time": np.ones((2, 2))})


def test_param_arrays_of_different_lengths(teacup) -> None:
    with pytest.raises(sd.ParamError) as err:
        teacup.run({"Characteristic Time": np.ones(3) * 10, "Room Temperature": np.ones(4) * 70})
    msg = str(err.value)
    assert "'Characteristic Time': 3" in msg and "'Room Temperature': 4" in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_params(teacup, bad) -> None:
    with pytest.raises(sd.ParamError) as err:
        teacup.run({"Characteristic Time": np.array([10.0, bad, 12.0])})
    msg = str(err.value)
    assert "'Characteristic Time' is not finite at draws [1]" in msg


def test_non_finite_scalar_param(teacup) -> None:
    with pytest.raises(sd.ParamError, match=r"'Room Temperature' is not finite \(nan\)"):
        teacup.run({"Room Temperature": float("nan")})


def test_unknown_output(teacup) -> None:
    with pytest.raises(
        sd.ParamError, match=r"output 'Teacup' is not in the model.*Teacup Temperature"
    ):
        teacup.run(outputs=["Teacup"])


def test_unknown_backend(teacup) -> None:
    with pytest.raises(
        sd.BackendUnavailableError, match=r"Unknown backend 'cuda2'; choose one of 'numpy'"
    ):
        teacup.run(backend="cuda2")


def test_cupy_backend_without_gpu_says_what_to_install(teacup) -> None:
    try:
        import cupy  # noqa: F401

        pytest.skip("cupy is installed here; this checks the message on machines without it")
    except ImportError:
        pass
    with pytest.raises(sd.BackendUnavailableError, match=r"pip install 'sd\[gpu\]'"):
        teacup.run(backend="cupy")


def test_runtime_nan_in_one_draw_does_not_stop_the_others(teacup) -> None:
    # a zero time constant divides by zero in draw 1 only
    ds = teacup.run({"Characteristic Time": np.array([10.0, 0.0, 5.0])})
    temp = ds["Teacup Temperature"].values
    assert not np.isfinite(temp[1, 1:]).any()
    assert np.isfinite(temp[[0, 2]]).all()
    single = teacup.run({"Characteristic Time": 5.0})["Teacup Temperature"].values[0]
    np.testing.assert_array_equal(temp[2], single)


def test_bad_time_step(teacup) -> None:
    with pytest.raises(sd.ModelError, match=r"teacup\.mdl: TIME STEP must be positive, got -1"):
        teacup.run(time_step=-1.0)


def test_structural_constant_cannot_vary(write_mdl) -> None:
    body = (
        TEACUP_BODY
        + "\nout = DELAY N(Heat Loss, 4, 0, order)\n\t~\t\n\t~\t|\n\norder = 3\n\t~\t\n\t~\t|\n"
    )
    model = sd.load(write_mdl(body, name="order.mdl"))
    with pytest.raises(sd.ParamError, match=r"'order' sets the model's time grid or shape"):
        model.run({"order": np.array([2.0, 3.0])})


@pytest.mark.parametrize("bad", ["abc", [1, "x"], 1 + 2j, {"a": 1}])
def test_a_parameter_that_is_not_a_number_is_named(teacup, bad) -> None:
    with pytest.raises(sd.ParamError, match=r"parameter 'Characteristic Time' is .* expected a real number"):
        teacup.run({"Characteristic Time": bad})


@pytest.mark.parametrize(("kw", "what"), [({"seed": "abc"}, "seed"), ({"first_draw": "x"}, "first_draw"),
                                          ({"first_draw": -1}, "first_draw"), ({"draws": "5"}, "draws")])  # fmt: skip
def test_run_options_are_checked_by_name(teacup, kw, what) -> None:
    with pytest.raises(sd.ParamError, match=what):
        teacup.run(**kw)


def test_sweep_of_something_that_is_not_a_spec_says_what_it_takes() -> None:
    with pytest.raises(sd.SpecError, match="spec is a int; expected the path of a TOML spec"):
        sd.sweep(3)


def test_a_one_argument_integ_says_what_integ_takes(write_mdl) -> None:
    path = write_mdl("Stock = INTEG(5)\n\t~\tunits\n\t~\t|\n", name="integ1.mdl")
    with pytest.raises(sd.ParseError) as err:
        sd.load(path)
    msg = str(err.value)
    assert "integ1.mdl:2 variable 'Stock'" in msg
    assert "INTEG takes INTEG(rate, initial value); the call lacks 'initial'" in msg


def test_a_run_too_big_for_memory_is_refused_before_it_starts(teacup, tmp_path) -> None:
    from click.testing import CliRunner

    from sd.cli import main

    res = CliRunner().invoke(main, ["run", str(teacup.path), "--draws", str(10**12)])
    assert res.exit_code == 2, res.output
    assert "GiB needed" in res.output and "`sd sweep`" in res.output and "Traceback" not in res.output


def test_a_parse_error_names_the_files_line_not_the_equations(write_mdl) -> None:
    path = write_mdl("x = 3 +* 4\n\t~\t\n\t~\t|\n", name="bad_expr.mdl")
    with pytest.raises(sd.ParseError) as err:
        sd.load(path)
    msg = str(err.value)
    assert "bad_expr.mdl:2 variable 'x'" in msg and "(column 2 of the equation)" in msg
    assert "line 1," not in msg
