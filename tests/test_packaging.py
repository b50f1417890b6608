"""The wheel ships the examples (the flagship's model, scenarios and spec, and SIR), LICENSE and py.typed;
`sd example` lists and copies them, and a copied spec resolves its model."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from sd import examples
from sd.cli import main
from sd.errors import SDError

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
                         capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    if res.returncode != 0 and "Could not find a version" in res.stderr:
        pytest.skip("no package index to build the wheel's build requirements from")
    assert res.returncode == 0, res.stderr[-3000:]
    (whl,) = out.glob("sd-*.whl")
    return whl


def test_wheel_holds_examples_license_and_py_typed(wheel: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "sd/py.typed" in names and any(n.endswith("licenses/LICENSE") for n in names)
    for name, entry in examples.index().items():
        for file in entry["files"]:
            assert f"sd/examples/{name}/{file}" in names, (name, file)
    packed = zipfile.ZipFile(wheel).read("sd/examples/productivity_deflation/models/productivity_deflation.mdl")
    assert packed == (ROOT / "models" / "productivity_deflation.mdl").read_bytes()
    # from the unpacked wheel (not the checkout), the example resolves to the packaged copy and copies out
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sd.examples as e, sd.sweep as s; p = e.copy('productivity_deflation', 'pd'); "
            "print(e.path('sir')); print(s.load_spec(p / 'sweeps/productivity_deflation.toml').resolve_model())")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(site)})  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    sir, model = res.stdout.split()
    assert sir.startswith(str(site))
    assert (tmp_path / model).resolve() == (tmp_path / "pd/models/productivity_deflation.mdl").resolve()


def test_sd_example_lists_and_copies(tmp_path: Path) -> None:
    run = CliRunner().invoke
    res = run(main, ["example"])
    assert res.exit_code == 0 and "sir" in res.output and "productivity_deflation" in res.output
    res = run(main, ["example", "sir", str(tmp_path / "sir")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sir" / "sir.mdl").read_text() == examples.path("sir", "sir.mdl").read_text()
    res = run(main, ["example", "sir", str(tmp_path / "sir")])
    assert res.exit_code == 2 and "exists" in res.output
    res = run(main, ["example", "sri"])
    assert res.exit_code == 2 and "no example 'sri'" in res.output
    with pytest.raises(SDError, match="has no file"):
        examples.path("sir", "nope.mdl")
    from sd.sweep import load_spec, plan

    p = plan(load_spec(tmp_path / "sir" / "sir.toml"))
    assert p.draws == 4096 and set(p.sampled) == {"Contact Infectivity", "Duration", "Initial Infectious",
                                                  "Distancing", "Distancing Start"}  # fmt: skip
