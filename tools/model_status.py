"""List each model's status under sd.load (and optionally a run): ok, refused by name, or failure.

    python tools/model_status.py [PATH ...]        # default: ../shared/vensim-sde-models and the test corpus

A line per model: ``status  path  detail``, where status is ``ok`` (loads and runs), ``unsupported``
(UnsupportedFeatureError), ``parse`` (ParseError), ``error`` (another SDError) or ``CRASH`` (any other
exception: a bug).
"""

from __future__ import annotations

import sys
import traceback
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def models(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_file():
            out.append(p)
        else:
            for ext in ("*.mdl", "*.xmile", "*.stmx"):
                out.extend(sorted(p.rglob(ext)))
    return sorted(set(out))


def status(path: Path, run: bool = True) -> tuple[str, str]:
    import sd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sd.load(path)
            if run:
                model.run()
        return "ok", ""
    except sd.UnsupportedFeatureError as err:
        return "unsupported", str(err).split(" (supported:")[0]
    except sd.errors.ParseError as err:
        return "parse", str(err)
    except sd.SDError as err:
        return "error", f"{type(err).__name__}: {err}"
    except Exception as err:
        tb = traceback.extract_tb(err.__traceback__)[-1]
        return "CRASH", f"{type(err).__name__}: {err} ({Path(tb.filename).name}:{tb.lineno})"


def main(argv: list[str]) -> int:
    run = "--no-run" not in argv
    args = [a for a in argv if not a.startswith("--")]
    paths = [Path(a) for a in args] or [
        ROOT.parent / "shared" / "vensim-sde-models",
        ROOT.parent / "shared" / "vensim-test-models",
    ]
    counts: Counter[str] = Counter()
    for m in models(paths):
        st, detail = status(m, run)
        counts[st] += 1
        print(f"{st:12s} {m}  {detail[:300]}", flush=True)
    print("summary:", dict(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
