"""An error raised while a macro call is inlined names the macro, the macro equation's line, the model's
variable whose equation makes the call and that equation's line (metasd's thyroid model: DELAY MATERIAL
inside a macro was refused as "variable PIPELINE(pipeline in Delayed TSH)", with no line)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sd

CONTROLS = "INITIAL TIME = 0 ~~|\nFINAL TIME = 4 ~~|\nTIME STEP = 1 ~~|\nSAVEPER = TIME STEP ~~|\n"

ONE = """{UTF-8}
:MACRO: DELAYED TSH(input, delay)
DELAYED TSH = pipeline / delay
	~	units
	~		|
pipeline = DELAY MATERIAL(input, delay, 0, 0)
	~	units
	~		|
:END OF MACRO:
x = 5 ~~|
out = DELAYED TSH(x, 3) * 2
	~	units
	~		|
"""

NESTED = """{UTF-8}
:MACRO: INNER(a)
INNER = DELAY MATERIAL(a, 2, 0, 0) ~~|
:END OF MACRO:
:MACRO: OUTER(b)
OUTER = INNER(b) + 1 ~~|
:END OF MACRO:
r: (r1-r2) ~~|
x = 5 ~~|
out[r] = OUTER(x) ~~|
"""

UNDEFINED = """{UTF-8}
:MACRO: ADDER(a)
ADDER = a + missing ~~|
:END OF MACRO:
x = 5 ~~|
out = ADDER(x) ~~|
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.mdl"
    p.write_text(text + CONTROLS)
    return p


def test_refusal_in_a_macro_names_the_macro_the_caller_and_the_lines(tmp_path: Path) -> None:
    p = write(tmp_path, ONE)
    with pytest.raises(sd.UnsupportedFeatureError) as err:
        sd.load(p)
    message = str(err.value)
    # line 6: the macro's equation of 'pipeline'; line 11: the call in 'out'
    assert message.startswith(
        f"{p}:6 variable 'pipeline' of macro DELAYED TSH, called by variable 'out' at {p}:11: "
        "function DELAY MATERIAL is not supported by sd"
    ), message


def test_refusal_in_a_nested_macro_names_every_macro(tmp_path: Path) -> None:
    p = write(tmp_path, NESTED)
    with pytest.raises(
        sd.UnsupportedFeatureError,
        match=r"m\.mdl:3 variable 'INNER' of macro INNER \(inside macro OUTER\), called by variable "
        r"'out\[r1\]' at .*m\.mdl:10: function DELAY MATERIAL is not supported",
    ):
        sd.load(p)


def test_an_undefined_name_in_a_macro_is_placed_too(tmp_path: Path) -> None:
    p = write(tmp_path, UNDEFINED)
    with pytest.raises(
        sd.UndefinedVariableError,
        match=r"m\.mdl:3 variable 'ADDER' of macro ADDER, called by variable 'out' at .*m\.mdl:6: "
        r"refers to 'missing', which the model does not define",
    ):
        sd.load(p)


def test_the_same_macro_without_the_refused_function_runs(tmp_path: Path) -> None:
    """The macro with DELAY FIXED in place of DELAY MATERIAL (as the survey ran the thyroid model):
    pipeline = DELAY FIXED(5, 3, 0) is 0 until t = 3 and 5 from then on, out = pipeline / 3 * 2."""
    p = write(tmp_path, ONE.replace("DELAY MATERIAL(input, delay, 0, 0)", "DELAY FIXED(input, delay, 0)"))
    ds = sd.load(p).run(outputs=["out"])
    assert ds["out"].values[0].tolist() == pytest.approx([0, 0, 0, 10 / 3, 10 / 3])
