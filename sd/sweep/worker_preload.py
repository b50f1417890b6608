"""Preloaded into the worker processes of a local cluster that sd starts: Ctrl-C in the terminal reaches
the whole process group, and only the sd process should answer it (it stops the cluster and says how to
resume); the workers ignore SIGINT instead of printing asyncio tracebacks."""

from __future__ import annotations

import signal


def dask_setup(worker: object) -> None:  # distributed calls this in each worker at start-up
    signal.signal(signal.SIGINT, signal.SIG_IGN)
