"""Conformance against Vensim's ``.dat`` output: the SDEverywhere test models and the XMILE exports.

``../shared/vensim-sde-models`` (or ``$SD_SDE_MODELS``) holds ``models/<case>/<case>.mdl`` with Vensim's
own output ``<case>.dat`` (MIT licence, see its LICENSE). :func:`compare_with_dat` runs a model with sd's
numpy backend and compares every variable of the ``.dat`` file (Vensim's helper variables skipped) at
the file's times, with ``|sd - vensim| <= rtol*|vensim| + atol*max(1, max|vensim|)`` (rtol 1e-3,
atol 1e-5: Vensim writes 32-bit floats).

Regenerate the report: ``python -m sd.testing.corpus > docs/conformance.md`` (this module's sections are
appended there).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sd.testing.dat import read_dat

__all__ = [
    "DISPUTED",
    "EXPECTED_SDE",
    "EXPECTED_XMILE",
    "SdeCase",
    "compare_with_dat",
    "sde_cases",
    "sde_report",
    "sde_root",
    "spec_data_files",
    "xmile_cases",
    "xmile_report",
    "xmile_status",
]

ENV = "SD_SDE_MODELS"
RTOL = 1e-3
ATOL = 1e-5

# case -> (kind, reason): the one table of cases that do not simply pass in this corpus.
#   disputed: the .dat's values of the variables in DISPUTED contradict Vensim's documented semantics
#             and the file is not in Vensim's .dat format; every other variable must match.
EXPECTED_SDE: dict[str, tuple[str, str]] = {
    "vector_simple": (
        "disputed",
        "vs_min, vs_mean, vs_prod are VECTOR SELECT's numerical actions 1, 2 and 4, which Vensim's "
        "documentation (fn_vector_select), pysd and a public xmutil (.mdl-to-XMILE) read as "
        "product, minimum and mean (sd: 4.0602e+06, 2010, 2015); this .dat holds what the names say "
        "(2010, 2015, 4.0602e+06). The file is not Vensim's writing: lower-cased, underscored "
        "names (initial_time, zero_sel[a1]) in model order with constants repeated at every time, "
        "where each of the corpus's other .dat files (and Vensim's vector.dat of the SDEverywhere "
        "model it extends) has Vensim's names, sorted, constants once; SDEverywhere itself "
        "implements actions 0 and 3 only",
    ),
}
# XMILE export -> (kind, reason): the exports that lack what their .mdl says
EXPECTED_XMILE: dict[str, tuple[str, str]] = {
    "sde/arrays_cname/arrays_cname.xmile": (
        "invalid file",
        "xmutil's export lacks inputA (the .mdl's 'inputA[DimA] = -1, +2, 3') and the mapping "
        "'DimA -> DimB'; with both written into the file the rest matches Vensim "
        "(tests/frontend/test_xmile.py)",
    ),
}
# variables of a case left out of the comparison (see EXPECTED_SDE)
DISPUTED: dict[str, set[str]] = {"vector_simple": {"vs_min", "vs_mean", "vs_prod"}}


def sde_root() -> Path | None:
    """``$SD_SDE_MODELS`` or ``../shared/vensim-sde-models`` beside the repository."""
    from sd.testing.corpus import shared_folder

    return shared_folder(ENV, "vensim-sde-models")


@dataclass(frozen=True)
class SdeCase:
    name: str  # "delay" or "tests/abs (xmile)"
    model: Path
    output: Path | None  # .dat (SDE) or .tab/.csv (test-models corpus)
    # data files the model reads at run time (its data variables without an equation): the
    # ``externalDatfiles`` of the case's ``<case>_spec.json``, passed to sd.load(..., data_files=...)
    data_files: tuple[Path, ...] = ()


def spec_data_files(folder: Path, stem: str) -> tuple[Path, ...]:
    """The ``externalDatfiles`` that ``<stem>_spec.json`` in ``folder`` names (SDEverywhere's way of
    giving a model its run-time data), as paths; () without a spec."""
    import json

    spec = folder / f"{stem}_spec.json"
    if not spec.is_file():
        return ()
    names = json.loads(spec.read_text(encoding="utf-8")).get("externalDatfiles", [])
    return tuple(folder / n for n in names)


def sde_cases(root: Path) -> list[SdeCase]:
    """Every ``models/<case>/<case>.mdl`` with its ``<case>.dat`` (``expected.*`` variants included)."""
    cases = []
    for folder in sorted(p for p in (root / "models").iterdir() if p.is_dir()):
        for mdl in sorted(folder.glob("*.mdl")):
            dat = mdl.with_suffix(".dat")
            name = folder.name if mdl.stem == folder.name else f"{folder.name}/{mdl.stem}"
            files = spec_data_files(folder, mdl.stem)
            cases.append(SdeCase(name, mdl, dat if dat.is_file() else None, files))
    return cases


def xmile_cases(sde: Path | None, corpus: Path | None) -> list[SdeCase]:
    """Every ``.xmile`` export of both corpora, with the Vensim output of its folder."""
    cases = []
    if sde is not None and (sde / "models").is_dir():
        for x in sorted((sde / "models").glob("*/*.xmile")):
            dat = x.with_suffix(".dat")
            cases.append(
                SdeCase(f"sde/{x.parent.name}/{x.name}", x, dat if dat.is_file() else None)
            )
    if corpus is not None:
        for group in ("tests", "samples"):
            for x in sorted((corpus / group).glob("*/*.xmile")):
                # an XMILE file's own output where Stella wrote one: xmutil's exports are not always
                # the .mdl (test_active_initial.xmile lost its ACTIVE INITIAL, so its Stock A starts
                # at 0 in Stella and in sd, at 45 in Vensim's run of the .mdl)
                out = next((x.parent / f for f in ("output_stella.csv", "output.tab", "output.csv")
                            if (x.parent / f).is_file()), None)  # fmt: skip
                cases.append(SdeCase(f"{group}/{x.parent.name}/{x.name}", x, out))
    return cases


def compare_with_dat(
    model_path: Path,
    dat: Path,
    rtol: float = RTOL,
    atol: float = ATOL,
    skip: set[str] | frozenset[str] = frozenset(),
    data_files: tuple[Path, ...] = (),
) -> tuple[bool, str]:
    """Run ``model_path`` with sd (given ``data_files``, :attr:`SdeCase.data_files`) and compare it
    with Vensim's ``.dat`` output (``skip``: variables left out). Returns (passed, detail). sd's errors
    (unsupported feature, ...) propagate unchanged."""
    import sd

    series = {k: v for k, v in read_dat(dat).items() if k not in skip}
    model = sd.load(model_path, data_files=list(data_files) or None)
    names, missing = [], []
    for name in series:
        try:
            ident = model.resolve(name)
        except KeyError:
            missing.append(name)
            continue
        if model.ir.variables[ident].kind != "lookup":
            names.append(name)
    if missing:
        return False, f"variables not in the model: {missing[:5]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = model.run(outputs=names)
    sd_times = ds["time"].values
    bad = []
    for name in names:
        times, expected = series[name]
        var = ds[model.ir.variables[model.resolve(name)].name]
        actual_all = var.values[0]
        idx = np.searchsorted(sd_times, times - 1e-9)
        if (idx >= len(sd_times)).any() or not np.allclose(sd_times[idx], times, atol=1e-6):
            return False, f"{name}: Vensim's times {times[:4]}... are not sd's save times"
        actual = actual_all[idx]
        scale = max(1.0, float(np.nanmax(np.abs(expected)))) if expected.size else 1.0
        close = np.abs(actual - expected) <= rtol * np.abs(expected) + atol * scale
        if not close.all():
            k = int(np.flatnonzero(~close)[0])
            bad.append(f"{name} at t={times[k]:g}: sd {actual[k]:.6g} vs Vensim {expected[k]:.6g}")
    if bad:
        return False, f"{len(bad)} of {len(names)} variables differ: " + "; ".join(bad[:3])
    return True, f"{len(names)} variables x {len(sd_times)} times"


def _status(case: SdeCase, expected: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """(status, detail) of one case: pass, disputed, unsupported (refused by name), invalid file (a
    defective file, reported by a named error: ``expected``), fail, crash or no Vensim output."""
    import sd

    if case.output is None:
        try:
            sd.load(case.model, data_files=list(case.data_files) or None)
            return "no Vensim output", "loads in sd"
        except sd.UnsupportedFeatureError as err:
            return "unsupported", _feature(err)
        except sd.SDError as err:
            return "fail", f"{type(err).__name__}: {err}"
    kind = expected.get(case.name, ("",))[0]
    try:
        if case.output.suffix == ".dat" and kind == "disputed":
            skip = DISPUTED[case.name]
            ok, detail = compare_with_dat(case.model, case.output, skip=skip)
            detail = f"{detail} match; not compared: {', '.join(sorted(skip))}"
            return ("disputed" if ok else "fail"), f"{expected[case.name][1]} ({detail})"
        if case.output.suffix == ".dat":
            ok, detail = compare_with_dat(case.model, case.output, data_files=case.data_files)
        else:
            from sd.testing.corpus import TOLERANCE, CorpusCase, compare_with_vensim

            key = "/".join(case.name.split("/")[:2])
            tol = TOLERANCE.get(key, 1e-5)
            ok, detail = compare_with_vensim(CorpusCase(key, case.model, case.output), tol, tol)
        status = "pass" if ok else "fail"
    except sd.UnsupportedFeatureError as err:
        status, detail = "unsupported", _feature(err)
    except sd.SDError as err:
        status, detail = "fail", f"{type(err).__name__}: {_short(err)}"
    except Exception as err:
        status, detail = "crash", f"{type(err).__name__}: {err}"
    if status != "pass" and case.name in expected:
        detail = f"{expected[case.name][1]} ({detail})"
        if status == "fail" and expected[case.name][0] == "invalid file" and "Error:" in detail:
            status = "invalid file"  # the file itself is defective: sd says so by name (detail)
    return status, detail


def xmile_status(case: SdeCase) -> tuple[str, str]:
    """(status, detail) of one ``.xmile`` export (:func:`xmile_cases`), as the conformance report has it."""
    return _status(case, EXPECTED_XMILE)


def _table(
    cases: list[SdeCase], expected: dict[str, tuple[str, str]]
) -> tuple[dict[str, int], list[str]]:
    counts = dict.fromkeys(
        ("pass", "disputed", "unsupported", "invalid file", "fail", "crash", "no Vensim output"), 0
    )
    rows = []
    for case in cases:
        status, detail = _status(case, expected)
        counts[status] += 1
        detail = " ".join(detail.split()).replace("|", "/")
        rows.append(f"| {case.name} | {status} | {detail[:1000]} |")
    return counts, rows


def sde_report(root: Path) -> str:
    """The Markdown section for ``../shared/vensim-sde-models``."""
    counts, rows = _table(sde_cases(root), EXPECTED_SDE)
    head = [
        "## SDEverywhere test models (`../shared/vensim-sde-models`, Vensim `.dat` output)",
        "",
        "Each `.mdl` run by sd's numpy backend, every non-helper variable of Vensim's `.dat` compared at",
        f"its times: |sd - Vensim| <= {RTOL:g}·|Vensim| + {ATOL:g}·max(1, max|Vensim|) (Vensim writes",
        "32-bit floats). Generated by `sd.testing.sde.sde_report`.",
        "`disputed`: the `.dat`'s values of some variables contradict Vensim's documented semantics",
        "(the detail gives the evidence); those are not compared, every other variable matches.",
        "",
        "Summary: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "pass") + ".",
        "",
        "| model | status | detail |",
        "|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n"


def xmile_report(sde: Path | None, corpus: Path | None) -> str:
    """The Markdown section for the ``.xmile`` exports of both corpora."""
    counts, rows = _table(xmile_cases(sde, corpus), EXPECTED_XMILE)
    head = [
        "## XMILE exports (`.xmile` in both corpora)",
        "",
        "Each `.xmile` loaded through pysd's XMILE translator into sd's lowering and compared with the",
        "output of its folder (`.dat`: as above; `.tab`/`.csv`: pysd's tolerance, as the `.mdl`s): Stella's",
        "run of the file itself (`output_stella.csv`) where there is one, else Vensim's run of the `.mdl`.",
        "xmutil's exports are not always the `.mdl`: `test_active_initial.xmile` lost its ACTIVE INITIAL",
        "(Stock A starts at 0 in Stella and sd, at 45 in Vensim's run of the `.mdl`); Vensim constructs",
        "an exporter could not write (`???`, functions left as `{...}` comments, macros it dropped) are",
        "refused by name.",
        "",
        "Summary: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v or k == "pass") + ".",
        "",
        "| model | status | detail |",
        "|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n"


def _short(err: Exception) -> str:
    return str(err).split(" (supported:")[0]


def _feature(err: Exception) -> str:
    msg = _short(err)
    for marker in ("': ", ": "):
        if marker in msg:
            return msg.split(marker, 1)[1]
    return msg


if __name__ == "__main__":  # pragma: no cover
    import sys

    root = sde_root()
    if root is None:
        sys.exit("the SDEverywhere models were not found (set SD_SDE_MODELS)")
    sys.stdout.write(sde_report(root))
