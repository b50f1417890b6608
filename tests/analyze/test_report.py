"""sd report on any store: the page is about the store's own model, configured by its [report] table."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import sd
from sd.cli import main
from sd.errors import SpecError
from sd.report import ReportConfig, build_report, share

ROOT = Path(__file__).parents[2]
FLAGSHIP = ROOT / "sweeps" / "productivity_deflation.toml"


def _read(page: Path) -> str:
    """The page's text with the HTML escaping of bokeh's embedded document undone."""
    import html

    return html.unescape(page.read_text()).replace("\\u00b1", "±").replace("\\u2013", "–")


def _store_path(ds) -> str:
    import json

    return json.loads(ds.attrs["spec"])["store"]


def _independent_share(path: str, cond, group: float) -> tuple[int, int]:
    raw = xr.open_zarr(path, consolidated=False)
    peak = raw["peak infectious"].values
    dist = raw["Distancing"].values
    mask = dist == group
    return int((cond(peak) & mask).sum()), int(mask.sum())


def test_sir_page_is_about_sir(sir_store, tmp_path: Path) -> None:
    page = _read(build_report(sir_store, tmp_path / "sir.html"))
    assert "SIR: how large does the epidemic get?" in page
    for name in ("peak infectious", "recovered at end", "day 100 ill at once", "Contact Infectivity"):
        assert name in page
    assert not re.search(r"\bdebt\b|\bfederal\b|productivity deflation|monetary", page)  # no flagship text
    # the share of "peak infectious > 200" per distancing value, computed from the zarr files directly
    for g in (0.0, 1.0):
        k, n = _independent_share(_store_path(sir_store), lambda p: p > 200, g)
        assert 0 < k < n
        assert f"<b>{100 * k / n:.2f}%</b> ({k:,} of {n:,})" in page
    assert "<th>Distancing = 0 (no distancing)</th>" in page
    assert "Susceptible + Infectious + Recovered" in page  # the reality check and its share
    assert "Infectious (Persons)" in page  # units on the fan's axis
    assert "sd sweep " in page and "sir.toml" in page  # how to reproduce it
    assert "Drawn parameters (5)" in page and "choice [0, 1]" in page


def test_nan_and_unfinished_draws_are_counted(sir_store, tmp_path: Path) -> None:
    path = _store_path(sir_store)
    first = np.asarray(sir_store["day 100 ill at once"].values)
    s = share(sir_store, "day 100 ill at once <= 30")
    nan = int(np.isnan(first).sum())
    assert nan > 0 and s.undefined == nan and s.run == 1024 and s.not_run == 0
    assert s.holds == int((first <= 30).sum())
    # a store whose first chunk never ran: its draws are NaN everywhere (the fill value)
    import shutil

    copy = tmp_path / "partial.zarr"
    shutil.copytree(path, copy)
    ds = xr.open_zarr(copy, consolidated=False)
    per_draw = [v for v in ds.variables if ds[v].dims == ("draw",) and ds[v].dtype.kind == "f"]
    blank = xr.Dataset({v: (("draw",), np.full(256, np.nan)) for v in per_draw})
    blank.to_zarr(copy, region={"draw": slice(0, 256)}, consolidated=False)
    # opened as a Dataset (a store whose chunks were never written; the report gets what open_store gives)
    part = xr.open_zarr(copy, consolidated=False, drop_variables=["_done"]).set_coords(
        [p for p in sir_store.coords if sir_store[p].dims == ("draw",) and p != "draw"])
    s2 = share(part, "peak infectious > 200")
    peak = np.asarray(sir_store["peak infectious"].values)[256:]
    assert (s2.not_run, s2.run, s2.holds) == (256, 768, int((peak > 200).sum()))
    page = _read(build_report(part, tmp_path / "partial.html"))
    assert "1,024 draws (768 run)" in page and "Incomplete store: 256 of 1,024 draws" in page


def test_saltelli_store_shows_s1_and_st_side_by_side(saltelli_store, tmp_path: Path) -> None:
    page = _read(build_report(saltelli_store, tmp_path / "s.html", config={"indices": ["y"]}))
    assert "<th>parameter</th><th>S1</th><th>ST</th>" in page
    res = sd.analyze.sobol(saltelli_store, "y")
    st = float(res["ST"].sel(parameter="x1"))
    assert f"{float(res['S1'].sel(parameter='x1')):.3f} ± " in page and f"{st:.3f} ± " in page


def test_config_errors_name_file_and_key(sir_store, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"x.toml: report.titel: unknown key"):
        ReportConfig.from_value({"titel": "x"}, source="x.toml")
    with pytest.raises(SpecError, match=r"report.surfaces\[0\]: stat 'median' needs z"):
        ReportConfig.from_value({"surfaces": [{"stat": "median"}]}, source="x.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[report.headline]\n"big" = "peak infectous > 200"\n')
    with pytest.raises(sd.analyze.AnalysisError, match=r"bad.toml: report.headline.'big'.*peak infectious"):
        build_report(sir_store, tmp_path / "x.html", spec=bad)
    bad.write_text('[report]\nby = "Duration2"\n')
    with pytest.raises(sd.analyze.AnalysisError, match=r"report.by: 'Duration2' is not a drawn parameter"):
        build_report(sir_store, tmp_path / "x.html", spec=bad)
    res = CliRunner().invoke(main, ["report", _store_path(sir_store), "--spec", str(bad), "--out",
                                    str(tmp_path / "x.html")])  # fmt: skip
    assert res.exit_code == 2 and "report.by" in res.output


def test_spec_file_overrides_stored_configuration(sir_store, tmp_path: Path) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text('[report]\ntitle = "Another look"\n[report.headline]\n"small" = "peak infectious < 10"\n')
    res = CliRunner().invoke(main, ["report", _store_path(sir_store), "--spec", str(cfg), "--out",
                                    str(tmp_path / "o.html")])  # fmt: skip
    assert res.exit_code == 0, res.output
    page = _read(tmp_path / "o.html")
    assert "Another look" in page and "<code>peak infectious &lt; 10</code>" in page and "<th>all draws</th>" in page


def _flagship_names() -> tuple[dict, set[str]]:
    data = tomllib.loads(FLAGSHIP.read_text())
    names = set(data["outcomes"]) | set(data["parameters"]) | set(data["outputs"]["timeseries"])
    names |= {f"{data['paired']['prefix']} {o}" for o in data["paired"]["outcomes"]}
    return data, names


def test_flagship_report_table_names_only_what_the_store_holds() -> None:
    from sd.conditions import compile_condition

    data, names = _flagship_names()
    cfg = sd.sweep.load_spec(FLAGSHIP).report
    assert cfg.by == "monetary regime" and data["parameters"]["monetary regime"]["dist"] == "choice"
    assert set(cfg.by_labels) == {f"{v:g}" for v in data["parameters"]["monetary regime"]["values"]}
    for expr in [*cfg.headline.values(), cfg.prim] + [s["stat"][5:] for s in cfg.surfaces if "prob:" in s["stat"]]:
        assert set(compile_condition(expr, names, of="the store").names) <= names
    assert set(cfg.indices) | set(cfg.fans) <= names
    assert any("FY2028" in k for k in cfg.headline) and any("calendar 2028" in k for k in cfg.headline)
    assert any(v.startswith("claim effect on") for v in cfg.headline.values())


def test_report_code_names_no_model_variable() -> None:
    _, names = _flagship_names()
    code = "\n".join(p.read_text() for p in (ROOT / "sd" / "report").glob("*.py"))
    leaked = sorted(n for n in names if len(n) > 6 and n in code)
    assert leaked == []
    assert "debt" not in code.lower()
    import ast

    for path in (ROOT / "sd" / "report").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 100, (path.name, node.name)
