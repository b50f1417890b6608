"""Vensim's macros with output arguments (documentation, "Defining Macros" and "Using Macros"):
``:MACRO: FIT(x, y : total, count)`` called as ``gap = FIT(a, b : my total, my count)`` gives ``gap``
the value of the macro-named variable FIT and makes ``my total`` and ``my count`` model variables bound,
by position, to that call's ``total`` and ``count`` (with the calling equation's subscripts). Every
expected value below is derived by hand (Euler integration, TIME STEP 0.25)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd

MACRO = (
    ":MACRO: FIT(x, y : total, count)\nFIT = y - x ~~|\ntotal = INTEG(y, 0) ~~|\n"
    "count = INTEG(1, 0) ~~|\n:END OF MACRO:\n"
)
CONTROLS = "INITIAL TIME = 0 ~~|\nFINAL TIME = 1 ~~|\nTIME STEP = 0.25 ~~|\nSAVEPER = 0.25 ~~|\n"


def load(folder: Path, body: str) -> sd.Model:
    p = folder / "m.mdl"
    p.write_text("{UTF-8}\n" + body + CONTROLS, encoding="utf-8")
    return sd.load(p)


def test_outputs_become_model_variables(tmp_path: Path) -> None:
    model = load(tmp_path, MACRO + "a = Time ~~|\nb = 2 * Time ~~|\n"
                 "gap = FIT(a, b : my total, my count) ~~|\ntwice = 2 * my count ~~|\n")  # fmt: skip
    ds = model.run()
    t = np.arange(5) * 0.25
    np.testing.assert_allclose(ds["gap"].values[0], 2 * t - t)  # FIT = y - x
    # total = INTEG(b, 0): 0, 0, 0 + 0.5*0.25, + 1*0.25, + 1.5*0.25
    np.testing.assert_allclose(ds["my total"].values[0], [0, 0, 0.125, 0.375, 0.75])
    np.testing.assert_allclose(ds["my count"].values[0], t)  # INTEG(1, 0)
    np.testing.assert_allclose(ds["twice"].values[0], 2 * t)  # the output used by the model


def test_subscripted_call_and_a_second_call_in_an_expression(tmp_path: Path) -> None:
    body = MACRO + (
        "R: r1, r2 ~~|\nk[R] = 1, 3 ~~|\na[R] = k[R] * Time ~~|\nb[R] = 2 * k[R] * Time ~~|\n"
        "gap[R] = FIT(a[R], b[R] : tot, cnt) ~~|\n"
        # a call inside an expression, binding only the first output, with its own stocks
        "g2 = 1 + FIT(b[r2], 4 : t2) ~~|\n"
    )
    ds = load(tmp_path, body).run()
    t = np.arange(5) * 0.25
    k = np.array([1.0, 3.0])[:, None]
    np.testing.assert_allclose(ds["gap"].values[0].T, k * t)  # 2kt - kt
    # tot[R] = INTEG(2k Time, 0): k * (0, 0, 0.125, 0.375, 0.75); cnt[R] = Time for both
    np.testing.assert_allclose(ds["tot"].values[0].T, k * np.array([0, 0, 0.125, 0.375, 0.75]))
    np.testing.assert_allclose(ds["cnt"].values[0].T, np.vstack([t, t]))
    np.testing.assert_allclose(ds["g2"].values[0], 1 + 4 - 6 * t)  # 1 + (4 - b[r2])
    np.testing.assert_allclose(ds["t2"].values[0], 4 * t)  # INTEG(4, 0), not the first call's


def test_too_many_outputs_at_a_call_is_named(tmp_path: Path) -> None:
    with pytest.raises(sd.errors.ParseError, match=r"m\.mdl:8 variable 'gap': the call of macro "
                       r"FIT binds 'p, q, r' to its 2 outputs \(total, count\)"):  # fmt: skip
        load(tmp_path, MACRO + "a = Time ~~|\ngap = FIT(a, a : p, q, r) ~~|\n")


def test_random_numbers_in_the_macro_are_refused(tmp_path: Path) -> None:
    body = MACRO.replace("count = INTEG(1, 0)", "count = INTEG(RANDOM UNIFORM(0, 1, 1), 0)")
    with pytest.raises(sd.UnsupportedFeatureError, match=r"m\.mdl:8 variable 'gap': the macro FIT "
                       r"with output arguments draws random numbers \(its variable 'count', line 5\)"):
        load(tmp_path, body + "a = Time ~~|\ngap = FIT(a, a : p, q) ~~|\n")


def test_a_call_with_outputs_inside_another_macro_is_refused(tmp_path: Path) -> None:
    body = MACRO + ":MACRO: OUTER(z)\nOUTER = FIT(z, z : inner total) ~~|\n:END OF MACRO:\n"
    with pytest.raises(sd.UnsupportedFeatureError, match=r"m\.mdl:8 variable 'OUTER' of macro "
                       r"OUTER: a call of the macro FIT with output arguments inside another"):
        load(tmp_path, body + "c = OUTER(Time) ~~|\n")
