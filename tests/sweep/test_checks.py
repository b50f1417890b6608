"""Reality checks in sweeps: evaluated for every draw next to the run, recorded in the store."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import write_teacup

import sd
from sd.sweep.checks import compile_check

NAMES = ["Teacup Temperature", "Room Temperature", "Heat Loss to Room", "Characteristic Time"]

SPEC = """
model = "teacup.mdl"
draws = 600
seed = 3
chunk = 200
store = "checks.zarr"
[parameters]
"Characteristic Time" = { dist = "uniform", low = 5, high = 15 }
"Room Temperature" = { dist = "uniform", low = 60, high = 80 }
[outputs]
timeseries = ["Teacup Temperature", "Heat Loss to Room"]
saveper = 1
[checks]
"cools toward the room" = "Teacup Temperature >= Room Temperature"
"gentle cooling" = "Heat Loss to Room < 9"
"still warm at the end" = { expr = "Teacup Temperature > 100", when = "end" }
"""


def test_expressions() -> None:
    names, ev = compile_check(
        '"Teacup Temperature" - Room Temperature >= 0 and not Heat Loss to Room > 5', NAMES
    )
    assert set(names) == {"Teacup Temperature", "Room Temperature", "Heat Loss to Room"}
    env = {
        "Teacup Temperature": np.array([100.0, 60.0, np.nan]),
        "Room Temperature": np.array([70.0, 70.0, 70.0]),
        "Heat Loss to Room": np.array([3.0, 1.0, 1.0]),
    }
    np.testing.assert_array_equal(ev(env), [True, False, False])  # NaN fails the check
    _, ev = compile_check("0 < Heat Loss to Room <= 2 :OR: Teacup Temperature = 60", NAMES)
    np.testing.assert_array_equal(ev(env), [False, True, True])


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("Teacupp >= 0", "'Teacupp' is not a variable of the model"),
        (
            "Teacup Temperatur >= 0",
            "'Teacup Temperatur' is not a variable of the model; did you mean 'Teacup Temperature'",
        ),
        ("Teacup Temperature + 1", "must be a comparison"),
        ("__import__('os') == 1", "is not"),
        ("1 < 2", "reads no model variable"),
        ("Teacup Temperature >=", "cannot parse 'Teacup Temperature >='"),
    ],
)
def test_bad_expressions(expr, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_check(expr, NAMES)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_teacup(tmp_path)
    (tmp_path / "spec.toml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_checks_are_counted_per_draw(folder) -> None:
    ds = sd.sweep(folder / "spec.toml", scheduler="sync").load()
    temp, loss = ds["Teacup Temperature"].values, ds["Heat Loss to Room"].values
    room = ds["Room Temperature"].values[:, None]
    # every draw cools from 180 toward its room temperature and never crosses it
    assert not ds["violated: cools toward the room"].values.any()
    assert (temp >= room).all()
    # a planted violation: the first minutes cool faster than 9 degF/min when the time constant is short
    expected = ~(loss < 9).all(axis=1)
    np.testing.assert_array_equal(ds["violated: gentle cooling"].values, expected)
    assert 0 < expected.sum() < len(expected)
    end = ~(temp[:, -1] > 100)
    np.testing.assert_array_equal(ds["violated: still warm at the end"].values, end)
    assert ds["violated: gentle cooling"].attrs["check"] == "Heat Loss to Room < 9"


def test_cli_summary_and_strict(folder) -> None:
    cmd = [sys.executable, "-m", "sd", "sweep", str(folder / "spec.toml"), "--scheduler", "sync"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (
        "cools toward the room: 'Teacup Temperature >= Room Temperature' at every saved time: holds in all 600 draws"
        in proc.stdout
    )
    ds = sd.sweep(folder / "spec.toml", scheduler="sync")  # resumes: nothing left to run
    bad = int(ds["violated: gentle cooling"].values.sum())
    assert (
        f"gentle cooling: 'Heat Loss to Room < 9' at every saved time: VIOLATED in {bad:,} of 600 draws"
        in proc.stdout
    )
    strict = subprocess.run([*cmd, "--strict"], capture_output=True, text=True, check=False)
    assert strict.returncode == 1
    assert "reality checks violated" in strict.stderr


def test_bad_check_in_spec(folder) -> None:
    text = SPEC.replace('"Heat Loss to Room < 9"', '"Heat Los < 9"')
    (folder / "spec.toml").write_text(text, encoding="utf-8")
    with pytest.raises(
        sd.SpecError,
        match=r"spec\.toml: checks\.'gentle cooling': 'Heat Los < 9': 'Heat Los' is not a variable of the model; did you mean 'Heat Loss to Room'",
    ):
        sd.sweep(folder / "spec.toml", scheduler="sync")
    text = SPEC.replace('when = "end"', 'when = "sometimes"')
    (folder / "spec.toml").write_text(text, encoding="utf-8")
    with pytest.raises(
        sd.SpecError, match=r"checks\.'still warm at the end'\.when: expected one of always, end"
    ):
        sd.sweep(folder / "spec.toml", scheduler="sync")
