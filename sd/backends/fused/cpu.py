"""Compile the fused C source with the system C compiler and run it over the draws (ctypes + threads).

The shared library is cached by the hash of its source and compiler command under ``$SD_CACHE_DIR``
(default ``~/.cache/sd``)/fused. Draws are split into one contiguous range per thread; ``ctypes`` drops
the GIL during the call, so plain Python threads run the ranges in parallel (no OpenMP needed).

Compiler flags: ``-O2 -march=native -fno-fast-math -ffp-contract=off -fno-math-errno -fno-trapping-math`` --
IEEE arithmetic without fused multiply-adds, so every operation rounds as numpy's does; ``-march=native``
lets the compiler vectorise the kernel's lane loops (32 draws side by side); ``-fno-trapping-math`` (clang's
default; values unchanged, NaNs and signed zeros still honoured) only says that no floating-point trap is
enabled, so the compiler may compute a division or comparison on every lane and select: without it gcc
leaves every lane loop with XIDZ/ZIDZ, MIN/MAX or IF THEN ELSE unvectorised (2.8x slower on the mission
model, docs/performance.md); -O2 rather than -O3 because -O3 takes minutes on
a 200-equation model for no measured gain. Never ``-ffast-math``. ``SD_MARCH=0`` drops ``-march=native``. ``$SD_CC`` picks the compiler (default
``$CC``, then ``cc``), ``$SD_CFLAGS`` adds flags (e.g. ``-march=native``; it enters the cache key).
"""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from sd.backends.fused import abi
from sd.errors import BackendUnavailableError

__all__ = ["cache_dir", "compiler", "default_threads", "load"]

BASE_FLAGS = (
    "-O2", "-fno-fast-math", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fPIC",
    "-shared", "-std=c99",
)  # fmt: skip
_lock = threading.Lock()
_libs: dict[str, Any] = {}


def cache_dir() -> Path:
    """``$SD_CACHE_DIR``/fused, else fused/ in sd's user cache directory (:func:`sd.cache.cache_root`)."""
    from sd.cache import cache_root

    return cache_root() / "fused"


def compiler() -> str | None:
    """The C compiler command, or None when there is none."""
    for cand in (os.environ.get("SD_CC"), os.environ.get("CC"), "cc", "gcc", "clang"):
        if cand and shutil.which(shlex.split(cand)[0]):
            return cand
    return None


def default_threads() -> int:
    # SD_THREADS, else OMP_NUM_THREADS (dask's nanny sets it to 1 in its worker processes)
    env = os.environ.get("SD_THREADS") or os.environ.get("OMP_NUM_THREADS")
    if env and env.strip().isdigit():
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _arch_flags(cc: str) -> list[str]:
    """``-march=native`` (SIMD over the lanes) unless SD_CFLAGS names an -march or SD_MARCH=0."""
    if os.environ.get("SD_MARCH", "1") == "0" or "-march" in os.environ.get("SD_CFLAGS", ""):
        return []
    return ["-march=native"]


def _machine() -> str:
    """What -march=native depends on (enters the cache key: a shared cache dir may span machines)."""
    import platform

    text = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("model name", "flags")):
                    text += line
                if line.startswith("flags"):
                    break
    except OSError:
        text += platform.processor()
    return text


def _command(cc: str, src: Path, lib: Path) -> list[str]:
    extra = _arch_flags(cc) + shlex.split(os.environ.get("SD_CFLAGS", ""))
    if any("fast-math" in f or f == "-Ofast" for f in extra):
        raise BackendUnavailableError(
            "SD_CFLAGS asks for fast math; the fused backend must keep IEEE results equal to numpy's"
        )
    return [*shlex.split(cc), *BASE_FLAGS, *extra, "-o", str(lib), str(src), "-lm"]


def load(source: str, dtype: str = "float64") -> Any:
    """Compile ``source`` (cached) and return its ``sd_run`` function (ctypes); ``dtype`` is the
    kernel's precision (float32 kernels take float arrays for parameters, tables and outputs)."""
    cc = compiler()
    if cc is None:
        raise BackendUnavailableError(
            "backend 'fused' on the CPU needs a C compiler (cc, gcc or clang; or set SD_CC); "
            "install one (e.g. apt-get install gcc) or use backend='numpy'"
        )
    key = hashlib.sha256(
        (source + "\0" + " ".join(_command(cc, Path("s.c"), Path("l.so"))) + _machine()).encode()
    ).hexdigest()[:32]
    with _lock:
        fn = _libs.get(key)
        if fn is not None:
            return fn
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        lib = folder / f"sd_{key}.so"
        if not lib.is_file():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                src = Path(tmp) / f"sd_{key}.c"
                src.write_text(source, encoding="utf-8")
                tmp_lib = Path(tmp) / lib.name
                proc = subprocess.run(
                    _command(cc, src, tmp_lib), capture_output=True, text=True, check=False
                )
                if proc.returncode != 0:
                    raise BackendUnavailableError(
                        f"the C compiler failed on the fused kernel ({' '.join(_command(cc, src, tmp_lib))}):\n"
                        + proc.stderr[-4000:]
                    )
                (folder / f"sd_{key}.c").write_text(source, encoding="utf-8")
                os.replace(tmp_lib, lib)  # atomic: concurrent processes see a whole library or none
        try:
            fn = bind(ctypes.CDLL(str(lib)), dtype)
        except OSError as err:  # a corrupt or foreign library in the cache
            raise BackendUnavailableError(
                f"could not load the fused kernel {lib} ({err}); delete it or set SD_CACHE_DIR"
            ) from err
        _libs[key] = fn
        return fn


def bind(handle: Any, dtype: str = "float64") -> Any:
    """The ``sd_run`` function of a loaded library, with its argument types (from the kernel's ABI)."""
    fn = handle.sd_run
    fn.restype = None
    fn.argtypes = abi.argtypes(dtype)
    fn._sd_handle = handle  # keep the library loaded as long as the function lives
    return fn


def run(
    fn: Any,
    n: int,
    pv: np.ndarray,
    pidx: np.ndarray,
    tab: np.ndarray,
    tidx: np.ndarray,
    times: np.ndarray,
    save: np.ndarray,
    stimes: np.ndarray,
    controls: tuple[float, float, float, float],
    out: np.ndarray,
    red: np.ndarray,
    rpar: np.ndarray,
    nfixed: int,
    threads: int,
    ctrl: np.ndarray | None = None,
) -> None:
    """Run draws ``[0, n)`` split over ``threads`` threads (sizing DELAY FIXED buffers first); ``ctrl``:
    the varying control values of a stepped grid (see :mod:`sd.backends.fused.codegen`), else None."""
    t0, tf, dt, saveper = controls
    nsave = stimes.shape[0]
    dtype = "float32" if out.dtype == np.float32 else "float64"

    def call(d0: int, d1: int, mode: int, scratch: Any, fdoff: Any, fdord: Any) -> None:
        values = {"n": n, "pv": pv, "pidx": pidx, "tab": tab, "tidx": tidx, "nt": len(times),
                  "times": times, "save": save, "nsave": nsave, "stimes": stimes, "t0": t0,
                  "tf": tf, "dt": dt, "saveper": saveper, "out": out, "red": red, "rpar": rpar,
                  "scratch": scratch, "fdoff": fdoff, "fdord": fdord, "mode": mode,
                  "ctrl": ctrl}  # fmt: skip
        fn(d0, d1, *abi.ctypes_arguments(values, dtype))

    # ranges in whole blocks of the kernel's lanes (any split is correct; this is faster)
    lanes = 32
    blocks = -(-n // lanes)
    threads = max(1, min(threads, blocks))
    cuts = [min(n, lanes * (blocks * i // threads)) for i in range(threads + 1)]
    ranges = list(itertools.pairwise(cuts))

    def parallel(mode: int, scratch: Any, fdoff: Any, fdord: Any) -> None:
        if threads == 1:
            call(0, n, mode, scratch, fdoff, fdord)
            return
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda r: call(r[0], r[1], mode, scratch, fdoff, fdord), ranges))

    scratch = fdoff = fdord = None
    if nfixed:
        fdord = np.zeros((n, nfixed), dtype=np.int64)
        parallel(0, None, None, fdord)
        sizes = fdord.sum(axis=1)
        fdoff = np.zeros(n, dtype=np.int64)
        np.cumsum(sizes[:-1], out=fdoff[1:])
        scratch = np.empty(int(sizes.sum()), dtype=out.dtype)
    parallel(1, scratch, fdoff, fdord)
