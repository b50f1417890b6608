"""The report page: every section is computed from the store and its ``[report]`` configuration.

Nothing here names a model's variables: the question, the headline conditions, the outcomes ranked by
influence, the PRIM condition, the surfaces and the fan charts come from :class:`ReportConfig` (the
``[report]`` table of the sweep spec, stored in the store's ``spec`` attr or passed with ``--spec``), and
everything else from the store itself (its outcomes, checks, stored series and drawn parameters).
"""

from __future__ import annotations

import html
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sd.analyze._common import AnalysisError, open_store, param_names, sampler_of, spec_of
from sd.errors import SpecError
from sd.sweep.report_spec import ReportConfig

__all__ = ["Share", "build_report", "load_config", "share"]

CHECK_PREFIX = "violated: "
GREY = "color:#555;font-size:90%"
TABLE = "<table border='1' cellpadding='4' style='border-collapse:collapse'>"


def _e(text: Any) -> str:
    return html.escape(str(text))


def _p(text: str) -> str:
    return f"<p>{_e(text)}</p>"


def _note(text: str) -> str:
    return f"<p style='{GREY}'>{_e(text)}</p>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"{TABLE}<tr>{head}</tr>{body}</table>"


def _label(ds: Any, name: str) -> str:
    units = str(ds[name].attrs.get("units", "")) if name in ds.variables else ""
    return f"{name} ({units})" if units and units.lower() not in ("dmnl", "1") else name


# -- configuration ------------------------------------------------------------------------------------


def load_config(ds: Any, spec: str | Path | None = None) -> ReportConfig:
    """The ``[report]`` table of ``spec`` (a TOML file, e.g. the sweep spec) when given, else the one
    stored with the store's spec, else the defaults."""
    if spec is not None:
        p = Path(spec)
        if not p.is_file():
            raise SpecError(f"{p}: no such file (--spec: a TOML file with a [report] table)")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"{p}: not valid TOML: {err}") from err
        return ReportConfig.from_value(data.get("report"), source=str(p))
    return ReportConfig.from_value(spec_of(ds).get("report"), source=str(ds.attrs.get("spec_file", "<store>")))


# -- draws: groups, shares ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """Where a condition holds: ``holds`` of ``run`` draws that ran (``undefined`` of them read a NaN and
    count as not holding); ``not_run`` draws of unfinished chunks are not in ``run``."""

    holds: int
    run: int
    undefined: int
    not_run: int

    @property
    def value(self) -> float:
        return self.holds / self.run if self.run else float("nan")

    def cell(self) -> str:
        if not self.run:
            return "no draw ran"
        extra = [f"{self.undefined:,} NaN counted as not holding"] if self.undefined else []
        extra += [f"{self.not_run:,} not run yet"] if self.not_run else []
        tail = f"<br><span style='{GREY}'>{'; '.join(extra)}</span>" if extra else ""
        return f"<b>{100 * self.value:.2f}%</b> ({self.holds:,} of {self.run:,}){tail}"


def _ran(ds: Any) -> np.ndarray:
    """Draws whose chunk was written: every drawn parameter is finite (an unwritten chunk is all NaN)."""
    from sd.analyze._common import columns

    names = param_names(ds)
    if not names:
        return np.ones(int(ds.sizes["draw"]), dtype=bool)
    return np.asarray(np.isfinite(columns(ds, names)).all(axis=1))


def share(ds: Any, expr: str, mask: np.ndarray | None = None, ran: np.ndarray | None = None) -> Share:
    """How often ``expr`` (sd's condition language over the store's variables) holds among the draws of
    ``mask`` (all by default), NaN and unfinished draws counted (see :class:`Share`)."""
    from sd.conditions import compile_condition

    names = [str(v) for v in ds.variables if v not in ("draw", "time")]
    try:
        cond = compile_condition(expr, names, of="the store")
    except ValueError as err:
        raise AnalysisError(f"condition {expr!r}: {err}") from None
    arrays = {n: np.asarray(ds[n].values, dtype=float) for n in cond.names}
    if any(a.ndim != 1 for a in arrays.values()):
        raise AnalysisError(f"condition {expr!r}: reads a time series; a share needs one value per draw")
    n = int(ds.sizes["draw"])
    flag = np.broadcast_to(np.asarray(cond(arrays), dtype=bool), (n,))
    nan = np.zeros(n, dtype=bool)
    for a in arrays.values():
        nan |= ~np.isfinite(a)
    ran = _ran(ds) if ran is None else ran
    mask = np.ones(n, dtype=bool) if mask is None else mask
    ok = mask & ran
    return Share(int((flag & ok).sum()), int(ok.sum()), int((nan & ok).sum()), int((mask & ~ran).sum()))


@dataclass
class _Ctx:
    ds: Any
    cfg: ReportConfig
    ran: np.ndarray
    groups: list[tuple[str, str | None, np.ndarray]]  # label, where-condition, mask
    parts: list[Any] = field(default_factory=list)
    hv: Any = None
    spec_file: str = ""  # the --spec file the configuration came from, if any

    def text(self, markup: str) -> None:
        from bokeh.models import Div  # type: ignore[attr-defined]

        self.parts.append(Div(text=markup, width=1000))

    def figures(self, objs: list[Any], note: str = "", per: int = 2) -> None:
        from bokeh.layouts import row

        figs = [self.hv.render(o, backend="bokeh") for o in objs]
        for k in range(0, len(figs), per):
            self.parts.append(row(*figs[k:k + per]))
        if note:
            self.text(_note(note))


def _groups(ds: Any, cfg: ReportConfig) -> list[tuple[str, str | None, np.ndarray]]:
    n = int(ds.sizes["draw"])
    if not cfg.by:
        return [("all draws", None, np.ones(n, dtype=bool))]
    if cfg.by not in ds.variables or ds[cfg.by].dims != ("draw",):
        raise AnalysisError(f"{cfg.source}: report.by: {cfg.by!r} is not a drawn parameter of the store")
    v = np.asarray(ds[cfg.by].values, dtype=float)
    out: list[tuple[str, str | None, np.ndarray]] = []
    for value in np.unique(v[np.isfinite(v)]):
        name = cfg.by_labels.get(f"{value:g}", "")
        label = f"{cfg.by} = {value:g}" + (f" ({name})" if name else "")
        out.append((label, f"`{cfg.by}` == {float(value)!r}", v == value))
    return out


def _width(ctx: _Ctx) -> int:
    """Figures side by side for the groups: one at 640 px, else two per row."""
    return 640 if len(ctx.groups) == 1 else 490


def _outcomes(ds: Any) -> list[str]:
    """The store's per-draw results in store order: outcomes and paired effects (not checks, not params)."""
    return [str(k) for k, v in ds.data_vars.items() if v.dims == ("draw",) and not str(k).startswith(CHECK_PREFIX)]


def _series(ds: Any) -> list[str]:
    return [str(k) for k, v in ds.data_vars.items() if v.dims[:2] == ("draw", "time")]


# -- sections -----------------------------------------------------------------------------------------


def _title(ds: Any, cfg: ReportConfig) -> str:
    desc = str(spec_of(ds).get("description", "")).strip()
    return cfg.title or desc or f"Sweep of {ds.attrs.get('model', 'a model')}"


def _header(ctx: _Ctx) -> None:
    ds, cfg = ctx.ds, ctx.cfg
    n_run, n = int(ctx.ran.sum()), int(ds.sizes["draw"])
    question = cfg.question or (
        f"What do {n:,} draws of the {len(param_names(ds))} drawn parameters of {ds.attrs.get('model', 'the model')} "
        "give for its outcomes, which parameters matter most, and where in parameter space?")  # fmt: skip
    a = ds.attrs
    line = (f"model {a.get('model', '?')}, scenario {a.get('scenario', '') or 'none'}, sampler "
            f"{a.get('sampler', '?')}, seed {a.get('seed', '?')}, {n:,} draws ({n_run:,} run)")  # fmt: skip
    text = f"<h1>{_e(_title(ds, cfg))}</h1><p><b>Question.</b> {_e(question)}</p>{_note(line)}"
    if n_run < n:
        text += _p(f"Incomplete store: {n - n_run:,} of {n:,} draws are in chunks not yet run (rerun "
                   "`sd sweep` on the same spec to finish them); shares below are of the draws that ran.")  # fmt: skip
    if cfg.by:
        text += _p(f"Every share is given per value of {cfg.by!r}, never pooled.")
    ctx.text(text)


def _shares_table(ctx: _Ctx, items: list[tuple[str, str]], head: str) -> list[Share]:
    rows, got = [], []
    for label, expr in items:
        cells = []
        for _, _, mask in ctx.groups:
            s = share(ctx.ds, expr, mask, ctx.ran)
            got.append(s)
            cells.append(s.cell())
        rows.append([_e(label), *cells, f"<code>{_e(expr)}</code>"])
    ctx.text(_table([head, *(_e(g[0]) for g in ctx.groups), "condition"], rows))
    return got


def _headline(ctx: _Ctx) -> None:
    if not ctx.cfg.headline:
        return
    ctx.text("<h2>The answer: shares of draws</h2>" + _note(
        "Share of the draws that ran in which each condition holds. A NaN (an outcome that never happened, "
        "e.g. a first time that never came) compares false and is counted as not holding."))  # fmt: skip
    _shares_table(ctx, list(ctx.cfg.headline.items()), "condition holds")


def _checks(ctx: _Ctx) -> None:
    names = [str(v) for v in ctx.ds.data_vars if str(v).startswith(CHECK_PREFIX)]
    if not names:
        return
    ctx.text("<h2>Reality checks</h2>" + _note("Share of draws in which the check is violated at least once."))
    items = [(f"{v[len(CHECK_PREFIX):]}: {ctx.ds[v].attrs.get('check', '')}", f"`{v}` == 1") for v in names]
    _shares_table(ctx, items, "check violated")


def _quantiles(values: np.ndarray) -> str:
    ok = values[np.isfinite(values)]
    nan = values.size - ok.size
    if not ok.size:
        return f"all NaN ({nan:,})"
    q = np.quantile(ok, [0.05, 0.5, 0.95])
    tail = f"<br><span style='{GREY}'>{nan:,} NaN</span>" if nan else ""
    return f"{q[1]:.4g} [{q[0]:.4g}, {q[2]:.4g}]{tail}"


def _summary(ctx: _Ctx) -> None:
    ds = ctx.ds
    names = _outcomes(ds)
    if not names:
        return
    from sd.analyze._common import columns

    values = columns(ds, names)
    rows = []
    for k, name in enumerate(names):
        cells = [_quantiles(values[m & ctx.ran, k]) for _, _, m in ctx.groups]
        rows.append([_e(name), _e(ds[name].attrs.get("units", "")), *cells])
    ctx.text("<h2>Outcomes</h2>" + _note("Median [5%, 95%] over the draws that ran; NaN counted apart.")
             + _table(["outcome", "units", *(_e(g[0]) for g in ctx.groups)], rows))  # fmt: skip


def _index_of(ctx: _Ctx, name: str, index_draws: int) -> tuple[Any, list[str], str]:
    """(result, index variables, how) for ``name``: Sobol' S1 and ST from a saltelli store, Morris from a
    morris store, else RBD-FAST S1 on a random subset."""
    import sd.analyze as an

    sampler = sampler_of(ctx.ds)[0]
    if sampler == "saltelli":
        return an.sobol(ctx.ds, name), ["S1", "ST"], "Sobol' first-order (S1) and total-order (ST) indices (SALib)"
    if sampler == "morris":
        return an.morris(ctx.ds, name), ["mu_star"], "Morris elementary effects (mu*, SALib)"
    res = an.first_order(ctx.ds, name, max_draws=index_draws, num_resamples=50)
    how = (f"first-order indices (S1) by RBD-FAST (SALib) on {int(res.attrs['draws_used']):,} random draws of "
           f"the {sampler}-sampled store (total-order indices need sampler = \"saltelli\")")  # fmt: skip
    return res, ["S1"], how


def _indices(ctx: _Ctx, index_draws: int) -> list[str]:
    """Rank the parameters for each outcome of ``indices`` (default: the store's first outcome); returns
    the parameters ranked for the first one (the surfaces' axes)."""
    from sd import plot

    names = list(ctx.cfg.indices) or _outcomes(ctx.ds)[:1]
    ranked_first: list[str] = []
    for name in names:
        try:
            res, keys, how = _index_of(ctx, name, index_draws)
        except AnalysisError as err:
            ctx.text(f"<h2>Most influential parameters for {_e(name)}</h2>" + _p(f"(no indices: {err})"))
            continue
        main = keys[-1]
        ranked = res[main].to_series().sort_values(ascending=False).dropna()
        ranked_first = ranked_first or [str(p) for p in ranked.index]
        conf = int(100 * float(res.attrs.get("conf_level", 0.95)))
        rows = [[_e(p), *(f"{float(res[k].sel(parameter=p)):.3f} ± {float(res[f'{k}_conf'].sel(parameter=p)):.3f}"
                          if f"{k}_conf" in res else f"{float(res[k].sel(parameter=p)):.3f}" for k in keys)]
                for p in ranked.index[: ctx.cfg.top]]  # fmt: skip
        ctx.text(f"<h2>Most influential parameters for {_e(name)}</h2>"
                 + _note(f"{how}; ± {conf}% confidence half-widths; ranked by {main}.")
                 + _table(["parameter", *keys], rows))  # fmt: skip
        ctx.figures([plot.indices_plot(res, index=main, top=ctx.cfg.top)], plot.caption(res))
    return ranked_first


def _prim(ctx: _Ctx, prim_draws: int) -> None:
    import sd.analyze as an
    from sd import plot

    target = ctx.cfg.prim or next(iter(ctx.cfg.headline.values()), "")
    if not target:
        return
    s = share(ctx.ds, target, None, ctx.ran)
    head = f"<h2>Where it holds: PRIM box for <code>{_e(target)}</code></h2>"
    if s.holds in (0, s.run):
        ctx.text(head + _p(f"(no box: the condition holds in {s.holds:,} of {s.run:,} draws)"))
        return
    try:
        box = an.prim(ctx.ds.isel(draw=np.flatnonzero(ctx.ran)), target, max_draws=prim_draws)
    except AnalysisError as err:
        ctx.text(head + _p(f"(no box: {err})"))
        return
    ba = box.attrs
    how = (f"Peeling (alpha {ba['alpha']}) on {ba['draws_used']:,} draws; the box of highest density with "
           f"coverage >= {100 * ba['min_coverage']:.0f}%, then pasted. Coverage = share of the draws where "
           "the condition holds that fall in the box; density = share of the box's draws where it holds.")
    ctx.text(head + _note(how) + f"<pre>{_e(chr(10).join(an.describe_box(box)))}</pre>" + _note(plot.caption(box)))


def _surfaces(ctx: _Ctx, ranked: list[str], bins: int) -> None:
    import sd.analyze as an
    from sd import plot

    axes = [p for p in ranked if p != ctx.cfg.by][:2]
    first = (ctx.cfg.indices or _outcomes(ctx.ds))[:1]
    todo = ctx.cfg.surfaces if ctx.cfg.surfaces is not None else (
        [{"z": first[0], "stat": "median"}] if first else [])  # fmt: skip
    if not todo:
        return
    ctx.text("<h2>Surfaces</h2>" + _note("A statistic of an outcome over two parameters (default: the two "
                                         "most influential), every other parameter marginalised."))  # fmt: skip
    for item in todo:
        x, y = item.get("x", axes[0] if axes else None), item.get("y", axes[1] if len(axes) > 1 else None)
        if x is None or y is None:
            ctx.text(_p("(no surface: name x and y, or rank two parameters with indices)"))
            return
        try:
            figs = [plot.surface_plot(an.surface(ctx.ds, x, y, item.get("z"), stat=item.get("stat", "median"),
                                                 bins=int(item.get("bins", bins)), where=where),
                                      width=_width(ctx), height=380, group=label)
                    for label, where, _ in ctx.groups]  # fmt: skip
        except AnalysisError as err:
            ctx.text(_p(f"(surface {item}: {err})"))
            continue
        ctx.figures(figs)


def _fans(ctx: _Ctx) -> None:
    import sd.analyze as an
    from sd import plot

    names = list(ctx.cfg.fans) if ctx.cfg.fans is not None else _series(ctx.ds)[:6]
    if not names:
        return
    ctx.text("<h2>Fan charts</h2>" + _note("Bands: 5-95% and 25-75% of draws at each time; line: median."))
    for var in names:
        if var not in ctx.ds.variables or "time" not in ctx.ds[var].dims:
            ctx.text(_p(f"({var!r} is not a stored series of this store: add it to [outputs] timeseries)"))
            continue
        figs = [plot.fan_plot(an.fan(ctx.ds, var, where=where), width=_width(ctx),
                              group=label if where else "") for label, where, _ in ctx.groups]  # fmt: skip
        ctx.figures(figs)


def _cdfs_and_dots(ctx: _Ctx, ranked: list[str], dots: int = 2_000) -> None:
    """Outcome CDFs (one curve per group) and parameter-outcome scatter ("dotty") plots of the first
    ranked outcome against its four most influential parameters."""
    hv, ds = ctx.hv, ctx.ds
    names = list(ctx.cfg.indices) or _outcomes(ds)[:1]
    names = [n for n in names if n in ds.variables and ds[n].dims == ("draw",)]
    if not names:
        return
    ctx.text("<h2>Distributions</h2>" + _note("Cumulative distribution over the draws that ran (NaN left "
                                              "out of the curve and counted in the Outcomes table)."))  # fmt: skip
    figs = []
    for name in names:
        v = np.asarray(ds[name].values, dtype=float)
        curves = []
        for label, _, mask in ctx.groups:
            x = np.sort(v[mask & ctx.ran & np.isfinite(v)])
            if x.size:
                curves.append(hv.Curve((x, np.arange(1, x.size + 1) / x.size), _label(ds, name),
                                       "share of draws", label=label))  # fmt: skip
        if curves:
            figs.append(hv.Overlay(curves).opts(title=f"CDF of {name}", width=480, height=320,
                                                legend_position="bottom_right", show_legend=len(curves) > 1))  # fmt: skip
    if figs:
        ctx.figures(figs)
    params = [p for p in ranked if p in ds.variables and p != ctx.cfg.by][:4]
    if not params:
        return
    rng = np.random.default_rng(0)
    idx = np.flatnonzero(ctx.ran)
    idx = np.sort(rng.choice(idx, min(dots, idx.size), replace=False)) if idx.size else idx
    sub = ds.isel(draw=idx)
    y = np.asarray(sub[names[0]].values, dtype=float)
    scat = [hv.Scatter((np.asarray(sub[p].values, dtype=float), y), _label(ds, p), _label(ds, names[0]))
            .opts(size=2, alpha=0.4, width=245, height=240, title=p) for p in params]  # fmt: skip
    ctx.figures(scat, f"{names[0]} against its most influential parameters, {idx.size:,} random draws.", per=4)


def _dist_text(d: dict[str, Any]) -> str:
    kind = d.get("dist", "?")
    if kind == "choice":
        values = ", ".join(f"{v:g}" for v in d.get("values", []))
        return f"choice [{values}]" + (f" weights {d['weights']}" if d.get("weights") else "")
    if "low" in d and "high" in d and kind in ("uniform", "loguniform"):
        return f"{kind} {d['low']:g} – {d['high']:g}"
    args = ", ".join(f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v}" for k, v in d.items() if k != "dist")
    return f"{kind}({args})"


def _resolved(ds: Any, name: str, d: dict[str, Any]) -> dict[str, Any]:
    """The distribution as the store recorded it (ranges taken from the model filled in), else the spec's."""
    try:
        return dict(json.loads(ds[name].attrs["distribution"]))
    except (KeyError, ValueError, TypeError):
        return d


def _outcome_text(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    if "first_time" in d:
        return f"first time {d['first_time']}"
    if "at" in d:
        return f"{d.get('var')} at {d['at']:g}"
    return f"{d.get('reduce', '?')} of {d.get('var')}"


def _reproduce(ctx: _Ctx) -> None:
    ds, a = ctx.ds, ctx.ds.attrs
    spec = spec_of(ds)
    store = spec.get("store", "STORE")
    draws = f" --draws {a['draws']}" if "draws" in a else ""
    cmds = (f"sd sweep {a.get('spec_file', 'SPEC')}{draws} --store {store}\n"
            f"sd report {store} --out report.html" + (f" --spec {ctx.spec_file}" if ctx.spec_file else ""))
    info = [["model", _e(f"{a.get('model', '?')} (sha256 {a.get('model_sha256', '?')})")],
            ["scenario", _e(a.get("scenario", "") or "none")],
            ["sampler, seed, draws, chunk", _e(f"{a.get('sampler')}, {a.get('seed')}, {a.get('draws')}, {a.get('chunk')}")],
            ["backend", _e(a.get("backend_used", spec.get("backend", "?")))],
            ["versions", _e(f"sd {a.get('sd_version', '?')}, pysd {a.get('pysd_version', '?')}")]]  # fmt: skip
    params = spec.get("parameters", {})
    drawn = [[_e(k), _e(_dist_text(_resolved(ds, k, v))), _e(ds[k].attrs.get("units", "") if k in ds.variables else "")]
             for k, v in params.items() if isinstance(v, dict)]  # fmt: skip
    fixed = ", ".join(f"{k} = {v:g}" for k, v in params.items() if not isinstance(v, dict))
    outs = [[_e(k), _e(_outcome_text(v))] for k, v in spec.get("outcomes", {}).items()]
    pairs = spec.get("paired")
    text = (f"<h2>Reproduce</h2><pre>{_e(cmds)}</pre>" + _table(["", ""], info)
            + f"<h3>Drawn parameters ({len(drawn)})</h3>" + _table(["parameter", "distribution", "units"], drawn)
            + (_p(f"Fixed: {fixed}") if fixed else "")
            + f"<h3>Outcomes ({len(outs)})</h3>" + _table(["outcome", "definition"], outs))  # fmt: skip
    if pairs:
        text += _p(f"Paired counterfactual: '{pairs.get('prefix')} <outcome>' = outcome minus that of the "
                   f"draw's twin with {pairs.get('set')}, for {', '.join(pairs.get('outcomes', []))}.")
    ctx.text(text)


# -- the page ------------------------------------------------------------------------------------------


def build_report(store: Any, out: str | Path, *, spec: str | Path | None = None, config: Any = None,
                 prim_draws: int = 50_000, index_draws: int = 16_384, bins: int = 20) -> Path:  # fmt: skip
    """Write the report of ``store`` to ``out`` (one self-contained HTML page) and return its path.

    The page's content comes from ``config`` (a :class:`ReportConfig` or a ``[report]`` table), else the
    ``[report]`` table of ``spec`` (a TOML file), else the one stored with the store's spec, else the
    store alone (see :mod:`sd.sweep.report_spec`).
    """
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.resources import INLINE

    from sd import plot

    ds = open_store(store)
    cfg = ReportConfig.from_value(config, source="config") if config is not None else load_config(ds, spec)
    ctx = _Ctx(ds, cfg, _ran(ds), _groups(ds, cfg), hv=plot._hv(), spec_file=str(spec or ""))
    _check_names(ctx)
    _header(ctx)
    _headline(ctx)
    _checks(ctx)
    _summary(ctx)
    ranked = _indices(ctx, index_draws)
    _prim(ctx, prim_draws)
    _surfaces(ctx, ranked, bins)
    _fans(ctx)
    _cdfs_and_dots(ctx, ranked)
    _reproduce(ctx)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = file_html(column(*ctx.parts), INLINE, title=f"sd report: {_title(ds, cfg)}")
    out.write_text(plot.standalone(page), encoding="utf-8")
    return out


def _check_names(ctx: _Ctx) -> None:
    """Every name the configuration gives is in the store: one error naming the key, before any work."""
    cfg, ds = ctx.cfg, ctx.ds
    from sd.analyze._common import outcome

    for label, expr in cfg.headline.items():
        _checked(share, (ds, expr, None, ctx.ran), cfg.source, f"headline.{label!r}")
    if cfg.prim:
        _checked(share, (ds, cfg.prim, None, ctx.ran), cfg.source, "prim")
    for key, names in (("indices", cfg.indices), ("fans", cfg.fans or ())):
        for name in names:
            if name not in ds.variables and not any(op in name for op in "<>="):
                _checked(outcome, (ds, name), cfg.source, key)


def _checked(fn: Callable[..., Any], args: tuple[Any, ...], source: str, key: str) -> None:
    try:
        fn(*args)
    except AnalysisError as err:
        raise AnalysisError(f"{source}: report.{key}: {err}") from None
