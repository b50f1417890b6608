"""docs/tutorial.md: every Python block runs, in order, in an empty folder (one namespace, as a reader would)."""

from __future__ import annotations

import re
from pathlib import Path

TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial.md"


def test_tutorial_runs(tmp_path: Path, monkeypatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    env: dict[str, object] = {"__name__": "tutorial"}
    for k, block in enumerate(blocks):
        exec(compile(block, f"{TUTORIAL.name} block {k + 1}", "exec"), env)
    page = (tmp_path / "results" / "sir.html").read_text()
    assert "more than 20% ill at once" in page
    assert 0 < float(env["share"]) < 1
