"""What it would take to close the debt by 2028: thresholds per monetary regime.

    python models/claim_thresholds.py [--plot docs/img/model-thresholds.png]

Starts from the `claim` scenario with every claim mechanism at the favourable end of its range (robots from end
2026 at 20 M/yr with no supply cap, a two-year ramp, robots building robots at 0.2, nobody displaced; AI at 3 pp
of TFP; the weakest Ramsey response, the lowest base real rate, the slowest and most downward-rigid prices, no
interest-sensitive money demand) and energy made non-binding by assumption (terrestrial build up to 200%/yr in
half a year: far outside the sourced range, so that energy is reported as a requirement, not a limit). Then it
scales the labour equivalents per robot, far beyond the sourced [0.1, 3], until debt held by the public reaches
zero by the end of FY2028 (model time 2028) and by calendar 2028 (2028.25), and prints what that world looks like
in 2028. Every number comes from `sd.load(...).run(...)` on the .mdl.
"""

from __future__ import annotations

import argparse
import math
import tomllib
from pathlib import Path

import numpy as np

import sd

MODELS = Path(__file__).resolve().parent
FAVOURABLE = {
    "robot program start": 2026.25, "announced robot capacity target": 20, "robots build robots rate": 0.2,
    "robot actuator supply cap": 100, "robot ramp time": 2, "factory construction time": 0.5,
    "capacity planning time": 0.5, "robot displacement share": 0, "initial robot unit cost": 20000,
    "AI TFP growth potential": 0.03, "AI compute growth rate": 0.4, "compute ratio for full AI effect": 2,
    "Ramsey growth sensitivity": 1, "Ramsey real rate cap": 0.05, "baseline real interest rate": 0.005,
    "price adjustment time": 4, "downward price rigidity": 3, "money demand semi elasticity": 0,
    "nominal floor share of outlays": 0.45,
    # energy out of the way (outside the sourced ranges on purpose)
    "maximum terrestrial build rate": 2.0, "terrestrial construction time": 0.5, "capacity adjustment time": 0.5,
}  # fmt: skip
OUTS = ["lowest debt held by public to date", "real GDP index", "average real growth since start",
        "electricity demand index", "robot fleet", "robot labour equivalents at work", "market interest rate",
        "price level", "energy demand met fraction"]  # fmt: skip


def thresholds(model: sd.Model, regime: int, le: np.ndarray) -> dict:
    sc = tomllib.loads((MODELS / "scenarios.toml").read_text(encoding="utf-8"))["claim"]
    params = {k: v for k, v in sc.items() if k != "description"}
    params.update(FAVOURABLE)
    params.update({"monetary regime": regime, "labour equivalents per robot": le})
    ds = model.run(params, outputs=OUTS, final_time=2029)
    out = {"le": le, "ds": ds}
    for label, t in (("FY2028", 2028.0), ("calendar 2028", 2028.25)):
        low = ds["lowest debt held by public to date"].sel(time=t).values
        ok = np.flatnonzero(low <= 0)
        if not len(ok):
            out[label] = None
            continue
        i = ok[0]
        row = {k: float(ds[k].sel(time=t).values[i]) for k in OUTS}
        row["labour equivalents per robot"] = float(le[i])
        row["max market rate"] = float(ds["market interest rate"].sel(time=slice(2025, t)).values[i].max())
        out[label] = row
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plot", type=Path)
    args = ap.parse_args()
    model = sd.load(MODELS / "productivity_deflation.mdl")
    le = np.geomspace(0.5, 20000, 600)
    names = {0: "money-growth rule", 1: "Taylor rule", 2: "energy standard"}
    results = {}
    for regime in (0, 1, 2):
        results[regime] = r = thresholds(model, regime, le)
        for label in ("FY2028", "calendar 2028"):
            row = r[label]
            if row is None:
                print(f"regime {regime} ({names[regime]}), closes by end of {label}: never up to {le[-1]:g} "
                      "labour equivalents per robot")
                continue
            g = math.exp(row["average real growth since start"]) - 1
            print(f"regime {regime} ({names[regime]}), closes by end of {label}: labour equivalents per robot "
                  f">= {row['labour equivalents per robot']:.0f}; real GDP {row['real GDP index']:.1f}x today "
                  f"({100 * g:.0f}%/yr), electricity demand {row['electricity demand index']:.1f}x, "
                  f"{row['robot fleet']:.0f} M robots = {row['robot labour equivalents at work'] / 1000:.1f} bn "
                  f"worker-equivalents, price level {row['price level']:.2f}, market rate up to "
                  f"{100 * row['max market rate']:.0f}%")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        for regime, r in results.items():
            ds = r["ds"]
            ax.plot(ds["real GDP index"].sel(time=2028).values,
                    ds["lowest debt held by public to date"].sel(time=2028).values, label=names[regime])  # fmt: skip
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("real GDP at the end of FY2028, multiple of today's")
        ax.set_ylabel("lowest debt held by the public by end FY2028, USD T")
        ax.set_title("Closing the debt by 2028: favourable claim, labour equivalents per robot scaled")
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
