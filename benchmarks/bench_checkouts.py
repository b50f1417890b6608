"""The same runs on two checkouts of sd, interleaved: did a change move the engine's speed?

    git worktree add /tmp/before <commit>        # or: git archive <commit> | tar -x -C /tmp/before
    python benchmarks/bench_checkouts.py /tmp/before .

Each round runs every case in a fresh process per checkout (best of 3 inside), alternating the checkouts;
it prints each round's times and, at the end, the ratio new/old of the best times per case.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CASE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, sd
out = {}
for name, path, n in json.loads(sys.argv[2]):
    m = sd.load(path)
    cname = next(iter(m.constants))
    params = {cname: np.linspace(0.9, 1.1, n) * (m.constants[cname].value or 1.0)}
    outputs = list(m.stocks)[:2]
    for backend in ("numpy", "fused"):
        m.run(params, backend=backend, outputs=outputs)
        best = min(_timed(m, params, backend, outputs) for _ in range(3))
        out[f"{name}/{backend}/{n}"] = best
print(json.dumps(out))
"""
TIMER = r"""
def _timed(m, params, backend, outputs):
    t = time.perf_counter(); m.run(params, backend=backend, outputs=outputs)
    return time.perf_counter() - t
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    corpus = Path(os.environ.get("SD_VENSIM_CORPUS", "../shared/vensim-test-models")).resolve()
    samples = corpus / "samples"
    cases = [("teacup", str(samples / "teacup" / "teacup.mdl"), 100_000),
             ("SIR", str(samples / "SIR" / "SIR.mdl"), 100_000),
             ("Workforce", str(samples / "Workforce" / "workforce.mdl"), 2_000)]  # fmt: skip
    code = TIMER.replace("def _timed", "import time\ndef _timed") + CASE
    best: dict[str, dict[str, float]] = {"old": {}, "new": {}}
    env = {**os.environ, "SD_NO_CACHE": "1"}
    for r in range(args.rounds):
        for label, root in (("old", args.old), ("new", args.new)):
            res = subprocess.run([sys.executable, "-c", code, str(root.resolve()), json.dumps(cases)],
                                 capture_output=True, text=True, check=True, env=env)  # fmt: skip
            times = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"round {r + 1} {label}: " + " | ".join(f"{k} {v:.3f}s" for k, v in times.items()))
            for k, v in times.items():
                best[label][k] = min(v, best[label].get(k, float("inf")))
    print("\nnew / old (best of all rounds):")
    for k in best["old"]:
        print(f"  {k:24s} {best['old'][k]:.3f}s -> {best['new'][k]:.3f}s  ratio {best['new'][k] / best['old'][k]:.2f}")


if __name__ == "__main__":
    main()
