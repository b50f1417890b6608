"""XMILE models through pysd's XMILE translator into sd's lowering."""

from __future__ import annotations

from pathlib import Path

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
