"""The Vensim conformance corpus: locate it, read Vensim's output, compare sd against it."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DATA_FILES",
    "EXPECTED",
    "MODEL_FILES",
    "STATUSES",
    "TOLERANCE",
    "CorpusCase",
    "compare_with_vensim",
    "corpus_cases",
    "corpus_root",
    "random_dependents",
    "run_pysd",
    "vensim_status",
]

ENV = "SD_VENSIM_CORPUS"

# pysd's integration suite compares with rtol = atol = 1e-5, loosening it for a few models.
TOLERANCE = {"tests/arguments": 1e-2, "tests/allocate_available": 2e-2}

# The one table of cases that do not simply pass: case -> (kind, reason).
#   unsupported: sd refuses the model at load time with UnsupportedFeatureError naming the feature.
#   float32: Vensim computed this output in single precision; sd run with dtype="float32" matches it
#            (and in float64 does not: tests/test_conformance.py asserts both).
#   stochastic: columns downstream of a RANDOM draw (found from the model's dependencies,
#            :func:`random_dependents`) are not compared; every other column must match.
EXPECTED: dict[str, tuple[str, str]] = {
    "samples/Query_file": (
        "stochastic",
        "RANDOM UNIFORM draws: no generator reproduces the reference's draws (sd uses its own "
        "per-draw seeded streams, pysd numpy's global generator), so the columns downstream of a "
        "draw are not compared. The reference output.tab holds 17-digit Python floats "
        "(333.33333333333337, 0.0) where Vensim writes 6 digits, and the compared columns equal "
        "sd's to the last bit: it was written by a double-precision tool, not by Vensim",
    ),
    "samples/Roessler_Chaos": (
        "float32",
        "Vensim computed this run in single precision: with dtype='float32' sd (numpy and fused C) "
        "reproduces all 3201 saved times of every column to Vensim's 6 digits; in float64 the "
        "difference is float32's rounding (1e-7 relative) from the first steps, which the chaotic "
        "attractor grows past 1e-5 by t~36",
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
    data_files: tuple[Path, ...] = ()  # passed to sd.load(..., data_files=...) (see DATA_FILES)


# the data files a case's model reads at run time (its data variables without an equation), as
# pysd's integration suite passes them (its tests/pytest_integration/pytest_integration_vensim_pathway.py)
DATA_FILES: dict[str, tuple[str, ...]] = {"tests/data_from_other_model": ("data.tab",)}
# the model a folder's output was written by, where it is not test_<folder>.mdl: get_time_value's
# output.tab holds test_get_time_value_simple.mdl's columns and run (INITIAL TIME -10, FINAL TIME 50),
# as pysd's integration suite pairs them
MODEL_FILES: dict[str, str] = {"tests/get_time_value": "test_get_time_value_simple.mdl"}


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
            name = f"{group}/{folder.name}"
            mdl = folder / MODEL_FILES[name] if name in MODEL_FILES else _pick_mdl(folder, mdls)
            output = next(
                (folder / f for f in ("output.tab", "output.csv") if (folder / f).is_file()), None
            )
            files = tuple(folder / f for f in DATA_FILES.get(name, ()))
            cases.append(CorpusCase(name, mdl, output, files))
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
    case: CorpusCase,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    *,
    dtype: str = "float64",
    skip: Iterable[str] = (),
) -> tuple[bool, str]:
    """Run ``case`` with sd (in ``dtype``) and compare every Vensim output column but ``skip``,
    pysd's way.

    Returns (passed, detail). Raises sd's errors (unsupported feature, ...) unchanged.
    """
    import sd

    assert case.output is not None
    canon = read_vensim_output(case.output)
    model = sd.load(case.mdl, data_files=list(case.data_files) or None)
    cols = [c for c in canon.columns if c not in ("Time", "TIME", *skip)]
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
    ds = model.run(outputs=names, dtype=dtype)
    if len(steps) and len(ds["time"]) != len(times):
        ds = model.run(outputs=names, saveper=float(np.median(steps)), dtype=dtype)
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
        actual = ds[model.ir.variables[model.resolve(c)].name].values[0, idx].astype(float)
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
    mdl: Path, params: dict[str, Any] | None = None, *, run: bool = True,
    data_files: Iterable[Path] = (), **kwargs: Any
) -> Any:  # fmt: skip
    """Run ``mdl`` with pysd (from a temporary copy of its folder: pysd writes a .py beside the model);
    ``data_files`` (in the model's folder) are passed to ``pysd.read_vensim(..., data_files=...)``.

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
        files = [str(tmp / Path(f).name) for f in data_files]
        model = pysd.read_vensim(str(tmp / mdl.name), data_files=files or None)
        return model, (model.run(params=params or {}, **kwargs) if run else None)


def random_dependents(model: Any, columns: Iterable[str]) -> list[str]:
    """The ``columns`` (Vensim names) whose values depend, in any phase, on a RANDOM draw."""
    from sd.ir.analysis import required
    from sd.ir.nodes import Call, walk

    ir = model.ir
    drawn = {
        ident
        for ident, var in ir.variables.items()
        for phase in ("init", "run")
        for e in var.exprs(phase)
        if any(isinstance(n, Call) and n.fn.startswith("_random") for n in walk(e))
    }
    out = []
    for c in columns:
        try:
            ident = model.resolve(c)
        except KeyError:
            continue
        if required(ir, [ident]) & drawn:
            out.append(c)
    return out


STATUSES = ("pass", "pass (float32)", "stochastic", "unsupported", "fail", "no Vensim output")


def vensim_status(case: CorpusCase) -> tuple[str, str]:
    """(status, detail) of ``case`` against Vensim's output, one of :data:`STATUSES`."""
    import sd

    kind, reason = EXPECTED.get(case.name, ("", ""))
    if case.output is None:
        try:
            sd.load(case.mdl, data_files=list(case.data_files) or None)
            return "no Vensim output", "loads in sd; compared with pysd only"
        except sd.SDError as err:
            return "no Vensim output", f"unsupported: {_feature(err)}"
    tol = TOLERANCE.get(case.name, 1e-5)
    try:
        if kind == "float32":
            ok, detail = compare_with_vensim(case, tol, tol, dtype="float32")
            status = "pass (float32)" if ok else "fail"
        elif kind == "stochastic":
            skip = random_dependents(sd.load(case.mdl), read_vensim_output(case.output).columns)
            ok, detail = compare_with_vensim(case, tol, tol, skip=skip)
            status = "stochastic" if ok and skip else "fail"
            detail = f"{detail} match; not compared, downstream of a random draw: {', '.join(skip)}"
        else:
            ok, detail = compare_with_vensim(case, rtol=tol, atol=tol)
            status = "pass" if ok else "fail"
    except sd.UnsupportedFeatureError as err:
        return "unsupported", _feature(err)
    except sd.SDError as err:
        status, detail = "fail", str(err)
    return status, (f"{reason} ({detail})" if reason else detail)


def conformance_report(root: Path) -> str:
    """A Markdown table: every corpus model with its status (:data:`STATUSES`) and why."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = []
    for case in corpus_cases(root):
        status, detail = vensim_status(case)
        counts[status] += 1
        rows.append(f"| {case.name} | {status} | {detail.replace('|', '/')} |")
    head = [
        "# Conformance: sd against Vensim's own output",
        "",
        "Every model of the corpus (`../shared/vensim-test-models`), run by sd's numpy backend and",
        "compared with the output Vensim wrote, at the tolerance of pysd's integration suite",
        "(rtol = atol = 1e-5; 1e-2 for `tests/arguments` and 2e-2 for `tests/allocate_available`, as",
        "pysd uses). `pass (float32)`: Vensim computed that output in single precision, and sd matches",
        'it run with `dtype="float32"`. `stochastic`: every column not downstream of a RANDOM draw',
        "matches; those downstream are not compared (no generator reproduces another's draws).",
        "Regenerate: `python -m sd.testing.corpus > docs/conformance.md`.",
        "",
        "Summary: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + ".",
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
