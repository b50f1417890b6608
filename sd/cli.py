"""Command line: ``sd run`` and ``sd sweep`` (also ``python -m sd``)."""

from __future__ import annotations

import sys
import time as _time
from pathlib import Path
from typing import Any

import click
import numpy as np

import sd
from sd.errors import ParamError, SDError
from sd.sweep.scenarios import load_scenario, summary_defaults

__all__ = ["load_scenario", "main"]


class _Group(click.Group):
    """Turn sd's errors into a one-line message and exit status 2 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SDError as err:
            click.echo(f"sd: error: {err}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(sd.__version__, prog_name="sd")
def main() -> None:
    """sd: Vensim models compiled into array code that runs millions of parameter draws at once."""


def _parse_set(items: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ParamError(f"--set {item!r}: expected NAME=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ParamError(f"--set {item!r}: {value!r} is not a number") from None
    return out


@main.command("run")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--scenario", help="Named parameter set from scenarios.toml beside the model.")
@click.option("--scenarios", type=click.Path(path_type=Path), help="Scenarios TOML file to use.")
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
@click.option("--out", type=click.Path(path_type=Path), help="Write the Dataset (.nc or .zarr).")
@click.option("--final-time", type=float)
@click.option("--time-step", type=float)
@click.option("--saveper", type=float)
def run_cmd(
    model_path: Path, scenario: str | None, scenarios: Path | None, sets: tuple[str, ...],
    draws: int, seed: int, outputs: tuple[str, ...], at: float | None, out: Path | None,
    final_time: float | None, time_step: float | None, saveper: float | None,
) -> None:  # fmt: skip
    """Run MODEL for one or many draws at once and print a summary."""
    if draws < 1:
        raise ParamError(f"--draws must be >= 1, got {draws}")
    model = sd.load(model_path)
    if scenario and (at is None or not outputs):
        default_at, default_outputs = summary_defaults(model_path, scenarios)
        at = default_at if at is None else at
        outputs = outputs or tuple(default_outputs)
    params: dict[str, Any] = {}
    if scenario:
        params.update(load_scenario(model_path, scenario, scenarios))
    params.update(_parse_set(sets))
    if draws > 1:
        rng = np.random.default_rng(seed)
        fixed = {model.resolve(k) for k in params if _resolves(model, k)}
        for name, var in model.constants.items():
            lo, hi = (var.limits or (None, None, None))[:2]
            if lo is None or hi is None or not lo < hi or var.ident in fixed:
                continue
            if var.ident in model.ir.structural:
                continue
            params[name] = rng.uniform(lo, hi, draws)
    t0 = _time.perf_counter()
    ds = model.run(
        params, outputs=list(outputs) or None, final_time=final_time, time_step=time_step,
        saveper=saveper, draws=draws,
    )  # fmt: skip
    elapsed = _time.perf_counter() - t0
    steps = round((ds.attrs["final_time"] - ds.attrs["initial_time"]) / ds.attrs["time_step"])
    n = ds.sizes["draw"]
    click.echo(
        f"{model_path.name}: {n} draw(s) x {steps} steps in {elapsed:.3f} s "
        f"({n * steps / max(elapsed, 1e-9):,.0f} draw-steps/s)"
        + (f", scenario {scenario!r}" if scenario else "")
    )
    when = float(ds["time"].values[-1]) if at is None else at
    snap = ds.sel(time=when, method="nearest")
    click.echo(f"at time {float(snap['time']):g}:")
    names = list(outputs) or [v for v in ds.data_vars][:15]
    width = max(len(str(v)) for v in names)
    for name in names:
        label = model.ir.variables[model.resolve(str(name))].name
        vals = snap[label].values
        units = ds[label].attrs.get("units", "")
        if n == 1:
            click.echo(f"  {label:<{width}}  {vals[0]:.6g} {units}")
        else:
            q = np.nanquantile(vals, [0.05, 0.5, 0.95])
            click.echo(
                f"  {label:<{width}}  median {q[1]:.6g}  90% [{q[0]:.6g}, {q[2]:.6g}] {units}"
            )
    if out is not None:
        write_dataset(ds, out)
        click.echo(f"wrote {out}")


def _resolves(model: sd.Model, name: str) -> bool:
    try:
        model.resolve(name)
    except KeyError:
        return False
    return True


def write_dataset(ds: Any, out: Path) -> None:
    """Write ``ds`` to ``out`` (.zarr or .nc) via a temporary name, so no half-written file remains."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    # netCDF and zarr list coordinates in a space-separated attribute: the parameters (Vensim names
    # with spaces) are stored as data variables along `draw` instead
    ds = ds.reset_coords()
    if out.suffix == ".zarr":
        import shutil

        if tmp.exists():
            shutil.rmtree(tmp)
        ds.to_zarr(tmp, mode="w")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    elif out.suffix == ".nc":
        ds = ds.assign_coords(draw=ds["draw"].astype("int32"))
        ds.to_netcdf(tmp, engine="scipy")
        tmp.replace(out)
    else:
        raise ParamError(f"--out {out}: expected a .nc or .zarr path")


@main.command("sweep")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--draws", type=int, help="Number of draws (overrides the spec).")
@click.option("--chunk", type=int, help="Draws per task (overrides the spec; an existing store keeps its own).")
@click.option("--store", help="Where to write the zarr store (overrides the spec).")
@click.option(
    "--scheduler",
    metavar="ADDR",
    help="tcp://host:port of a dask.distributed scheduler, or local | threads | sync (default: local).",
)
@click.option("--workers", type=int, help="Worker processes of the local cluster (default: one per core).")
@click.option(
    "--backend", type=click.Choice(["numpy", "cupy", "fused", "auto"]), help="Overrides the spec's backend."
)
@click.option("--overwrite", is_flag=True, help="Replace a store written by a different sweep.")
@click.option("--dry-run", is_flag=True, help="Print the plan (draws, chunks, memory, size) and stop.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when a draw violates a reality check.")
def sweep_cmd(
    spec_path: Path, draws: int | None, chunk: int | None, store: str | None, scheduler: str | None,
    workers: int | None, backend: str | None, overwrite: bool, dry_run: bool, strict: bool,
) -> None:  # fmt: skip
    """Run (or resume) the sweep SPEC, a TOML file: draws in chunks on dask, written to a zarr store."""
    from sd.sweep import execute

    if workers is not None and workers < 1:
        raise ParamError(f"--workers must be >= 1, got {workers}")
    p = execute.plan(spec_path, draws=draws, chunk=chunk, store=store, backend=backend)
    if dry_run:
        note = ""
        try:
            p, done = execute.prepare_store(p, overwrite=overwrite, create=False)
        except SDError as err:  # the run would refuse this store: say so, the plan is still useful
            done, note = None, f"  note       {err}"
        click.echo(execute.describe(p, None if overwrite else done, scheduler, workers))
        if note:
            click.echo(note)
        return
    t0 = _time.perf_counter()
    ds = execute.sweep(
        p.spec, store=p.store, scheduler=scheduler, workers=workers, overwrite=overwrite, progress=True
    )
    elapsed = _time.perf_counter() - t0
    n = ds.sizes["draw"]
    click.echo(f"{p.spec.source}: {n:,} draws in {elapsed:.1f} s -> {p.store}")
    for name, _vname, kind, _arg in p.outcomes:
        vals = np.asarray(ds[name].values, dtype=float)
        if kind == "first_time":
            hit = np.isfinite(vals)
            share = hit.mean()
            line = f"holds in {100 * share:.2f}% of draws"
            if hit.any():
                q = np.quantile(vals[hit], [0.05, 0.5, 0.95])
                line += f"; first time median {q[1]:.6g}  90% [{q[0]:.6g}, {q[2]:.6g}]"
            click.echo(f"  {name}: {line}")
        else:
            q = np.nanquantile(vals, [0.05, 0.5, 0.95])
            click.echo(f"  {name}: median {q[1]:.6g}  90% [{q[0]:.6g}, {q[2]:.6g}]")
    violated_any = False
    if p.checks:
        click.echo("reality checks:")
    for name, expr, when, _names in p.checks:
        bad = np.flatnonzero(np.asarray(ds[execute.check_var(name)].values, dtype=bool))
        violated_any |= bad.size > 0
        where = "at every saved time" if when == "always" else "at the end"
        if bad.size:
            ids = ", ".join(map(str, bad[:10])) + (" ..." if bad.size > 10 else "")
            click.echo(f"  {name}: '{expr}' {where}: VIOLATED in {bad.size:,} of {n:,} draws (draws {ids})")
        else:
            click.echo(f"  {name}: '{expr}' {where}: holds in all {n:,} draws")
    if strict and violated_any:
        click.echo("sd: reality checks violated (--strict)", err=True)
        sys.exit(1)
