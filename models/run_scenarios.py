"""Run the scenarios of productivity_deflation.mdl through pysd and print the headline numbers.

A stop-gap until ``sd run models/productivity_deflation.mdl --scenario NAME`` exists; the numbers in
docs/model.md come from this script.

Examples
--------
python models/run_scenarios.py                              # every scenario in scenarios.toml
python models/run_scenarios.py --scenario claim --final-time 2045
python models/run_scenarios.py --scenario claim --set "money policy response=1.5"
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import tomllib
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
MDL = HERE / "productivity_deflation.mdl"
SCENARIOS = HERE / "scenarios.toml"
YEARS = (2028, 2030, 2035)
ROWS = [
    ("federal debt held by public", "debt held by public, USD tn", 1, "{:.2f}"),
    ("gross federal debt", "gross federal debt, USD tn", 1, "{:.2f}"),
    ("debt to GDP ratio", "debt held by public, % of GDP", 100, "{:.1f}"),
    ("price level", "price level (Oct 2025 = 1)", 1, "{:.3f}"),
    ("inflation rate", "inflation, %/yr", 100, "{:.1f}"),
    ("real GDP", "real GDP, USD tn 2025/yr", 1, "{:.1f}"),
    ("nominal GDP", "nominal GDP, USD tn/yr", 1, "{:.1f}"),
    ("real debt", "real debt, USD tn 2025", 1, "{:.1f}"),
    ("debt in energy terms", "debt in energy terms, 1000 TWh", 1e-3, "{:.0f}"),
    ("deficit", "deficit, USD tn/yr", 1, "{:.2f}"),
    ("market interest rate", "market interest rate, %", 100, "{:.1f}"),
    ("energy demand met fraction", "energy demand met, %", 100, "{:.1f}"),
    ("robot fleet", "robot fleet, millions", 1, "{:.1f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", action="append", help="scenario name (repeatable; default: all)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--final-time", type=float, default=None)
    args = parser.parse_args()

    import pysd  # imported late so --help works without it

    scenarios = tomllib.loads(SCENARIOS.read_text())
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name.strip()] = float(value)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shutil.copy(MDL, tmp)
        model = pysd.read_vensim(str(Path(tmp) / MDL.name))
        for name in args.scenario or list(scenarios):
            params = {k: v for k, v in scenarios[name].items() if k != "description"}
            params.update(overrides)
            df = model.run(params=params, reload=True, final_time=args.final_time).astype(float)
            years = [y for y in YEARS if y <= df.index[-1]] + (
                [df.index[-1]] if df.index[-1] not in YEARS else []
            )
            print(f"\n[{name}]" + (f" with {overrides}" if overrides else ""))
            print(f"{'':34}" + "".join(f"{y:>10g}" for y in years))
            for col, label, scale, fmt in ROWS:
                print(
                    f"{label:34}"
                    + "".join(f"{fmt.format(df.loc[y, col] * scale):>10}" for y in years)
                )
            closed = df.index[df["federal debt held by public"] <= 0]
            print(
                "debt held by public closes:", f"{closed[0]:g}" if len(closed) else "not by the end"
            )


if __name__ == "__main__":
    main()
