"""Figures of docs/model.md: the scenarios per regime, and the paired claim effects of a flagship sweep store.

    python models/claim_figures.py --store /tmp/pd.zarr     # after: sd sweep sweeps/productivity_deflation.toml \
                                                            #   --draws 4096 --store /tmp/pd.zarr --overwrite
writes docs/img/model-regimes.png and docs/img/model-paired.png.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

import sd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMES = {0: "money-growth rule", 1: "Taylor rule", 2: "energy standard"}


def regimes(out: Path) -> None:
    model = sd.load(ROOT / "models" / "productivity_deflation.mdl")
    sc = tomllib.loads((ROOT / "models" / "scenarios.toml").read_text(encoding="utf-8"))
    panels = ["debt to GDP ratio", "federal debt held by public", "price level", "real GDP"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    for name in ("cbo-baseline", "sceptic", "claim", "claim-taylor", "claim-energy"):
        p = {k: v for k, v in sc[name].items() if k != "description"}
        ds = model.run(p, outputs=panels)
        for ax, var in zip(axes.flat, panels, strict=True):
            ax.plot(ds["time"], ds[var].values[0], label=name)
            ax.set_title(var)
    axes.flat[0].legend(fontsize=8)
    for ax in axes.flat:
        ax.axvline(2028, color="grey", lw=0.6, ls=":")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def paired(store: Path, out: Path) -> None:
    ds = xr.open_zarr(store, consolidated=False)
    reg = ds["monetary regime"].values
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, var, scale, unit in zip(axes, ["claim effect on debt held by public 2028", "claim effect on debt ratio 2028",
                                           "claim effect on debt ratio 2036"], [1, 100, 100], ["USD T", "pp of GDP", "pp of GDP"], strict=True):  # fmt: skip
        for r, name in NAMES.items():
            ax.hist(ds[var].values[reg == r] * scale, bins=60, histtype="step", label=name)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(var, fontsize=9)
        ax.set_xlabel(unit)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, required=True)
    args = ap.parse_args()
    img = ROOT / "docs" / "img"
    regimes(img / "model-regimes.png")
    paired(args.store, img / "model-paired.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
