"""The layers hold (docs/architecture.md): each rule reads the package's imports from its source, so a
change that crosses a boundary fails here, lazy (function-level) imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sd.backends.common import ExprMapper
from sd.backends.fused.codegen import C_FUNCTIONS, CPrinter, FusedUnsupportedError
from sd.backends.numpy_ import FUNCTIONS as NUMPY_FUNCTIONS
from sd.backends.numpy_ import NumpyPrinter
from sd.frontend.functions import FUNCTIONS
from sd.ir.nodes import INTERNAL_CALLS, Call, ModelIR, Num

SD = Path(__file__).resolve().parents[1] / "sd"
MAX_FUNCTION_LINES = 100


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(SD.rglob("*.py")):
        name = ".".join(path.relative_to(SD.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = ast.parse(path.read_text(encoding="utf-8"))
    return out


MODULES = _modules()


def imports(module: str) -> set[str]:
    """Every module ``module`` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(MODULES[module]):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _importers(prefix: str, targets: tuple[str, ...]) -> list[str]:
    bad = []
    for mod in MODULES:
        if mod == prefix or mod.startswith(prefix + "."):
            for imp in imports(mod):
                if any(imp == t or imp.startswith(t + ".") for t in targets):
                    bad.append(f"{mod} imports {imp}")
    return bad


def test_the_rules_see_lazy_imports() -> None:
    # sd.model imports the frontend inside load(): the reader must find it
    assert "sd.frontend.vensim" in imports("sd.model")


def test_backends_never_import_the_model_or_the_run_layer() -> None:
    assert _importers("sd.backends", ("sd.model", "sd.simulate", "sd.results", "sd.sweep")) == []


def test_the_sweep_imports_no_backend() -> None:
    assert _importers("sd.sweep", ("sd.backends",)) == []


def test_the_model_does_not_import_the_package_face() -> None:
    for mod in ("sd.model", "sd.simulate", "sd.results"):
        assert "sd" not in imports(mod), mod


def test_the_c_generator_does_not_import_the_numpy_one() -> None:
    assert _importers("sd.backends.fused", ("sd.backends.numpy_",)) == []


def test_the_ir_imports_no_array_library_backend_or_frontend() -> None:
    banned = ("numpy", "cupy", "xarray", "pysd", "sd.backends", "sd.frontend", "sd.model")
    assert _importers("sd.ir", banned) == []


def test_pysd_only_in_the_frontend_and_testing() -> None:
    bad = [
        b for b in _importers("sd", ("pysd",))
        if not b.startswith(("sd.frontend", "sd.testing", "sd.interop", "sd.ema"))
    ]  # fmt: skip
    # sd.interop (sd.read_vensim, pysd's DataFrame shape) and sd.ema compare with pysd only by name
    assert bad == []


def test_no_function_over_100_lines() -> None:
    long = []
    for mod, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{mod}.{node.name}: {lines} lines")
    assert long == []


# -- function tables: every function a model can contain is printed or refused by name -------------
PLAIN = [*sorted(k for k, f in FUNCTIONS.items() if f.lower is None), "pulse_train"]
IR_CALLS = sorted({*PLAIN, *INTERNAL_CALLS})


def _args(fn: str) -> tuple[Num, ...]:
    if fn == "_stage":
        return (Num(2.0), Num(1.0), Num(2.0))
    arity = FUNCTIONS[fn].arity[0] if fn in FUNCTIONS else 8
    return tuple(Num(float(i + 1)) for i in range(arity))


@pytest.mark.parametrize("fn", IR_CALLS)
def test_numpy_prints_every_ir_function(fn: str) -> None:
    assert fn in NUMPY_FUNCTIONS
    text = NumpyPrinter(ModelIR(path="m.mdl"), "run")(Call(fn, _args(fn)))
    assert isinstance(text, str) and text


@pytest.mark.parametrize("fn", IR_CALLS)
def test_c_prints_every_ir_function_or_refuses_it_by_name(fn: str) -> None:
    printer = CPrinter(ModelIR(path="m.mdl"), "run", [0])
    if fn in C_FUNCTIONS:
        assert printer(Call(fn, _args(fn)))
        return
    with pytest.raises(FusedUnsupportedError, match=f"function {fn.upper()}"):
        printer(Call(fn, _args(fn)))


def test_backend_tables_have_no_rows_for_unknown_functions() -> None:
    assert set(NUMPY_FUNCTIONS) <= set(IR_CALLS)
    assert set(C_FUNCTIONS) <= set(IR_CALLS)


def test_printers_have_a_method_per_ir_node() -> None:
    for printer in (NumpyPrinter, CPrinter):
        for method in ExprMapper._METHODS.values():
            assert getattr(printer, method) is not getattr(ExprMapper, method, None), method
