"""Analysis conditions are sd's one condition language (sd.conditions): what worked before still does,
lazily; arithmetic, quoting and parentheses now work too; bad input is one AnalysisError."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import sd
from sd.analyze import AnalysisError
from sd.cli import main


def _by_hand(ds, expr: str) -> np.ndarray:
    v = {k: ds[k].values for k in ("x1", "x2", "x3", "y")}
    return {
        "y > 5": v["y"] > 5,
        "y > 2 and x3 < 0": (v["y"] > 2) & (v["x3"] < 0),
        "y > 2 & x3 < 0 | x1 >= 3": ((v["y"] > 2) & (v["x3"] < 0)) | (v["x1"] >= 3),
        "y * 2 <= x1": v["y"] * 2 <= v["x1"],
        "'y' - x1 > 2 * x2": v["y"] - v["x1"] > 2 * v["x2"],
        "not (y > 0) or -1 < x1 < 1": ~(v["y"] > 0) | ((v["x1"] > -1) & (v["x1"] < 1)),
    }[expr]


@pytest.mark.parametrize("expr", ["y > 5", "y > 2 and x3 < 0", "y > 2 & x3 < 0 | x1 >= 3", "y * 2 <= x1",
                                  "'y' - x1 > 2 * x2", "not (y > 0) or -1 < x1 < 1"])  # fmt: skip
def test_conditions_on_a_store(mc_store, expr: str) -> None:
    flag = sd.analyze.condition(mc_store, expr)
    assert hasattr(flag.data, "dask")  # lazy where the store is
    assert flag.name == expr and flag.dims == ("draw",)
    want = _by_hand(mc_store.compute(), expr)
    assert 0 < want.sum() < want.size
    np.testing.assert_array_equal(flag.values, want)


def test_a_condition_over_a_series_keeps_time(mc_store) -> None:
    flag = sd.analyze.condition(mc_store, "z > y")
    assert flag.dims == ("draw", "time")
    ds = mc_store.compute()
    np.testing.assert_array_equal(flag.values, ds["z"].values > ds["y"].values[:, None])


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("yy > 5", "condition: 'yy > 5': 'yy' is not a variable of the store; did you mean 'y'?"),
        ("y + 5", "a condition must be a comparison"),
        ("__import__('os').system('true') == 0", "Call is not allowed in a condition"),
        ("1 < 2", "reads no variable of the store"),
        ("", "condition: expected an expression"),
    ],
)
def test_bad_conditions(mc_store, expr: str, message: str) -> None:
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(").replace("?", r"\?")):
        sd.analyze.condition(mc_store, expr)


def test_cli_condition_with_arithmetic(mc_store, tmp_path) -> None:
    store = str(tmp_path / "mc.zarr")
    mc_store.reset_coords().to_zarr(store)  # the CLI opens a path
    res = CliRunner().invoke(main, ["analyze", "prim", store, "--condition", "y > 2 * x2 + 4",
                                    "--min-coverage", "0.3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "y > 2 * x2 + 4" in res.output
