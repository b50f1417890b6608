"""Properties over random Vensim models (sd.testing.strategies): sd == pysd per draw, Euler conservation, and
planted bugs that these properties must catch."""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st
from profiles import examples

import sd
import sd.backends.numpy_ as numpy_backend
import sd.simulate as sd_simulate
from sd.testing.corpus import run_pysd
from sd.testing.strategies import GeneratedModel, params_for, vensim_models

SUPPRESS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def _write(gen: GeneratedModel) -> Path:
    path = Path(tempfile.mkdtemp(prefix="sd-prop-")) / "random.mdl"
    path.write_text(gen.text, encoding="utf-8")
    return path


def check_sd_equals_pysd(gen: GeneratedModel, params: dict[str, np.ndarray], n: int) -> None:
    note(f"model (.mdl):\n{gen.text}")
    path = _write(gen)
    model = sd.load(path)
    ds = model.run(params, draws=n)
    columns = [str(v) for v in ds.data_vars]
    # pysd names each element of a subscripted variable 'name[elem,...]'
    elements = []
    for name, da in ds.data_vars.items():
        dims = da.dims[2:]
        for idx in np.ndindex(*da.shape[2:]):
            label = str(name) + (
                "[" + ",".join(str(da[d].values[i]) for d, i in zip(dims, idx, strict=True)) + "]"
                if dims
                else ""
            )
            elements.append((label, str(name), idx))
    pmodel = None
    for d in range(n):
        draw = {k: float(v[d]) for k, v in params.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if pmodel is None:
                    pmodel, ref = run_pysd(path, params=draw, return_columns=columns)
                else:
                    ref = pmodel.run(params=draw, return_columns=columns)
            except (IndexError, ValueError, ZeroDivisionError, FloatingPointError):
                assume(False)  # pysd itself cannot run it (a delay's order lowered to 0, ...)
        assert np.allclose(ref.index.values, ds["time"].values, rtol=0, atol=1e-9)
        for col, var, idx in elements:
            expected = ref[col].to_numpy(dtype=float)
            scale = np.nanmax(np.abs(expected), initial=0.0)
            np.testing.assert_allclose(
                ds[var].values[(d, slice(None), *idx)],
                expected,
                rtol=1e-10,
                atol=1e-12 * (1 + scale),
                err_msg=f"draw {d} variable {col!r} params {draw}",
            )


@settings(max_examples=examples(150), suppress_health_check=SUPPRESS)
@given(gen=vensim_models(), data=st.data())
def test_random_models_equal_pysd_per_draw(gen, data) -> None:
    n = data.draw(st.integers(1, 2), label="draws")
    check_sd_equals_pysd(gen, data.draw(params_for(gen, n), label="params"), n)


def check_conservation(gen: GeneratedModel) -> None:
    """A stock's saved path is its previous value plus the saved net flow x dt, exactly."""
    note(f"model (.mdl):\n{gen.text}")
    model = sd.load(_write(gen))
    outputs = [name for s, flows in gen.stocks.items() for name in (s, *flows)]
    ds = model.run(outputs=outputs, saveper=gen.time_step)
    for stock, (inflow, outflow) in gen.stocks.items():
        s = ds[stock].values[0]
        net = ds[inflow].values[0] - ds[outflow].values[0]
        np.testing.assert_array_equal(s[1:], s[:-1] + net[:-1] * gen.time_step, err_msg=stock)


@settings(max_examples=examples(60), suppress_health_check=SUPPRESS)
@given(gen=vensim_models())
def test_euler_conservation(gen) -> None:
    check_conservation(gen)


def test_initial_values_are_saved_at_initial_time(write_mdl) -> None:
    path = write_mdl("s = INTEG(1, k)\n\t~\t\n\t~\t|\n\nk = 3\n\t~\t[1,5]\n\t~\t|\n")
    ds = sd.load(path).run({"k": np.array([1.0, 4.0])})
    np.testing.assert_array_equal(ds["s"].sel(time=0.0).values, [1.0, 4.0])


# -- planted bugs: each must make a property fail --------------------------------------------------


def _sequential_updates(generate):
    """A Gauss-Seidel bug: each stock moves before the next one's flows are recomputed."""

    def buggy(ir, outputs, *args):
        prog = generate(ir, outputs, *args)
        lines = prog.source.splitlines()
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "time = times[k]") + 1
        save = next(i for i, ln in enumerate(lines) if ln.strip() == "j = save[k]")
        core = lines[start:save]
        brk = next(i for i, ln in enumerate(lines) if ln.strip() == "break") + 1
        ddt = [ln for ln in lines[brk:] if re.match(r"\s+d_\w+ = ", ln)]
        upd = [ln for ln in lines[brk:] if re.match(r"\s+v_\w+ = v_\w+ \+ d_", ln)]
        if len(ddt) < 2 or len(ddt) != len(upd):
            return prog
        body = []
        for d_line, u_line in zip(ddt, upd, strict=True):
            body += [*core, d_line, u_line]
        rest = [ln for ln in lines[brk:] if ln not in ddt and ln not in upd]
        prog.source = "\n".join(lines[:brk] + body + rest) + "\n"
        return prog

    return buggy


def test_planted_sequential_update_bug_is_found(monkeypatch) -> None:
    monkeypatch.setattr(numpy_backend, "generate", _sequential_updates(numpy_backend.generate))

    # no shrinking: the point is that a failing example is found at all
    @settings(
        max_examples=examples(300), suppress_health_check=SUPPRESS, database=None, phases=[Phase.generate]
    )
    @given(gen=vensim_models(max_stocks=3))
    def prop(gen):
        assume(len(gen.stocks) >= 2)
        check_conservation(gen)

    with pytest.raises(AssertionError):
        prop()


def test_planted_off_by_one_save_rule_is_found(monkeypatch) -> None:
    original = sd_simulate.time_grid

    def off_by_one(t0, tf, dt, saveper):
        times, save, saved = original(t0, tf, dt, saveper)
        shifted = np.full_like(save, -1)
        shifted[1:] = save[:-1]  # row j now holds the values one step later
        return times, shifted, saved

    monkeypatch.setattr(sd_simulate, "time_grid", off_by_one)

    @settings(
        max_examples=examples(25), suppress_health_check=SUPPRESS, database=None, phases=[Phase.generate]
    )
    @given(gen=vensim_models(), data=st.data())
    def prop(gen, data):
        check_sd_equals_pysd(gen, data.draw(params_for(gen, 1)), 1)

    with pytest.raises(AssertionError):
        prop()


@settings(max_examples=examples(40), suppress_health_check=SUPPRESS)
@given(gen=vensim_models(), data=st.data())
def test_backends_agree_on_random_models(gen, data) -> None:
    """Every backend available here (numpy, fused CPU) gives the same draws, to 1e-12."""
    note(f"model (.mdl):\n{gen.text}")
    model = sd.load(_write(gen))
    params = data.draw(params_for(gen, 3), label="params")
    ref = model.run(params, backend="numpy")
    try:
        fused = model.run(params, backend="fused")
    except sd.BackendUnavailableError:
        pytest.skip("no C compiler for the fused backend on this machine")
    for col in ref.data_vars:
        a, b = ref[col].values, fused[col].values
        scale = np.nanmax(np.abs(a), initial=0.0)
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * (1 + scale), err_msg=str(col))


@settings(max_examples=examples(30), suppress_health_check=SUPPRESS)
@given(gen=vensim_models(), data=st.data())
def test_draw_order_permutation(gen, data) -> None:
    """Permuting the draws permutes the results and changes nothing else."""
    note(f"model (.mdl):\n{gen.text}")
    model = sd.load(_write(gen))
    n = 5
    params = data.draw(params_for(gen, n), label="params")
    perm = np.asarray(data.draw(st.permutations(range(n)), label="permutation"))
    a = model.run(params, draws=n)
    b = model.run({k: v[perm] for k, v in params.items()}, draws=n)
    for col in a.data_vars:
        np.testing.assert_array_equal(b[col].values, a[col].values[perm], err_msg=str(col))
