"""Reality checks and compound ``first_time`` conditions computed where the draws are computed (issue 17):
the stored values equal, bit for bit, the series path's (``plan(..., run_conditions=False)``, computed in
the same test), on numpy and fused, and the run saves only the series the store keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import write_teacup
from test_checks import SPEC as CHECKS_SPEC
from test_paired import MODEL as WIDGETS
from test_paired import OUTCOMES as WIDGET_OUTCOMES
from test_paired import PAIRED as WIDGET_PAIRED
from test_run_outcomes import _spec as outcomes_spec

import sd
from sd.sweep.checks import Check
from sd.sweep.chunk import compute_range
from sd.sweep.planning import Plan, plan
from sd.sweep.spec import Outcome as SpecOutcome
from sd.sweep.spec import load_spec
from sd.sweep.store import check_var

FLAGSHIP = Path(__file__).resolve().parents[2] / "sweeps" / "productivity_deflation.toml"
BACKENDS = ["numpy", pytest.param("fused", marks=pytest.mark.skipif(
    not sd.simulate.fused_available(), reason="no C compiler for the fused backend"))]  # fmt: skip


def _both(p: Plan, fallback: Plan, backend: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every chunk of both plans, concatenated along draw: (conditions on the run, series path)."""
    out = []
    for q in (p, fallback):
        parts = [compute_range(q, *q.bounds(i), backend=backend).arrays for i in range(q.n_chunks)]
        out.append({k: np.concatenate([a[k] for a in parts]) for k in parts[0]})
    return out[0], out[1]


def _assert_identical(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        assert got[k].dtype == v.dtype, k
        np.testing.assert_array_equal(got[k], v, err_msg=k)  # NaN equal to NaN


@pytest.mark.parametrize("backend", BACKENDS)
def test_teacup_outcomes_and_checks_equal_the_series_path(teacup_dir: Path, backend: str) -> None:
    """Outcomes sweep: the run saves every time step; the ``always`` check reads the stored (SAVEPER 1)
    rows only, the compound condition every step, the ``end`` check the last one."""
    spec = outcomes_spec(teacup_dir)
    p, fallback = plan(spec), plan(spec, run_conditions=False)
    assert p.ts_rows is not None and p.checks[1].run is not None and p.checks[1].run.rows == tuple(p.ts_rows)
    assert p.run_outputs == [] and fallback.run_outputs == ["Teacup Temperature", "Heat Loss to Room"]
    got, want = _both(p, fallback, backend)
    _assert_identical(got, want)
    # not vacuous: every condition holds for some draws and fails for others
    assert 0 < np.isnan(got["both"]).sum() < len(got["both"])
    for c in ("cool at end", "loss positive"):
        assert 0 < got[check_var(c)].sum() < len(got[check_var(c)]), c


def test_teacup_checks_stored_at_every_time_step(teacup_dir: Path) -> None:
    """outputs.saveper = TIME STEP: the stored times are every time step, so the ``always`` check reads
    every saved row (no rows given) and still equals the series path."""
    text = outcomes_spec(teacup_dir, '["Teacup Temperature"]').read_text(encoding="utf-8")
    (teacup_dir / "spec.toml").write_text(text.replace("saveper = 1\n", "saveper = 0.125\n"), encoding="utf-8")
    p, fallback = plan("spec.toml"), plan("spec.toml", run_conditions=False)
    assert p.checks[1].run is not None and p.checks[1].run.rows is None and len(p.times) == 241
    assert p.run_outputs == ["Teacup Temperature"]
    got, want = _both(p, fallback, "numpy")
    _assert_identical(got, want)
    assert 0 < got[check_var("loss positive")].sum() < len(got[check_var("loss positive")])


@pytest.mark.parametrize("backend", BACKENDS)
def test_teacup_checks_without_outcomes_equal_the_series_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             backend: str) -> None:  # fmt: skip
    """No outcomes: the run saves at SAVEPER and a check reads every saved time; one reads a sampled
    constant (Room Temperature) next to a stock."""
    write_teacup(tmp_path)
    (tmp_path / "spec.toml").write_text(CHECKS_SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    p, fallback = plan("spec.toml"), plan("spec.toml", run_conditions=False)
    assert p.ts_rows is None and all(c.run is not None for c in p.checks)
    assert p.run_outputs == fallback.run_outputs == ["Teacup Temperature", "Heat Loss to Room"]  # stored
    got, want = _both(p, fallback, backend)
    _assert_identical(got, want)
    assert 0 < got[check_var("gentle cooling")].sum() < len(got[check_var("gentle cooling")])


def test_widgets_compound_first_time_checks_and_pairs_equal_the_series_path(tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """RANDOM UNIFORM (numpy only): the compound ``first_time`` of the paired outcomes and checks that
    compare two variables, a variable with a constant and the final values."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "widgets.mdl").write_text(WIDGETS, encoding="utf-8")
    checks = ('[checks]\n"noise below" = "noise < 0.97"\n"level below" = "level <= growth * FINAL TIME + 12"\n'
              '"ends high" = { expr = "level > 8 + 4 * boost", when = "end" }\n')  # fmt: skip
    text = (
        'model = "widgets.mdl"\ndraws = 300\nseed = 5\nsampler = "mc"\nchunk = 110\nstore = "w.zarr"\n'
        '[parameters]\n"growth" = { dist = "uniform", low = 0, high = 1 }\n'
        '"boost" = { dist = "uniform", low = 0, high = 1 }\n'
        f"[outcomes]\n{WIDGET_OUTCOMES}{WIDGET_PAIRED}{checks}"
    )
    (tmp_path / "spec.toml").write_text(text, encoding="utf-8")
    p, fallback = plan("spec.toml"), plan("spec.toml", run_conditions=False)
    high = next(o for o in p.outcomes if o.name == "high and noisy")
    assert high.run is not None and high.run.kind == "when"
    assert p.run_outputs == [] and fallback.run_outputs == ["level", "noise", "FINAL TIME"]
    got, want = _both(p, fallback, "numpy")
    _assert_identical(got, want)
    assert 0 < np.isnan(got["effect of boost on high and noisy"]).sum() < 300
    for c in ("noise below", "level below", "ends high"):
        assert 0 < got[check_var(c)].sum() < 300, c


def test_a_condition_that_does_not_lower_stays_on_the_series_path(teacup_dir: Path) -> None:
    """Arithmetic on a comparison (numpy adds booleans as a logical or) is not lowered: the check reads
    the saved series, and its value is what the condition gives on them."""
    text = outcomes_spec(teacup_dir).read_text(encoding="utf-8")
    text += '"sum of tests" = "(Teacup Temperature > 100) + (Heat Loss to Room > 5) >= 1"\n'
    (teacup_dir / "spec.toml").write_text(text, encoding="utf-8")
    p = plan("spec.toml", backend="numpy")
    odd = next(c for c in p.checks if c.name == "sum of tests")
    assert odd.run is None and all(c.run is not None for c in p.checks if c is not odd)
    assert p.run_outputs == ["Teacup Temperature", "Heat Loss to Room"]
    data = compute_range(p, 0, 200).arrays
    ds = sd.load("teacup.mdl").run({k: data[k] for k in ("Characteristic Time", "Room Temperature")},
                                   outputs=["Teacup Temperature", "Heat Loss to Room"], saveper=1)  # fmt: skip
    T, L = ds["Teacup Temperature"].values, ds["Heat Loss to Room"].values
    np.testing.assert_array_equal(data[check_var("sum of tests")], ~((T > 100) | (L > 5)).all(axis=1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_flagship_checks_run_where_the_draws_are(tmp_path: Path, backend: str) -> None:
    """sweeps/productivity_deflation.toml, 256 draws: its eleven reality checks (which hold in these
    draws) and three planted conditions that hold in some draws only are computed by the run, which
    saves only the four stored series; every stored value equals the series path's."""
    spec = load_spec(FLAGSHIP)
    planted = {"planted: debt ratio stays below 1.2": Check("debt to GDP ratio <= 1.2"),
               "planted: prices end high": Check("price level > 1.2 and real GDP > 0", "end")}  # fmt: skip
    first = SpecOutcome(first_time="price level < 0.99 and debt to GDP ratio < 1")
    spec = spec.replace(checks={**spec.checks, **planted}, outcomes={**spec.outcomes, "planted: deflation": first})
    kw = {"draws": 256, "chunk": 256, "store": str(tmp_path / "pd.zarr")}
    p, fallback = plan(spec, **kw), plan(spec, run_conditions=False, **kw)
    stored = ["debt to GDP ratio", "federal debt held by public", "price level", "energy demand met fraction"]
    assert p.timeseries == stored and p.run_outputs == stored
    assert all(c.run is not None for c in p.checks) and all(o.run is not None for o in p.outcomes)
    assert set(fallback.run_outputs) > set(stored) and "real GDP" in fallback.run_outputs
    assert p.bytes_per_draw < fallback.bytes_per_draw
    got, want = _both(p, fallback, backend)
    _assert_identical(got, want)
    for c in planted:
        assert 0 < got[check_var(c)].sum() < 256, c
    assert 0 < np.isnan(got["planted: deflation"]).sum() < 256
