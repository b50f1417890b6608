"""Which mechanisms matter: Sobol' indices (Saltelli's design) and PRIM boxes on the paired claim effects.

    python models/claim_indices.py --n 64 --store /tmp/pd-saltelli.zarr          # 64 x 69 = 4,416 draws, paired
    python models/claim_indices.py --store /tmp/pd-saltelli.zarr --analyse-only   # tables from an existing store
    sd sweep sweeps/productivity_deflation.toml --draws 8192 --store /tmp/pd8k.zarr --overwrite --workers 1
    python models/claim_indices.py --store /tmp/pd-saltelli.zarr --analyse-only --prim-store /tmp/pd8k.zarr

The sweep is the flagship's (sweeps/productivity_deflation.toml: same parameters, ranges, scenario, paired twin
and outcomes) with the sampler switched to Saltelli's (first and total order, N x (D+2) draws; the monetary regime
is one of the D parameters). The spec is written to a temporary file so the flagship stays the one source of the
ranges. Indices: `sd.analyze.sobol` (and RBD-FAST S1 from the flagship's Sobol store as a cross-check); PRIM:
`sd.analyze.prim` on where the claim's mechanisms lower the debt, run on the flagship's own Sobol store (PRIM wants
a space-filling sample; Saltelli's AB rows are not one) when `--prim-store` is given.
Prints markdown tables (docs/model.md, "Which mechanisms matter").
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "sweeps" / "productivity_deflation.toml"
OUTCOMES = ["claim effect on debt held by public 2028", "claim effect on debt ratio 2028",
            "claim effect on real GDP 2028", "claim effect on debt ratio 2036"]  # fmt: skip
PRIM = ["claim effect on debt ratio 2036 < -0.10", "claim effect on debt held by public 2028 < -0.02"]


def saltelli_spec(n_draws: int, store: str) -> Path:
    text = FLAGSHIP.read_text(encoding="utf-8")
    text = text[: text.index("\n[report]")] + "\n"  # the report tables belong to the flagship only
    text = re.sub(r'(?m)^sampler = .*$', 'sampler = { name = "saltelli", second_order = false }', text)
    text = re.sub(r'(?m)^model = .*$', f'model = "{(ROOT / "models" / "productivity_deflation.mdl").as_posix()}"', text)
    text = re.sub(r'(?m)^draws = .*$', f"draws = {n_draws}", text)
    text = re.sub(r'(?m)^store = .*$', f'store = "{store}"', text)
    text = re.sub(r'(?m)^description = .*$', 'description = "Flagship, Saltelli design: indices on the paired claim effects"', text)
    out = Path(tempfile.mkdtemp()) / "pd_saltelli.toml"
    out.write_text(text, encoding="utf-8")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64, help="Saltelli base sample N (a power of two)")
    ap.add_argument("--store", default="/tmp/pd-saltelli.zarr")
    ap.add_argument("--analyse-only", action="store_true")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--prim-store", default=None, help="a flagship (sobol) store for PRIM and RBD-FAST")
    a = ap.parse_args()
    import numpy as np

    import sd

    if not a.analyse_only:
        n_params = len(re.findall(r"(?m)^\"[^\"]+\" = \{ dist", FLAGSHIP.read_text(encoding="utf-8")))
        spec = saltelli_spec(a.n * (n_params + 2), a.store)
        subprocess.run([sys.executable, "-m", "sd", "sweep", str(spec), "--overwrite", "--workers", "1"], check=True)
    ds = sd.analyze.open_store(a.store)
    for outcome in OUTCOMES:
        idx = sd.analyze.sobol(ds, outcome)
        st = idx["ST"].to_series().sort_values(ascending=False)
        print(f"\n{outcome} (Saltelli N = {a.n}): parameter | S1 ± conf | ST ± conf")
        for name in st.index[: a.top]:
            s = idx.sel(parameter=name)
            print(f"| `{name}` | {float(s.S1):.2f} ± {float(s.S1_conf):.2f} | {float(s.ST):.2f} ± {float(s.ST_conf):.2f} |")
    flag = sd.analyze.open_store(a.prim_store) if a.prim_store else ds
    if a.prim_store:
        for outcome in OUTCOMES:
            s1 = sd.analyze.first_order(flag, outcome)["S1"].to_series().sort_values(ascending=False)
            print(f"\nRBD-FAST S1 {outcome}: " + ", ".join(f"{k} {v:.2f}" for k, v in s1.head(5).items()))
    for cond in PRIM:
        box = sd.analyze.prim(flag, cond)
        share = float(np.mean(sd.analyze.condition(flag, cond).values))
        print(f"\nPRIM `{cond}` (in {share:.1%} of draws): coverage {box.attrs['coverage']:.2f}, "
              f"density {box.attrs['density']:.2f}, mass {box.attrs['mass']:.2f}")
        for name in box["parameter"].values[box["restricted"].values]:
            b = box.sel(parameter=name)
            print(f"| `{name}` | {float(b.box_lower):.4g} | {float(b.box_upper):.4g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
