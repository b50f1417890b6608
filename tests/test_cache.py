"""The lowered-model cache (sd.cache): a warm load skips the parse and equals a fresh one; a changed model
or data file, a corrupt entry or another version is rebuilt; concurrent loads are safe; `sd cache clear`."""

from __future__ import annotations

import multiprocessing as mp
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sd
import sd.backends.numpy_
import sd.cache
import sd.frontend.vensim
import sd.simulate
from sd.cli import main

MODEL = """{{UTF-8}}
Characteristic Time = {ct}
\t~\tMinutes [5,15]
\t~\t|
Room Temperature = {room}
\t~\tDegrees Fahrenheit
\t~\t|
Heat Loss to Room = (Teacup Temperature - Room Temperature) / Characteristic Time
\t~\tDegrees Fahrenheit/Minute
\t~\t|
Teacup Temperature = INTEG(-Heat Loss to Room, 180)
\t~\tDegrees Fahrenheit
\t~\t|
INITIAL TIME = 0
\t~\tMinute
\t~\t|
FINAL TIME = 30
\t~\tMinute
\t~\t|
TIME STEP = 0.125
\t~\tMinute
\t~\t|
SAVEPER = 1
\t~\tMinute
\t~\t|
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("SD_CACHE_DIR", str(root))
    monkeypatch.delenv("SD_NO_CACHE", raising=False)
    return root


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every call of the frontend's parse (pysd), recorded."""
    calls: list[Path] = []
    real = sd.frontend.vensim.load_ir

    def counting(path: Path, data_files: object = None) -> object:
        calls.append(Path(path))
        return real(path, data_files)

    monkeypatch.setattr(sd.frontend.vensim, "load_ir", counting)
    return calls


def _write(folder: Path, ct: float = 10, room: str = "70") -> Path:
    path = folder / "teacup.mdl"
    path.write_text(MODEL.format(ct=ct, room=room), encoding="utf-8")
    return path


def _final(model: sd.Model) -> np.ndarray:
    return model.run({"Characteristic Time": [5.0, 10.0]}, outputs=["Teacup Temperature"])[
        "Teacup Temperature"
    ].values[:, -1]


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "ir").glob("*"))


def test_warm_load_skips_the_parse_and_equals_a_fresh_load(tmp_path: Path, cache: Path, parses: list) -> None:
    path = _write(tmp_path)
    cold = sd.load(path)
    warm = sd.load(path)
    assert len(parses) == 1
    assert [e.suffix for e in _entries(cache)] == [".pickle"]
    assert list(warm.ir.variables) == list(cold.ir.variables)
    np.testing.assert_array_equal(_final(warm), _final(cold))
    assert warm.path == path and warm.sha256 == cold.sha256


def test_changed_model_or_no_cache_is_parsed_again(tmp_path: Path, cache: Path, parses: list,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = _write(tmp_path, ct=10)
    sd.load(path)
    path = _write(tmp_path, ct=7)
    model = sd.load(path)
    assert len(parses) == 2 and len(_entries(cache)) == 2
    assert model.constants["Characteristic Time"].value == 7
    monkeypatch.setenv("SD_NO_CACHE", "1")
    sd.load(path)
    assert len(parses) == 3


def test_changed_data_file_is_rebuilt(tmp_path: Path, cache: Path, parses: list) -> None:
    path = _write(tmp_path, room="GET DIRECT CONSTANTS('room.csv', ',', 'B2')")
    (tmp_path / "room.csv").write_text("name,value\nroom,70\n", encoding="utf-8")
    a = sd.load(path)
    assert a.ir.files, "the model reads room.csv at load time"
    sd.load(path)
    assert len(parses) == 1
    (tmp_path / "room.csv").write_text("name,value\nroom,60\n", encoding="utf-8")
    b = sd.load(path)
    assert len(parses) == 2
    assert not np.array_equal(_final(a), _final(b))  # 60 degrees in the room now
    np.testing.assert_allclose(_final(b) - _final(a), -10 * (1 - np.exp(-30 / np.array([5.0, 10.0]))),
                               rtol=1e-2)  # fmt: skip


def test_corrupt_or_foreign_entry_is_rebuilt(tmp_path: Path, cache: Path, parses: list) -> None:
    path = _write(tmp_path)
    want = _final(sd.load(path))
    (entry,) = _entries(cache)
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    np.testing.assert_array_equal(_final(sd.load(path)), want)
    entry.write_bytes(pickle.dumps({"not": "an IR"}))
    np.testing.assert_array_equal(_final(sd.load(path)), want)
    assert len(parses) == 3
    sd.load(path)
    assert len(parses) == 3  # the rebuilt entry is good again


def test_key_changes_with_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path)
    k = sd.cache.ir_key(path, "0" * 64)
    assert sd.cache.ir_key(path, "1" * 64) != k
    monkeypatch.setattr("sd._version.__version__", "999.0")
    assert sd.cache.ir_key(path, "0" * 64) != k


def _load_in_child(path: str, cache: str, q: mp.Queue) -> None:
    import os

    os.environ["SD_CACHE_DIR"] = cache
    import sd as sd_child

    m = sd_child.load(path)
    r = m.run({"Characteristic Time": [5.0, 10.0]}, outputs=["Teacup Temperature"])
    q.put(r["Teacup Temperature"].values[:, -1].tolist())


def test_concurrent_loads_share_one_entry(tmp_path: Path, cache: Path) -> None:
    """Four processes load the same model into an empty cache at once: each gets the right model, one
    complete entry remains and no temporary file is left behind."""
    path = _write(tmp_path)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(str(path), str(cache), q)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    want = _final(sd.load(path)).tolist()
    assert results == [want] * 4
    assert [e.suffix for e in _entries(cache)] == [".pickle"]


def test_cache_clear_command(tmp_path: Path, cache: Path) -> None:
    sd.load(_write(tmp_path))
    assert _entries(cache)
    res = CliRunner().invoke(main, ["cache", "clear"])
    assert res.exit_code == 0, res.output
    assert "1 file(s)" in res.output and str(cache) in res.output
    assert not _entries(cache)
    res = CliRunner().invoke(main, ["cache", "info"])
    assert "0 file(s)" in res.output


def _programs(cache: Path) -> list[Path]:
    return sorted((cache / "numpy").glob("*"))


def test_warm_run_neither_generates_nor_compiles_the_program(tmp_path: Path, cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = _write(tmp_path)
    cold = _final(sd.load(path))
    assert [e.suffix for e in _programs(cache)] == [".pickle"]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the program was generated again")

    with monkeypatch.context() as mp:
        mp.setattr(sd.backends.numpy_, "generate", refuse)
        mp.setattr(sd.simulate, "compile", refuse, raising=False)  # nor compiled
        warm = _final(sd.load(path))
    np.testing.assert_array_equal(warm, cold)
    # another set of outputs is another program
    sd.load(path).run(outputs=["Heat Loss to Room"])
    assert len(_programs(cache)) == 2


def test_corrupt_program_entry_is_rebuilt_and_no_cache_skips_it(tmp_path: Path, cache: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    path = _write(tmp_path)
    want = _final(sd.load(path))
    (entry,) = _programs(cache)
    entry.write_bytes(entry.read_bytes()[:50])
    np.testing.assert_array_equal(_final(sd.load(path)), want)
    assert len(entry.read_bytes()) > 50  # rewritten whole
    entry.write_bytes(pickle.dumps({"source": "x"}))  # another layout
    np.testing.assert_array_equal(_final(sd.load(path)), want)
    entry.unlink()
    monkeypatch.setenv("SD_NO_CACHE", "1")
    np.testing.assert_array_equal(_final(sd.load(path)), want)
    assert not _programs(cache)


def test_pysd_version_is_the_installed_distributions() -> None:
    from importlib import metadata

    from sd._version import pysd_version

    assert pysd_version() == metadata.version("pysd")
