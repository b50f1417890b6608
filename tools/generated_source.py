"""Dump the generated source of every corpus model (numpy, fused C, fused CUDA) into a folder.

Run it from two checkouts and compare the folders to see what a change did to the generated code:

    python tools/generated_source.py /tmp/before            # in the old checkout
    python tools/generated_source.py /tmp/after             # in the new one
    diff -r /tmp/before /tmp/after | head

A model sd refuses writes ``NAME.err``; a target that refuses it writes ``NAME.TARGET.err``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sd  # noqa: E402
from sd.testing.corpus import corpus_root  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write into")
    args = ap.parse_args()
    root = corpus_root()
    if root is None:
        raise SystemExit("the Vensim corpus was not found (set SD_VENSIM_CORPUS)")
    args.out.mkdir(parents=True, exist_ok=True)
    models = sorted(root.glob("tests/*/*.mdl")) + sorted(root.glob("samples/*/*.mdl"))
    for path in models:
        name = f"{path.parent.name}__{path.stem}"
        try:
            model = sd.load(path)
        except sd.SDError as err:
            (args.out / f"{name}.err").write_text(type(err).__name__)
            continue
        (args.out / f"{name}.py").write_text(model.source())
        for target in ("c", "cuda"):
            try:
                (args.out / f"{name}.{target}").write_text(model.kernel_source(target))
            except sd.SDError as err:
                (args.out / f"{name}.{target}.err").write_text(type(err).__name__)
    print(f"{len(models)} models -> {args.out}")


if __name__ == "__main__":
    main()
