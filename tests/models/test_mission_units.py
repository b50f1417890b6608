"""The mission model is dimensionally consistent (issue 13, section 4): `sd check-units` finds no issue.

The two equations the check used to flag are written back into a copy of the model to show the check still
catches them (so the first test cannot pass by the check going blind)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sd

pytest.importorskip("pint")

MDL = Path(__file__).resolve().parents[2] / "models" / "productivity_deflation.mdl"


def test_mission_model_has_no_units_issue() -> None:
    report = sd.check_units(sd.load(MDL))
    assert report.status == "ok" and report.checked > 300
    assert list(report) == [], [str(i) for i in report]


@pytest.mark.parametrize(
    ("name", "new", "old"),
    [
        ("network capacity for robots", "share of network capacity for robots * robots per connection",
         "share of network capacity for robots / 1e+06"),
        ("debt to GDP ratio", "federal debt held by public / (nominal GDP over fiscal year * fiscal year length)",
         "federal debt held by public / nominal GDP over fiscal year"),
    ],
)  # fmt: skip
def test_the_old_equations_are_flagged(tmp_path: Path, name: str, new: str, old: str) -> None:
    text = MDL.read_text(encoding="utf-8")
    assert text.count(new) == 1
    bad = tmp_path / "old.mdl"
    bad.write_text(text.replace(new, old), encoding="utf-8")
    assert name in {i.variable for i in sd.check_units(sd.load(bad))}
