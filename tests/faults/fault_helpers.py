"""Helpers of the fault tests: teacup models reading a data file, real `sd` processes, kills, store reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from model_texts import TEACUP_TEMPLATE as TEACUP  # .format(final=, dt=)

SD = [sys.executable, "-m", "sd"]


def write_data_teacup(folder: Path, room: float = 70, final: float = 30, dt: float = 0.125) -> Path:
    """teacup.mdl whose Room Temperature is read from room.csv (GET DIRECT CONSTANTS)."""
    text = TEACUP.format(final=final, dt=dt).replace(
        "Room Temperature = 70", "Room Temperature = GET DIRECT CONSTANTS('room.csv', ',', 'B2')"
    )
    (folder / "teacup.mdl").write_text(text, encoding="utf-8")
    write_room(folder, room)
    return folder / "teacup.mdl"


def write_room(folder: Path, room: float) -> None:
    (folder / "room.csv").write_text(f"name,value\nroom,{room:g}\n", encoding="utf-8")


def write_spec(folder: Path, draws: int = 2048, chunk: int = 256, store: str = "out.zarr",
               extra: str = "", outcomes: str = '"T final" = { var = "Teacup Temperature", reduce = "final" }') -> Path:  # fmt: skip
    text = (f'model = "teacup.mdl"\ndraws = {draws}\nseed = 3\nsampler = "mc"\nchunk = {chunk}\n'
            f'store = "{store}"\nbackend = "numpy"\n{extra}\n'
            '[parameters]\n"Characteristic Time" = { dist = "uniform", low = 5, high = 15 }\n'
            '[outputs]\ntimeseries = ["Teacup Temperature"]\nsaveper = 5\n'
            f"[outcomes]\n{outcomes}\n")  # fmt: skip
    path = folder / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def sd_cli(
    args: list[str], cwd: Path, timeout: float = 240, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """`sd ARGS` in a real process; its (rc, stdout, stderr)."""
    return subprocess.run(
        [*SD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw
    )


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*SD, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip


def done_count(store: Path) -> int:
    import zarr

    try:
        return int(np.asarray(zarr.open_array(str(store), path="_done", mode="r")[:]).sum())
    except Exception:
        return 0


def kill_after(proc: subprocess.Popen[str], store: Path, chunks: int, timeout: float = 180,
               sig: int = signal.SIGKILL) -> int:  # fmt: skip
    """Send ``sig`` to the process group of ``proc`` once ``chunks`` chunks are done; the count then."""
    t0 = time.monotonic()
    try:
        while done_count(store) < chunks:
            if proc.poll() is not None:
                raise AssertionError(
                    f"the sweep ended before {chunks} chunks: {proc.stderr.read()}"
                )  # type: ignore[union-attr]
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"no {chunks} chunks within {timeout} s")
            time.sleep(0.05)
        os.killpg(proc.pid, sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    return done_count(store)


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    """The CLI's error: exit 2, one `sd: error:` line, no traceback."""
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("sd: error: "), res.stderr
    return lines[0]
