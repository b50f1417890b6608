"""The [paired] counterfactual: every draw also runs its twin with a few constants changed, and the store
holds outcome(draw) - outcome(twin), checked against two independent Model.run calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sd
from sd.cli import main
from sd.errors import SpecError
from sd.sweep import plan

MODEL = """{UTF-8}
growth = 0.5
\t~\tWidgets/Year [0,1]
\t~\t|

boost = 0.5
\t~\tWidgets/Year [0,1]
\t~\t|

boost switch = 1
\t~\tDmnl
\t~\t|

noise = RANDOM UNIFORM(0, 1, 0)
\t~\tWidgets/Year
\t~\t|

level = INTEG(growth + boost switch * boost + noise, 0)
\t~\tWidgets
\t~\t|

INITIAL TIME = 0
\t~\tYear
\t~\t|

FINAL TIME = 10
\t~\tYear
\t~\t|

TIME STEP = 0.5
\t~\tYear
\t~\t|

SAVEPER = TIME STEP
\t~\tYear
\t~\t|
"""

OUTCOMES = """\
"level final" = { var = "level", reduce = "final" }
"level at 5" = { var = "level", at = 5 }
"reaches 6" = { first_time = "level >= 6" }
"high and noisy" = { first_time = "level >= 4 and noise > 0.5" }
"""

PAIRED = """\
[paired]
prefix = "effect of boost on"
set = { "boost switch" = 0 }
outcomes = ["level final", "level at 5", "reaches 6", "high and noisy"]
"""


def write(folder: Path, *, draws: int = 200, sampler: str = '"mc"', chunk: int = 70, paired: str = PAIRED,
          params: str = "") -> Path:  # fmt: skip
    (folder / "widgets.mdl").write_text(MODEL, encoding="utf-8")
    text = (
        f'model = "widgets.mdl"\ndraws = {draws}\nseed = 11\nsampler = {sampler}\nchunk = {chunk}\n'
        'backend = "numpy"\nstore = "paired.zarr"\n'
        "[parameters]\n"
        '"growth" = { dist = "uniform", low = 0, high = 1 }\n'
        '"boost" = { dist = "uniform", low = 0, high = 1 }\n'
        f"{params}"
        f"[outcomes]\n{OUTCOMES}{paired}"
    )
    (folder / "spec.toml").write_text(text, encoding="utf-8")
    return folder / "spec.toml"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _first_time(hit: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.where(hit.any(axis=1), times[hit.argmax(axis=1)], np.nan)


def test_effect_is_the_difference_of_two_independent_runs(folder: Path) -> None:
    ds = sd.sweep(write(folder), scheduler="threads", workers=2).load()
    growth, boost = ds["growth"].values, ds["boost"].values
    model = sd.load(folder / "widgets.mdl")
    runs = {}
    for switch in (1.0, 0.0):  # one run of all draws each, not chunked: same draw indices 0..n-1
        r = model.run(
            {"growth": growth, "boost": boost, "boost switch": switch}, outputs=["level", "noise"]
        )
        runs[switch] = r
    times = runs[1.0]["time"].values
    at5 = int(np.flatnonzero(times == 5.0)[0])

    def outcomes(r: object) -> dict[str, np.ndarray]:
        level, noise = r["level"].values, r["noise"].values  # type: ignore[index]
        return {
            "level final": level[:, -1],
            "level at 5": level[:, at5],
            "reaches 6": _first_time(level >= 6, times),
            "high and noisy": _first_time((level >= 4) & (noise > 0.5), times),
        }

    on, off = outcomes(runs[1.0]), outcomes(runs[0.0])
    for name in on:
        np.testing.assert_array_equal(ds[name].values, on[name], err_msg=name)
        np.testing.assert_array_equal(ds[f"effect of boost on {name}"].values, on[name] - off[name],
                                      err_msg=name)  # fmt: skip
    # the twin drew the same random numbers: the effect on the final level is 20 steps x 0.5 x boost
    np.testing.assert_allclose(ds["effect of boost on level final"].values, 10 * boost, rtol=1e-12)
    # where the twin never reaches 6 within the run, the effect is NaN; it does for most draws
    effect = ds["effect of boost on reaches 6"].values
    assert 0 < np.isnan(effect).sum() < len(effect)
    assert (effect[~np.isnan(effect)] <= 0).all()  # with the boost on, level reaches 6 no later
    # the compound first_time condition is evaluated and differs from the simple one
    assert not np.array_equal(ds["high and noisy"].values, ds["reaches 6"].values, equal_nan=True)
    attrs = ds["effect of boost on level final"].attrs
    assert attrs["outcome"] == "level final" and json.loads(attrs["paired"]) == {
        "boost switch": 0.0
    }
    assert attrs["units"] == "Widgets"


def test_paired_is_part_of_the_identity_and_the_dry_run(folder: Path) -> None:
    spec = write(folder, draws=60, chunk=30)
    key = plan(spec).key
    assert key["paired"] == {"prefix": "effect of boost on", "set": {"boost switch": 0.0},
                             "outcomes": ["level final", "level at 5", "reaches 6", "high and noisy"]}  # fmt: skip
    assert "paired" not in plan(write(folder, draws=60, chunk=30, paired="")).key
    res = CliRunner().invoke(main, ["sweep", str(write(folder, draws=60, chunk=30)), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert re.search(r"paired +every draw also runs its twin with boost switch = 0 \(2 runs per draw\); "
                     r"4 effect\(s\) stored as 'effect of boost on <outcome>'", res.output), res.output  # fmt: skip
    sd.sweep(spec, scheduler="sync")
    write(
        folder,
        draws=60,
        chunk=30,
        paired=PAIRED.replace('"boost switch" = 0', '"boost switch" = 0.5'),
    )
    with pytest.raises(SpecError, match=r"different sweep \(differs in: paired"):
        sd.sweep(spec, scheduler="sync")


@pytest.mark.parametrize(
    ("paired", "params", "pattern"),
    [
        (
            PAIRED.replace('"boost switch"', '"boost swich"'),
            "",
            r"paired\.set\.'boost swich': 'boost swich' is not a variable of widgets\.mdl; did you mean "
            r"'boost switch'",
        ),
        (
            PAIRED.replace('"boost switch" = 0', '"boost" = 0'),
            "",
            r"paired\.set\.'boost': 'boost' is a sampled parameter",
        ),
        (
            PAIRED.replace('"boost switch" = 0', '"level" = 0'),
            "",
            r"paired\.set\.'level': 'level' is a stock, not a constant",
        ),
        (
            PAIRED.replace('"boost switch" = 0', '"boost switch" = "off"'),
            "",
            r"paired\.set\.'boost switch': expected a number, got 'off'",
        ),
        (
            PAIRED.replace('"reaches 6", ', '"reaches 7", '),
            "",
            r"paired\.outcomes 'reaches 7': not an outcome of \[outcomes\]; did you mean 'reaches 6'",
        ),
        (
            PAIRED.replace('prefix = "effect of boost on"', 'prefix = ""'),
            "",
            r"paired\.prefix: expected a non-empty",
        ),
        (PAIRED + 'colour = "red"\n', "", r"paired\.colour: unknown key"),
        (
            PAIRED,
            '"effect of boost on level final" = 1\n',
            r"paired\.prefix: the effect 'effect of boost on level final' has the name of an outcome, a parameter",
        ),
    ],
)
def test_bad_paired_tables_are_refused(
    folder: Path, paired: str, params: str, pattern: str
) -> None:
    with pytest.raises(SpecError) as err:
        plan(write(folder, paired=paired, params=params))
    assert str(err.value).startswith(str(folder / "spec.toml") + ": "), err.value
    assert re.search(pattern, str(err.value)), err.value
    assert not (folder / "paired.zarr").exists()


def test_sobol_indices_of_an_effect(folder: Path) -> None:
    """The effects are outcomes like any other for sd.analyze (Python and CLI)."""
    spec = write(folder, draws=256 * 6, sampler='"saltelli"', chunk=512)
    sd.sweep(spec, scheduler="sync")
    res = sd.analyze.sobol("paired.zarr", "effect of boost on level final")
    s1 = res["S1"].to_series()
    assert s1["boost"] == pytest.approx(
        1.0, abs=0.05
    )  # the effect is 10 x boost: all of its variance
    assert abs(s1["growth"]) < 0.05
    out = CliRunner().invoke(
        main, ["analyze", "sobol", "paired.zarr", "--outcome", "effect of boost on level final"]
    )
    assert out.exit_code == 0, out.output
    assert "effect of boost on level final" in out.output
    assert re.search(r"^boost\s+(0\.9\d+|1\.0\d+)\s", out.output, re.M), out.output


def test_paired_in_python_matches_toml(folder: Path) -> None:
    from sd.sweep import Paired, Spec

    toml = plan(write(folder, draws=60, chunk=30))
    spec = Spec(model=folder / "widgets.mdl", draws=60, seed=11, chunk=30, backend="numpy", store="paired.zarr",
                parameters={"growth": {"dist": "uniform", "low": 0, "high": 1},
                            "boost": {"dist": "uniform", "low": 0, "high": 1}},
                outcomes={"level final": {"var": "level", "reduce": "final"},
                          "level at 5": {"var": "level", "at": 5},
                          "reaches 6": {"first_time": "level >= 6"},
                          "high and noisy": {"first_time": "level >= 4 and noise > 0.5"}},
                paired=Paired("effect of boost on", {"boost switch": 0},
                              ("level final", "level at 5", "reaches 6", "high and noisy")))  # fmt: skip
    assert plan(spec).key == toml.key
    assert spec.to_dict()["paired"] == toml.spec.to_dict()["paired"]


def test_fused_twin_agrees_with_numpy(folder: Path) -> None:
    spec = write(folder, draws=120, chunk=60)
    model = MODEL.replace("RANDOM UNIFORM(0, 1, 0)", "0.25 + 0.5 * growth")  # fused has no RANDOM
    (folder / "widgets.mdl").write_text(model, encoding="utf-8")
    a = sd.sweep(spec, store="numpy.zarr", scheduler="sync").load()
    try:
        b = sd.sweep(spec, store="fused.zarr", scheduler="sync", backend="fused").load()
    except sd.BackendUnavailableError:
        pytest.skip("no C compiler for the fused backend here")
    assert b.attrs["backend_used"] == ["fused-cpu"]
    for name in ("level final", "level at 5", "reaches 6", "high and noisy"):
        effect = f"effect of boost on {name}"
        np.testing.assert_allclose(b[effect].values, a[effect].values, rtol=1e-12, atol=1e-12,
                                   equal_nan=True, err_msg=effect)  # fmt: skip


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_cli_summary_from_kept_chunks_equals_the_store(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                       scheduler: str) -> None:  # fmt: skip
    """`sd sweep` prints its summary from the outcomes its chunks kept in memory; a rerun on the finished
    store (nothing left to run) reads them back instead. Both print the same lines, and each line's
    median and 90% interval are numpy's quantiles of the stored values."""
    import sd.cli as cli

    write(folder, draws=300, chunk=70)
    used: list[bool] = []
    real = cli._Kept.arrays

    def arrays(self):  # type: ignore[no-untyped-def]
        got = real(self)
        used.append(got is not None)
        return got

    monkeypatch.setattr(cli._Kept, "arrays", arrays)
    first = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", scheduler])
    again = CliRunner().invoke(main, ["sweep", "spec.toml", "--scheduler", scheduler])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert used == [True, False]  # kept by the first run's chunks; the rerun ran none and read the store

    def lines(out: str) -> list[str]:
        return [ln for ln in out.splitlines() if ln.startswith("  ")]

    assert lines(first.output) == lines(again.output) and len(lines(first.output)) == 8
    ds = sd.open("paired.zarr")
    for name in ("level final", "effect of boost on level at 5"):
        vals = ds[name].values
        q = np.quantile(vals[np.isfinite(vals)], [0.05, 0.5, 0.95])
        want = f"  {name}: median {q[1]:.6g}  90% [{q[0]:.6g}, {q[2]:.6g}]"
        assert want in lines(first.output)
    reach = ds["reaches 6"].values
    share = f"holds in {100 * np.isfinite(reach).mean():.2f}% of draws"
    assert any(ln.startswith(f"  reaches 6: {share}") for ln in lines(first.output))
