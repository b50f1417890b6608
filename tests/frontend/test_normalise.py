"""The normalisation pass before pysd's parser: one small model per construct pysd's grammar rejects.

Each model is written here (no third-party text); values are what Vensim computes for them by its
documented semantics (comments ignored, continuations joined, macros inlined wherever they appear).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.frontend.normalise import normalise, normalise_text

CONTROLS = "INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = TIME STEP ~~|\n"


def write(tmp_path: Path, text: str, name: str = "m.mdl") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def run1(path: Path, var: str) -> np.ndarray:
    ds = sd.load(path).run(outputs=[var])
    return ds[var].values[0]


def test_comments_inside_expressions(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "{UTF-8}\nDimA: A1, A2, A3 ~~|\n"
        "a[DimA] = 0, {first} 1, {second\n spans lines} 2 ~~|\n"
        "b = 41 {first part} + 1 {second {nested} part} ~ units ~ doc {kept} |\n"
        "c = {leading} 3\n  {trailing} ~~|\n" + CONTROLS,
    )
    assert run1(p, "b")[0] == 42
    assert run1(p, "c")[0] == 3
    ds = sd.load(p).run(outputs=["a"])
    assert ds["a"].values[0, 0].tolist() == [0, 1, 2]


def test_pipe_and_braces_inside_quoted_names(tmp_path: Path) -> None:
    p = write(tmp_path, '"odd | name {x}" = 2 ~~|\nb = "odd | name {x}" * 3 ~~|\n' + CONTROLS)
    assert run1(p, "b")[0] == 6


def test_line_continuations_with_any_indentation(tmp_path: Path) -> None:
    p = write(tmp_path, "a = 1 + \\\n        2 + \\\n  3 ~~|\n" + CONTROLS)
    assert run1(p, "a")[0] == 6


@pytest.mark.parametrize("where", ["top", "middle", "end"])
def test_macro_anywhere(tmp_path: Path, where: str) -> None:
    macro = ":MACRO: DOUBLE(x)\nDOUBLE = 2 * x\n ~ x\n ~ twice x\n |\n:END OF MACRO:\n"
    body = "a = 5 ~~|\nb = DOUBLE(a) ~~|\n"
    text = {
        "top": "{UTF-8}\n" + macro + body + CONTROLS,
        "middle": "{UTF-8}\n" + "a = 5 ~~|\n" + macro + "b = DOUBLE(a) ~~|\n" + CONTROLS,
        "end": "{UTF-8}\n" + body + CONTROLS + macro,
    }[where]
    assert run1(write(tmp_path, text), "b")[0] == 10


def test_macro_before_everything_without_header(tmp_path: Path) -> None:
    text = ":MACRO: HALF(x)\nHALF = x / 2 ~~|\n:END OF MACRO:\na = HALF(8) ~~|\n" + CONTROLS
    assert run1(write(tmp_path, text), "a")[0] == 4


def test_control_variable_dollar_references_in_macros(tmp_path: Path) -> None:
    text = (
        ":MACRO: STEPS(x)\nSTEPS = x / TIME STEP$ ~~|\n:END OF MACRO:\n"
        "a = STEPS(3) ~~|\n" + CONTROLS.replace("TIME STEP = 1", "TIME STEP = 0.5")
    )
    assert run1(write(tmp_path, text), "a")[0] == 6


def test_units_with_dollar_and_open_ranges(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "price = 3 ~ $/Widget [0,?] ~|\ncost = 2 ~ $ [?, 10, ] ~|\n"
        "margin = price - cost ~ $/Widget [0, , 0.1] ~|\n" + CONTROLS,
    )
    m = sd.load(p)
    assert run1(p, "margin")[0] == 1
    assert m.constants["price"].units.startswith("$")


def test_header_and_settings_sections(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "{UTF-8}\n{another header}\na = 1 ~~|\n"
        + CONTROLS
        + "\\\\\\---/// Sketch information\nV300\n*View 1\n$0-0-0,0,|0||0-0-0|\n"
        "10,1,a,100,100,40,20,8,3,0,0,0,0,0,0\n///---\\\\\\\n:L<%^E!@\n1:Current.vdf\n9:Current\n",
    )
    assert run1(p, "a")[0] == 1


def test_settings_without_sketch(tmp_path: Path) -> None:
    p = write(tmp_path, "a = 1 ~~|\n" + CONTROLS + ":L<%^E!@\n1:x.vdf\n")
    assert run1(p, "a")[0] == 1
    assert "1:x.vdf" in normalise(p.read_text()).settings


def test_tabbed_array(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "DimA: A1, A2 ~~|\nDimB: B1, B2 ~~|\n"
        "pop[DimA, DimB] = TABBED ARRAY(\n\t1\t2\n\t5\t6) ~~|\n" + CONTROLS,
    )
    ds = sd.load(p).run(outputs=["pop"])
    assert ds["pop"].values[0, 0].tolist() == [[1, 2], [5, 6]]


def test_data_variable_without_equation_needs_a_data_file(tmp_path: Path) -> None:
    # parsed as a data variable; its values come from sd.load(..., data_files=...), and without one the
    # error names the variable, its line and the argument (tests/frontend/test_run_time_data.py)
    p = write(tmp_path, "DimA: A1, A2 ~~|\nValues[DimA]\n ~~|\nb = 1 ~~|\n" + CONTROLS)
    with pytest.raises(
        sd.errors.DataFileError, match=r"m\.mdl:2 variable 'Values\[A1\]'.*data_files"
    ):
        sd.load(p)


def test_parse_error_names_the_real_line_and_variable(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "{UTF-8}\n{a comment\nover lines}\na = 1 ~~|\n\nb = (a + ~~|\n" + CONTROLS,
    )
    with pytest.raises(sd.errors.ParseError, match=r"m\.mdl:6 variable 'b'"):
        sd.load(p)


def test_line_map_keeps_real_lines() -> None:
    text = "{UTF-8}\n{x\ny}\na = 1 ~~|\n:MACRO: F(x)\nF = x ~~|\n:END OF MACRO:\nb = F(a) ~~|\n"
    n = normalise(text)
    assert n.lines == {"a": 4, "b": 8}
    assert [e.line for e in n.entries if e.macro] == [6]
    # macros go before the main section, where pysd's grammar reads them
    out = normalise_text(text)
    assert out.index(":MACRO:") < out.index("b = F(a)")


def test_two_macros_after_the_equations(tmp_path: Path) -> None:
    text = (
        "a = F(G(3)) ~~|\n" + CONTROLS + ":MACRO: F(x)\nF = x + 1 ~~|\n:END OF MACRO:\n"
        ":MACRO: G(x)\nG = x * 2 ~~|\n:END OF MACRO:\n"
    )
    assert run1(write(tmp_path, text), "a")[0] == 7


def test_mapping_with_an_explicit_element_list(tmp_path: Path) -> None:
    """pysd reads ``-> (DimA: SubA, A3)`` as extra elements of DimB (sd once crashed with an
    IndexError); sd drops it from pysd's text and maps B1 to each element of SubA, B2 to A3 (Vensim's
    output for SDEverywhere's ``mapping`` and ``except`` in tests/test_sde_conformance.py)."""
    p = write(
        tmp_path,
        "DimA: A1, A2, A3 ~~|\nSubA: A1, A2 ~~|\nDimB: B1, B2 -> (DimA: SubA, A3) ~~|\n"
        "b[DimB] = 1, 2 ~~|\na[DimA] = b[DimB] * 10 ~~|\n" + CONTROLS,
    )
    assert sd.load(p).run(outputs=["a"])["a"].values[0, 0].tolist() == [10, 10, 20]


def test_mapping_with_a_wrong_element_list_is_an_error(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "DimA: A1, A2, A3 ~~|\nDimB: B1, B2 -> (DimA: A1, A2, A3) ~~|\n"
        "b[DimB] = 1, 2 ~~|\na[DimA] = b[DimB] * 10 ~~|\n" + CONTROLS,
    )
    with pytest.raises(
        sd.errors.ModelError, match="mapping of 'DimB' lists 3 entries for 2 elements"
    ):
        sd.load(p)


def test_plain_mapping_still_works(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "DimA: A1, A2 ~~|\nDimB: B1, B2 -> DimA ~~|\n"
        "b[DimB] = 1, 2 ~~|\na[DimA] = b[DimB] * 10 ~~|\n" + CONTROLS,
    )
    assert sd.load(p).run(outputs=["a"])["a"].values[0, 0].tolist() == [10, 20]


def test_lookup_given_as_one_list_of_x_then_y_values(tmp_path: Path) -> None:
    """Vensim's legacy lookup form (from DYNAMO, in Forrester's Urban Dynamics): ``name(x1, ..., xn,
    y1, ..., yn)``, the list split in half as xmutil's TransformLegacy does; with a range first,
    across lines, subscripted. Values by linear interpolation, derived by hand: g's points are
    (0,0), (1,2), (3,5), so at x = Time - 1: g(-1) = 0 (first y held), g(0) = 0, g(1) = 2,
    g(2) = 3.5 (half way from 2 to 5), g(3) = 5; h's are (0,10), (3,20): 10 + 10 t/3 up to t = 3."""
    text = (
        "g tab(0,1,\n3, 0,2,5) ~ dmnl ~ a lookup as one list |\n"
        "h tab([(0,0)-(3,10)],0,3,10,20) ~~|\n"
        "d: a, b ~~|\nk tab[d](0,1,-1,1) ~~|\n"
        "g = g tab(Time - 1) ~~|\nh = h tab(Time) ~~|\nk[d] = k tab[d](Time / 2) ~~|\n" + CONTROLS
    )
    norm = normalise(text)
    assert any("one list of x, then y values" in r for r in norm.rewrites)
    p = write(tmp_path, text)
    np.testing.assert_allclose(run1(p, "g"), [0, 0, 2, 3.5, 5])
    np.testing.assert_allclose(run1(p, "h"), [10, 40 / 3, 50 / 3, 20, 20])
    np.testing.assert_allclose(run1(p, "k")[:, 0], [-1, 0, 1, 1, 1])
