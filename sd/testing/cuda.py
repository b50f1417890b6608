"""Compile a fused CUDA kernel's source with nvcc (no GPU needed): the check that the generated CUDA is
valid on machines without a device (CI has nvcc)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["nvcc_ptx"]


def nvcc_ptx(source: str, path: Path, arch: str = "sm_90") -> str:
    """Write ``source`` to ``path`` (a ``.cu`` file), compile it to PTX with ``nvcc --ptx`` and the options
    sd's NVRTC uses, and return the PTX text. An error of nvcc is an AssertionError with its messages;
    the PTX must define sd's kernel entry point."""
    from sd.backends.fused.cuda import NVRTC_OPTIONS

    path.write_text(source)
    ptx = path.with_suffix(".ptx")
    proc = subprocess.run(["nvcc", "--ptx", f"-arch={arch}", *NVRTC_OPTIONS, "-o", str(ptx), str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, f"{path.name}: {proc.stderr[-3000:]}"
    text = ptx.read_text()
    assert ".entry sd_kernel" in text, f"{path.name}: no sd_kernel entry in the PTX"
    return text
