"""Data variables without an equation (``sd.load(path, data_files=...)``), GET DATA BETWEEN TIMES and
GET TIME VALUE: the corpus models against Vensim's own output, and small models whose values follow
from Vensim's documentation of data variables (interpolate by default, :HOLD BACKWARD: the last point at
or before the time, :LOOK FORWARD: the first at or after, end values held outside the points)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sd
from sd.testing.corpus import compare_with_vensim, corpus_cases, corpus_root
from sd.testing.sde import compare_with_dat, sde_cases, sde_root

CONTROLS = "INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
MODEL = """DimA: A1, A2 ~~|
level ~~|
held :HOLD BACKWARD: ~~|
ahead :LOOK FORWARD: ~~|
arr[DimA] ~~|
twice = 2 * level ~~|
"""
# points at t = 0, 2, 4; 'level' misses its t=2 value (an empty cell): interpolated across
TAB = (
    "Time\tlevel\theld\tahead\tarr[A1]\tarr[A2]\n"
    "0\t0\t0\t0\t1\t5\n"
    "2\t\t10\t10\t3\t5\n"
    "4\t40\t30\t30\t5\t9\n"
)


def write(folder: Path, body: str = MODEL, controls: str = CONTROLS) -> Path:
    p = folder / "m.mdl"
    p.write_text(body + controls)
    return p


def series(model: sd.Model, names: list[str], **kw: object) -> dict[str, np.ndarray]:
    ds = model.run(outputs=names, **kw)
    return {n: ds[n].values[0] for n in ds.data_vars if n != "draw"}


# -- the corpus: Vensim's own output ------------------------------------------------------------------
CORPUS = corpus_root()
SDE = sde_root()


@pytest.mark.skipif(CORPUS is None, reason="../shared/vensim-test-models not found")
@pytest.mark.parametrize("name", ["tests/data_from_other_model", "tests/get_time_value"])
def test_corpus_models_match_vensim(name: str) -> None:
    # data_from_other_model: data variables of every keyword (interpolate, hold backward, look forward,
    # raw) from data.tab, at TIME STEP 0.5 between the file's whole times; get_time_value: the model
    # whose run output.tab holds (test_get_time_value_simple.mdl)
    assert CORPUS is not None
    case = next(c for c in corpus_cases(CORPUS) if c.name == name)
    ok, detail = compare_with_vensim(case)
    assert ok, detail


@pytest.mark.skipif(SDE is None, reason="../shared/vensim-sde-models not found")
def test_getdata_matches_vensim() -> None:
    # GET DATA BETWEEN TIMES in its three modes, at whole and half times, from getdata_data.dat (the
    # externalDatfiles of getdata_spec.json)
    assert SDE is not None
    case = next(c for c in sde_cases(SDE) if c.name == "getdata")
    assert [f.name for f in case.data_files] == ["getdata_data.dat"]
    ok, detail = compare_with_dat(case.model, case.output, data_files=case.data_files)
    assert ok, detail


@pytest.mark.skipif(CORPUS is None, reason="../shared/vensim-test-models not found")
def test_data_from_other_model_without_its_data_file_names_the_variable() -> None:
    assert CORPUS is not None
    mdl = CORPUS / "tests/data_from_other_model/test_data_from_other_model.mdl"
    with pytest.raises(sd.errors.DataFileError, match=r"variable 'var 0dim': .*data_files") as err:
        sd.load(mdl)
    assert "test_data_from_other_model.mdl:" in str(err.value)


# -- small models: Vensim's documented data semantics --------------------------------------------
@pytest.mark.parametrize("fmt", ["tab", "csv", "transposed", "dat"])
def test_data_variables_read_each_format(tmp_path: Path, fmt: str) -> None:
    if fmt == "tab":
        data = tmp_path / "d.tab"
        data.write_text(TAB)
    elif fmt == "csv":
        data = tmp_path / "d.csv"
        data.write_text(TAB.replace("\t", ","))
    elif fmt == "transposed":  # names down the first column, times across the first row
        rows = [r.split("\t") for r in TAB.strip().split("\n")]
        data = tmp_path / "d.csv"
        data.write_text("\n".join(",".join(col) for col in zip(*rows, strict=True)) + "\n")
    else:
        data = tmp_path / "d.dat"
        data.write_text("level\n0\t0\n4\t40\nheld\n0\t0\n2\t10\n4\t30\nahead\n0\t0\n2\t10\n4\t30\n"
                        "arr[A1]\n0\t1\n2\t3\n4\t5\narr[A2]\n0\t5\n2\t5\n4\t9\n")  # fmt: skip
    model = sd.load(write(tmp_path), data_files=data)
    got = series(model, ["level", "held", "ahead", "arr", "twice"])
    # level: interpolated across the gap; held: the last point at or before t; ahead: the first at
    # or after t
    np.testing.assert_array_equal(got["level"], [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(got["held"], [0, 0, 10, 10, 30])
    np.testing.assert_array_equal(got["ahead"], [0, 10, 10, 30, 30])
    np.testing.assert_array_equal(got["arr"].T, [[1, 2, 3, 4, 5], [5, 5, 5, 7, 9]])
    np.testing.assert_array_equal(got["twice"], [0, 20, 40, 60, 80])
    assert str(data.resolve()) in model.ir.files  # the cache rebuilds when the file changes


def test_end_values_are_held_and_the_fused_backend_agrees(tmp_path: Path) -> None:
    (tmp_path / "d.tab").write_text("Time\tlevel\n1\t10\n3\t30\n")
    model = sd.load(write(tmp_path, "level ~~|\n"), data_files=tmp_path / "d.tab")
    np.testing.assert_array_equal(series(model, ["level"])["level"], [10, 10, 20, 30, 30])
    np.testing.assert_array_equal(series(model, ["level"], backend="auto")["level"],
                                  [10, 10, 20, 30, 30])  # fmt: skip


def test_a_list_takes_each_variable_from_the_first_file_and_a_dict_names_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.tab").write_text("Time\tx\n0\t1\n4\t1\n")
    (tmp_path / "b.tab").write_text("Time\tx\ty\n0\t2\t3\n4\t2\t3\n")
    p = write(tmp_path, "x ~~|\ny ~~|\n")
    got = series(sd.load(p, data_files=[tmp_path / "a.tab", tmp_path / "b.tab"]), ["x", "y"])
    assert (got["x"][0], got["y"][0]) == (1.0, 3.0)
    files = {tmp_path / "a.tab": ["y"], tmp_path / "b.tab": ["x"]}
    with pytest.raises(sd.errors.DataFileError, match=r"variable 'y'.*a\.tab"):
        sd.load(p, data_files=files)  # a.tab has no y
    got = series(sd.load(p, data_files={tmp_path / "b.tab": ["x", "y"]}), ["x", "y"])
    assert (got["x"][0], got["y"][0]) == (2.0, 3.0)


def test_the_cache_tells_data_files_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SD_NO_CACHE", raising=False)
    (tmp_path / "a.tab").write_text("Time\tx\n0\t1\n4\t1\n")
    (tmp_path / "b.tab").write_text("Time\tx\n0\t2\n4\t2\n")
    p = write(tmp_path, "x ~~|\n")
    assert series(sd.load(p, data_files=tmp_path / "a.tab"), ["x"])["x"][0] == 1.0
    assert series(sd.load(p, data_files=tmp_path / "b.tab"), ["x"])["x"][0] == 2.0
    (tmp_path / "a.tab").write_text("Time\tx\n0\t5\n4\t5\n")  # edited: the cached IR is stale
    assert series(sd.load(p, data_files=tmp_path / "a.tab"), ["x"])["x"][0] == 5.0


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("d.vdf", "", r"\.vdf data file .*export it"),
        ("d.xlsx", "", r"must be \.tab, \.csv, \.dat"),
        ("missing.tab", None, "does not exist"),
    ],
)
def test_unreadable_data_files_are_named(tmp_path: Path, name: str, text: str | None,
                                         match: str) -> None:  # fmt: skip
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(sd.errors.DataFileError, match=match):
        sd.load(write(tmp_path, "x ~~|\n"), data_files=tmp_path / name)


# -- GET DATA BETWEEN TIMES -----------------------------------------------------------------------
GDBT = """x ~~|
inside = GET DATA BETWEEN TIMES(x, 2, 0) ~~|
past = GET DATA BETWEEN TIMES(x, Time + 1, 0) ~~|
"""


def test_get_data_between_times_is_na_outside_the_points(tmp_path: Path) -> None:
    # Vensim: ':NA: if the time is before the first or after the last data point' (sd's NA: NaN)
    (tmp_path / "d.tab").write_text("Time\tx\n0\t0\n4\t40\n")
    got = series(sd.load(write(tmp_path, GDBT), data_files=tmp_path / "d.tab"), ["inside", "past"])
    np.testing.assert_array_equal(got["inside"], [20] * 5)
    np.testing.assert_array_equal(got["past"][:4], [10, 20, 30, 40])
    assert math.isnan(got["past"][4])


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        ("x ~~|\ny = GET DATA BETWEEN TIMES(x, 1, 2) ~~|\n", sd.UnsupportedFeatureError,
         r"variable 'y': GET DATA BETWEEN TIMES mode 2"),
        ("k = 1 ~~|\ny = GET DATA BETWEEN TIMES(k, 1, 0) ~~|\n", sd.UnsupportedFeatureError,
         r"GET DATA BETWEEN TIMES of 'k', which is not a data variable"),
        ("x ~~|\ny = GET DATA BETWEEN TIMES(x, 1) ~~|\n", sd.errors.ModelError,
         r"GET DATA BETWEEN TIMES takes 3 arguments"),
    ],
)  # fmt: skip
def test_get_data_between_times_refusals(tmp_path: Path, body: str, error: type,
                                         match: str) -> None:  # fmt: skip
    (tmp_path / "d.tab").write_text("Time\tx\n0\t0\n4\t40\n")
    with pytest.raises(error, match=match):
        sd.load(write(tmp_path, body), data_files=tmp_path / "d.tab")


# -- GET TIME VALUE -------------------------------------------------------------------------------
def test_get_time_value_relative_to_the_initial_time(tmp_path: Path) -> None:
    # Vensim: relative to 1 is the initial simulation time, offset in the model's units of time
    controls = "INITIAL TIME = 5 ~~|\nFINAL TIME = 8 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = 1 ~~|\n"
    body = "a = GET TIME VALUE(1, 2, 0) ~~|\nb = GET TIME VALUE(0, -1, 0) ~~|\n"
    got = series(sd.load(write(tmp_path, body, controls)), ["a", "b"])
    np.testing.assert_array_equal(got["a"], [7, 7, 7, 7])
    np.testing.assert_array_equal(got["b"], [4, 5, 6, 7])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ("GET TIME VALUE(2, 0, 0)", r"GET TIME VALUE\(2, ...\) \(relative to the computer's clock"),
        ("GET TIME VALUE(0, 0, 3)", r"GET TIME VALUE\(0, ..., 3\) \(month of year: a calendar"),
        ("GET TIME VALUE(1, 0, 10)", r"GET TIME VALUE\(1, ..., 10\) \(elapsed seconds"),
    ],
)
def test_get_time_value_clock_and_calendar_measures_are_refused(tmp_path: Path, call: str,
                                                                match: str) -> None:  # fmt: skip
    with pytest.raises(sd.UnsupportedFeatureError, match=r"m\.mdl:1 variable 'a': " + match):
        sd.load(write(tmp_path, f"a = {call} ~~|\n"))


@pytest.mark.skipif(CORPUS is None, reason="../shared/vensim-test-models not found")
def test_the_calendar_get_time_value_model_is_refused_by_name() -> None:
    # test_get_time_value.mdl asks for measures 1-10 (calendar values and the wall clock)
    assert CORPUS is not None
    with pytest.raises(sd.UnsupportedFeatureError, match=r"variable 'get time 0 dim 1\[A0\]': "
                       r"GET TIME VALUE\(0, ..., 1\) \(years since 1 BC"):  # fmt: skip
        sd.load(CORPUS / "tests/get_time_value/test_get_time_value.mdl")
