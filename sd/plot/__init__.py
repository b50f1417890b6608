"""Figures of a sweep's analysis with hvplot / HoloViews (docs/analysis.md).

- :func:`surface_plot`: a heat map of :func:`sd.analyze.surface` with contour lines;
- :func:`fan_plot`: quantile bands of :func:`sd.analyze.fan` (5-95 % and 25-75 %, the median as a line);
- :func:`indices_plot`: a tornado (horizontal bars, largest on top) of Sobol', RBD-FAST or Morris indices
  with their confidence intervals;
- :func:`save`: ``.html`` (bokeh, interactive, every resource inline: the file opens offline) or ``.png``.

PNG goes through HoloViews' **matplotlib** backend, not bokeh's ``export_png``: bokeh needs selenium, a
browser and its driver at export time, while matplotlib is already a dependency of the stack and renders
headless anywhere (CI, clusters). The HTML is the interactive figure; the PNG is the same data and styling
for documents.

Every figure's title or caption names the spec file, sampler and seed of the store it came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sd.analyze._common import AnalysisError

__all__ = ["caption", "fan_plot", "indices_plot", "save", "standalone", "surface_plot", "title_of"]


def _hv() -> Any:
    try:
        import holoviews as hv
        import hvplot.xarray  # noqa: F401  (registers .hvplot on xarray objects)
    except ImportError as err:  # pragma: no cover - the plot extra is missing
        raise AnalysisError(
            f"plotting needs hvplot, holoviews and bokeh: pip install 'sd[plot]' ({err})"
        ) from None
    global _LOADED
    if not _LOADED:
        import matplotlib

        matplotlib.use("Agg")
        hv.extension("bokeh", "matplotlib", logo=False)  # both: options are set for each backend
        hv.Store.set_current_backend("bokeh")
        _LOADED = True
    return hv


_LOADED = False
MPL = "matplotlib"


def caption(obj: Any) -> str:
    """'spec <file>, sampler <s>, seed <n>, <draws> draws' from an analysis result's attrs."""
    a = obj.attrs
    spec = Path(str(a.get("spec_file", ""))).name or "?"
    return (f"spec {spec}, sampler {a.get('sampler', '?')}, seed {a.get('seed', '?')}, "
            f"{int(a.get('draws', a.get('draws_used', 0))):,} draws")  # fmt: skip


def _with_units(name: str, units: Any) -> str:
    units = str(units or "")
    return f"{name} ({units})" if units and units.lower() not in ("dmnl", "1", "dimensionless") else name


def title_of(name: str, obj: Any, group: str = "", width: int | None = None) -> str:
    """The figure's subject (and group), then :func:`caption` on its own line; lines are wrapped to fit
    ``width`` pixels (bokeh cuts a title at the figure's edge instead of wrapping it)."""
    import textwrap

    head = f"{name} — {group}" if group else name
    chars = max(20, (width - 40) // 7) if width else 1000
    return "\n".join([*textwrap.wrap(head, chars), *textwrap.wrap(caption(obj), chars)])


def surface_plot(surf: Any, *, levels: int = 8, width: int = 640, height: int = 480, cmap: str = "viridis",
                 group: str = "") -> Any:  # fmt: skip
    """Heat map of a surface DataArray ``(y, x)`` with ``levels`` contour lines over it; axes carry the
    parameters' units, the colour bar the outcome's; ``group`` (e.g. ``"regime = 1"``) joins the title."""
    hv = _hv()
    x, y = surf.attrs["x"], surf.attrs["y"]
    clean = surf.drop_vars("count")
    xl, yl = _with_units(x, surf[x].attrs.get("units")), _with_units(y, surf[y].attrs.get("units"))
    zl = _with_units(str(surf.name), surf.attrs.get("units"))
    heat = clean.hvplot.quadmesh(
        x=x, y=y, cmap=cmap, colorbar=True, width=width, height=height,
        title=title_of(str(surf.name), surf, group, width), xlabel=xl, ylabel=yl, clabel=zl,
    )  # fmt: skip
    out = heat
    finite = np.isfinite(clean.values)
    even = all(np.allclose(np.diff(clean[d].values), np.diff(clean[d].values)[0], rtol=1e-3)
               for d in (x, y) if clean.sizes[d] > 1)  # contours need an evenly spaced (not log) grid
    if even and finite.sum() > 3 and np.nanmax(clean.values) > np.nanmin(clean.values):
        img = hv.Image((clean[x].values, clean[y].values, np.where(finite, clean.values, np.nanmean(clean.values))),
                       kdims=[x, y], vdims=[str(surf.name)])  # fmt: skip
        lines = hv.operation.contours(img, levels=levels, filled=False)
        lines = lines.opts(color="white", line_width=1, show_legend=False).opts(
            color="white", linewidth=1, show_legend=False, backend=MPL
        )
        out = heat * lines
    heat.opts(cmap=cmap, colorbar=True, xlabel=xl, ylabel=yl, clabel=zl, backend=MPL)
    title = title_of(str(surf.name), surf, group, width)
    return out.opts(title=title, xlabel=xl, ylabel=yl).opts(title=title, fig_inches=(8, 6), backend=MPL)


def fan_plot(fan: Any, *, width: int = 640, height: int = 360, color: str = "#1f77b4", group: str = "") -> Any:
    """Quantile bands of a fan DataArray ``(quantile, time)``: outer pair, inner pair, median line; the
    legend names every band (HTML and PNG); ``group`` (e.g. ``"regime = 1"``) joins the title."""
    hv = _hv()
    q = [float(v) for v in fan["quantile"].values]
    t = fan["time"].values
    name = str(fan.name)
    label = _with_units(name, fan.attrs.get("units", ""))
    tlabel = _with_units("time", fan["time"].attrs.get("units", ""))
    layers = []
    pairs = [(q[i], q[-1 - i]) for i in range(len(q) // 2)]
    alphas = np.linspace(0.2, 0.45, max(len(pairs), 1))
    for (lo, hi), a in zip(pairs, alphas, strict=False):
        band = hv.Area(
            (t, fan.sel(quantile=lo).values, fan.sel(quantile=hi).values), kdims=["time"],
            vdims=[label, f"{label} (upper)"], label=f"{100 * lo:g}-{100 * hi:g}%",
        ).opts(color=color, alpha=float(a), line_alpha=0)  # fmt: skip
        band.opts(color=color, alpha=float(a), linewidth=0, backend=MPL)
        layers.append(band)
    mid = 0.5 if 0.5 in q else q[len(q) // 2]
    layers.append(
        hv.Curve((t, fan.sel(quantile=mid).values), "time", label, label=f"{100 * mid:g}%")
        .opts(color=color, line_width=2)
        .opts(color=color, linewidth=2, backend=MPL)
    )
    title = title_of(name, fan, group, width)
    over = hv.Overlay(layers).opts(
        title=title, width=width, height=height, legend_position="top_left", xlabel=tlabel, ylabel=label,
    )  # fmt: skip
    entries = [(f"{100 * lo:g}-{100 * hi:g}%", float(a)) for (lo, hi), a in zip(pairs, alphas, strict=False)]
    return over.opts(title=title, fig_inches=(9, 5), xlabel=tlabel, ylabel=label,
                     hooks=[_mpl_fan_legend(entries, f"{100 * mid:g}%", color)], backend=MPL)  # fmt: skip


def _mpl_fan_legend(bands: list[tuple[str, float]], median: str, color: str) -> Any:
    """A matplotlib hook that writes the fan's legend itself: HoloViews' matplotlib backend leaves the
    filled bands (``fill_between``) out of it, so the PNG showed only the median."""

    def hook(plot: Any, element: Any) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles: list[Any] = [Patch(facecolor=color, alpha=a, label=lab) for lab, a in bands]
        handles.append(Line2D([0], [0], color=color, linewidth=2, label=median))
        plot.handles["axis"].legend(handles=handles, loc="upper left")

    return hook


def indices_plot(res: Any, *, index: str | None = None, top: int = 15, width: int = 640,
                 height: int | None = None) -> Any:  # fmt: skip
    """Tornado chart: the ``top`` parameters by ``index`` (S1/ST for Sobol', mu_star for Morris) with error
    bars of ``<index>_conf``."""
    hv = _hv()
    if index is None:
        index = "ST" if "ST" in res else ("S1" if "S1" in res else "mu_star")
    if "time" in res[index].dims:
        res = res.isel(time=-1)
    vals = res[index].to_series().sort_values(ascending=True).dropna().tail(top)
    params = list(vals.index)
    conf_name = f"{index}_conf"
    conf = res[conf_name].to_series().reindex(params).fillna(0).values if conf_name in res else np.zeros(len(params))
    bars = hv.Bars([(p, float(v)) for p, v in vals.items()], kdims=["parameter"], vdims=[index]).opts(
        invert_axes=True, width=width, height=height or max(220, 28 * len(params) + 80), color="#4c72b0",
        xlabel="", ylabel=f"{index} (share of variance)" if index in ("S1", "ST") else index, tools=["hover"],
    )  # fmt: skip
    errs = hv.ErrorBars([(p, float(v), float(c)) for (p, v), c in zip(vals.items(), conf, strict=True)],
                        kdims=["parameter"], vdims=[index, "conf"]).opts(invert_axes=True)  # fmt: skip
    bars.opts(invert_axes=True, color="#4c72b0", backend=MPL)
    errs.opts(invert_axes=True, backend=MPL)
    title = title_of(f"{index} of {res.attrs.get('outcome', '')} ({res.attrs.get('method', '')})", res, "", width)
    return (bars * errs).opts(title=title).opts(title=title, fig_inches=(9, 6), backend=MPL)


def standalone(page: str) -> str:
    """Drop the ``<script src=...>`` tags of extensions registered by panel (imported by hvplot) that the
    figures do not use: they point at a server path (``static/extensions/panel/...``) that a file opened
    from disk does not have, so they would only fail to load. Every bokeh resource stays inline."""
    import re

    return re.sub(r'<script[^>]*\bsrc="static/extensions/[^"]*"[^>]*>\s*</script>\s*', "", page)


def save(fig: Any, out: str | Path, *, title: str | None = None) -> Path:
    """Write ``fig`` to ``out``: ``.html`` (bokeh, resources inline) or ``.png`` (matplotlib backend)."""
    hv = _hv()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".html":
        from bokeh.embed import file_html
        from bokeh.resources import INLINE

        model = hv.render(fig, backend="bokeh")
        out.write_text(standalone(file_html(model, INLINE, title=title or out.stem)), encoding="utf-8")
    elif suffix == ".png":
        import matplotlib.pyplot as plt

        mfig = hv.render(fig, backend=MPL)
        mfig.savefig(out, dpi=110, bbox_inches="tight")
        plt.close(mfig)
    else:
        raise AnalysisError(f"--out {out}: expected a .html or .png path")
    return out
