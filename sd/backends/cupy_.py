"""The cupy backend: the numpy backend's generated code run on cupy arrays.

The vectorised source of :mod:`sd.backends.numpy_` is written against an array namespace ``xp``; this
module only supplies cupy as that namespace, imported lazily, with an install hint when cupy or a CUDA
device is missing. The fused CUDA kernels (:mod:`sd.backends.fused.cuda`) also get cupy from here.
"""

from __future__ import annotations

from typing import Any

from sd.errors import BackendUnavailableError

__all__ = ["cupy_module"]


def cupy_module() -> Any:
    """Import cupy and check that a CUDA device is visible, or raise BackendUnavailableError."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as err:  # ImportError, CUDARuntimeError, ...
        raise BackendUnavailableError(
            f"backend 'cupy' needs CuPy and a CUDA device ({type(err).__name__}: {err}); "
            "pip install 'sd[gpu]'"
        ) from err
    return cupy
