"""Command line: ``sd run`` and ``sd sweep`` (also ``python -m sd``)."""

from __future__ import annotations

import atexit
import os
import sys
import time as _time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import numpy as np

import sd
from sd.errors import ParamError, SDError
from sd.sweep.scenarios import load_scenario, summary_defaults

__all__ = ["load_scenario", "main"]


def _freeze_at_exit() -> None:
    """At interpreter exit, after every library's exit handler (atexit runs them last-registered first, and
    this one is registered when the CLI is imported, before zarr or dask register theirs): move every
    object to gc's permanent generation, so that the interpreter's final collections need not traverse
    them (0.1-0.2 s of every command's exit with zarr imported, measured in docs/performance.md). Nothing
    is written at that point; memory goes back to the OS with the process. Not after a dask.distributed
    cluster ran: its worker processes may still be going (an interrupted sweep), and the final collections
    run the finalizers that stop them before they report the lost scheduler."""
    import gc

    if "distributed" in sys.modules:
        return
    gc.freeze()


atexit.register(_freeze_at_exit)


class _Group(click.Group):
    """Turn sd's errors into a one-line message and exit status 2 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SDError as err:
            click.echo(f"sd: error: {' '.join(str(err).split())}", err=True)  # one line, always
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("sd: interrupted; what was finished is kept (a sweep's finished chunks): rerun the same "
                       "command to resume", err=True)  # fmt: skip
            sys.exit(130)
        except OSError as err:  # storage faults: disk full, read-only, not a directory, permissions
            click.echo(f"sd: error: {_os_error(err)}", err=True)
            sys.exit(2)
        except ValueError as err:
            if "checksum" not in str(err):
                raise
            click.echo(f"sd: error: a chunk of the store is damaged ({' '.join(str(err).split())[:120]}); rerun "
                       "`sd sweep SPEC --verify` to recompute damaged chunks", err=True)  # fmt: skip
            sys.exit(2)


def _os_error(err: OSError) -> str:
    """One line for a storage fault: the path, what happened and what to do."""
    import errno

    where = err.filename or "the output"
    what = err.strerror or type(err).__name__
    if err.errno == errno.ENOSPC:
        return (f"No space left on device writing {where}; free space and rerun: a sweep's finished chunks "
                "are kept, and no output was half-written")  # fmt: skip
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{where}: {what}; choose a writable location (--store / --out) or fix its permissions"
    if err.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return f"{where}: {what}; --store / --out must name a directory or file path that can be created"
    return f"{where}: {what}"


def _atomic_out(out: Path) -> Any:
    """A context manager: yields a temporary path beside ``out`` (same suffix) and renames it onto ``out``
    when the block succeeds, else removes it; an existing ``out`` is never replaced by a partial file."""
    import contextlib
    import os
    import shutil
    import uuid

    @contextlib.contextmanager
    def cm() -> Any:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.{os.getpid()}-{uuid.uuid4().hex[:6]}.partial{out.suffix}")
        try:
            yield tmp
            if tmp.is_dir() and out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()

    return cm()


def _nan_note(values: Any) -> tuple[str, int]:
    """(" (N NaN, M inf draws left out)" or "", number of NaN/inf draws) of a (draw,) array."""
    vals = np.asarray(values, dtype=float)
    nan, inf = int(np.isnan(vals).sum()), int(np.isinf(vals).sum())
    if not nan and not inf:
        return "", 0
    parts = [f"{nan:,} NaN" if nan else "", f"{inf:,} inf" if inf else ""]
    return f"  ({', '.join(p for p in parts if p)} of {vals.size:,} draws left out)", nan + inf


def _quantiles(vals: Any) -> str:
    finite = np.asarray(vals, dtype=float)
    finite = finite[np.isfinite(finite)]  # a copy: partitioned in place below
    if not finite.size:
        return "no finite values"
    q = np.quantile(finite, [0.05, 0.5, 0.95], overwrite_input=True)
    return f"median {q[1]:.6g}  90% [{q[0]:.6g}, {q[2]:.6g}]"


@click.group(cls=_Group)
@click.version_option(sd.__version__, prog_name="sd")
def main() -> None:
    """sd: Vensim models compiled into array code that runs millions of parameter draws at once."""


def _parse_set(items: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` -> float; ``NAME=LO:HI`` -> (lo, hi), a range drawn uniformly by ``--draws``."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ParamError(f"--set {item!r}: expected NAME=VALUE or NAME=LO:HI")
        try:
            if ":" in value:
                lo, hi = (float(v) for v in value.split(":"))
                if not lo < hi:
                    raise ParamError(f"--set {item!r}: expected LO < HI")
                out[name.strip()] = (lo, hi)
            else:
                out[name.strip()] = float(value)
        except ValueError:
            raise ParamError(f"--set {item!r}: {value!r} is not a number or LO:HI") from None
    return out


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _check_memory(model: Any, params: dict[str, Any], draws: int, outputs: tuple[str, ...],
                  final_time: float | None, time_step: float | None, saveper: float | None) -> None:  # fmt: skip
    """Refuse a run whose arrays cannot fit in memory, saying how much it needs and what to do."""
    times = model.time_axis({k: v for k, v in params.items() if not isinstance(v, tuple)},
                            final_time=final_time, time_step=time_step, saveper=saveper)  # fmt: skip
    n_out = len(model._output_idents(list(outputs) or None))
    ranged = sum(1 for v in model.constants.values() if v.limits and None not in v.limits[:2])
    need = 8 * draws * (len(times) * n_out * 2 + 4 * len(model.ir.variables) + ranged + len(params))
    have = _available_memory()
    if have is not None and need > have:
        raise ParamError(
            f"--draws {draws:,}: about {need / 2**30:.1f} GiB needed ({len(times):,} saved times x "
            f"{n_out} outputs x {draws:,} draws), {have / 2**30:.1f} GiB available; use fewer draws, "
            "fewer outputs (-o), a coarser --saveper, or `sd sweep`, which runs the draws in chunks"
        )


def _draw(model: sd.Model, params: dict[str, Any], draws: int, seed: int, model_path: Path) -> list[str]:
    """Replace ``--set`` ranges and every other constant with a [min,max] range by ``draws`` uniform draws;
    returns the drawn names. Refuses ``--draws N`` with nothing to draw (N identical runs)."""
    if draws < 2 and not any(isinstance(v, tuple) for v in params.values()):
        return []  # nothing to draw (and numpy.random, ~15 ms of imports, is not needed)
    rng = np.random.default_rng(seed)
    drawn = []
    for name, value in list(params.items()):
        if isinstance(value, tuple):
            if draws < 2:
                raise ParamError(f"--set {name}={value[0]:g}:{value[1]:g}: a range needs --draws > 1")
            params[name] = rng.uniform(value[0], value[1], draws)
            drawn.append(name)
    if draws < 2:
        return drawn
    fixed = {model.resolve(k) for k in params if _resolves(model, k)}
    for name, var in model.constants.items():
        lo, hi = (var.limits or (None, None, None))[:2]
        if lo is None or hi is None or not lo < hi or var.ident in fixed or var.ident in model.ir.structural:
            continue
        params[name] = rng.uniform(lo, hi, draws)
        drawn.append(name)
    if not drawn:
        raise ParamError(
            f"--draws {draws}: {model_path.name} has no constant with a [min,max] range and no --set "
            "NAME=LO:HI, so every draw would be the same run; give ranges in the model (`~ units [min,max]`), "
            "--set NAME=LO:HI, or a sweep spec (sd sweep, docs/sweeps.md)")  # fmt: skip
    return drawn


@main.command("run")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--scenario", help="Named parameter set from scenarios.toml beside the model.")
@click.option("--scenarios", type=click.Path(path_type=Path), help="Scenarios TOML file to use.")
@click.option("--data", "data_files", multiple=True, type=click.Path(path_type=Path),
              help="A data file (.tab, .csv, .dat) giving the values of data variables without an "
                   "equation (repeatable: each variable from the first file that has it).")  # fmt: skip
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a constant.")
@click.option(
    "--draws",
    type=int,
    default=1,
    show_default=True,
    help="Draws at once: every constant with a [min,max] range is drawn uniformly in it.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the draws.")
@click.option("--outputs", "-o", multiple=True, help="Variables to save (default: all).")
@click.option("--at", "at", type=float, help="Time at which to print the summary (default: final).")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write the result: .csv/.tab (pysd-style: a time column, one column per variable; with "
                   "--draws a draw column first) or .nc/.zarr (the Dataset, parameters included).")  # fmt: skip
@click.option("--final-time", type=float)
@click.option("--time-step", type=float)
@click.option("--saveper", type=float)
@click.option("--strict", is_flag=True, help="Exit with status 1 when a summarised value is NaN or inf in any draw.")
def run_cmd(
    model_path: Path, scenario: str | None, scenarios: Path | None, data_files: tuple[Path, ...],
    sets: tuple[str, ...],
    draws: int, seed: int, outputs: tuple[str, ...], at: float | None, out: Path | None,
    final_time: float | None, time_step: float | None, saveper: float | None, strict: bool = False,
) -> None:  # fmt: skip
    """Run MODEL for one or many draws at once and print a summary."""
    if draws < 1:
        raise ParamError(f"--draws must be >= 1, got {draws}")
    if out is not None and out.suffix.lower() not in OUT_SUFFIXES:
        raise ParamError(f"--out {out}: expected one of {', '.join(OUT_SUFFIXES)}")
    model = sd.load(model_path, data_files=list(data_files) or None)
    if scenario and (at is None or not outputs):
        default_at, default_outputs = summary_defaults(model_path, scenarios)
        at = default_at if at is None else at
        outputs = outputs or tuple(default_outputs)
    params: dict[str, Any] = {}
    if scenario:
        params.update(load_scenario(model_path, scenario, scenarios))
    params.update(_parse_set(sets))
    _check_memory(model, params, draws, outputs, final_time, time_step, saveper)
    drawn = _draw(model, params, draws, seed, model_path)
    if drawn:
        click.echo(f"drawn uniformly: {len(drawn)} constant(s) ({', '.join(drawn[:6])}{' ...' if len(drawn) > 6 else ''})")
    t0 = _time.perf_counter()
    res = model.run_arrays(  # no Dataset unless --out: xarray (and the dask it imports) cost more than the run
        params, outputs=list(outputs) or None, final_time=final_time, time_step=time_step,
        saveper=saveper, draws=draws,
    )  # fmt: skip
    elapsed = _time.perf_counter() - t0
    steps = round((res.attrs["final_time"] - res.attrs["initial_time"]) / res.attrs["time_step"])
    n = res.n
    click.echo(
        f"{model_path.name}: {n} draw(s) x {steps} steps in {elapsed:.3f} s "
        f"({n * steps / max(elapsed, 1e-9):,.0f} draw-steps/s)"
        + (f", scenario {scenario!r}" if scenario else "")
    )
    when = float(res.saved[-1]) if at is None else at
    row = int(np.abs(np.asarray(res.saved, dtype=float) - when).argmin())  # the nearest saved time
    click.echo(f"at time {float(res.saved[row]):g}:")
    names = list(outputs) or [g.label for g in res.groups][:15]
    width = max(len(str(v)) for v in names)
    bad = 0
    for name in names:
        labels = {g.label for g in res.groups}  # a subscripted output is named by its Vensim name
        label = str(name) if name in labels else model.ir.variables[model.resolve(str(name))].name
        vals, units = _snapshot(res, label, row)
        note, k = _nan_note(vals)
        bad += k
        if n == 1:
            click.echo(f"  {label:<{width}}  {vals.reshape(-1)[0]:.6g} {units}")
        else:
            click.echo(f"  {label:<{width}}  {_quantiles(vals)} {units}{note}")
    if out is not None:
        write_dataset(res.dataset(), out)
        click.echo(f"wrote {out}")
    if strict and bad:
        click.echo("sd: NaN or inf values in the summary (--strict)", err=True)
        sys.exit(1)


def _snapshot(res: Any, label: str, row: int) -> tuple[np.ndarray, Any]:
    """(values of output ``label`` at saved row ``row``: (draws,) or (draws, *subscript shape), its units),
    as ``res.dataset()[label].isel(time=row)`` would give them."""
    from sd.results import element_index
    from sd.simulate import to_numpy

    g = next(g for g in res.groups if g.label == label)
    if g.info is None:
        return to_numpy(res.out[g.ident][row]), res.ir.variables[g.ident].units
    arr = np.full((res.n, *g.info.shape), np.nan, dtype=res.attrs.get("dtype", "float64"))
    for elems, ident in g.info.elements.items():
        where: tuple[Any, ...] = (slice(None), *element_index(g.info, elems))
        arr[where] = to_numpy(res.out[ident][row])
    return arr, res.ir.variables[next(iter(g.info.elements.values()))].units


def _resolves(model: sd.Model, name: str) -> bool:
    try:
        model.resolve(name)
    except KeyError:
        return False
    return True


OUT_SUFFIXES = (".csv", ".tab", ".nc", ".zarr")


def table(ds: Any) -> Any:
    """The run as pysd's output table: a ``time`` column and one column per variable (Vensim names;
    a subscripted variable gives one column per element, ``name[a,b]`` as pysd names them). Several
    draws stack: a ``draw`` column first, the rows of draw 0 then draw 1, ...; parameters are not in it."""
    import pandas as pd

    cols: dict[str, Any] = {}
    n, t = ds.sizes["draw"], ds.sizes["time"]
    for name, var in ds.data_vars.items():
        if var.dims[:2] != ("draw", "time"):
            continue
        extra = var.dims[2:]
        if not extra:
            cols[str(name)] = var.values.reshape(-1)
            continue
        flat = var.stack(element=extra) if len(extra) > 1 else var.rename({extra[0]: "element"})
        for k in range(flat.sizes["element"]):
            key = flat["element"].values[k]
            label = ",".join(map(str, key)) if isinstance(key, tuple) else str(key)
            cols[f"{name}[{label}]"] = flat.isel(element=k).values.reshape(-1)
    front = {"time": np.tile(ds["time"].values, n)}
    if n > 1:
        front = {"draw": np.repeat(ds["draw"].values, t), **front}
    return pd.DataFrame({**front, **cols})


def write_dataset(ds: Any, out: Path) -> None:
    """Write ``ds`` to ``out`` (.csv/.tab: :func:`table`; .zarr or .nc: the Dataset) via a temporary name,
    so no half-written file remains."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".tab", ".zarr", ".nc"):
        raise ParamError(f"--out {out}: expected one of {', '.join(OUT_SUFFIXES)}")
    with _atomic_out(out) as tmp:  # a unique temporary name, removed on failure
        if suffix in (".csv", ".tab"):
            table(ds).to_csv(tmp, sep="," if suffix == ".csv" else "\t", index=False)
            return
        # netCDF and zarr list coordinates in a space-separated attribute: the parameters (Vensim names
        # with spaces) are stored as data variables along `draw` instead
        ds = ds.reset_coords()
        if suffix == ".zarr":
            ds.to_zarr(tmp, mode="w")
        else:
            ds = ds.assign_coords(draw=ds["draw"].astype("int32"))
            ds.to_netcdf(tmp, engine="scipy")


@main.command("sweep")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--draws", type=int, help="Number of draws (overrides the spec).")
@click.option("--chunk", type=int, help="Draws per task (overrides the spec; an existing store keeps its own).")
@click.option("--store", help="Where to write the zarr store (overrides the spec).")
@click.option(
    "--scheduler",
    metavar="ADDR",
    help="tcp://host:port of a dask.distributed scheduler, or threads | local (worker processes) | sync "
    "(default: threads in this process).",
)
@click.option(
    "--cluster",
    type=click.Choice(["local", "local-cuda"]),
    help="local-cuda: a dask_cuda.LocalCUDACluster, one worker per visible GPU (needs dask-cuda and a GPU).",
)
@click.option("--workers", type=int, help="Workers of the local cluster (default: one per core, or per GPU).")
@click.option(
    "--backend", type=click.Choice(["numpy", "cupy", "fused", "auto"]), help="Overrides the spec's backend."
)
@click.option("--overwrite", is_flag=True, help="Replace a store written by a different sweep.")
@click.option("--dry-run", is_flag=True, help="Print the plan (draws, chunks, memory, size) and stop.")
@click.option("--strict", is_flag=True,
              help="Exit with status 1 when a draw violates a reality check or an outcome is NaN/inf.")
@click.option("--verify", is_flag=True,
              help="Re-read every chunk of the store (checksums, missing files) and recompute those that fail.")
@click.option("--data", "data_files", multiple=True, type=click.Path(path_type=Path),
              help="A data file (.tab, .csv, .dat) of data variables without an equation; repeatable; "
                   "replaces the spec's data_files.")
def sweep_cmd(
    spec_path: Path, draws: int | None, chunk: int | None, store: str | None, scheduler: str | None,
    cluster: str | None, workers: int | None, backend: str | None, overwrite: bool, dry_run: bool,
    strict: bool, verify: bool = False, data_files: tuple[Path, ...] = (),
) -> None:  # fmt: skip
    """Run (or resume) the sweep SPEC, a TOML file: draws in chunks on dask, written to a zarr store."""
    from sd.sweep import cluster as sweep_cluster
    from sd.sweep import execute
    from sd.sweep import store as sweep_store
    from sd.sweep.planning import plan

    if workers is not None and workers < 1:
        raise ParamError(f"--workers must be >= 1, got {workers}")
    if cluster is not None and scheduler is not None:
        raise ParamError("--cluster and --scheduler: give one (--scheduler ADDR attaches to a running cluster)")
    if cluster == "local-cuda" and not dry_run:
        from sd.sweep.resources import local_cuda_available

        local_cuda_available()  # at once: no model load, no store
    data = [str(f.absolute()) for f in data_files] or None  # relative to the current directory
    p = plan(spec_path, draws=draws, chunk=chunk, store=store, backend=backend, data_files=data)
    sched = cluster or scheduler
    if dry_run:
        note = ""
        if p.spec.chunk == "auto" and (sched or p.spec.scheduler or "local") in sweep_cluster.LOCAL_SCHEDULERS:
            p = sweep_cluster.size_chunks(p, sched or p.spec.scheduler, workers)
        try:
            p, done = sweep_store.prepare_store(p, overwrite=overwrite, create=False)
        except SDError as err:  # the run would refuse this store: say so, the plan is still useful
            done, note = None, f"  note       {err}"
        click.echo(execute.describe(p, None if overwrite else done, sched, workers))
        if note:
            click.echo(note)
        return
    t0 = _time.perf_counter()
    effects = [p.paired.stored(n) for n in p.paired.outcomes] if p.paired else []
    names = [o.name for o in p.outcomes] + effects + [sweep_store.check_var(c.name) for c in p.checks]
    kept = _Kept(names, p.draws)
    p = execute.run(  # the plan made above: the sweep is planned once
        p, scheduler=scheduler, cluster=cluster, workers=workers, overwrite=overwrite, progress=True,
        verify=verify, sink=kept.add if kept.wanted else None,
    )  # fmt: skip
    elapsed = _time.perf_counter() - t0
    # the summary's values: those the chunks of this run kept, else read from the store with zarr alone
    # (no xarray, no dask: ~1.5 s of imports saved)
    stored, attrs = sweep_store.read_arrays(p.store, names)
    ds = kept.arrays() or stored
    n = p.draws
    click.echo(f"{p.spec.source}: {n:,} draws in {elapsed:.1f} s -> {p.store}")
    chunks = attrs.get("backend_chunks") or {}
    if chunks:
        used = ", ".join(f"{k} ({v} chunk{'s' if v != 1 else ''})" for k, v in sorted(chunks.items()))
        click.echo(f"backend: {used} [requested {attrs.get('backend_requested', p.backend)}]")
    nonfinite = _outcome_summary(ds, p)
    violated_any = False
    if p.checks:
        click.echo("reality checks:")
    for c in p.checks:
        name, expr, when = c.name, c.expr, c.when
        bad = np.flatnonzero(np.asarray(ds[sweep_store.check_var(name)], dtype=bool))
        violated_any |= bad.size > 0
        where = "at every saved time" if when == "always" else "at the end"
        if bad.size:
            ids = ", ".join(map(str, bad[:10])) + (" ..." if bad.size > 10 else "")
            click.echo(f"  {name}: '{expr}' {where}: VIOLATED in {bad.size:,} of {n:,} draws (draws {ids})")
        else:
            click.echo(f"  {name}: '{expr}' {where}: holds in all {n:,} draws")
    if strict and (violated_any or nonfinite):
        why = " and ".join(w for w, bad in (("reality checks violated", violated_any),
                                            (f"{nonfinite:,} NaN/inf outcome values", nonfinite)) if bad)  # fmt: skip
        click.echo(f"sd: {why} (--strict)", err=True)
        sys.exit(1)


class _Kept:
    """The summary's arrays as the chunks of this run produce them (threads and sync run the tasks in this
    process): the CLI then need not read them back from the store. Only when they fit in
    :attr:`BUDGET` bytes; :meth:`arrays` is None unless every draw was kept (a resumed or verified sweep
    reads the store)."""

    BUDGET = 512 * 2**20

    def __init__(self, names: list[str], draws: int) -> None:
        import threading

        self.names, self.draws = names, draws
        self.wanted = bool(names) and draws * len(names) * 8 <= self.BUDGET
        self.values: dict[str, np.ndarray] = {}
        self.starts: set[int] = set()
        self.covered = 0
        self.lock = threading.Lock()

    def add(self, data: Any) -> None:
        """Copy the chunk's values into their rows, in the task's thread: a concatenation at the end took
        0.3 s for 4M draws of 4 outcomes (strided columns), and the chunk's own arrays are not kept."""
        n = len(data.arrays[self.names[0]])
        with self.lock:
            if not self.values:
                self.values = {k: np.empty(self.draws, dtype=np.asarray(data.arrays[k]).dtype)
                               for k in self.names}  # fmt: skip
            if data.start not in self.starts:  # a task run twice (a retry) counts once
                self.starts.add(data.start)
                self.covered += n
        for k in self.names:
            self.values[k][data.start:data.start + n] = data.arrays[k]

    def arrays(self) -> dict[str, np.ndarray] | None:
        if not self.wanted or self.covered != self.draws:
            return None
        return self.values


def _outcome_summary(ds: Mapping[str, Any], p: Any) -> int:
    """Print each outcome's spread over the finite draws (``ds``: {name: values along draw}) with the
    count of NaN/inf draws beside it; return how many NaN/inf values there were (a first_time outcome's
    NaN means "never", not a fault). The lines are computed on a thread per core (numpy's partition
    releases the GIL: a 4M-draw outcome's quantiles take ~0.1 s) and printed in order."""
    from concurrent.futures import ThreadPoolExecutor

    kinds = {o.name: o.kind for o in p.outcomes}
    rows = [(o.name, o.name, o.kind) for o in p.outcomes]
    rows += [(p.paired.stored(n), p.paired.stored(n), f"effect:{kinds.get(n)}") for n in
             (p.paired.outcomes if p.paired else [])]  # fmt: skip  (effects: draw minus its twin)
    with ThreadPoolExecutor(max_workers=max(1, min(len(rows), os.cpu_count() or 1))) as pool:
        lines = list(pool.map(lambda r: _summary_line(r[1], np.asarray(ds[r[0]], dtype=float), r[2]), rows))
    for text, _ in lines:
        click.echo(text)
    return sum(k for _, k in lines)


def _summary_line(name: str, vals: np.ndarray, kind: str) -> tuple[str, int]:
    """One outcome's summary line and its count of NaN/inf values that are faults."""
    if kind == "first_time":
        hit = np.isfinite(vals)
        line = f"holds in {100 * hit.mean():.2f}% of draws"
        if hit.any():
            line += f"; first time {_quantiles(vals[hit])}"
        inf = int(np.isinf(vals).sum())
        return f"  {name}: {line}" + (f"  ({inf:,} inf draws)" if inf else ""), inf
    note, k = _nan_note(vals)
    if kind == "effect:first_time":  # NaN: neither the draw nor its twin ever met the condition
        k = int(np.isinf(vals).sum())
    return f"  {name}: {_quantiles(vals)}{note}", k


# ------------------------------------------------------------------------------------------------
# analysis (docs/analysis.md): sd plot ..., sd analyze ..., sd report
def _allow_incomplete(ctx: click.Context, param: Any, value: bool) -> bool:
    ctx.meta["sd_allow_incomplete"] = bool(value)
    return value


_ALLOW_INCOMPLETE = click.option(
    "--allow-incomplete", is_flag=True, is_eager=True, expose_value=False, callback=_allow_incomplete,
    help="Use the finished draws of a sweep that did not finish (the count missing is printed).",
)  # fmt: skip


def _store_arg(ctx: click.Context, param: Any, value: str) -> Any:
    """STORE opened once for every reader: an unfinished sweep's store is refused (one line, exit 2)
    unless --allow-incomplete, which prints how many draws are missing."""
    from sd.analyze._common import open_store

    ds = open_store(value, allow_incomplete=bool(ctx.meta.get("sd_allow_incomplete")))
    if ds.attrs.get("draws_missing"):
        click.echo(f"sd: warning: {ds.attrs['incomplete']}; results below use the finished draws only", err=True)
    return ds


def _write_fig(fig: Any, out: Path, title: str) -> None:
    from sd import plot

    with _atomic_out(out) as tmp:
        plot.save(fig, tmp, title=title)
    click.echo(f"wrote {out}")


@main.group("plot")
def plot_group() -> None:
    """Figures of a sweep's store: surfaces, fan charts (HTML or PNG)."""


@plot_group.command("surface")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--x", "x", required=True, help="Parameter on the x axis.")
@click.option("--y", "y", required=True, help="Parameter on the y axis.")
@click.option("--z", "z", help="Outcome (one value per draw); not needed for prob:EXPR or count.")
@click.option("--stat", default="median", show_default=True, help="median | mean | count | qNN | prob:EXPR")
@click.option("--bins", type=int, default=20, show_default=True, help="Bins per axis (random draws).")
@click.option("--where", help="Only the draws where this condition holds, e.g. 'robot lifetime > 10'.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="file.html or file.png")
def plot_surface_cmd(store: str, x: str, y: str, z: str | None, stat: str, bins: int, where: str | None,
                     out: Path) -> None:  # fmt: skip
    """A statistic of an outcome over two parameters, as a heat map with contours."""
    from sd import analyze, plot

    if bins < 1:
        raise ParamError(f"--bins must be >= 1, got {bins}")
    if out.suffix.lower() not in (".html", ".png"):
        raise ParamError(f"--out {out}: expected a .html or .png path")
    surf = analyze.surface(store, x, y, z, stat=stat, bins=bins, where=where)
    _write_fig(plot.surface_plot(surf), out, str(surf.name))


@plot_group.command("fan")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--var", required=True, help="A stored time series of the store.")
@click.option("--where", help="Only the draws where this condition holds.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="file.html or file.png")
def plot_fan_cmd(store: str, var: str, where: str | None, out: Path) -> None:
    """Quantile bands (5-95%, 25-75%, median) of a time series over the draws."""
    from sd import analyze, plot

    if out.suffix.lower() not in (".html", ".png"):
        raise ParamError(f"--out {out}: expected a .html or .png path")
    _write_fig(plot.fan_plot(analyze.fan(store, var, where=where)), out, var)


@main.group("analyze")
def analyze_group() -> None:
    """Sensitivity indices and scenario discovery on a sweep's store."""


def _print_indices(res: Any, cols: list[str], sort: str) -> None:
    if "time" in res.dims:
        click.echo(f"(time-resolved; shown at time {float(res['time'][-1]):g})")
        res = res.isel(time=-1)
    table = res[[c for c in cols if c in res]].to_dataframe().sort_values(sort, ascending=False)
    click.echo(f"{res.attrs.get('method')}: {res.attrs.get('outcome')}  (sampler {res.attrs.get('sampler')}, "
               f"seed {res.attrs.get('seed')}, {res.attrs.get('draws'):,} draws)")  # fmt: skip
    click.echo(table.to_string(float_format=lambda v: f"{v:.4f}"))


@analyze_group.command("sobol")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--outcome", required=True, help="An outcome, a stored series, or a condition 'A < B'.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the indices (.nc) or a tornado chart (.html/.png).")
def analyze_sobol_cmd(store: str, outcome: str, out: Path | None) -> None:
    """Sobol' indices (S1, ST, S2 with confidence intervals) from a saltelli-sampled store."""
    from sd import analyze

    res = analyze.sobol(store, outcome)
    _print_indices(res, ["S1", "S1_conf", "ST", "ST_conf"], "ST")
    _write_indices(res, out, "ST")


@analyze_group.command("first-order")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--outcome", required=True, help="An outcome, a stored series, or a condition 'A < B'.")
@click.option("--draws", type=int, default=16384, show_default=True, help="Random draws used (0: all).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the indices (.nc) or a tornado chart (.html/.png).")
def analyze_first_order_cmd(store: str, outcome: str, draws: int, out: Path | None) -> None:
    """First-order indices by RBD-FAST from any random sample (mc, lhs, sobol)."""
    from sd import analyze

    _check_draws(draws)
    res = analyze.first_order(store, outcome, max_draws=draws or None)
    _print_indices(res, ["S1", "S1_conf"], "S1")
    _write_indices(res, out, "S1")


@analyze_group.command("morris")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--outcome", required=True, help="An outcome, a stored series, or a condition 'A < B'.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the indices (.nc) or a tornado chart (.html/.png).")
def analyze_morris_cmd(store: str, outcome: str, out: Path | None) -> None:
    """Morris elementary effects (mu, mu*, sigma) from a morris-sampled store."""
    from sd import analyze

    res = analyze.morris(store, outcome)
    _print_indices(res, ["mu_star", "mu_star_conf", "mu", "sigma"], "mu_star")
    _write_indices(res, out, "mu_star")


@analyze_group.command("prim")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--condition", "cond", required=True, help="e.g. 'debt held by public 2028 < initial debt held by public'")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Peeling fraction.")
@click.option("--min-coverage", type=float, default=0.5, show_default=True)
@click.option("--draws", type=int, default=200_000, show_default=True, help="Random draws used (0: all).")
def analyze_prim_cmd(store: str, cond: str, alpha: float, min_coverage: float, draws: int) -> None:
    """PRIM scenario discovery: the box of parameter space where CONDITION mostly holds."""
    from sd import analyze

    _check_draws(draws)
    if not 0 < min_coverage <= 1:
        raise ParamError(f"--min-coverage must be in (0, 1], got {min_coverage:g}")
    res = analyze.prim(store, cond, alpha=alpha, min_coverage=min_coverage, max_draws=draws or None)
    click.echo("\n".join(analyze.describe_box(res)))


def _check_draws(draws: int) -> None:
    if draws < 0:
        raise ParamError(f"--draws must be >= 0 (0: all draws), got {draws}")


def _write_indices(res: Any, out: Path | None, index: str) -> None:
    if out is None:
        return
    if out.suffix.lower() == ".nc":
        out.parent.mkdir(parents=True, exist_ok=True)
        with _atomic_out(out) as tmp:
            res.to_netcdf(tmp)
        click.echo(f"wrote {out}")
        return
    from sd import plot

    _write_fig(plot.indices_plot(res, index=index), out, f"{index} of {res.attrs.get('outcome')}")


@main.command("report")
@click.argument("store", metavar="STORE", callback=_store_arg)
@_ALLOW_INCOMPLETE
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/report.html"), show_default=True)
@click.option("--spec", "spec", type=click.Path(path_type=Path),
              help="A TOML file whose [report] table configures the page (default: the one stored with the sweep).")
def report_cmd(store: str, out: Path, spec: Path | None) -> None:
    """One HTML page about a sweep's store: its question, shares of draws for the headline conditions, the
    most influential parameters, a PRIM box, surfaces, fan charts (configured by the spec's [report] table)."""
    from sd.report import build_report

    if out.suffix.lower() != ".html":
        raise ParamError(f"--out {out}: expected a .html path")
    with _atomic_out(out) as tmp:  # an existing page is replaced only by a complete one
        build_report(store, tmp, spec=spec)
    click.echo(f"wrote {out}")


@main.command("example")
@click.argument("name", required=False)
@click.argument("dest", required=False, type=click.Path(path_type=Path))
def example_cmd(name: str | None, dest: Path | None) -> None:
    """List the bundled examples, or copy example NAME (model, scenarios, sweep spec) into DEST (./NAME)."""
    from sd import examples

    if name is None:
        for key, entry in examples.index().items():
            click.echo(f"{key:24s} {entry['description']}")
        return
    target = examples.copy(name, dest)
    spec = target / examples.index()[name]["spec"]
    click.echo(f"copied {name} into {target}; run: sd sweep {spec}")


@main.command("calibrate")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("data", metavar="DATA", type=click.Path(path_type=Path))
@click.option("--fit", "fits", multiple=True, required=True, metavar="NAME=LO:HI",
              help="A constant to fit and its bounds (NAME alone: the model's [min,max] range).")
@click.option("--seed", type=int, default=None, help="Makes the fit reproducible.")
@click.option("--log", "log_scale", is_flag=True, help="Compare logarithms of the series.")
@click.option("--popsize", type=int, default=32, show_default=True, help="DE population per parameter.")
@click.option("--maxiter", type=int, default=200, show_default=True, help="DE generations at most.")
@click.option("--posterior", type=int, default=0, help="Draw this many posterior samples (emcee).")
@click.option("--samples-out", type=click.Path(path_type=Path), help="Write the posterior sample (CSV).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the result as TOML.")
def calibrate_cmd(model_path: Path, data: Path, fits: tuple[str, ...], seed: int | None, log_scale: bool,
                  popsize: int, maxiter: int, posterior: int, samples_out: Path | None,
                  out: Path | None) -> None:  # fmt: skip
    """Fit constants of MODEL to the time series in DATA (CSV or tab file; first column time)."""
    from sd.calibration import _fit_args, calibrate

    res = calibrate(sd.load(model_path), data, _fit_args(fits), seed=seed, log=log_scale,
                    popsize=popsize, maxiter=maxiter, posterior=posterior or None)  # fmt: skip
    for name, value in res.best.items():
        click.echo(f"{name} = {value:.6g}")
    click.echo(f"loss {res.loss:.6g} after {res.evaluations} candidates in {res.runs} runs, "
               f"{res.seconds:.2f} s ({res.message})")  # fmt: skip
    if res.posterior is not None:
        for c in res.posterior.columns:
            q = res.posterior[c].quantile([0.05, 0.5, 0.95]).to_numpy()
            click.echo(f"posterior {c}: 5% {q[0]:.6g}, median {q[1]:.6g}, 95% {q[2]:.6g}")
        if samples_out is not None:
            click.echo(f"wrote {res.save_posterior(samples_out)}")
    if out is not None:
        out.write_text(res.to_toml(), encoding="utf-8")
        click.echo(f"wrote {out}")


@main.command("check-units")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
def check_units_cmd(model_path: Path) -> None:
    """Check the units of MODEL's equations: one line per issue (file:line: variable: ...); exit 1 if any."""
    from sd.units import check_units

    report = check_units(sd.load(model_path))
    for issue in report:
        click.echo(str(issue))
    click.echo(report.summary(), err=bool(len(report)))
    if len(report):
        sys.exit(1)


@main.group("cache")
def cache_cmd() -> None:
    """sd's user cache: lowered models (a warm `sd run` skips pysd's parse), their generated numpy programs
    and compiled fused kernels."""


@cache_cmd.command("clear")
def cache_clear_cmd() -> None:
    """Delete the cache ($SD_CACHE_DIR, else the user cache directory); it is rebuilt as models load."""
    from sd.cache import cache_root, clear

    files, size = clear()
    click.echo(f"cleared {cache_root()}: {files} file(s), {size / 2**20:.1f} MiB")


@cache_cmd.command("info")
def cache_info_cmd() -> None:
    """Where the cache is and how much it holds."""
    from sd.cache import cache_root, size

    files, nbytes = size()
    click.echo(f"{cache_root()}: {files} file(s), {nbytes / 2**20:.1f} MiB")
