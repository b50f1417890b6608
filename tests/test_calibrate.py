"""Calibration (sd.calibrate): SIR's parameters recovered from noisy data, reproducibly; errors; CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from model_texts import write_sir

import sd
from sd.errors import ParamError, SDError

FIT = {"Contact Infectivity": (0.05, 1.0), "Duration": (1.0, 20.0)}


def noisy_data(model: sd.Model, noise: float = 0.01, seed: int = 0) -> pd.DataFrame:
    """Daily Infectious and Recovered of the true run, times (1 + noise * N(0, 1))."""
    truth = model.run(outputs=["Infectious", "Recovered"], saveper=1)
    rng = np.random.default_rng(seed)
    cols = {
        s: truth[s].to_numpy()[0] * (1 + noise * rng.standard_normal(truth.sizes["time"]))
        for s in ("Infectious", "Recovered")
    }
    return pd.DataFrame(cols, index=pd.Index(truth["time"].to_numpy(), name="time"))


@pytest.fixture
def sir(tmp_path: Path) -> sd.Model:
    return sd.load(write_sir(tmp_path))


def test_recovers_sir_within_2_percent_and_is_seed_reproducible(sir: sd.Model) -> None:
    data = noisy_data(sir)
    res = sd.calibrate(sir, data, FIT, seed=3)
    assert res.best["Contact Infectivity"] == pytest.approx(0.3, rel=0.02)
    assert res.best["Duration"] == pytest.approx(5.0, rel=0.02)
    # one run per population: far fewer runs than candidates
    assert res.runs * 20 <= res.evaluations
    assert list(res.history.columns[:2]) == ["evaluations", "best_loss"]
    assert np.all(np.diff(res.history["best_loss"].to_numpy()) <= 0)
    # the fitted run is the model at best, with the loss the docstring defines
    fitted = res.run
    assert fitted.sizes["draw"] == 1
    idx = np.searchsorted(fitted["time"].to_numpy(), data.index.to_numpy())
    loss = 0.0
    for s in data.columns:
        d = data[s].to_numpy()
        loss += ((fitted[s].to_numpy()[0, idx] - d) ** 2).sum() / d.var()
    assert res.loss == pytest.approx(loss, rel=1e-9)
    again = sd.calibrate(sir, data, FIT, seed=3)
    assert again.best == res.best and again.loss == res.loss


def test_nan_and_csv_and_tab_data(sir: sd.Model, tmp_path: Path) -> None:
    data = noisy_data(sir)
    data.iloc[::3, 0] = np.nan  # Infectious observed two days in three
    data.iloc[:40, 1] = np.nan  # Recovered only from day 40
    csv = tmp_path / "obs.csv"
    data.to_csv(csv)
    tab = tmp_path / "obs.tab"
    data.to_csv(tab, sep="\t")
    a = sd.calibrate(sir, csv, FIT, seed=1, maxiter=60)
    b = sd.calibrate(sir, tab, FIT, seed=1, maxiter=60)
    c = sd.calibrate(sir, data, FIT, seed=1, maxiter=60)
    assert a.best == b.best == c.best
    assert a.best["Contact Infectivity"] == pytest.approx(0.3, rel=0.02)
    assert a.best["Duration"] == pytest.approx(5.0, rel=0.02)


def test_log_scale_and_weights(sir: sd.Model) -> None:
    data = noisy_data(sir)[["Infectious"]]
    res = sd.calibrate(sir, data, FIT, seed=2, log=True, weights={"Infectious": 2.0}, maxiter=80)
    assert res.weights == {"Infectious": 2.0}
    assert res.best["Contact Infectivity"] == pytest.approx(0.3, rel=0.02)
    y = res.run["Infectious"].to_numpy()[0, np.searchsorted(res.run["time"].to_numpy(), data.index)]
    assert res.loss == pytest.approx(2.0 * ((np.log(y) - np.log(data["Infectious"])) ** 2).sum())


def test_posterior_feeds_a_csv(sir: sd.Model, tmp_path: Path) -> None:
    res = sd.calibrate(sir, noisy_data(sir), FIT, seed=5, maxiter=60, posterior=400, walkers=32,
                       burn=40)  # fmt: skip
    post = res.posterior
    assert list(post.columns) == ["Contact Infectivity", "Duration"] and len(post) == 400
    assert post["Duration"].mean() == pytest.approx(5.0, rel=0.02)
    assert post["Contact Infectivity"].mean() == pytest.approx(0.3, rel=0.02)
    assert post["Duration"].std() > 0 and 0.1 < res.acceptance < 0.9
    lo, hi = FIT["Duration"]
    assert post["Duration"].between(lo, hi).all()
    back = pd.read_csv(res.save_posterior(tmp_path / "post.csv"))
    np.testing.assert_array_equal(back.to_numpy(), post.to_numpy())
    text = res.to_toml()
    doc = tomllib.loads(text)
    assert doc["best"] == res.best and doc["posterior"]["samples"] == 400
    again = sd.calibrate(sir, noisy_data(sir), FIT, seed=5, maxiter=60, posterior=400, walkers=32,
                         burn=40)  # fmt: skip
    np.testing.assert_array_equal(again.posterior.to_numpy(), post.to_numpy())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"Contact Infectivty": (0, 1)},
            "'Contact Infectivty' is not a variable.*did you mean 'Contact Infectivity'",
        ),
        ({"Recovering": (0, 1)}, "'Recovering' is an auxiliary, not a constant"),
        ({"Duration": (5, 1)}, "bounds of 'Duration' must be finite with low < high"),
        ({"Duration": (1, float("inf"))}, "bounds of 'Duration' must be finite"),
        ({"Total Population": None}, "bounds of 'Total Population' must be .*the model gives no"),
        ({}, "no parameters to fit"),
    ],
)
def test_bad_params(sir: sd.Model, params: dict, match: str) -> None:
    with pytest.raises(ParamError, match=match):
        sd.calibrate(sir, noisy_data(sir), params)


def test_bad_data(sir: sd.Model, tmp_path: Path) -> None:
    data = noisy_data(sir)
    with pytest.raises(SDError, match=r"column 'Infected' is not a variable of sir.mdl"):
        sd.calibrate(sir, data.rename(columns={"Infectious": "Infected"}), FIT)
    off = data.copy()
    off.index = off.index + 0.01
    with pytest.raises(SDError, match=r"time 0.01 is not a save time of the run of sir.mdl"):
        sd.calibrate(sir, off, FIT)
    with pytest.raises(SDError, match=r"nothere.csv: data file not found"):
        sd.calibrate(sir, tmp_path / "nothere.csv", FIT)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,Infectious\n0,5\n1,abc\n", encoding="utf-8")
    with pytest.raises(SDError, match=r"bad.csv: column 'Infectious' is not numeric"):
        sd.calibrate(sir, bad, FIT)
    with pytest.raises(SDError, match=r"series 'Infectious' has values <= 0; log=True"):
        sd.calibrate(sir, data.assign(Infectious=data["Infectious"] - 100), FIT, log=True)
    # the model's own range is used when bounds are None
    res = sd.calibrate(sir, data, {"Duration": None, "Contact Infectivity": (0.05, 1)}, seed=1,
                       maxiter=40)  # fmt: skip
    assert res.bounds["Duration"] == (1.0, 20.0)


def test_cli(sir: sd.Model, tmp_path: Path) -> None:
    from sd.cli import main

    data = tmp_path / "obs.csv"
    noisy_data(sir).to_csv(data)
    out = tmp_path / "fit.toml"
    res = CliRunner().invoke(main, ["calibrate", str(sir.path), str(data), "--fit",
                                    "Contact Infectivity=0.05:1", "--fit", "Duration=1:20",
                                    "--seed", "3", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Duration = 5.0" in res.output or "Duration = 4.9" in res.output
    doc = tomllib.loads(out.read_text(encoding="utf-8"))
    assert doc["best"]["Duration"] == pytest.approx(5.0, rel=0.02)
    assert doc["seed"] == 3 and doc["method"] == "de"
    assert doc["best"] == sd.calibrate(sir, data, FIT, seed=3).best
    bad = CliRunner().invoke(
        main, ["calibrate", str(sir.path), str(data), "--fit", "Duration=1-20"]
    )
    assert bad.exit_code == 2 and "expected NAME=LOW:HIGH" in bad.output


def test_posterior_feeds_a_sweep(
    sir: sd.Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """calibrate -> posterior CSV -> a spec's dist = "samples" -> sd.sweep: every drawn value is a row of
    the file, and draws do not depend on the chunking."""
    from sd.sweep.spec import load_spec

    monkeypatch.chdir(tmp_path)
    res = sd.calibrate(
        sir, noisy_data(sir), FIT, seed=5, maxiter=40, posterior=200, walkers=20, burn=20
    )
    res.save_posterior(tmp_path / "posterior.csv")
    text = (
        'model = "sir.mdl"\ndraws = 256\nseed = 3\nsampler = "sobol"\nchunk = 64\nstore = "a.zarr"\n'
        "[parameters]\n"
        '"Duration" = { dist = "samples", file = "posterior.csv", column = "Duration" }\n'
        '"Contact Infectivity" = { dist = "samples", file = "posterior.csv", column = "Contact Infectivity" }\n'
        '[outcomes]\n"peak" = { var = "Infectious", reduce = "max" }\n'
    )
    (tmp_path / "spec.toml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "spec.toml")
    d = spec.distributions["Duration"]
    assert d.args["rows"] == 200 and len(d.args["sha256"]) == 64
    a = sd.sweep(spec, scheduler="sync", progress=False)
    b = sd.sweep(spec.replace(chunk=256, store="b.zarr"), scheduler="sync", progress=False)
    dur = a["Duration"].to_numpy()
    assert set(dur) <= set(res.posterior["Duration"]) and len(set(dur)) > 50
    np.testing.assert_array_equal(dur, b["Duration"].to_numpy())
    np.testing.assert_array_equal(a["peak"].to_numpy(), b["peak"].to_numpy())
    # the runs used the drawn values: a draw's peak equals a direct run with its parameters
    k = 17
    direct = sir.run({"Duration": dur[k], "Contact Infectivity": a["Contact Infectivity"].to_numpy()[k]},
                     outputs=["Infectious"])  # fmt: skip
    assert a["peak"].to_numpy()[k] == pytest.approx(float(direct["Infectious"].max()), rel=1e-9)
    from sd.errors import SpecError

    for bad, match in (
        (text.replace('file = "posterior.csv", column = "Duration"', 'file = "nope.csv", column = "Duration"'),
         r"parameters.'Duration'.file: no such file 'nope.csv'"),
        (text.replace('column = "Duration"', 'column = "Duratoin"'),
         r"has no column 'Duratoin'; did you mean 'Duration'"),
    ):  # fmt: skip
        (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
        with pytest.raises(SpecError, match=match):
            load_spec(tmp_path / "bad.toml")
