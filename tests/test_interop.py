"""SALib problems <-> sweep specs, and the pysd drop-in sd.read_vensim compared with real pysd."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from model_texts import TEACUP, write_sir

import sd
from sd.errors import ParamError, SpecError
from sd.interop import from_problem, spec_with_problem, to_problem
from sd.sweep.spec import Spec


def _pysd(path: Path):  # type: ignore[no-untyped-def]
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pysd.read_vensim(str(path))


@pytest.fixture
def teacup(tmp_path: Path) -> Path:
    p = tmp_path / "teacup.mdl"
    p.write_text(TEACUP % "Degrees Fahrenheit/Minute", encoding="utf-8")
    return p


def test_read_vensim_equals_pysd_default_run(teacup: Path, tmp_path: Path) -> None:
    for path in (teacup, write_sir(tmp_path)):
        ours = sd.read_vensim(path).run()
        theirs = _pysd(path).run()
        assert list(ours.columns) == list(theirs.columns)
        assert ours.index.name == theirs.index.name == "time"
        np.testing.assert_allclose(ours.index.to_numpy(), theirs.index.to_numpy())
        np.testing.assert_allclose(
            ours.to_numpy(dtype=float), theirs.to_numpy(dtype=float), rtol=1e-10
        )


def test_read_vensim_arguments_equal_pysd(teacup: Path) -> None:
    kw = dict(params={"Room Temperature": 60, "characteristic_time": 7},
              return_columns=["Teacup Temperature", "heat_loss_to_room", "Room Temperature"],
              final_time=10, saveper=1)  # fmt: skip
    ours, theirs = sd.read_vensim(teacup).run(**kw), _pysd(teacup).run(**kw)
    assert list(ours.columns) == list(theirs.columns) == kw["return_columns"]
    assert ours.shape == theirs.shape == (11, 3)
    np.testing.assert_allclose(ours.to_numpy(dtype=float), theirs.to_numpy(dtype=float), rtol=1e-10)
    ts = [0, 2.5, 7.25]
    a = sd.read_vensim(teacup).run(return_columns=["Teacup Temperature"], return_timestamps=ts)
    b = _pysd(teacup).run(return_columns=["Teacup Temperature"], return_timestamps=ts)
    np.testing.assert_allclose(a.index.to_numpy(), ts)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-10)
    m = sd.read_vensim(teacup)
    m.set_components({"Room Temperature": 50})
    assert m.run(return_columns=["Room Temperature"])["Room Temperature"].eq(50).all()
    assert m.doc().set_index("Real Name").loc["Room Temperature", "Units"] == "Degrees Fahrenheit"
    with pytest.raises(ParamError, match="return column 'Nope' is not a variable"):
        m.run(return_columns=["Nope"])
    with pytest.raises(ParamError, match=r"time series .* not supported"):
        m.run(params={"Room Temperature": pd.Series([1.0, 2.0], index=[0, 1])})


def test_read_vensim_subscripted_equals_pysd(corpus: Path) -> None:
    path = corpus / "samples/Population/Subscripted Population Model.mdl"
    ours, theirs = sd.read_vensim(path).run(), _pysd(path).run()
    assert list(ours.columns) == list(theirs.columns)
    np.testing.assert_allclose(ours.to_numpy(dtype=float), theirs.to_numpy(dtype=float), rtol=1e-10)


def _spec(teacup: Path, **params) -> Spec:  # type: ignore[no-untyped-def]
    return Spec(model=str(teacup), draws=64, parameters=params,
                outcomes={"T10": {"var": "Teacup Temperature", "at": 10}})  # fmt: skip


def test_problem_round_trip(teacup: Path) -> None:
    spec = _spec(teacup, **{
        "Characteristic Time": {"dist": "triangular", "low": 5, "mode": 8, "high": 15},
        "Room Temperature": {"dist": "truncnormal", "mean": 70, "sd": 5, "low": 60, "high": 80},
    })  # fmt: skip
    p = to_problem(spec)
    assert p["names"] == ["Characteristic Time", "Room Temperature"]
    assert p["dists"] == ["triang", "truncnorm"]
    assert p["bounds"] == [[5.0, 15.0, 0.3], [60.0, 80.0, 70.0, 5.0]]
    back = spec_with_problem(spec, p, replace=True)
    assert {k: v.to_dict() for k, v in back.distributions.items()} == {
        k: v.to_dict() for k, v in spec.distributions.items()
    }
    # SALib's own scaling of a unit sample equals the spec distributions' ppf
    from SALib.util import scale_samples

    u = np.random.default_rng(0).random((50, 2))
    scaled = scale_samples(u.copy(), dict(p))
    for j, d in enumerate(spec.distributions.values()):
        np.testing.assert_allclose(scaled[:, j], d.ppf(u[:, j]), rtol=1e-10)


def test_problem_ranges_from_model_and_store(teacup: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    spec = _spec(teacup, **{"Room Temperature": {"dist": "uniform", "low": 60, "high": 80},
                            "Characteristic Time": {"dist": "loguniform", "low": 5, "high": 20}})  # fmt: skip
    ds = sd.sweep(spec.replace(store=str(tmp_path / "s.zarr")), scheduler="sync", progress=False)
    p = to_problem(ds)
    assert p["names"] == ["Room Temperature", "Characteristic Time"]
    assert p["bounds"] == [[60.0, 80.0], [5.0, 20.0]] and p["dists"] == ["unif", "logunif"]
    assert dict(to_problem(str(tmp_path / "s.zarr")))["bounds"] == p["bounds"]
    p2 = {"names": ["Room Temperature"], "bounds": [[50, 90]]}
    merged = spec_with_problem(spec, p2)
    assert merged.distributions["Room Temperature"].to_dict() == {
        "dist": "uniform",
        "low": 50.0,
        "high": 90.0,
    }
    assert "Characteristic Time" in merged.distributions


def test_problem_errors(teacup: Path) -> None:
    spec = _spec(teacup, **{"Room Temperature": {"dist": "beta", "a": 2, "b": 2}})
    with pytest.raises(SpecError, match=r"'Room Temperature'.*'beta' has no SALib equivalent"):
        to_problem(spec)
    with pytest.raises(SpecError, match=r"parameter 'x' \(weird .*unknown dist"):
        from_problem({"names": ["x"], "bounds": [[0, 1]], "dists": ["weird"]})
    with pytest.raises(SpecError, match=r"expected 3 numbers in bounds"):
        from_problem({"names": ["x"], "bounds": [[0, 1]], "dists": ["triang"]})
    with pytest.raises(SpecError, match="1 names, 2 bounds"):
        from_problem({"names": ["x"], "bounds": [[0, 1], [0, 2]]})
