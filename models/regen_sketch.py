"""Rebuild the sketch views of productivity_deflation.mdl after variables are added or removed.

    python models/regen_sketch.py            # keeps every variable in its view, adds new ones per NEW_VIEWS

Each view is a plain grid of its variables (stocks drawn as boxes); no arrows. A variable defined in the
equations and placed in no view, or placed in a view but no longer defined, is an error, so the test that
every variable sits in exactly one view (tests/models/test_mission_model.py) keeps holding.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MDL = Path(__file__).with_name("productivity_deflation.mdl")
HEADER = "\\\\\\---/// Sketch information - do not modify anything except names\nV300  Do not put anything below this section - it will be ignored\n"
FONT = "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0\n"

# New variables -> view (views: Robot capital, AI compute, Energy supply, Production, Money and prices,
# Federal debt).
NEW_VIEWS: dict[str, str] = {
    **dict.fromkeys(["robot actuator supply cap", "robot ramp time", "robot line ramp fraction",
                     "robot labour equivalents added", "displacement", "reemployment time", "reemployment"],
                    "Robot capital"),
    **dict.fromkeys(["compute connection gate", "powered compute capacity", "AI compute powered fraction", "AI compute under construction", "spare firm power for compute", "compute pipeline power need"],
                    "AI compute"),
    **dict.fromkeys(["priority energy demand", "priority energy met fraction", "compute energy met fraction",
                     "space solar hardware cost", "rectenna cost", "space solar discount rate",
                     "space solar operating cost", "robots per connection", "space solar capital cost",
                     "space solar capital recovery factor", "real energy price", "electricity cost share of GDP",
                     "energy price pass through", "electricity demand index", "energy supply growth"],
                    "Energy supply"),
    **dict.fromkeys(["real GDP index", "average real growth since start", "real growth rate",
                     "Ramsey growth horizon", "expected potential growth"], "Production"),
    **dict.fromkeys(["monetary regime", "Taylor inflation response", "Taylor output gap response", "output gap",
                     "policy rate", "money rate transmission", "money demand semi elasticity",
                     "initial short interest rate", "downward price rigidity", "perceived output gap", "money demand adjustment time", "short rate seen by money demand", "velocity growth from rates"], "Money and prices"),
    **dict.fromkeys(["baseline revenue share", "labour share of revenue", "COLA adjustment time",
                     "highest price level", "Ramsey real rate cap", "short interest rate", "short debt share",
                     "short debt repricing time", "average maturity of marketable debt",
                     "coupon debt repricing time", "short debt interest bill", "coupon debt interest bill",
                     "short debt average rate", "coupon debt average rate", "lowest debt held by public to date", "lowest gross debt to date", "fiscal year length", "initial Fed securities", "Fed securities", "baseline Fed securities", "Fed interest bearing liability share", "initial Fed portfolio yield", "Fed portfolio repricing time", "Fed portfolio yield", "baseline Fed portfolio yield", "Fed operating expenses", "Fed net income", "baseline Fed net income", "initial Fed deferred asset", "Fed deferred asset repayment", "Fed deferred asset", "Fed remittances", "baseline Fed deferred asset repayment", "baseline Fed deferred asset", "baseline Fed remittances", "Fed remittances beyond baseline", "currency share of money", "seigniorage"], "Federal debt"),
}


def main() -> int:
    text = MDL.read_text(encoding="utf-8")
    i = text.index("\\\\\\---/// Sketch")
    eq, sketch = text[:i], text[i:]
    tail = sketch[sketch.index("///---\\\\\\"):]
    defined: list[str] = []
    stocks: set[str] = set()
    for m in re.finditer(r"(?m)^([A-Za-z][^=\n~|]*?)\s*=\s*(INTEG)?", eq):
        name = m.group(1).strip()
        if name in {"FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP"}:
            continue
        defined.append(name)
        if m.group(2):
            stocks.add(name)
    views: dict[str, list[str]] = {}
    current = None
    for line in sketch.splitlines():
        if line.startswith("*"):
            current = line[1:]
            views[current] = []
        elif line.startswith("10,") and current:
            views[current].append(line.split(",")[2])
    placed = {v for names in views.values() for v in names}
    for name, view in NEW_VIEWS.items():
        if name in defined and name not in placed:
            views[view].append(name)
    dset = set(defined)
    for view in views:
        views[view] = [v for v in views[view] if v in dset]
    placed = {v for names in views.values() for v in names}
    missing = [v for v in defined if v not in placed]
    if missing:
        print("in no view (add to NEW_VIEWS):", missing, file=sys.stderr)
        return 1
    out = []
    for view, names in views.items():
        out.append(HEADER + f"*{view}\n" + FONT)
        for k, name in enumerate(names, start=1):
            x, y = 120 + 220 * ((k - 1) % 5), 60 + 70 * ((k - 1) // 5)
            shape = "40,20,3,3" if name in stocks else "60,12,8,3"
            out.append(f"10,{k},{name},{x},{y},{shape},0,0,0,0,0,0\n")
    MDL.write_text(eq + "".join(out) + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
