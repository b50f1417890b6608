"""Sweep specs: bad input is one SpecError naming the file and the key, before any work starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sweep_helpers import teacup_spec

import sd
from sd.cli import main
from sd.errors import SpecError
from sd.sweep import Spec, load_spec, plan

ROOT = Path(__file__).resolve().parents[2]


def error(folder: Path, **changes: str) -> str:
    teacup_spec(folder, **changes)
    with pytest.raises(SpecError) as info:
        plan(folder / "spec.toml")
    assert not (folder / "out.zarr").exists()  # nothing was started
    return str(info.value)


CT = '"Characteristic Time" = '


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        (
            {
                "parameters": CT
                + '{ dist = "uniform", low = 5, high = 15 }\n"Charcteristic Time" = 3'
            },
            r"parameters\.'Charcteristic Time': 'Charcteristic Time' is not a variable of teacup\.mdl; "
            r"did you mean 'Characteristic Time'",
        ),
        (
            {"parameters": '"Heat Loss to Room" = { dist = "uniform", low = 1, high = 2 }'},
            r"parameters\.'Heat Loss to Room': 'Heat Loss to Room' is an auxiliary, not a constant",
        ),
        (
            {"parameters": '"Teacup Temperature" = { dist = "uniform", low = 1, high = 2 }'},
            r"'Teacup Temperature' is a stock, not a constant",
        ),
        (
            {"parameters": '"TIME STEP" = { dist = "uniform", low = 1, high = 2 }'},
            r"parameters\.'TIME STEP': 'TIME STEP' is a control variable",
        ),
        (
            {"parameters": CT + '{ dist = "uniform", low = 15, high = 5 }'},
            r"parameters\.'Characteristic Time': inverted or empty bounds: low = 15 must be < high = 5",
        ),
        (
            {"parameters": CT + '{ dist = "uniform", low = nan, high = 5 }'},
            r"parameters\.'Characteristic Time'\.low: is NaN",
        ),
        (
            {"parameters": CT + '{ dist = "gamma", low = 1, high = 5 }'},
            r"parameters\.'Characteristic Time'\.dist: unknown distribution 'gamma'; expected one of "
            r"uniform, loguniform, normal",
        ),
        (
            {"parameters": CT + '{ dist = "normal", mean = 1, sd = -2 }'},
            r"parameters\.'Characteristic Time'\.sd: must be > 0",
        ),
        (
            {"parameters": CT + '{ dist = "loguniform", low = 0, high = 5 }'},
            r"parameters\.'Characteristic Time'\.low: 'loguniform' needs low > 0",
        ),
        (
            {"parameters": CT + '{ dist = "uniform", lo = 1, high = 5 }'},
            r"parameters\.'Characteristic Time'\.lo: unknown argument of 'uniform'",
        ),
        (
            {"parameters": CT + '{ dist = "triangular", low = 1, mode = 9, high = 5 }'},
            r"parameters\.'Characteristic Time'\.mode: must lie in \[low, high\]",
        ),
        (
            {
                "parameters": '"Room Temperature" = { dist = "uniform" }\n'
                + CT
                + '{ dist = "normal" }'
            },
            r"parameters\.'Characteristic Time': 'normal' needs mean, sd",
        ),
        (
            {"sampler": '"halton"'},
            r"sampler: unknown sampler 'halton'; expected one of mc, lhs, sobol",
        ),
        ({"draws": "0"}, r"draws: must be positive, got 0"),
        ({"draws": "-5"}, r"draws: must be positive"),
        ({"draws": "2.5"}, r"draws: expected a positive integer"),
        (
            {"sampler": '"sobol"', "draws": "1000"},
            r"draws: sampler 'sobol' needs a power of two .*got 1000; use 512 or 1024",
        ),
        (
            {"sampler": '"saltelli"', "draws": "1000"},
            r"draws: sampler 'saltelli' with D = 2 parameters needs draws = N x \(2D\+2\) = N x 6 with N "
            r"a power of two, got 1000; use 768 or 1536",
        ),
        (
            {"sampler": '{ name = "saltelli", second_order = false }', "draws": "100"},
            r"N x \(D\+2\) = N x 4 with N a power of two, got 100; use 64 or 128",
        ),
        (
            {"sampler": '"morris"', "draws": "100"},
            r"draws: sampler 'morris' with D = 2 parameters needs "
            r"draws = N x \(D\+1\) = N x 3 \(N trajectories\), got 100; use 99 or 102",
        ),
        (
            {"sampler": '"morris"', "draws": "99"},
            r"sampler 'morris' samples the ends of each range; "
            r"'normal' is unbounded",
        ),
        (
            {"sampler": '{ name = "sobol", levels = 3 }'},
            r"sampler\.levels: not an option of sampler 'sobol'",
        ),
        (
            {
                "sampler": '"grid"',
                "draws": "7",
                "parameters": CT + '{ dist = "uniform", low = 1, high = 5 }',
            },
            r"draws: sampler 'grid' gives 5 draws \(5\); got 7",
        ),
        (
            {"sampler": '"grid"'},
            r"sampler 'grid' spans each range from low to high; 'normal' is unbounded",
        ),
        ({"chunk": "0"}, r"chunk: expected a positive integer or \"auto\""),
        ({"backend": '"gpu"'}, r"backend: unknown backend 'gpu'"),
        ({"model": '"missing.mdl"'}, r"model: no such file 'missing\.mdl'"),
        ({"colour": '"blue"'}, r"colour: unknown key"),
        (
            {"outcomes": '"x" = { var = "Teacup Temperature" }'},
            r"outcomes\.'x': expected exactly one of 'at', 'reduce' or 'first_time'",
        ),
        (
            {"outcomes": '"x" = { var = "Teacup Temperature", reduce = "median" }'},
            r"outcomes\.'x'\.reduce: unknown reduction 'median'",
        ),
        (
            {"outcomes": '"x" = { first_time = "Teacup Temperature is cold" }'},
            r"outcomes\.'x'\.first_time: expected 'variable <op> number'",
        ),
        (
            {"outcomes": '"x" = { first_time = "Teacup Temp < 3" }'},
            r"outcomes\.'x': 'Teacup Temp' is not a variable of teacup\.mdl",
        ),
        (
            {
                "outcomes": '"x" = { first_time = "Teacup Temperature < 100 and Roomm Temperature > 1" }'
            },
            r"outcomes\.'x': 'Roomm Temperature' is not a variable of teacup\.mdl; did you mean 'Room Temperature'",
        ),
        (
            {"outcomes": '"x" = { first_time = "Teacup Temperature < 100 and" }'},
            r"outcomes\.'x'\.first_time: cannot parse 'Teacup Temperature < 100 and'",
        ),
        (
            {"outcomes": '"x" = { var = "Teacup Temperature", at = 31 }'},
            r"outcomes\.'x'\.at: 31 is outside the run \[0, 30\]",
        ),
        (
            {"outputs": 'timeseries = ["Teacup Temp"]'},
            r"outputs\.timeseries 'Teacup Temp': 'Teacup Temp' is not a variable",
        ),
        ({"outputs": "timeseries = []", "outcomes": ""}, r"outputs: nothing to store"),
        ({"outputs": "saveper = -1"}, r"outputs\.saveper: must be positive"),
        ({"scenario": '"hot"'}, r"scenario: .*scenarios\.toml: no scenarios file"),
    ],
)
def test_bad_input_names_file_and_key(
    teacup_dir: Path, changes: dict[str, str], pattern: str
) -> None:
    msg = error(teacup_dir, **changes)
    assert msg.startswith(str(teacup_dir / "spec.toml") + ": ") or "scenarios" in msg, msg
    assert re.search(pattern, msg), msg


def test_first_time_takes_any_condition(teacup_dir: Path) -> None:
    """Refused by the old 'variable <op> number' form; the condition language reads both variables."""
    teacup_spec(
        teacup_dir, outcomes='"x" = { first_time = "Teacup Temperature - 100 = Room Temperature" }'
    )
    o = plan(teacup_dir / "spec.toml").outcomes[0]
    assert (o.kind, o.reads) == ("first_time", ("Teacup Temperature", "Room Temperature"))


def test_bad_scheduler_address(teacup_dir: Path) -> None:
    with pytest.raises(
        SpecError, match=r"spec\.toml: scheduler: 'nonsense' is not a scheduler address"
    ):
        sd.sweep("spec.toml", scheduler="nonsense")
    assert not (teacup_dir / "out.zarr").exists()


def test_not_toml_and_missing_file(teacup_dir: Path) -> None:
    (teacup_dir / "bad.toml").write_text("model = \n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.toml: not valid TOML"):
        load_spec(teacup_dir / "bad.toml")
    with pytest.raises(SpecError, match=r"nope\.toml: no such sweep spec file"):
        load_spec(teacup_dir / "nope.toml")


def test_cli_error_is_one_line_and_exit_2(teacup_dir: Path) -> None:
    teacup_spec(teacup_dir, draws="0")
    res = CliRunner().invoke(main, ["sweep", "spec.toml"])
    assert res.exit_code == 2
    assert res.output.strip() == "sd: error: spec.toml: draws: must be positive, got 0"


def test_spec_in_python_matches_toml(teacup_dir: Path) -> None:
    spec = Spec(
        model=teacup_dir / "teacup.mdl", draws=2000, seed=7, chunk=300, store="out.zarr",
        parameters={"Characteristic Time": {"dist": "uniform", "low": 5, "high": 15},
                    "Room Temperature": {"dist": "normal", "mean": 70, "sd": 4}},
        timeseries=("Teacup Temperature",), saveper=1,
        outcomes={"T at 10": {"var": "Teacup Temperature", "at": 10},
                  "max loss": {"var": "Heat Loss to Room", "reduce": "max"},
                  "below 120": {"first_time": "Teacup Temperature < 120"}},
    )  # fmt: skip
    assert plan(spec).key == plan(teacup_dir / "spec.toml").key
    with pytest.raises(SpecError, match=r"<spec>: draws: must be positive"):
        spec.replace(draws=-1)


def test_range_defaults_to_the_models(teacup_dir: Path) -> None:
    teacup_spec(teacup_dir, parameters='"Room Temperature" = { dist = "uniform" }')
    p = plan(teacup_dir / "spec.toml")
    assert p.params[0][1].args == {"low": 60.0, "high": 80.0}
    teacup_spec(teacup_dir, parameters='"Teacup Temperature" = 3\n' + CT + '{ dist = "uniform" }')
    teacup_dir.joinpath("teacup.mdl").write_text(
        teacup_dir.joinpath("teacup.mdl").read_text().replace("Minutes [5,15]", "Minutes")
    )
    with pytest.raises(SpecError, match=r"'Teacup Temperature' is a stock"):
        plan(teacup_dir / "spec.toml")


def test_model_path_relative_to_spec_then_cwd(
    teacup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = teacup_dir / "specs"
    sub.mkdir()
    (sub / "s.toml").write_text((teacup_dir / "spec.toml").read_text(), encoding="utf-8")
    assert plan(sub / "s.toml").model_path == str(teacup_dir / "teacup.mdl")  # via the cwd
    (sub / "teacup.mdl").write_text((teacup_dir / "teacup.mdl").read_text(), encoding="utf-8")
    assert plan(sub / "s.toml").model_path == str(sub / "teacup.mdl")  # beside the spec wins


def test_flagship_spec_is_valid() -> None:
    spec = load_spec(ROOT / "sweeps" / "productivity_deflation.toml")
    assert spec.sampler == "sobol" and spec.scenario == "claim"
    assert len(spec.distributions) > 60
    assert callable(sd.sweep)
