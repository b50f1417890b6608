"""The fused kernel's C ABI, declared once: the C signature, the argument list of the wrappers, the
ctypes argument types (CPU) and the argument tuple of a launch (CUDA) are all generated from
:data:`ABI`.

Types: ``i64`` (``sd_i64``), ``double``, ``int``, ``real`` (``double``, or ``float`` for float32 kernels),
each optionally a pointer (``*``) and ``const``. See :mod:`sd.backends.fused.codegen` for the meaning
of each argument.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ABI", "argtypes", "argument_names", "ctypes_arguments", "cuda_arguments", "signature"]

# (name, type) in order
ABI: tuple[tuple[str, str], ...] = (
    ("n", "i64"), ("pv", "const real*"), ("pidx", "const i64*"), ("tab", "const real*"),
    ("tidx", "const i64*"), ("nt", "i64"), ("times", "const double*"), ("save", "const i64*"),
    ("nsave", "i64"), ("stimes", "const double*"), ("t0", "double"), ("tf", "double"),
    ("dt", "double"), ("saveper", "double"), ("out", "real*"), ("red", "real*"),
    ("rpar", "const double*"), ("scratch", "real*"), ("fdoff", "const i64*"), ("fdord", "i64*"),
    ("mode", "int"), ("ctrl", "const double*"),
)  # fmt: skip

_C = {"i64": "sd_i64", "double": "double", "int": "int"}


def _c_type(kind: str, real: str) -> str:
    const = kind.startswith("const ")
    base = kind.removeprefix("const ").rstrip("*")
    ptr = kind.endswith("*")
    name = real if base == "real" else _C[base]
    return f"{'const ' if const else ''}{name}{'*' if ptr else ''}"


def signature(dtype: str = "float64") -> str:
    """The kernel's parameter list in C."""
    real = "float" if dtype == "float32" else "double"
    return ", ".join(f"{_c_type(kind, real)} {name}" for name, kind in ABI)


def argument_names() -> str:
    """The parameters as passed on by the wrappers (``n, pv, pidx, ...``)."""
    return ", ".join(name for name, _ in ABI)


def _ctypes(kind: str, dtype: str) -> Any:
    base = kind.removeprefix("const ").rstrip("*")
    if kind.endswith("*"):
        if base == "real":
            return ctypes.POINTER(ctypes.c_float if dtype == "float32" else ctypes.c_double)
        return ctypes.POINTER(ctypes.c_longlong if base == "i64" else ctypes.c_double)
    return {"i64": ctypes.c_longlong, "double": ctypes.c_double, "int": ctypes.c_int}[base]


def argtypes(dtype: str = "float64") -> list[Any]:
    """ctypes argument types of the CPU entry point ``sd_run(d0, d1, <ABI>)``."""
    return [ctypes.c_longlong, ctypes.c_longlong] + [_ctypes(kind, dtype) for _, kind in ABI]


def ctypes_arguments(values: Mapping[str, Any], dtype: str = "float64") -> list[Any]:
    """The ABI's arguments for a ctypes call: arrays as pointers (NULL when None or empty)."""
    out: list[Any] = []
    for name, kind in ABI:
        value = values[name]
        if kind.endswith("*"):
            ptype = _ctypes(kind, dtype)
            out.append(ptype() if value is None or value.size == 0 else value.ctypes.data_as(ptype))
        else:
            out.append(value)
    return out


def cuda_arguments(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """The ABI's arguments for a ``cupy.RawKernel`` launch: scalars as sized numpy scalars."""
    scalar = {"i64": np.int64, "double": np.float64, "int": np.int32}
    return tuple(
        values[name] if kind.endswith("*") else scalar[kind](values[name]) for name, kind in ABI
    )
