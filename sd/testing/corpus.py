"""The Vensim conformance corpus: locate it, read Vensim's output, compare sd against it."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EXPECTED",
    "TOLERANCE",
    "CorpusCase",
    "compare_with_vensim",
    "corpus_cases",
    "corpus_root",
    "run_pysd",
]

ENV = "SD_VENSIM_CORPUS"

# pysd's integration suite compares with rtol = atol = 1e-5, loosening it for a few models.
TOLERANCE = {"tests/arguments": 1e-2, "tests/allocate_available": 2e-2}

# The one table of expected failures: case -> (kind, reason).
#   unsupported: sd refuses the model at load time with UnsupportedFeatureError naming the feature.
#   differs: sd runs the model but does not match Vensim's output, for the reason given.
EXPECTED: dict[str, tuple[str, str]] = {
    "tests/control_vars": ("unsupported", "control variables that change during the run"),
    "tests/dynamic_final_time": ("unsupported", "control variables that change during the run"),
    "tests/get_time_value": (
        "unsupported",
        "GET TIME VALUE relative to the start of the run or in calendar units (pysd lacks them too)",
    ),
    "tests/data_from_other_model": (
        "unsupported",
        "data variables without an equation, whose values come from a data file given at run "
        "time (pysd's data_files)",
    ),
    "samples/Query_file": (
        "differs",
        "RANDOM UNIFORM: sd draws from its own per-draw seeded streams, not Vensim's generator "
        "(pysd uses numpy's global generator and differs too)",
    ),
    "samples/Roessler_Chaos": (
        "differs",
        "chaotic system: Vensim's output holds 6 significant digits and the trajectories part "
        "after t~36; sd equals pysd here (tests/test_pysd_equivalence.py)",
    ),
}


def corpus_root() -> Path | None:
    """The corpus folder: ``$SD_VENSIM_CORPUS`` or ``../shared/vensim-test-models`` from the repo root."""
    return shared_folder(ENV, "vensim-test-models")


def shared_folder(env: str, name: str) -> Path | None:
    """``$env``, else ``shared/<name>`` beside the repository (or any folder above it)."""
    value = os.environ.get(env)
    if value:
        return Path(value)
    for parent in Path(__file__).resolve().parents:
        candidate = parent.parent / "shared" / name
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class CorpusCase:
    name: str  # "tests/abs" or "samples/teacup"
    mdl: Path
    output: Path | None


def corpus_cases(root: Path) -> list[CorpusCase]:
    cases = []
    for group in ("tests", "samples"):
        base = root / group
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            mdls = sorted(folder.glob("*.mdl"))
            if not mdls:
                continue
            mdl = _pick_mdl(folder, mdls)
            output = next(
                (folder / f for f in ("output.tab", "output.csv") if (folder / f).is_file()), None
            )
            cases.append(CorpusCase(f"{group}/{folder.name}", mdl, output))
    return cases


def _pick_mdl(folder: Path, mdls: list[Path]) -> Path:
    for m in mdls:
        if m.stem in (f"test_{folder.name}", folder.name):
            return m
    return mdls[0]


def read_vensim_output(path: Path) -> Any:
    """Vensim's output as a pandas DataFrame indexed by time (pysd's reader)."""
    from pysd.py_backend.utils import detect_encoding
    from pysd.tools.benchmarking import load_outputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_outputs(path, encoding=detect_encoding(path))
        except Exception:
            pass
        try:
            return load_outputs(path, transpose=True, encoding=detect_encoding(path))
        except Exception:
            # Stella's export: one column per variable, the first column the time ("Months", ...)
            import pandas as pd

            out = pd.read_csv(path, index_col=0, encoding=detect_encoding(path))
            out.index = out.index.astype(float)
            return out


def compare_with_vensim(
    case: CorpusCase, rtol: float = 1e-5, atol: float = 1e-5
) -> tuple[bool, str]:
    """Run ``case`` with sd and compare every Vensim output column, pysd's way.

    Returns (passed, detail). Raises sd's errors (unsupported feature, ...) unchanged.
    """
    import sd

    assert case.output is not None
    canon = read_vensim_output(case.output)
    model = sd.load(case.mdl)
    cols = [c for c in canon.columns if c not in ("Time", "TIME")]
    missing = []
    names = []
    for c in cols:
        try:
            ident = model.resolve(c)
        except KeyError:
            missing.append(c)
            continue
        if model.ir.variables[ident].kind != "lookup":
            names.append(c)
    if missing:
        return False, f"columns not in the model: {missing[:5]}"
    times = np.asarray(canon.index, dtype=float)
    steps = np.diff(times)
    # compare at Vensim's own save points (some outputs were saved more often than SAVEPER)
    ds = model.run(outputs=names)
    if len(steps) and len(ds["time"]) != len(times):
        ds = model.run(outputs=names, saveper=float(np.median(steps)))
    bad = []
    sd_times = ds["time"].values
    # Vensim writes times to 6 significant digits: match each to the nearest saved time
    right = np.clip(np.searchsorted(sd_times, times), 1, len(sd_times) - 1)
    left = right - 1
    idx = np.where(np.abs(sd_times[left] - times) <= np.abs(sd_times[right] - times), left, right)
    if len(sd_times) == 1:
        idx = np.zeros(len(times), dtype=int)
    if not np.allclose(sd_times[idx], times, rtol=1e-5, atol=1e-9):
        return False, "time points differ from Vensim's output"
    for c in names:
        actual = ds[model.ir.variables[model.resolve(c)].name].values[0, idx]
        expected = canon[c].to_numpy(dtype=float)
        # Vensim writes constants in the first row only
        keep = ~np.isnan(expected)
        close = np.abs(actual[keep] - expected[keep]) <= atol + rtol * np.abs(expected[keep])
        if not close.all():
            first = int(np.flatnonzero(~close)[0])
            bad.append(
                f"{c} at t={times[keep][first]}: sd {actual[keep][first]!r} vs Vensim "
                f"{expected[keep][first]!r}"
            )
    if bad:
        return False, "; ".join(bad[:3])
    return True, f"{len(names)} columns x {len(times)} times"


def run_pysd(
    mdl: Path, params: dict[str, Any] | None = None, *, run: bool = True, **kwargs: Any
) -> Any:
    """Run ``mdl`` with pysd (from a temporary copy: pysd writes a .py beside the model).

    Returns (pysd model, its output), or (pysd model, None) with ``run=False``."""
    import shutil
    import tempfile

    import pysd

    tmp = Path(tempfile.mkdtemp(prefix="sd-pysd-"))
    for f in mdl.parent.iterdir():
        if f.is_file():
            shutil.copy(f, tmp / f.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(tmp / mdl.name))
        return model, (model.run(params=params or {}, **kwargs) if run else None)


def conformance_report(root: Path) -> str:
    """A Markdown table: every corpus model, pass / unsupported (feature) / fail (why)."""
    import sd

    rows = []
    counts = {"pass": 0, "unsupported": 0, "fail": 0, "no Vensim output": 0}
    for case in corpus_cases(root):
        if case.output is None:
            try:
                sd.load(case.mdl)
                status, detail = "no Vensim output", "loads in sd; compared with pysd only"
            except sd.SDError as err:
                status, detail = "no Vensim output", f"unsupported: {_feature(err)}"
        else:
            tol = TOLERANCE.get(case.name, 1e-5)
            try:
                ok, detail = compare_with_vensim(case, rtol=tol, atol=tol)
                status = "pass" if ok else "fail"
            except sd.UnsupportedFeatureError as err:
                status, detail = "unsupported", _feature(err)
            except sd.SDError as err:
                status, detail = "fail", str(err)
        if status == "fail" and case.name in EXPECTED:
            detail = f"{EXPECTED[case.name][1]} ({detail})"
        counts[status] += 1
        rows.append(f"| {case.name} | {status} | {detail.replace('|', '/')} |")
    head = [
        "# Conformance: sd against Vensim's own output",
        "",
        "Every model of the corpus (`../shared/vensim-test-models`), run by sd's numpy backend and",
        "compared with the output Vensim wrote, at the tolerance of pysd's integration suite",
        "(rtol = atol = 1e-5; 1e-2 for `tests/arguments` and 2e-2 for `tests/allocate_available`, as",
        "pysd uses).",
        "Regenerate: `python -m sd.testing.corpus > docs/conformance.md`.",
        "",
        "Summary: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".",
        "",
        "| model | status | detail |",
        "|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n"


def _feature(err: Exception) -> str:
    msg = str(err)
    for marker in ("': ", ": "):
        if marker in msg:
            msg = msg.split(marker, 1)[1]
            break
    return msg.split(" (supported:")[0]


if __name__ == "__main__":  # pragma: no cover
    import sys

    root = corpus_root()
    if root is None:
        sys.exit("the Vensim corpus was not found (set SD_VENSIM_CORPUS)")
    sys.stdout.write(conformance_report(root))
    from sd.testing.sde import sde_report, sde_root, xmile_report

    sde = sde_root()
    if sde is not None:
        sys.stdout.write("\n" + sde_report(sde))
    sys.stdout.write("\n" + xmile_report(sde, root))
