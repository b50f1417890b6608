"""`sd sweep` vs EMA Workbench's MultiprocessingEvaluator over its pysd connector, teacup, series stored.

Both sides draw Characteristic Time ~ U[5, 15] and keep Teacup Temperature's time series at the model's
save times. **EMA**: ``PysdModel`` + ``MultiprocessingEvaluator(n_processes=cores)``,
``perform_experiments(N)`` for two batch sizes; its per-experiment cost is the marginal one
((t_large - t_small) / (N_large - N_small): pool start-up and model parse left out, in EMA's favour) and its
1M-draw time is extrapolated from it (labelled). **sd**: ``sd.sweep`` of 1M draws on the default scheduler
into a fresh zarr store (the series stored, fused backend), end to end, measured. Two save grids: every time
step (teacup's SAVEPER = TIME STEP, 241 points) and SAVEPER = 1 (31 points; the same for EMA).

    python benchmarks/bench_ema.py                          # 1M sd draws; EMA 300 and 1,500 experiments
    python benchmarks/bench_ema.py --ema 200,800 --draws 200000
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sweep_overhead import TEACUP

import sd


def ema_seconds(mdl: Path, n: int, processes: int) -> float:
    from ema_workbench import MultiprocessingEvaluator, RealParameter, TimeSeriesOutcome
    from ema_workbench.connectors.pysd_connector import PysdModel

    model = PysdModel("teacup", mdl_file=str(mdl))
    model.uncertainties = [RealParameter("Characteristic Time", 5, 15)]
    model.outcomes = [TimeSeriesOutcome("Teacup Temperature")]
    t0 = time.perf_counter()
    with MultiprocessingEvaluator(model, n_processes=processes) as ev:
        _, out = ev.perform_experiments(n)
    wall = time.perf_counter() - t0
    assert out["Teacup Temperature"].shape[0] == n
    return wall


def sd_seconds(folder: Path, draws: int, saveper: str) -> tuple[float, int]:
    spec = folder / "spec.toml"
    spec.write_text(
        f'model = "teacup.mdl"\ndraws = {draws}\nseed = 1\nsampler = "mc"\nchunk = "auto"\nbackend = "auto"\n'
        'store = "out.zarr"\n[parameters]\n"Characteristic Time" = { dist = "uniform", low = 5, high = 15 }\n'
        f'[outputs]\ntimeseries = ["Teacup Temperature"]\nsaveper = {saveper}\n',
        encoding="utf-8",
    )
    shutil.rmtree(folder / "out.zarr", ignore_errors=True)
    t0 = time.perf_counter()
    ds = sd.sweep(spec)
    wall = time.perf_counter() - t0
    return wall, int(ds.sizes["time"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--ema", default="300,1500", help="two EMA batch sizes")
    args = ap.parse_args()
    logging.getLogger("EMA").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    small, large = (int(x) for x in args.ema.split(","))
    procs = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-ema-"))
    here = os.getcwd()
    os.chdir(tmp)
    try:
        print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  {procs} CPUs  "
              f"load {os.getloadavg()[0]:.1f}  sd {sd.__version__}")  # fmt: skip
        print("| save grid | EMA s/experiment (marginal) | EMA 1M draws (extrap.) | sd sweep 1M draws | ratio |")
        print("|---|---|---|---|---|")
        grids = (("0.125", "every step (241 points)"), ("1", "SAVEPER = 1 (31 points)"))
        texts = {sp: TEACUP if sp == "0.125" else TEACUP.replace("SAVEPER = TIME STEP", "SAVEPER = 1")
                 for sp, _ in grids}  # fmt: skip
        ema = {}
        for saveper, _ in grids:  # EMA first: its fork-based pool must not inherit the sweep's threads
            (tmp / f"ema{saveper}.mdl").write_text(texts[saveper], encoding="utf-8")
            ema[saveper] = [ema_seconds(tmp / f"ema{saveper}.mdl", k, procs) for k in (small, large)]
        for saveper, label in grids:
            (tmp / "teacup.mdl").write_text(texts[saveper], encoding="utf-8")
            sd_seconds(tmp, 65536, saveper)  # compile the kernel, fill the IR cache
            t_small, t_large = ema[saveper]
            per = (t_large - t_small) / (large - small)
            wall, nt = sd_seconds(tmp, args.draws, saveper)
            ema_1m = per * args.draws
            print(f"| {label} ({nt} stored) | {per * 1e3:.2f} ms ({small}: {t_small:.1f} s, {large}: "
                  f"{t_large:.1f} s) | {ema_1m:,.0f} s | {wall:.2f} s | {ema_1m / wall:,.0f}x |", flush=True)  # fmt: skip
        print(f"# load after {os.getloadavg()[0]:.1f}")
    finally:
        os.chdir(here)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
