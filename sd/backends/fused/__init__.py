"""Fused whole-run kernels: the full time loop of one draw compiled as one function.

One generated C body (:mod:`sd.backends.fused.codegen`) is built two ways: for the CPU by the system C
compiler into a shared library called through ctypes, draws split over threads
(:mod:`sd.backends.fused.cpu`); for CUDA as a ``cupy.RawModule`` kernel, one thread per draw
(:mod:`sd.backends.fused.cuda`). Both are cached by the hash of their source.

The fused path is a fast path, never a correctness dependency: anything the generator cannot express
raises :class:`FusedUnsupportedError` and ``backend="auto"`` falls back to the array backend; every
fused result is testable against the numpy backend (tests/fused/).

Examples
--------
>>> import sd
>>> m = sd.load("models/productivity_deflation.mdl")  # doctest: +SKIP
>>> ds = m.run({"robot lifetime": lifetimes}, backend="fused")  # doctest: +SKIP
>>> print(m.kernel_source("cuda"))  # doctest: +SKIP
>>> oc = m.run({"robot lifetime": lifetimes}, backend="fused",
...            outcomes=[sd.Outcome("at", "debt to GDP ratio", time=2028)])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sd.backends.fused.codegen import FusedUnsupportedError, KernelSpec, Outcome, generate
from sd.errors import BackendUnavailableError
from sd.ir.nodes import ModelIR

__all__ = [
    "FusedKernel",
    "FusedUnsupportedError",
    "KernelSpec",
    "Outcome",
    "available",
    "generate",
    "pack_inputs",
]


def available(target: str = "c") -> bool:
    """True when the fused backend can build for ``target`` here ('c': a C compiler; 'cuda': cupy + GPU)."""
    if target == "c":
        from sd.backends.fused.cpu import compiler

        return compiler() is not None
    try:
        from sd.backends.cupy_ import cupy_module

        cupy_module()
    except BackendUnavailableError:
        return False
    return True


def pack_inputs(
    spec: KernelSpec, P: Mapping[str, Any], n: int, xp: Any = np
) -> tuple[Any, Any, Any, Any]:
    """Pack constants and lookup tables into the kernel's flat arrays (see codegen's docstring), in
    the kernel's precision (``spec.dtype``)."""
    real = xp.float32 if spec.dtype == "float32" else xp.float64
    chunks: list[Any] = []
    pidx: list[int] = []
    off = 0
    for c in spec.constants:
        value = P[c]
        arr = xp.asarray(value, dtype=real)
        if arr.ndim == 0 or arr.size == 1:
            chunks.append(arr.reshape(1))
            pidx += [off, 0]
            off += 1
        else:
            if arr.shape != (n,):
                raise ValueError(f"constant {c!r} has shape {arr.shape}; expected ({n},)")
            chunks.append(arr)
            pidx += [off, 1]
            off += n
    pv = xp.concatenate(chunks) if chunks else xp.zeros(1, dtype=real)
    tchunks: list[Any] = []
    tidx: list[int] = []
    off = 0
    for lk in spec.lookups:
        xs, ys = P[lk]
        xs = xp.asarray(xs, dtype=real).reshape(-1)
        ys = xp.asarray(ys, dtype=real)
        m = int(xs.shape[0])
        perdraw = ys.ndim == 2
        tchunks += [xs, ys.reshape(-1)]
        tidx += [off, m, off + m, m if perdraw else 0, int(perdraw)]
        off += m + int(ys.size)
    tab = xp.concatenate(tchunks) if tchunks else xp.zeros(1, dtype=real)
    return (
        xp.ascontiguousarray(pv),
        xp.asarray(np.asarray(pidx or [0], dtype=np.int64)),
        xp.ascontiguousarray(tab),
        xp.asarray(np.asarray(tidx or [0], dtype=np.int64)),
    )


def _at_rows(outcomes: Sequence[Outcome], saved: np.ndarray, dt: float) -> np.ndarray:
    """Each outcome's parameter: the save row of an 'at' time, the threshold of a 'first', and for a
    condition evaluated at some ``rows`` only, the offset of its flags (1.0 at those saved rows), which
    follow the parameters."""
    rpar = np.zeros(max(len(outcomes), 1), dtype=np.float64)
    flags = []
    offset = len(rpar)
    for r, oc in enumerate(outcomes):
        if oc.kind == "at":
            rpar[r] = oc.saved_row(saved, dt)
        elif oc.kind == "first":
            rpar[r] = oc.value
        elif oc.rows is not None:
            if any(not 0 <= j < len(saved) for j in oc.rows):
                raise ValueError(f"outcome {oc.label}: rows outside the {len(saved)} saved rows")
            on = np.zeros(len(saved), dtype=np.float64)
            on[list(oc.rows)] = 1.0
            rpar[r] = offset
            offset += len(on)
            flags.append(on)
    return np.concatenate([rpar, *flags]) if flags else rpar


def _varying(spec: KernelSpec, varying: Mapping[str, Sequence[float]], nt: int) -> np.ndarray | None:
    """The kernel's ``ctrl`` argument: the varying controls' values, (len(spec.varying), nt) row-major."""
    if set(varying) != set(spec.varying):
        raise ValueError(f"the kernel was built for varying controls {list(spec.varying)}, got {list(varying)}")
    if not spec.varying:
        return None
    rows = np.asarray([varying[c] for c in spec.varying], dtype=np.float64)
    if rows.shape != (len(spec.varying), nt):
        raise ValueError(f"varying control values of shape {rows.shape}; expected ({len(spec.varying)}, {nt})")
    return np.ascontiguousarray(rows.reshape(-1))


@dataclass
class FusedKernel:
    """A generated kernel for one (model, outputs, outcomes, target), built on first use."""

    spec: KernelSpec
    fn: Any = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        ir: ModelIR,
        outputs: Sequence[str],
        target: str = "c",
        outcomes: Sequence[Outcome] = (),
        title: str = "",
        dtype: str = "float64",
        varying: Sequence[str] = (),
    ) -> FusedKernel:
        kernel = cls(generate(ir, outputs, target, outcomes, title, dtype=dtype, varying=varying))
        if target == "c":
            from sd.backends.fused.cpu import load

            kernel.fn = load(kernel.spec.source, dtype)
        else:
            from sd.backends.fused.cuda import load as load_cuda

            kernel.fn = load_cuda(kernel.spec.source)
        return kernel

    def __call__(
        self,
        P: Mapping[str, Any],
        n: int,
        controls: Mapping[str, float],
        times: Sequence[float],
        save: np.ndarray,
        saved: np.ndarray,
        threads: int | None = None,
        varying: Mapping[str, Sequence[float]] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run ``n`` draws; return (outputs by ident as (nsave, n) arrays, outcomes by label as (n,)).

        ``controls``: the control values at the first time point; ``varying``: for a kernel built for
        a stepped grid (``spec.varying``), each varying control's value at every time point."""
        spec = self.spec
        t0, tf, dt = controls["initial_time"], controls["final_time"], controls["time_step"]
        sp = controls.get("saveper", dt)
        ctrl = (float(t0), float(tf), float(dt), float(sp))
        nsave, nout, nred = len(saved), len(spec.outputs), len(spec.outcomes)
        steps = _varying(spec, varying or {}, len(times))
        if steps is not None and "time_step" in spec.varying:
            dt = float(min((varying or {})["time_step"]))  # a saved time matches to the smallest step
        rpar = _at_rows(spec.outcomes, np.asarray(saved, dtype=float), dt)
        times_a = np.asarray(times, dtype=np.float64)
        save_a = np.asarray(save, dtype=np.int64)
        stimes = np.asarray(saved, dtype=np.float64)
        if spec.target == "c":
            from sd.backends.fused.cpu import default_threads, run

            pv, pidx, tab, tidx = pack_inputs(spec, P, n, np)
            out = np.empty((n, nout, nsave), dtype=spec.dtype)
            red = np.empty((n, max(nred, 1)), dtype=spec.dtype)
            run(self.fn, n, pv, pidx, tab, tidx, times_a, save_a, stimes, ctrl, out, red, rpar,
                len(spec.fixed_delays), threads or default_threads(), steps)  # fmt: skip
            outs = {o: out[:, i, :].T for i, o in enumerate(spec.outputs)}
            reds = {oc.label: red[:, r] for r, oc in enumerate(spec.outcomes)}
            return outs, reds
        from sd.backends.fused.cuda import run as run_cuda

        return run_cuda(self, P, n, ctrl, times_a, save_a, stimes, rpar, steps)
