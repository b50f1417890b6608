from __future__ import annotations

from pathlib import Path

import profiles  # noqa: F401  (registers and loads the hypothesis profile)
import pytest

from sd.testing.corpus import corpus_root

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_root()
    if root is None or not root.is_dir():
        pytest.fail(
            "the Vensim corpus was not found: set SD_VENSIM_CORPUS or place it at "
            "../shared/vensim-test-models beside the repository"
        )
    return root


@pytest.fixture
def write_mdl(tmp_path: Path):
    """Write a small Vensim model (equations only; control block appended) and return its path."""

    def write(body: str, *, final: float = 10, dt: float = 0.25, saveper: float | None = None,
              name: str = "m.mdl", controls: bool = True) -> Path:  # fmt: skip
        text = "{UTF-8}\n" + body.strip() + "\n"
        if controls:
            text += (
                f"\nINITIAL TIME = 0\n\t~\tyear\n\t~\t|\n\nFINAL TIME = {final}\n\t~\tyear\n\t~\t|\n\n"
                f"TIME STEP = {dt}\n\t~\tyear\n\t~\t|\n\n"
                f"SAVEPER = {saveper if saveper is not None else 'TIME STEP'}\n\t~\tyear\n\t~\t|\n"
            )
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
