"""Examples shipped with sd: models, their scenarios and ready sweep specs (``sd example``).

``index.toml`` lists them. ``sir`` lives here; ``productivity_deflation`` (the flagship) is the
repository's ``models/`` and ``sweeps/`` files, copied into the wheel when it is built (setup.py) with the
same layout, so its spec's ``model = "../models/..."`` resolves in the copy as in the repository. In a
source checkout (an editable install) they are read from the repository itself.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

from sd.errors import SDError

__all__ = ["copy", "index", "path"]

HERE = Path(__file__).parent
REPO = HERE.parents[1]


def index() -> dict[str, dict[str, Any]]:
    """``{name: {description, spec, files, from_repo}}`` of every example."""
    return tomllib.loads((HERE / "index.toml").read_text(encoding="utf-8"))


def _entry(name: str) -> dict[str, Any]:
    examples = index()
    if name not in examples:
        raise SDError(f"no example {name!r}; the examples are: {', '.join(examples)}")
    return examples[name]


def path(name: str, file: str | None = None) -> Path:
    """The path of ``file`` of example ``name`` (default: its sweep spec), e.g.
    ``sd.examples.path("sir", "sir.mdl")``; ``sd.load(sd.examples.path("sir", "sir.mdl"))``."""
    entry = _entry(name)
    file = file or str(entry["spec"])
    if file not in entry["files"]:
        raise SDError(f"example {name!r} has no file {file!r}; it has: {', '.join(entry['files'])}")
    packaged = HERE / name / file
    if packaged.is_file():
        return packaged
    if entry.get("from_repo") and (REPO / file).is_file():
        return REPO / file
    raise SDError(f"example {name!r}: {file} is missing from the installation ({packaged})")


def copy(name: str, dest: str | Path | None = None) -> Path:
    """Copy example ``name`` into ``dest`` (default ``./name``), keeping its layout; returns ``dest``."""
    entry = _entry(name)
    target = Path(dest) if dest is not None else Path(name)
    for file in entry["files"]:
        out = target / file
        if out.exists():
            raise SDError(f"{out}: exists; copy the example into another folder")
    for file in entry["files"]:
        out = target / file
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path(name, file), out)
    return target
