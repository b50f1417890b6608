"""Draw the mission model's three scenarios (docs/img/scenarios.png) with sd and matplotlib.

    python tools/scenario_plot.py [--out docs/img/scenarios.png]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import sd

ROOT = Path(__file__).resolve().parents[1]
PANELS = [
    ("debt to GDP ratio", "debt held by the public / GDP", 100, "%"),
    ("price level", "price level (Oct 2025 = 1)", 1, ""),
    ("real GDP", "real GDP, USD T (2025) per year", 1, ""),
    ("federal debt held by public", "debt held by the public, USD T", 1, ""),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "scenarios.png")
    args = ap.parse_args()
    scenarios = tomllib.loads((ROOT / "models" / "scenarios.toml").read_text())
    model = sd.load(ROOT / "models" / "productivity_deflation.mdl")
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for name, table in scenarios.items():
        if not isinstance(table, dict):
            continue
        params = {k: v for k, v in table.items() if k != "description"}
        ds = model.run(params, outputs=[p[0] for p in PANELS])
        for ax, (var, title, scale, unit) in zip(axes.flat, PANELS, strict=True):
            ax.plot(ds["time"], ds[var].values[0] * scale, label=name)
            ax.set_title(title + (f" ({unit})" if unit else ""), fontsize=10)
    for ax in axes.flat:
        ax.axvline(2028, color="grey", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    axes[1, 0].set_xlabel("fiscal year (end)")
    axes[1, 1].set_xlabel("fiscal year (end)")
    axes[0, 0].legend(frameon=False)
    fig.suptitle("models/productivity_deflation.mdl: scenarios (sd run --scenario NAME); dotted: end of FY2028")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
