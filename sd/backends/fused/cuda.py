"""Run the fused kernel on a CUDA device through ``cupy.RawModule``: one thread per draw.

The module is compiled by NVRTC with ``--fmad=false`` (no fused multiply-adds, so every operation rounds
as numpy's does) and cached by the hash of its source (cupy also keeps its own on-disk kernel cache).
Outputs are laid out (nout, nsave, n) so that consecutive threads write consecutive addresses.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from sd.backends.fused import abi

__all__ = ["NVRTC_OPTIONS", "load", "run"]

NVRTC_OPTIONS = ("--std=c++14", "--fmad=false")
BLOCK = 128
_lock = threading.Lock()
_kernels: dict[str, Any] = {}


def load(source: str) -> Any:
    """Compile ``source`` with NVRTC (cached) and return the ``sd_kernel`` function."""
    from sd.backends.cupy_ import cupy_module

    cupy = cupy_module()
    key = hashlib.sha256(source.encode()).hexdigest()
    with _lock:
        fn = _kernels.get(key)
        if fn is None:
            module = cupy.RawModule(code=source, options=NVRTC_OPTIONS)
            fn = module.get_function("sd_kernel")
            _kernels[key] = fn
        return fn


def run(
    kernel: Any,
    P: Mapping[str, Any],
    n: int,
    ctrl: tuple[float, float, float, float],
    times: np.ndarray,
    save: np.ndarray,
    stimes: np.ndarray,
    rpar: np.ndarray,
    steps: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``n`` draws on the device; outputs stay on the device as (nsave, n) cupy arrays (``steps``: a
    stepped grid's varying control values, see :mod:`sd.backends.fused.codegen`)."""
    from sd.backends.cupy_ import cupy_module
    from sd.backends.fused import pack_inputs

    cp = cupy_module()
    spec = kernel.spec
    nsave, nout, nred = len(stimes), len(spec.outputs), len(spec.outcomes)
    pv, pidx, tab, tidx = pack_inputs(spec, P, n, cp)
    d_times, d_save, d_stimes = cp.asarray(times), cp.asarray(save), cp.asarray(stimes)
    d_rpar = cp.asarray(rpar)
    d_ctrl = cp.asarray(steps) if steps is not None and steps.size else cp.zeros(1, dtype=cp.float64)
    real = cp.float32 if spec.dtype == "float32" else cp.float64
    out = cp.empty((max(nout, 1), nsave, n), dtype=real)
    red = cp.empty((max(nred, 1), n), dtype=real)
    grid = ((n + BLOCK - 1) // BLOCK,)
    t0, tf, dt, sp = ctrl

    def launch(mode: int, scratch: Any, fdoff: Any, fdord: Any) -> None:
        values = {"n": n, "pv": pv, "pidx": pidx, "tab": tab, "tidx": tidx, "nt": len(times),
                  "times": d_times, "save": d_save, "nsave": nsave, "stimes": d_stimes, "t0": t0,
                  "tf": tf, "dt": dt, "saveper": sp, "out": out, "red": red, "rpar": d_rpar,
                  "scratch": scratch, "fdoff": fdoff, "fdord": fdord, "mode": mode,
                  "ctrl": d_ctrl}  # fmt: skip
        kernel.fn(grid, (BLOCK,), abi.cuda_arguments(values))

    nfixed = len(spec.fixed_delays)
    empty_f = cp.zeros(1, dtype=real)
    empty_i = cp.zeros(1, dtype=cp.int64)
    if nfixed:
        fdord = cp.zeros((n, nfixed), dtype=cp.int64)
        launch(0, empty_f, empty_i, fdord)
        sizes = fdord.sum(axis=1)
        fdoff = cp.zeros(n, dtype=cp.int64)
        if n > 1:
            cp.cumsum(sizes[:-1], out=fdoff[1:])
        scratch = cp.empty(int(sizes.sum()), dtype=real)
        launch(1, scratch, fdoff, fdord)
    else:
        launch(1, empty_f, empty_i, empty_i)
    outs = {o: out[i] for i, o in enumerate(spec.outputs)}
    reds = {oc.label: red[r] for r, oc in enumerate(spec.outcomes)}
    return outs, reds
