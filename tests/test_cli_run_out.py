"""`sd run --out x.csv|x.tab` writes pysd-style tables; `--draws N` with nothing to draw is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from sd import examples
from sd.cli import main


def test_csv_is_pysd_style_and_equals_pysd(corpus: Path, tmp_path: Path) -> None:
    import pysd

    mdl = corpus / "samples" / "teacup" / "teacup.mdl"
    res = CliRunner().invoke(main, ["run", str(mdl), "--out", str(tmp_path / "run.csv")])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(tmp_path / "run.csv")
    assert got.columns[0] == "time" and "Teacup Temperature" in got.columns and "draw" not in got.columns
    ref = pysd.read_vensim(str(mdl)).run()
    assert np.allclose(got["time"], ref.index.values)
    np.testing.assert_allclose(got["Teacup Temperature"], ref["Teacup Temperature"].values, rtol=1e-10)


def test_tab_with_draws_stacks_draws(tmp_path: Path) -> None:
    mdl = examples.path("sir", "sir.mdl")
    out = tmp_path / "runs.tab"
    res = CliRunner().invoke(main, ["run", str(mdl), "--draws", "3", "--seed", "4", "--set",
                                    "Total Population=500:2000", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "drawn uniformly: 6 constant(s) (Total Population," in res.output
    got = pd.read_csv(out, sep="\t")
    assert list(got.columns[:2]) == ["draw", "time"] and len(got) == 3 * 121
    assert sorted(set(got["draw"])) == [0, 1, 2]
    start = got[got["time"] == 0]  # Susceptible starts at Total Population - Initial Infectious: all differ
    assert start["Susceptible"].nunique() == 3 and (start["Susceptible"] < 2000).all()


def test_draws_without_ranges_and_bad_out_are_refused(corpus: Path, tmp_path: Path) -> None:
    mdl = corpus / "samples" / "teacup" / "teacup.mdl"
    res = CliRunner().invoke(main, ["run", str(mdl), "--draws", "100"])
    assert res.exit_code == 2 and "teacup.mdl has no constant with a [min,max] range" in res.output
    res = CliRunner().invoke(main, ["run", str(mdl), "--set", "Characteristic Time=5:15"])
    assert res.exit_code == 2 and "a range needs --draws > 1" in res.output
    res = CliRunner().invoke(main, ["run", str(mdl), "--draws", "4", "--set", "Characteristic Time=5:15",
                                    "--out", str(tmp_path / "r.csv")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pd.read_csv(tmp_path / "r.csv").groupby("draw")["Teacup Temperature"].last().nunique() == 4
    res = CliRunner().invoke(main, ["run", str(mdl), "--out", str(tmp_path / "r.txt")])
    assert res.exit_code == 2 and "expected one of .csv, .tab, .nc, .zarr" in res.output
    assert not (tmp_path / "r.txt").exists()


def test_data_files_give_data_variables_their_values(tmp_path: Path) -> None:
    # 'level' has no equation: its points (0, 0) and (2, 20) come from --data, interpolated (Vensim's
    # default for data) to 10 at t=1; without --data the error names the variable and the option
    mdl = tmp_path / "m.mdl"
    mdl.write_text("level ~~|\nINITIAL TIME = 0 ~~|\nFINAL TIME = 2 ~~|\nTIME STEP = 1 ~~|\n"
                   "SAVEPER = 1 ~~|\n")  # fmt: skip
    (tmp_path / "d.tab").write_text("Time\tlevel\n0\t0\n2\t20\n")
    out = tmp_path / "run.csv"
    res = CliRunner().invoke(main, ["run", str(mdl), "--data", str(tmp_path / "d.tab"), "--out",
                                    str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out, index_col=0)["level"].tolist() == [0.0, 10.0, 20.0]
    res = CliRunner().invoke(main, ["run", str(mdl)])
    assert res.exit_code == 2 and "variable 'level'" in res.output and "data_files" in res.output
