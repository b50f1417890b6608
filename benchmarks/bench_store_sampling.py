"""Store writes (MB/s and size on disk per compressor and level) and sampling cost vs a chunk's run time.

1. **Store writes**: one chunk of a sweep's store written with zarr v3 (as ``sd sweep`` does: one zarr chunk
   per array and sweep chunk, a CRC32C checksum after the compressor), for each compressor: the draw's
   parameters (uniform floats: incompressible mantissas), outcomes (floats computed from them) and one
   stored series (draws x 31 times of teacup's temperature: smooth). Reported: MB/s of uncompressed bytes
   written (compress + checksum + file writes, median of the repeats) and the compressed size.
2. **Sampling**: ``sd.sweep.chunk.range_params`` (unit rows of the sampler + the distributions' ppf) for a
   chunk, beside the chunk's ``Model.run`` (outcomes only) on the same draws: the sampler's share of a
   task, for teacup (1 parameter, fused) and the mission model (67 parameters, fused).

    python benchmarks/bench_store_sampling.py                  # 250,000-draw chunk, 3 repeats
    python benchmarks/bench_store_sampling.py --draws 65536 --repeats 5
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import sd

ROOT = Path(__file__).resolve().parents[1]


def compressors() -> dict[str, list[Any]]:
    from zarr.codecs import BloscCodec, Crc32cCodec, GzipCodec, ZstdCodec

    c = Crc32cCodec()
    return {
        "none": [c],
        "zstd 1 (store's)": [ZstdCodec(level=1), c],
        "zstd 3": [ZstdCodec(level=3), c],
        "zstd 9": [ZstdCodec(level=9), c],
        "blosc lz4 shuffle": [BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), c],
        "blosc zstd1 shuffle": [BloscCodec(cname="zstd", clevel=1, shuffle="shuffle"), c],
        "blosc zstd1 bitshuffle": [BloscCodec(cname="zstd", clevel=1, shuffle="bitshuffle"), c],
        "gzip 1": [GzipCodec(level=1), c],
    }


def chunk_data(n: int) -> dict[str, np.ndarray]:
    """A teacup sweep chunk: 2 parameters, 4 outcomes, one series at 31 times (float64)."""
    rng = np.random.default_rng(1)
    ct, room = rng.uniform(5, 15, n), rng.normal(70, 4, n)
    t = np.arange(31.0)
    temp = room[:, None] + (180 - room[:, None]) * np.exp(-t[None, :] / ct[:, None])
    return {"Characteristic Time": ct, "Room Temperature": room, "final T": temp[:, -1],
            "T at 10": temp[:, 10], "max loss": (temp[:, 0] - room) / ct,
            "below 120": np.where(temp.min(axis=1) < 120, np.log(60 / (temp[:, 0] - room)) * -ct, np.nan),
            "Teacup Temperature": temp}  # fmt: skip


def write_once(folder: Path, data: dict[str, np.ndarray], codecs: list[Any]) -> tuple[float, int]:
    import zarr

    shutil.rmtree(folder, ignore_errors=True)
    group = zarr.open_group(str(folder), mode="w")
    arrays = {k: group.create_array(k, shape=v.shape, chunks=v.shape, dtype=v.dtype, compressors=codecs)
              for k, v in data.items()}  # fmt: skip
    t0 = time.perf_counter()
    for k, v in data.items():
        arrays[k][...] = v
    wall = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.name != "zarr.json")
    return wall, size


def bench_store(n: int, repeats: int) -> None:
    data = chunk_data(n)
    raw = sum(v.nbytes for v in data.values())
    print(f"\n## store writes: one chunk of {n:,} draws, {raw / 2**20:.1f} MiB uncompressed "
          f"(2 parameters, 4 outcomes, 1 series x 31 times), median of {repeats}")  # fmt: skip
    print("| compressor | MB/s written | on disk MiB | ratio | wall s |")
    print("|---|---|---|---|---|")
    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-store-"))
    try:
        results: dict[str, list[tuple[float, int]]] = {}
        for _ in range(repeats):  # interleaved so the machine's drift hits every codec alike
            for name, codecs in compressors().items():
                results.setdefault(name, []).append(write_once(tmp / "s.zarr", data, codecs))
        for name, runs in results.items():
            wall = statistics.median(w for w, _ in runs)
            size = runs[0][1]
            print(f"| {name} | {raw / 1e6 / wall:,.0f} | {size / 2**20:.1f} | {raw / size:.2f} | {wall:.3f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_sampling(n: int, repeats: int) -> None:
    from sd.sweep.chunk import range_params, run_outcomes
    from sd.sweep.planning import plan

    print(f"\n## sampling vs the chunk's run (range_params: unit rows + ppf; run: Model.run, outcomes only), "
          f"median of {repeats}")  # fmt: skip
    print("| spec | sampler | params | draws | sampling s | run s | sampling / run |")
    print("|---|---|---|---|---|---|---|")
    tmp = Path(tempfile.mkdtemp(prefix="sd-bench-sample-"))
    here = os.getcwd()
    os.chdir(tmp)
    try:
        shutil.copy(ROOT / "benchmarks" / "bench_sweep_overhead.py", tmp / "b.py")
        import importlib.util

        spec_mod = importlib.util.spec_from_file_location("b", tmp / "b.py")
        assert spec_mod is not None and spec_mod.loader is not None
        b = importlib.util.module_from_spec(spec_mod)
        spec_mod.loader.exec_module(b)
        teacup = b.write_spec(tmp, n, "auto", '"auto"')
        mission = sd.sweep.load_spec(ROOT / "sweeps" / "productivity_deflation.toml")
        cases = [("teacup", teacup, n), ("mission", mission, min(n, 16384))]
        for label, spec, draws in cases:
            for sampler in ("mc", "sobol", "lhs"):
                s = sd.sweep.load_spec(spec) if isinstance(spec, Path) else spec
                p = plan(s.replace(sampler=sampler, draws=draws if sampler != "sobol" else 1 << (draws - 1).bit_length(),
                                   chunk=draws, store=str(tmp / "x.zarr")))  # fmt: skip
                model = sd.load(p.model_path)
                outs = run_outcomes(p)
                ts, tr = [], []
                for _ in range(repeats + 1):
                    t0 = time.perf_counter()
                    values = range_params(p, 0, draws)
                    t1 = time.perf_counter()
                    model.run({**p.base, **values}, outputs=p.run_outputs, outcomes=outs, backend="auto",
                              saveper=p.run_saveper, final_time=p.final_time)  # fmt: skip
                    ts.append(t1 - t0)
                    tr.append(time.perf_counter() - t1)
                smp, run = statistics.median(ts[1:]), statistics.median(tr[1:])
                print(f"| {label} | {sampler} | {len(p.params)} | {draws:,} | {smp:.4f} | {run:.3f} | "
                      f"{100 * smp / run:.1f}% |", flush=True)  # fmt: skip
    finally:
        os.chdir(here)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=250_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-sampling", action="store_true")
    args = ap.parse_args()
    print(f"# {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  {platform.machine()}  "
          f"{os.cpu_count()} CPUs  load {os.getloadavg()[0]:.1f}  sd {sd.__version__}")  # fmt: skip
    bench_store(args.draws, args.repeats)
    if not args.skip_sampling:
        bench_sampling(args.draws, args.repeats)


if __name__ == "__main__":
    main()
