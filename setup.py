"""Build hook: copy the repository's flagship files into the wheel as package data (sd/examples).

The flagship example (sd/examples/index.toml, ``from_repo = true``) is the repository's own
``models/`` and ``sweeps/`` files: they stay where the README's commands use them, and the wheel gets a
copy under ``sd/examples/<name>/`` with the same layout (so the spec's ``../models/...`` resolves).
Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


class build_py_with_examples(build_py):  # noqa: N801 (setuptools command naming)
    def run(self) -> None:
        super().run()
        index = tomllib.loads((HERE / "sd" / "examples" / "index.toml").read_text(encoding="utf-8"))
        for name, entry in index.items():
            if not entry.get("from_repo"):
                continue
            for file in entry["files"]:
                out = Path(self.build_lib) / "sd" / "examples" / name / file
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(HERE / file, out)


setup(cmdclass={"build_py": build_py_with_examples})
