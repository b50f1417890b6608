"""Vensim builtins over an array namespace (numpy or cupy), with pysd's exact tolerances.

Every function works on Python floats and on arrays with a leading draw axis. :func:`bind` returns the
functions closed over one array namespace ``xp``; the generated code calls them as ``rt.<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

SMALL_VENSIM = 1e-6  # what Vensim (and pysd) treat as zero


def bind(xp: Any) -> SimpleNamespace:
    where = xp.where
    absolute = xp.abs

    def xidz(a: Any, b: Any, x: Any) -> Any:
        return where(absolute(b) < SMALL_VENSIM, x, a / where(b == 0, 1.0, b))

    def zidz(a: Any, b: Any) -> Any:
        return where(absolute(b) < SMALL_VENSIM, 0.0, a / where(b == 0, 1.0, b))

    def quantum(a: Any, b: Any) -> Any:
        return where(b < SMALL_VENSIM, a, b * xp.trunc(a / where(b == 0, 1.0, b)))

    def modulo(x: Any, m: Any) -> Any:
        return x - quantum(x, m)

    def step(time: float, dt: float, height: Any, tstep: Any) -> Any:
        return height * (time + dt / 2 > tstep)

    def ramp(time: float, slope: Any, start: Any, finish: Any = None) -> Any:
        final = time if finish is None else xp.minimum(finish, time)
        return (time + SMALL_VENSIM > start) * slope * (final - start)

    def pulse(time: float, start: Any, width: Any) -> Any:
        return ((start - SMALL_VENSIM <= time) & (time < start + width)) * 1.0

    def pulse_train(time: float, start: Any, width: Any, interval: Any, end: Any) -> Any:
        single = (start - SMALL_VENSIM <= time) & (time < start + width)
        safe = where(interval == 0, 1.0, interval)
        repeated = (start <= time) & (time < end) & ((time - start + SMALL_VENSIM) % safe < width)
        return where(interval == 0, single, repeated) * 1.0

    def lookup(x: Any, xs: Any, ys: Any) -> Any:
        """Linear interpolation holding the end values; ``ys`` may carry a leading draw axis."""
        if getattr(ys, "ndim", 1) == 1:
            return xp.interp(x, xs, ys)
        # one table per draw: shared x grid, y of shape (n, m)
        xa = xp.broadcast_to(xp.asarray(x, dtype=float), ys.shape[:1])
        m = xs.shape[0]
        idx = xp.clip(xp.searchsorted(xs, xa, side="right") - 1, 0, max(m - 2, 0))
        rows = xp.arange(ys.shape[0])
        if m == 1:
            return ys[:, 0] + 0.0 * xa
        x0, x1 = xs[idx], xs[idx + 1]
        y0, y1 = ys[rows, idx], ys[rows, idx + 1]
        w = xp.clip((xa - x0) / (x1 - x0), 0.0, 1.0)
        return where(xa <= xs[0], ys[:, 0], where(xa >= xs[-1], ys[:, -1], y0 + w * (y1 - y0)))

    def full(n: int, value: Any) -> Any:
        out = xp.empty(n, dtype=float)
        out[...] = value
        return out

    def delay_order(order: float, dt: float, delay_time: Any) -> Any:
        """The largest k <= order with k * dt <= delay time (pysd lowers the order so), per draw."""
        n = int(order)
        k = xp.full(xp.shape(delay_time), n, dtype=float) if xp.ndim(delay_time) else float(n)
        for j in range(n, 0, -1):
            k = (
                where(j * dt > delay_time, j - 1.0, k)
                if xp.ndim(delay_time)
                else (j - 1.0 if (j * dt > delay_time and k == j) else k)
            )
        if not xp.ndim(k):
            return float(k)
        assert not isinstance(k, float)
        return float(k.flat[0]) if bool((k == k.flat[0]).all()) else k

    def stage_factor(k: Any, i: float) -> Any:
        if not xp.ndim(k):
            return k if i <= k else 0.0
        return k * (i <= k)

    def stage(k: Any, *stages: Any) -> Any:
        if not xp.ndim(k):
            return stages[max(int(k), 1) - 1]
        out = stages[0]
        for i, s in enumerate(stages[1:], 2):
            out = where(k == i, s, out)
        return out

    class FixedDelay:
        """DELAY FIXED's ring buffer: the output at step k is the input of step k - order."""

        def __init__(self, n: int, delay_time: Any, dt: float, init: Any) -> None:
            order = xp.maximum(xp.asarray(delay_time, dtype=float) / dt, 1.0)
            order = xp.round(order + SMALL_VENSIM).astype(int)
            self.scalar = order.ndim == 0 or bool((order == order.flat[0]).all())
            self.order = int(order.max())
            self.orders = order
            self.buf = xp.empty((self.order, n), dtype=float)
            self.buf[...] = init
            self.ptr = 0 if self.scalar else xp.zeros(n, dtype=int)
            self.cols = xp.arange(n)
            self.value = full(n, init)

        def push(self, value: Any) -> Any:
            if self.scalar:
                self.buf[self.ptr] = value
                self.ptr = (self.ptr + 1) % self.order
                self.value = self.buf[self.ptr].copy()
            else:
                self.buf[self.ptr, self.cols] = value
                self.ptr = (self.ptr + 1) % self.orders
                self.value = self.buf[self.ptr, self.cols]
            return self.value

    return SimpleNamespace(
        xidz=xidz,
        zidz=zidz,
        quantum=quantum,
        modulo=modulo,
        step=step,
        ramp=ramp,
        pulse=pulse,
        pulse_train=pulse_train,
        lookup=lookup,
        full=full,
        delay_order=delay_order,
        stage_factor=stage_factor,
        stage=stage,
        FixedDelay=FixedDelay,
    )
