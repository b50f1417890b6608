"""Wall time of a whole `sd run` process: warm (the lowered model from sd's cache) vs parsed each time.

Each row starts a fresh Python process; rows are interleaved (cold, warm, cold, warm, ...) so the machine's
drift hits them alike; medians are reported. ``cold`` sets ``SD_NO_CACHE=1`` (pysd parses the model
every time, as before the cache); ``warm`` runs after one run that filled the cache. ``python -c pass``
and ``import sd.cli`` give the floor.

    python benchmarks/bench_run_latency.py                      # the mission model, claim scenario, 5 runs
    python benchmarks/bench_run_latency.py --runs 9 --model MODEL.mdl --args ""
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


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/productivity_deflation.mdl")
    ap.add_argument("--args", default="--scenario claim")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    run = [sys.executable, "-m", "sd", "run", args.model, *shlex.split(args.args)]
    warm_env = {k: v for k, v in os.environ.items() if k != "SD_NO_CACHE"}
    cold_env = {**warm_env, "SD_NO_CACHE": "1"}
    wall(run, warm_env)  # fill the cache
    rows: dict[str, list[float]] = {}
    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], warm_env),
        "python -c 'import sd.cli'": ([sys.executable, "-c", "import sd.cli"], warm_env),
        "sd run, parsed (SD_NO_CACHE=1)": (run, cold_env),
        "sd run, warm cache": (run, warm_env),
    }
    for _ in range(args.runs):
        for name, (cmd, env) in cases.items():
            rows.setdefault(name, []).append(wall(cmd, env))
    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  {os.cpu_count()} "
          f"CPUs  load {os.getloadavg()[0]:.1f}  python {platform.python_version()}")  # fmt: skip
    print(f"# {' '.join(run[1:])}; median of {args.runs}")
    print("| process | wall s (median) | all runs |")
    print("|---|---|---|")
    for name, v in rows.items():
        print(f"| {name} | {statistics.median(v):.3f} | {', '.join(f'{x:.2f}' for x in v)} |")
    cold, warm = (statistics.median(rows[k]) for k in ("sd run, parsed (SD_NO_CACHE=1)", "sd run, warm cache"))
    print(f"warm / parsed: {warm / cold:.2f}; target warm <= 0.6 s: {'met' if warm <= 0.6 else 'NOT met'}")


if __name__ == "__main__":
    main()
