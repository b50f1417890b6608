"""sd against Vensim's .dat output on the SDEverywhere test models (../shared/vensim-sde-models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sd
from sd.testing.corpus import corpus_root
from sd.testing.dat import read_dat
from sd.testing.sde import (
    DISPUTED,
    EXPECTED_XMILE,
    compare_with_dat,
    sde_cases,
    sde_root,
    xmile_cases,
    xmile_status,
)

# corpus-wide: every SDEverywhere model against Vensim's .dat output (deselect with -m 'not slow')
pytestmark = pytest.mark.slow

ROOT = sde_root()
CASES = sde_cases(ROOT) if ROOT is not None and (ROOT / "models").is_dir() else []
# refused by name, with the reason (docs/conformance.md); none at present (getdata runs with the
# data file its spec names, SdeCase.data_files)
REFUSED: dict[str, str] = {}


def test_read_dat(tmp_path: Path) -> None:
    p = tmp_path / "x.dat"
    p.write_text("a\n0\t1\n1\t2.5\n#a>DELAY3#\n0\t1\nb[A1]\n0\t3\n")
    out = read_dat(p)
    assert list(out) == ["a", "b[A1]"]
    np.testing.assert_array_equal(out["a"][1], [1, 2.5])
    assert "#a>DELAY3#" in read_dat(p, helpers=True)


@pytest.mark.skipif(not CASES, reason="../shared/vensim-sde-models not found (set SD_SDE_MODELS)")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sde_model_matches_vensim(case) -> None:
    assert case.output is not None
    if case.name in REFUSED:
        with pytest.raises(sd.UnsupportedFeatureError, match=REFUSED[case.name]):
            compare_with_dat(case.model, case.output, data_files=case.data_files)
        return
    ok, detail = compare_with_dat(
        case.model, case.output, skip=DISPUTED.get(case.name, set()), data_files=case.data_files
    )
    assert ok, detail


@pytest.mark.skipif(not CASES, reason="../shared/vensim-sde-models not found (set SD_SDE_MODELS)")
def test_vector_simple_disputed_actions_follow_vensim_documentation() -> None:
    """vector_simple's vs_min, vs_mean, vs_prod call VECTOR SELECT(a[DimA!], h[DimA!], 0, action, 0)
    with actions 1, 2, 4, a = (0, 1, 1) and h = (2100, 2010, 2020): the selected elements are
    sel*h = 2010 and 2020. Vensim's documentation (fn_vector_select) defines action 1 as the product
    of selection*expression over the selected elements (2010*2020 = 4060200), 2 their minimum (2010),
    4 their mean (2015); the .dat holds what the variables' names say instead (docs/semantics.md).
    Everything else in the model matches the .dat, and the report calls the case 'disputed'."""
    from sd.testing.sde import EXPECTED_SDE, _status

    case = next(c for c in CASES if c.name == "vector_simple")
    assert case.output is not None
    model = sd.load(case.model)
    ds = model.run(outputs=sorted(DISPUTED["vector_simple"]))
    documented = {"vs_min": 4060200.0, "vs_mean": 2010.0, "vs_prod": 2015.0}
    dat = read_dat(case.output)
    for name, value in documented.items():
        np.testing.assert_array_equal(ds[model.ir.variables[model.resolve(name)].name][0], value)
        assert not np.allclose(dat[name][1], value)  # else the dispute is over: drop DISPUTED
    assert _status(case, EXPECTED_SDE)[0] == "disputed"


XMILE = xmile_cases(ROOT, corpus_root())


@pytest.mark.skipif(not XMILE, reason="no .xmile exports found (../shared)")
@pytest.mark.parametrize("case", XMILE, ids=[c.name for c in XMILE])
def test_every_xmile_export_matches_or_is_refused_by_name(case) -> None:
    """Every .xmile of both corpora matches its folder's output, or is refused by name
    (UnsupportedFeatureError: the exporter's '???', functions left as comments, dropped macros or
    mappings), or is a defective export reported by a named error and listed in EXPECTED_XMILE; never a
    mismatch, a crash or an unexplained error."""
    status, detail = xmile_status(case)
    if case.name in EXPECTED_XMILE:
        assert status == EXPECTED_XMILE[case.name][0], detail
        return
    assert status in ("pass", "unsupported", "no Vensim output"), f"{case.name}: {status}: {detail}"
    if status == "unsupported":
        assert "is not supported by sd" in detail
