"""Wall time of a whole `sd run` process: warm (the lowered model from sd's cache) vs parsed each time.

Each row starts a fresh Python process; rows are interleaved (cold, warm, cold, warm, ...) so the machine's
drift hits them alike; medians are reported. ``cold`` sets ``SD_NO_CACHE=1`` (pysd parses the model
every time, as before the cache); ``warm`` runs after one run that filled the cache. ``python -c pass``
and ``import sd.cli`` give the floor.

    python benchmarks/bench_run_latency.py                      # the mission model, claim scenario, 5 runs
    python benchmarks/bench_run_latency.py --runs 9 --model MODEL.mdl --args ""
    python benchmarks/bench_run_latency.py --baseline /tmp/sd-old   # also an older checkout, interleaved

``--baseline DIR``: a checkout of another sd commit (``git worktree add DIR COMMIT``); its warm ``sd run``
is timed in the same interleaved rows (``python -m sd`` run in DIR imports DIR's sd).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/productivity_deflation.mdl")
    ap.add_argument("--args", default="--scenario claim")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", type=Path, help="a checkout of another sd commit, timed alongside")
    args = ap.parse_args()
    run = [sys.executable, "-m", "sd", "run", args.model, *shlex.split(args.args)]
    warm_env = {k: v for k, v in os.environ.items() if k != "SD_NO_CACHE"}
    cold_env = {**warm_env, "SD_NO_CACHE": "1"}
    wall(run, warm_env)  # fill the cache
    rows: dict[str, list[float]] = {}
    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], warm_env, ROOT),
        "python -c 'import sd.cli'": ([sys.executable, "-c", "import sd.cli"], warm_env, ROOT),
        "sd run, parsed (SD_NO_CACHE=1)": (run, cold_env, ROOT),
        "sd run, warm cache": (run, warm_env, ROOT),
    }
    if args.baseline is not None:
        base = args.baseline.resolve()
        run_base = [*run[:4], str(ROOT / args.model), *run[5:]]
        wall(run_base, warm_env, base)  # fill the baseline's cache
        cases[f"sd run, warm cache, baseline {base.name}"] = (run_base, warm_env, base)
    for _ in range(args.runs):
        for name, (cmd, env, cwd) in cases.items():
            rows.setdefault(name, []).append(wall(cmd, env, cwd))
    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  {os.cpu_count()} "
          f"CPUs  load {os.getloadavg()[0]:.1f}  python {platform.python_version()}")  # fmt: skip
    print(f"# {' '.join(run[1:])}; median of {args.runs}")
    print("| process | wall s (median) | all runs |")
    print("|---|---|---|")
    for name, v in rows.items():
        print(f"| {name} | {statistics.median(v):.3f} | {', '.join(f'{x:.2f}' for x in v)} |")
    cold, warm = (statistics.median(rows[k]) for k in ("sd run, parsed (SD_NO_CACHE=1)", "sd run, warm cache"))
    print(f"warm / parsed: {warm / cold:.2f}; target warm <= 0.6 s: {'met' if warm <= 0.6 else 'NOT met'}")
    if args.baseline is not None:
        base = statistics.median(rows[f"sd run, warm cache, baseline {args.baseline.resolve().name}"])
        print(f"warm / baseline warm: {warm / base:.2f}")


if __name__ == "__main__":
    main()
