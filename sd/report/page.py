"""``sd report STORE --out report.html``: the claim's answer from a sweep's store, on one HTML page.

The page states the question, the share of draws in which debt held by the public closes within three years
(by 2028) and in which debt-to-GDP falls, the most influential parameters (Sobol' indices from a saltelli
store, else RBD-FAST first-order indices), the PRIM box where debt held by the public falls by 2028, the
surfaces over the top two parameters, and fan charts of debt, prices and energy met. Every figure is
captioned with the spec file, sampler and seed of the store. Bokeh figures, resources inline (one file,
opens offline).

Outcomes and series it looks for (those of sweeps/productivity_deflation.toml); a missing one drops its
section with a note instead of failing.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from sd.analyze._common import open_store, spec_of

__all__ = ["build_report"]

QUESTION = (
    "Can AI, robots and cheap energy outgrow money fast enough to close the US federal debt held by the "
    "public by the end of FY2028 (three years), with no tax rises and no spending cuts, and in what share "
    "of plausible worlds?"
)
CLOSES = "year debt closes <= 2028"
RATIO_FALLS = "debt ratio 2028 < initial debt ratio"
DEBT_FALLS = "debt held by public 2028 < initial debt held by public"
INDEX_OUTCOME = "debt ratio 2028"
FANS = ("federal debt held by public", "debt to GDP ratio", "price level", "energy demand met fraction")


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _share(ds: Any, expr: str) -> tuple[float, int] | None:
    from sd.analyze import condition

    try:
        flag = condition(ds, expr)
    except Exception:
        return None
    return float(flag.mean().compute() if hasattr(flag.data, "dask") else flag.mean()), int(ds.sizes["draw"])


def build_report(store: Any, out: str | Path, *, top: int = 15, prim_draws: int = 50_000,
                 index_draws: int = 16_384, bins: int = 20) -> Path:  # fmt: skip
    """Write the report of ``store`` to ``out`` (HTML) and return its path."""
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models import Div  # type: ignore[attr-defined]
    from bokeh.resources import INLINE

    import sd.analyze as an
    from sd import plot

    hv = plot._hv()
    ds = open_store(store)
    spec = spec_of(ds)
    a = ds.attrs
    spec_line = (f"spec {a.get('spec_file', '?')}, model {a.get('model', '?')} (sha256 "
                 f"{str(a.get('model_sha256', ''))[:12]}), scenario {a.get('scenario', '') or 'none'}, "
                 f"sampler {a.get('sampler', '?')}, seed {a.get('seed', '?')}, {int(ds.sizes['draw']):,} draws, "
                 f"sd {a.get('sd_version', '?')}, pysd {a.get('pysd_version', '?')}")  # fmt: skip
    parts: list[Any] = []

    def text(markup: str) -> None:
        parts.append(Div(text=markup, width=900))

    def figure(obj: Any, note: str) -> None:
        parts.append(hv.render(obj, backend="bokeh"))
        text(f"<p style='color:#555;font-size:90%'>{html.escape(note)}</p>")

    text(f"<h1>Can productivity deflation close the federal debt by 2028?</h1>{_p(QUESTION)}"
         f"<p style='color:#555'>{html.escape(spec_line)}</p>"
         f"<p style='color:#555'>{html.escape(str(spec.get('description', '')))}</p>")  # fmt: skip

    # 1. the answer in numbers
    rows = []
    for label, expr in (("debt held by the public closes (reaches zero) by 2028", CLOSES),
                        ("debt held by the public closes by 2035 (end of run)", "year debt closes <= 2035"),
                        ("debt held by the public is lower in 2028 than in 2025", DEBT_FALLS),
                        ("debt-to-GDP is lower in 2028 than in 2025", RATIO_FALLS)):  # fmt: skip
        got = _share(ds, expr)
        if got is not None:
            share, n = got
            rows.append(f"<tr><td>{html.escape(label)}</td><td style='text-align:right'><b>{100 * share:.2f}%"
                        f"</b></td><td style='text-align:right'>{round(share * n):,} of {n:,}</td>"
                        f"<td><code>{html.escape(expr)}</code></td></tr>")  # fmt: skip
    text("<h2>The answer: share of plausible worlds</h2><table border='1' cellpadding='4' "
         "style='border-collapse:collapse'><tr><th>claim</th><th>share of draws</th><th>draws</th>"
         f"<th>condition</th></tr>{''.join(rows)}</table>")  # fmt: skip

    # 2. the most influential parameters
    top2: list[str] = []
    if INDEX_OUTCOME in ds.variables:
        if a.get("sampler") == "saltelli":
            res = an.sobol(ds, INDEX_OUTCOME)
            index, how = "ST", "Sobol' total-order indices (SALib, Saltelli design)"
        else:
            res = an.first_order(ds, INDEX_OUTCOME, max_draws=index_draws, num_resamples=50)
            index, how = "S1", (f"first-order indices by RBD-FAST (SALib) on {int(res.attrs['draws_used']):,} "
                                f"random draws of the {a.get('sampler')}-sampled store")  # fmt: skip
        ranked = res[index].to_series().sort_values(ascending=False)
        top2 = list(ranked.index[:2])
        conf = int(100 * res.attrs["conf_level"])
        best = ", ".join(f"{p} ({v:.2f})" for p, v in ranked.head(5).items())
        text(f"<h2>Most influential parameters for {html.escape(INDEX_OUTCOME)}</h2>"
             + _p(f"{how}; bars are {conf}% confidence half-widths. Top: {best}"))
        figure(plot.indices_plot(res, index=index, top=top), plot.caption(res))
    else:
        text(_p(f"(no outcome {INDEX_OUTCOME!r} in the store: no indices)"))

    # 3. PRIM
    target = DEBT_FALLS if _share(ds, DEBT_FALLS) else None
    closes = _share(ds, CLOSES)
    if closes and closes[0] > 0:
        target = CLOSES
    if target:
        try:
            box = an.prim(ds, target, max_draws=prim_draws)
            lines = an.describe_box(box)
            ba = box.attrs
            how = (f"Condition: {target}. Peeling (alpha {ba['alpha']}) on {ba['draws_used']:,} draws; the "
                   f"box of highest density with coverage >= {100 * ba['min_coverage']:.0f}%, then pasted.")
            text("<h2>Where the claim would hold: PRIM box</h2>" + _p(how)
                 + f"<pre>{html.escape(chr(10).join(lines))}</pre>"
                 f"<p style='color:#555;font-size:90%'>{html.escape(plot.caption(box))}; coverage = share of "
                 "the draws where the condition holds that fall in the box; density = share of the box's "
                 "draws where it holds.</p>")  # fmt: skip
        except an.AnalysisError as err:
            text(_p(f"PRIM: {err}"))

    # 4. surfaces over the top two parameters
    if len(top2) == 2:
        text("<h2>Surfaces over the top two parameters</h2>"
             + _p("Every other parameter marginalised (all draws in each cell). White lines: contours."))
        surfs = [("median", INDEX_OUTCOME), (f"prob:{RATIO_FALLS}", None)]
        if _share(ds, DEBT_FALLS):
            surfs.append((f"prob:{DEBT_FALLS}", None))
        for stat, z in surfs:
            s = an.surface(ds, top2[0], top2[1], z, stat=stat, bins=bins)
            figure(plot.surface_plot(s), f"{s.name}: {plot.caption(s)}, {bins}x{bins} bins")

    # 5. fan charts
    text("<h2>Fan charts</h2>" + _p("Bands: 5-95% and 25-75% of draws at each year; line: median."))
    for var in FANS:
        if var in ds.variables and "time" in ds[var].dims:
            f = an.fan(ds, var)
            figure(plot.fan_plot(f), f"{var}: {plot.caption(f)}")
        else:
            text(_p(f"({var!r} is not a stored series of this store: add it to [outputs] timeseries)"))

    text("<h2>Spec</h2><pre style='font-size:80%'>" + html.escape(json.dumps(spec, indent=1)) + "</pre>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = file_html(column(*parts), INLINE, title="sd report: productivity deflation vs the federal debt")
    out.write_text(plot.standalone(page), encoding="utf-8")
    return out
