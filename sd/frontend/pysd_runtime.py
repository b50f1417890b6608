"""pysd's own run-time algorithms that sd reuses rather than rewrites.

The frontend owns every import of pysd; the array runtime (:mod:`sd.backends._runtime`) takes pysd's
one-dimensional ALLOCATE BY PRIORITY and ALLOCATE AVAILABLE algorithms from here, draw by draw, so that
sd allocates exactly as pysd does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["allocate_available_1d", "allocate_by_priority_1d"]


def allocate_by_priority_1d(request: Any, priority: Any, width: float, supply: float) -> Any:
    from pysd.py_backend.allocation import _allocate_by_priority_1d

    return _allocate_by_priority_1d(request, priority, width, supply)


def allocate_available_1d(request: Any, pp: Any, avail: float) -> Any:
    from pysd.py_backend.allocation import _allocate_available_1d

    return _allocate_available_1d(request, pp, avail)
