"""Every corpus model against Vensim's own output, at the tolerance pysd's integration suite uses."""

from __future__ import annotations

import pytest

import sd
from sd.testing.corpus import EXPECTED, TOLERANCE, compare_with_vensim, corpus_cases, corpus_root

# corpus-wide: every corpus model against Vensim's output (deselect with -m 'not slow')
pytestmark = pytest.mark.slow

_root = corpus_root()
CASES = [c for c in corpus_cases(_root) if c.output is not None] if _root else []


def test_corpus_is_present() -> None:
    assert len(CASES) >= 90, (
        f"expected the conformance corpus (99 tests + samples), found {len(CASES)}"
    )


def test_expected_failures_name_real_cases() -> None:
    names = {c.name for c in CASES}
    assert set(EXPECTED) <= names, set(EXPECTED) - names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_against_vensim(case) -> None:
    expected = EXPECTED.get(case.name)
    tol = TOLERANCE.get(case.name, 1e-5)
    if expected and expected[0] == "unsupported":
        with pytest.raises(sd.UnsupportedFeatureError) as err:
            compare_with_vensim(case, rtol=tol, atol=tol)
        message = str(err.value)
        assert case.mdl.name in message and "not supported" in message
        return
    ok, detail = compare_with_vensim(case, rtol=tol, atol=tol)
    if expected and expected[0] == "differs":
        assert not ok, f"{case.name} now matches Vensim: remove it from EXPECTED ({detail})"
        return
    assert ok, f"{case.name}: {detail}"
