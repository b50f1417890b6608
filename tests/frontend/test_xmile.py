"""XMILE models through pysd's XMILE translator into sd's lowering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.testing.corpus import CorpusCase, compare_with_vensim

XMILE = [
    "samples/teacup/teacup.xmile",
    "samples/SIR/SIR.xmile",
    "tests/subscripted_trig/test_subscripted_trig.xmile",
    "tests/lookups/test_lookups.xmile",
]


@pytest.mark.parametrize("rel", XMILE)
def test_xmile_export_matches_vensim(corpus: Path, rel: str) -> None:
    x = corpus / rel
    case = CorpusCase(rel, x, x.parent / "output.tab")
    if not case.output.is_file():
        case = CorpusCase(rel, x, x.parent / "output.csv")
    ok, detail = compare_with_vensim(case)
    assert ok, detail


def test_bad_xmile_is_a_parse_error(tmp_path: Path) -> None:
    p = tmp_path / "m.xmile"
    p.write_text("<xmile><model><variables><aux name='a'>")
    with pytest.raises(sd.errors.ParseError, match="XMILE"):
        sd.load(p)
    p.write_text("")
    with pytest.raises(sd.errors.ParseError, match="empty"):
        sd.load(p)


def test_empty_and_binary_mdl(tmp_path: Path) -> None:
    p = tmp_path / "m.mdl"
    p.write_bytes(b"")
    with pytest.raises(sd.errors.ParseError, match="empty"):
        sd.load(p)
    p.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(sd.errors.ParseError, match="binary"):
        sd.load(p)


HEAD = """<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">
<sim_specs method="Euler"><start>0</start><stop>4</stop><dt>0.5</dt></sim_specs>
<model><variables>
"""
TAIL = "</variables></model></xmile>\n"


def _xmile(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "m.xmile"
    p.write_text(HEAD + body + TAIL)
    return p


def test_active_initial_export_follows_the_xmile_file(corpus: Path) -> None:
    """xmutil's export of tests/active_initial lost its ACTIVE INITIAL (``Value A = Time``): the
    XMILE file's Stock A starts at 0, as Stella's own run of it (output_stella.csv) says; Vensim's
    45 is the .mdl's value."""
    x = corpus / "tests/active_initial/test_active_initial.xmile"
    ok, detail = compare_with_vensim(CorpusCase("x", x, x.parent / "output_stella.csv"))
    assert ok, detail
    assert sd.load(x).run(outputs=["Stock A"])["Stock A"].values[0, 0] == 0.0


def test_init_eqn_is_active_initial(tmp_path: Path) -> None:
    p = _xmile(
        tmp_path,
        """<aux name="v"><eqn>TIME + 1</eqn><init_eqn>45</init_eqn></aux>
<stock name="s"><eqn>v</eqn><inflow>f</inflow></stock><flow name="f"><eqn>v</eqn></flow>""",
    )
    ds = sd.load(p).run(outputs=["s", "v"])
    assert ds["s"].values[0, 0] == 45.0
    np.testing.assert_allclose(ds["v"].values[0], np.arange(0, 4.01, 0.5) + 1)


def test_dt_mod_and_lookup_calls(tmp_path: Path) -> None:
    """XMILE's DT (TIME STEP), MOD in capitals, LOOKUP(table, x) on a bare graphical function
    (xmutil's ``0+0``) with uneven <xpts> beside an <xscale>."""
    p = _xmile(
        tmp_path,
        """<aux name="d"><eqn>DT * 2</eqn></aux>
<aux name="m"><eqn>(TIME + 1) MOD 3</eqn></aux>
<aux name="g"><eqn>0+0</eqn><gf><xscale min="0" max="4"/><yscale min="0" max="1"/>
<xpts>0,1,4</xpts><ypts>0,1,0</ypts></gf></aux>
<aux name="l"><eqn>LOOKUP(g, TIME)</eqn></aux>""",
    )
    ds = sd.load(p).run(outputs=["d", "m", "l"])
    t = np.arange(0, 4.01, 0.5)
    np.testing.assert_allclose(ds["d"].values[0], 1.0)
    np.testing.assert_allclose(ds["m"].values[0], np.mod(t + 1, 3))
    np.testing.assert_allclose(ds["l"].values[0], np.interp(t, [0, 1, 4], [0, 1, 0]))


@pytest.mark.parametrize(
    ("eqn", "what"),
    [
        ("???", r"could not translate \('\?\?\?'\)"),
        ("SUM(a[*])", "wildcard"),
        ("MY MACRO(1, 2)", "macro 'MY MACRO', which the XMILE file does not define"),
        ("0{GET_DIRECT_DATA('x.csv')}", "left as a comment"),
    ],
)
def test_xmile_grammar_gaps_are_refused_by_name(tmp_path: Path, eqn: str, what: str) -> None:
    p = _xmile(
        tmp_path, f'<aux name="a"><eqn>1</eqn></aux>\n<aux name="bad one"><eqn>{eqn}</eqn></aux>'
    )
    with pytest.raises(
        sd.UnsupportedFeatureError, match=rf"m.xmile:5 variable 'bad one': .*{what}"
    ):
        sd.load(p)
