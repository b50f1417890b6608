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


# -- XMILE's array builtins, SIZE, PREVIOUS and <isee:maps_to> -----------------------------------
# The SDEverywhere models' XMILE exports against Vensim's .dat run of their .mdl, at the tolerance of
# the .mdl versions in tests/test_sde_conformance.py (sd.testing.sde.RTOL / ATOL).
SDE_XMILE = {
    "sum": "SUM(m[DimD, *]), SUM(b_2[*:SubA]), SUM(a[*]*b[*]/DT), SUM(f[*, *])",
    "elmcount": "SIZE(DimA), xmutil's export of ELMCOUNT",
    "sample": "PREVIOUS(SELF, init), xmutil's export of SAMPLE IF TRUE",
    "smooth": "<isee:maps_to> (Simlin's export of 'DimA: A1, A2, A3 -> DimB')",
}


@pytest.mark.parametrize("case", sorted(SDE_XMILE))
def test_sde_xmile_export_matches_vensim(case: str) -> None:
    from sd.testing.sde import compare_with_dat, sde_root

    root = sde_root()
    if root is None:
        pytest.skip("../shared/vensim-sde-models not found (set SD_SDE_MODELS)")
    x = root / "models" / case / f"{case}.xmile"
    ok, detail = compare_with_dat(x, x.with_suffix(".dat"))
    assert ok, f"{case} ({SDE_XMILE[case]}): {detail}"


@pytest.mark.parametrize(
    ("case", "error", "what"),
    [
        # xmutil dropped Vensim's mappings 'DimC: SubC, C3 -> DimD' / 'DimD: D1, D2 -> (DimA: SubA,
        # A1)': d[DimD] = c[DimC] * 10 has no element correspondence in the file
        ("mapping", sd.UnsupportedFeatureError, "range 'DimC'.*no <isee:maps_to>"),
        ("except", sd.UnsupportedFeatureError, "range 'DimD'.*no <isee:maps_to>"),
        # the export lacks inputA (Vensim's 'inputA[DimA] = -1, +2, 3')
        ("arrays_cname", sd.errors.UndefinedVariableError, "refers to 'inputa'"),
    ],
)
def test_sde_xmile_exports_missing_information_are_refused(
    case: str, error: type, what: str
) -> None:
    from sd.testing.sde import sde_root

    root = sde_root()
    if root is None:
        pytest.skip("../shared/vensim-sde-models not found (set SD_SDE_MODELS)")
    with pytest.raises(error, match=rf"{case}\.xmile:\d+ variable .*{what}"):
        sd.load(root / "models" / case / f"{case}.xmile")


DIMS = """<dimensions>
<dim name="DimA"><elem name="A1"/><elem name="A2"/><elem name="A3"/></dim>
<dim name="SubA"><elem name="A2"/><elem name="A3"/></dim>
<dim name="DimE"><elem name="E1"/><elem name="E2"/></dim>
</dimensions>
"""


def _xmile_arrays(tmp_path: Path, body: str, dims: str = DIMS) -> Path:
    p = tmp_path / "m.xmile"
    p.write_text(HEAD.replace("<model>", dims + "<model>") + body + TAIL)
    return p


A = """<aux name="a"><element subscript="A1"><eqn>2</eqn></element>
<element subscript="A2"><eqn>3</eqn></element><element subscript="A3"><eqn>5</eqn></element>
<dimensions><dim name="DimA"/></dimensions></aux>
<aux name="m"><element subscript="A1, E1"><eqn>1</eqn></element>
<element subscript="A1, E2"><eqn>10</eqn></element><element subscript="A2, E1"><eqn>2</eqn></element>
<element subscript="A2, E2"><eqn>20</eqn></element><element subscript="A3, E1"><eqn>3</eqn></element>
<element subscript="A3, E2"><eqn>30</eqn></element>
<dimensions><dim name="DimA"/><dim name="DimE"/></dimensions></aux>
"""


def test_wildcards_iterate_in_array_builtins(tmp_path: Path) -> None:
    """XMILE 1.0: '*' stands for every element of that dimension of the variable, '*:SubA' for the
    elements of SubA; SUM, PROD, MIN and MAX (one argument) run over them. a = 2, 3, 5 and
    m[Ai, Ej] = i * 10^(j-1), so the expected values below are sums and products of those."""
    p = _xmile_arrays(
        tmp_path,
        A
        + """<aux name="total"><eqn>SUM(a[*])</eqn></aux>
<aux name="sub"><eqn>SUM(a[*:SubA])</eqn></aux>
<aux name="prod"><eqn>PROD(a[*])</eqn></aux>
<aux name="lo"><eqn>MIN(a[*]) + MAX(TIME, 1)</eqn></aux>
<aux name="hi"><eqn>MAX(a[*]*2)</eqn></aux>
<aux name="rows"><eqn>SUM(m[DimA, *])</eqn><dimensions><dim name="DimA"/></dimensions></aux>
<aux name="cols"><eqn>SUM(m[*, DimE])</eqn><dimensions><dim name="DimE"/></dimensions></aux>
<aux name="all"><eqn>SUM(m[*, *]) / SUM(a[*] * a[*])</eqn></aux>""",
    )
    ds = sd.load(p).run()
    t = np.arange(0, 4.01, 0.5)
    expected = {"total": 10, "sub": 8, "prod": 30, "hi": 10, "all": 66 / 38}
    for name, value in expected.items():
        np.testing.assert_allclose(ds[name].values[0], value, err_msg=name)
    np.testing.assert_allclose(ds["lo"].values[0], 2 + np.maximum(t, 1))
    np.testing.assert_allclose(ds["rows"].values[0, 0], [11, 22, 33])  # (draw, time, DimA)
    np.testing.assert_allclose(ds["cols"].values[0, 0], [6, 60])


def test_wildcard_outside_an_array_builtin_is_refused(tmp_path: Path) -> None:
    p = _xmile_arrays(
        tmp_path,
        A + '<aux name="b"><eqn>a[*] + 1</eqn><dimensions><dim name="DimA"/></dimensions></aux>',
    )
    with pytest.raises(
        sd.UnsupportedFeatureError, match=r"variable 'b': .*wildcard .* outside SUM"
    ):
        sd.load(p)


def test_mean_over_wildcards(tmp_path: Path) -> None:
    """XMILE 1.0's MEAN (3.7.1.4 Array Built-in Functions): "average of values in an array (or array
    slice) (i.e., SUM(A)/SIZE(A))"; isee's MEAN with several arguments: their sum over their number.
    a = 2, 3, 5; m[Ai, Ej] = i * 10^(j-1): m's six values sum to 66, row Ai to 11 i, column E1 to 6
    and E2 to 60; the model named in issue 18 (bptk_py_tutorial's sd_arrayed_variables.stmx) writes
    MEAN(Inventory[*, *]) beside SUM(Inventory[*, *])/SIZE(Inventory[*,*])."""
    p = _xmile_arrays(
        tmp_path,
        A
        + """<aux name="all"><eqn>MEAN(m[*, *])</eqn></aux>
<aux name="va"><eqn>MEAN(a[*]) * 3</eqn></aux>
<aux name="sub"><eqn>MEAN(a[*:SubA])</eqn></aux>
<aux name="rows"><eqn>MEAN(m[DimA, *])</eqn><dimensions><dim name="DimA"/></dimensions></aux>
<aux name="cols"><eqn>MEAN(m[*, DimE])</eqn><dimensions><dim name="DimE"/></dimensions></aux>
<aux name="args"><eqn>MEAN(1, TIME, a[A3])</eqn></aux>
<aux name="spread"><eqn>MAX(a[*]) - MEAN(a[*])</eqn></aux>""",
    )
    ds = sd.load(p).run()
    t = np.arange(0, 4.01, 0.5)
    for name, value in {"all": 66 / 6, "va": 10, "sub": 4, "spread": 5 - 10 / 3}.items():
        np.testing.assert_allclose(ds[name].values[0], value, rtol=1e-15, err_msg=name)
    np.testing.assert_allclose(ds["rows"].values[0, 0], [5.5, 11, 16.5])  # (draw, time, DimA)
    np.testing.assert_allclose(ds["cols"].values[0, 0], [2, 20])
    np.testing.assert_allclose(ds["args"].values[0], (1 + t + 5) / 3)


@pytest.mark.parametrize(
    ("eqn", "what"),
    [
        ("STDDEV(a[*])", "XMILE's STDDEV .*population or the sample"),
        ("RANK(a[*], 1)", "XMILE's RANK"),
        ("SUM(a[*] - MEAN(a[*]))", "MEAN inside another array builtin"),
        ("MEAN(a[*], 1)", "MEAN of several arguments with a wildcard"),
    ],
)
def test_xmile_array_builtins_sd_does_not_run_are_refused(tmp_path: Path, eqn: str, what: str) -> None:
    p = _xmile_arrays(tmp_path, A + f'<aux name="bad"><eqn>{eqn}</eqn></aux>')
    with pytest.raises(sd.UnsupportedFeatureError, match=rf"m.xmile:\d+ variable 'bad': {what}"):
        sd.load(p)


def test_mean_in_a_vensim_model_is_refused(write_mdl) -> None:
    with pytest.raises(sd.UnsupportedFeatureError, match="function MEAN is not supported"):
        sd.load(write_mdl("x = MEAN(1, 2)\n~~|"))


def test_size_of_a_dimension_and_of_an_array(tmp_path: Path) -> None:
    """XMILE's SIZE: the number of elements (DimA: 3; m over DimA x DimE: 6)."""
    p = _xmile_arrays(
        tmp_path,
        A
        + """<aux name="n"><eqn>SIZE(DimA) * 10 + SIZE(SubA)</eqn></aux>
<aux name="nm"><eqn>SIZE(m) + a[DimA]</eqn><dimensions><dim name="DimA"/></dimensions></aux>""",
    )
    ds = sd.load(p).run(outputs=["n", "nm"])
    np.testing.assert_allclose(ds["n"].values[0], 32)
    np.testing.assert_allclose(ds["nm"].values[0, 0], [8, 9, 11])


def test_previous_and_self(tmp_path: Path) -> None:
    """PREVIOUS(x, init): x one time step (DT = 0.5) earlier, init at the start; SELF: the variable
    (each element of an arrayed one) being defined."""
    p = _xmile_arrays(
        tmp_path,
        A
        + """<aux name="lag"><eqn>PREVIOUS(TIME * 2, 7)</eqn></aux>
<aux name="count"><eqn>PREVIOUS(SELF, 0) + 1</eqn></aux>
<aux name="acc"><eqn>PREVIOUS(SELF, a[DimA]) + a[DimA]</eqn>
<dimensions><dim name="DimA"/></dimensions></aux>""",
    )
    ds = sd.load(p).run(outputs=["lag", "count", "acc"])
    t = np.arange(0, 4.01, 0.5)
    k = np.arange(len(t))
    np.testing.assert_allclose(ds["lag"].values[0], np.where(t == 0, 7, (t - 0.5) * 2))
    np.testing.assert_allclose(ds["count"].values[0], k + 1)
    # acc(0) = a + a, then a more each step
    np.testing.assert_allclose(ds["acc"].values[0], np.outer(k + 2, [2, 3, 5]))


def test_previous_in_a_vensim_model_and_with_one_argument_are_refused(
    tmp_path: Path, write_mdl
) -> None:
    with pytest.raises(sd.UnsupportedFeatureError, match="function PREVIOUS is not supported"):
        sd.load(write_mdl("x = PREVIOUS(TIME, 0)\n~~|"))
    p = _xmile(tmp_path, '<aux name="x"><eqn>PREVIOUS(TIME)</eqn></aux>')
    with pytest.raises(sd.UnsupportedFeatureError, match=r"variable 'x': PREVIOUS with 1 argument"):
        sd.load(p)


def test_isee_maps_to_maps_a_dimension_element_by_element(tmp_path: Path) -> None:
    """<isee:maps_to>DimB</isee:maps_to> in DimA's <dim> (Vensim's 'DimA: A1, A2 -> DimB'):
    x[DimB] = y[DimA] * 10 reads y[A1] for B1 and y[A2] for B2."""
    dims = """<dimensions>
<dim name="DimA"><elem name="A1"/><elem name="A2"/><isee:maps_to>DimB</isee:maps_to></dim>
<dim name="DimB"><elem name="B1"/><elem name="B2"/></dim>
</dimensions>
"""
    p = _xmile_arrays(
        tmp_path,
        """<aux name="y"><element subscript="A1"><eqn>1</eqn></element>
<element subscript="A2"><eqn>2</eqn></element><dimensions><dim name="DimA"/></dimensions></aux>
<aux name="x"><eqn>y[DimA] * 10</eqn><dimensions><dim name="DimB"/></dimensions></aux>""",
        dims,
    )
    p.write_text(
        p.read_text().replace("<xmile ", '<xmile xmlns:isee="http://iseesystems.com/XMILE" ')
    )
    np.testing.assert_allclose(sd.load(p).run(outputs=["x"])["x"].values[0, 0], [10, 20])


def test_arrays_cname_export_matches_once_its_missing_pieces_are_written(tmp_path: Path) -> None:
    """xmutil's arrays_cname.xmile lacks inputA ('inputA[DimA] = -1, +2, 3' in the .mdl) and the
    mapping 'DimA -> DimB' (sd.testing.sde.EXPECTED_XMILE); written into a copy of the file, every
    variable of Vensim's .dat matches, the wildcards SUM(inputAB[DimA, *]), SUM(inputAB[*, DimB]) and
    SUM(a[*]) included."""
    from sd.testing.sde import compare_with_dat, sde_root

    root = sde_root()
    if root is None:
        pytest.skip("../shared/vensim-sde-models not found (set SD_SDE_MODELS)")
    src = root / "models" / "arrays_cname" / "arrays_cname.xmile"
    text = src.read_text()
    assert "SUM(inputAB[DimA, *])" in text and 'name="inputA"' not in text
    input_a = (
        '<aux name="inputA"><element subscript="A1"><eqn>-1</eqn></element>'
        '<element subscript="A2"><eqn>2</eqn></element><element subscript="A3"><eqn>3</eqn>'
        '</element><dimensions><dim name="DimA"/></dimensions></aux>\n<aux name="ndim4">'
    )
    text = text.replace('<aux name="ndim4">', input_a, 1)
    start = text.index('<dim name="DimA">')
    end = text.index("</dim>", start)
    text = text[:end] + "<isee:maps_to>DimB</isee:maps_to>" + text[end:]
    x = tmp_path / "arrays_cname.xmile"
    x.write_text(text)
    ok, detail = compare_with_dat(x, src.with_suffix(".dat"))
    assert ok, detail


def test_vensim_export_flow_names_with_spaces_and_bare_graphical_function(tmp_path: Path) -> None:
    """Vensim's own XMILE export (seen in a public Lotka-Volterra model) names a stock's flows with
    spaces (``<inflow>prey births</inflow>`` for the flow ``prey_births``; in XMILE names a space is
    an underscore) and writes a lookup definition as a graphical function with no <eqn>."""
    p = _xmile(
        tmp_path,
        """<stock name="S"><eqn>10</eqn><inflow>
  prey   births
</inflow><outflow>prey deaths</outflow></stock>
<aux name="prey_births"><eqn>3</eqn></aux>
<aux name="prey_deaths"><eqn>1</eqn></aux>
<aux name="table"><gf><xpts>0,10</xpts><ypts>0,100</ypts></gf></aux>
<aux name="l"><eqn>LOOKUP(table, 2.5)</eqn></aux>""",
    )
    ds = sd.load(p).run(outputs=["S", "l"])
    t = ds["time"].values
    # S' = 3 - 1 from 10 (Euler is exact for a constant net flow); the table is the line y = 10 x
    np.testing.assert_allclose(ds["S"].values[0], 10 + 2 * (t - t[0]))
    np.testing.assert_allclose(ds["l"].values[0], 25.0)
