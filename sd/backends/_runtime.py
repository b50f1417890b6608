"""Vensim builtins over an array namespace (numpy or cupy), with pysd's exact tolerances.

Every function works on Python floats and on arrays with a leading draw axis. :class:`Runtime` holds them
as methods over one array namespace ``xp`` (:func:`bind` makes one); the generated code calls them as
``rt.<name>``. :class:`RealRuntime` is the float32 variant.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SMALL_VENSIM = 1e-6  # what Vensim (and pysd) treat as zero


def bind(xp: Any, dtype: str = "float64") -> Runtime:
    """The builtins over ``xp``; ``dtype='float32'`` wraps them so that every array they return is
    float32 (scalars come back as Python floats, which numpy keeps weak) and adds ``real``."""
    return Runtime(xp) if dtype == "float64" else RealRuntime(xp, dtype)


class _RealXP:
    """``xp`` for float32 runs: the functions generated code calls return ``real`` of their result, so a
    function of Python floats (``xp.exp(0.5)`` is a numpy float64 scalar, which would promote a float32
    array) comes back as a Python float and a float64 array as float32."""

    WRAPPED = ("abs", "minimum", "maximum", "exp", "log", "sqrt", "power", "trunc", "sin", "cos",
               "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "where")  # fmt: skip

    def __init__(self, xp: Any, real: Any) -> None:
        self._xp = xp
        for name in self.WRAPPED:
            fn = getattr(xp, name)
            setattr(self, name, lambda *a, _fn=fn: real(_fn(*a)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xp, name)


_MASK = (1 << 64) - 1


def _lgamma(x: float) -> float:
    try:
        return math.lgamma(x)
    except ValueError:  # a pole (0, -1, -2, ...): C's lgamma gives +inf
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma, 1, 1)


class FixedDelay:
    """DELAY FIXED's ring buffer: the output at step k is the input of step k - order."""

    def __init__(self, xp: Any, n: int, delay_time: Any, dt: float, init: Any) -> None:
        self.xp = xp
        order = xp.maximum(xp.asarray(delay_time, dtype=float) / dt, 1.0)
        order = xp.round(order + SMALL_VENSIM).astype(int)
        self.scalar = order.ndim == 0 or bool((order == order.flat[0]).all())
        self.order = int(order.max())
        self.orders = order
        self.buf = xp.empty((self.order, n), dtype=float)
        self.buf[...] = init
        self.ptr = 0 if self.scalar else xp.zeros(n, dtype=int)
        self.cols = xp.arange(n)
        self.value = xp.empty(n, dtype=float)
        self.value[...] = init

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


class Runtime:
    """The builtins over one array namespace ``xp`` (numpy or cupy): the generated code's ``rt``."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self.code_xp = xp  # the namespace the generated code sees (RealRuntime wraps it)

    def FixedDelay(self, n: int, delay_time: Any, dt: float, init: Any) -> FixedDelay:
        """DELAY FIXED's ring buffer for ``n`` draws (the generated code's ``rt.FixedDelay``)."""
        return FixedDelay(self.xp, n, delay_time, dt, init)

    def xidz(self, a: Any, b: Any, x: Any) -> Any:
        return self.xp.where(self.xp.abs(b) < SMALL_VENSIM, x, a / self.xp.where(b == 0, 1.0, b))

    def zidz(self, a: Any, b: Any) -> Any:
        return self.xp.where(self.xp.abs(b) < SMALL_VENSIM, 0.0, a / self.xp.where(b == 0, 1.0, b))

    def quantum(self, a: Any, b: Any) -> Any:
        return self.xp.where(
            b < SMALL_VENSIM, a, b * self.xp.trunc(a / self.xp.where(b == 0, 1.0, b))
        )

    def modulo(self, x: Any, m: Any) -> Any:
        return x - self.quantum(x, m)

    def gamma_ln(self, x: Any) -> Any:
        """GAMMA LN: ln|Gamma(x)|, C's lgamma (+inf at the poles 0, -1, -2, ...), elementwise."""
        if getattr(self.xp, "__name__", "") == "cupy":
            from cupyx.scipy.special import gammaln

            return gammaln(self.xp.asarray(x, dtype=float))
        out = np.asarray(_LGAMMA(np.asarray(x, dtype=float)), dtype=float)
        return float(out) if out.ndim == 0 else out

    def step(self, time: float, dt: float, height: Any, tstep: Any) -> Any:
        return height * (time + dt / 2 > tstep)

    def ramp(self, time: float, slope: Any, start: Any, finish: Any = None) -> Any:
        final = time if finish is None else self.xp.minimum(finish, time)
        return (time + SMALL_VENSIM > start) * slope * (final - start)

    def pulse(self, time: float, start: Any, width: Any) -> Any:
        return ((start - SMALL_VENSIM <= time) & (time < start + width)) * 1.0

    def pulse_train(self, time: float, start: Any, width: Any, interval: Any, end: Any) -> Any:
        single = (start - SMALL_VENSIM <= time) & (time < start + width)
        safe = self.xp.where(interval == 0, 1.0, interval)
        # Vensim fires a pulse that starts at the end time (pysd stops before it)
        repeated = (
            (start <= time)
            & (time <= end + SMALL_VENSIM)
            & ((time - start + SMALL_VENSIM) % safe < width)
        )
        return self.xp.where(interval == 0, single, repeated) * 1.0

    def lookup(self, x: Any, xs: Any, ys: Any) -> Any:
        """Linear interpolation holding the end values; ``ys`` may carry a leading draw axis."""
        if getattr(ys, "ndim", 1) == 1:
            return self.xp.interp(x, xs, ys)
        # one table per draw: shared x grid, y of shape (n, m)
        xa = self.xp.broadcast_to(self.xp.asarray(x, dtype=float), ys.shape[:1])
        m = xs.shape[0]
        idx = self.xp.clip(self.xp.searchsorted(xs, xa, side="right") - 1, 0, max(m - 2, 0))
        rows = self.xp.arange(ys.shape[0])
        if m == 1:
            return ys[:, 0] + 0.0 * xa
        x0, x1 = xs[idx], xs[idx + 1]
        y0, y1 = ys[rows, idx], ys[rows, idx + 1]
        w = self.xp.clip((xa - x0) / (x1 - x0), 0.0, 1.0)
        return self.xp.where(
            xa <= xs[0], ys[:, 0], self.xp.where(xa >= xs[-1], ys[:, -1], y0 + w * (y1 - y0))
        )

    def lookup_mode(self, x: Any, xs: Any, ys: Any, mode: str) -> Any:
        """Data interpolation: 'hold_backward' (last value at or before x), 'look_forward' (first
        value at or after x), 'raw' (the value at x, NaN between points); end values held."""
        m = xs.shape[0]
        if mode == "hold_backward":
            idx = self.xp.clip(self.xp.searchsorted(xs, x, side="right") - 1, 0, m - 1)
        else:
            idx = self.xp.clip(self.xp.searchsorted(xs, x, side="left"), 0, m - 1)
        if getattr(ys, "ndim", 1) == 1:
            out = ys[idx]
        else:
            idx = self.xp.broadcast_to(idx, ys.shape[:1])
            out = ys[self.xp.arange(ys.shape[0]), idx]
        if mode == "raw":
            inside = (x >= xs[0]) & (x <= xs[-1])
            out = self.xp.where(inside & (xs[idx] != x), self.xp.nan, out)
        return out * 1.0

    def full(self, n: int, value: Any) -> Any:
        out = self.xp.empty(n, dtype=float)
        out[...] = value
        return out

    def delay_order(self, order: float, dt: float, delay_time: Any) -> Any:
        """The largest k <= order with k * dt <= delay time (pysd lowers the order so), per draw."""
        n = int(order)
        k = (
            self.xp.full(self.xp.shape(delay_time), n, dtype=float)
            if self.xp.ndim(delay_time)
            else float(n)
        )
        for j in range(n, 0, -1):
            k = (
                self.xp.where(j * dt > delay_time, j - 1.0, k)
                if self.xp.ndim(delay_time)
                else (j - 1.0 if (j * dt > delay_time and k == j) else k)
            )
        if not self.xp.ndim(k):
            return float(k)
        assert not isinstance(k, float)
        return float(k.flat[0]) if bool((k == k.flat[0]).all()) else k

    def stage_factor(self, k: Any, i: float) -> Any:
        if not self.xp.ndim(k):
            return k if i <= k else 0.0
        return k * (i <= k)

    def stage(self, k: Any, *stages: Any) -> Any:
        if not self.xp.ndim(k):
            return stages[max(int(k), 1) - 1]
        out = stages[0]
        for i, s in enumerate(stages[1:], 2):
            out = self.xp.where(k == i, s, out)
        return out

    # -- array functions over unrolled elements (each a float or an (n,) array) ------------------
    def stack(self, elems: tuple[Any, ...]) -> Any:
        arrays = self.xp.broadcast_arrays(*(self.xp.asarray(e, dtype=float) for e in elems))
        return self.xp.stack(arrays, axis=-1)

    def vector_select(self, action: float, missing: Any, k: float, *args: Any) -> Any:
        """VECTOR SELECT as pysd computes it, over k selection values then k expression values."""
        n = int(k)
        sel, val = self.stack(args[:n]), self.stack(args[n:])
        sel, val = self.xp.broadcast_arrays(sel, val)
        a = int(action) if not self.xp.ndim(action) else int(self.xp.asarray(action).flat[0])
        if a not in range(11):
            raise ValueError(f"VECTOR SELECT numerical action {a} is not one of 0-10")
        if a <= 4:
            arr = sel * val
        elif a == 5:
            arr = val**sel
        else:
            arr = val
        arr = self.xp.where(sel == 0, self.xp.nan, arr)
        if a in (0, 6):
            out = self.xp.nansum(arr, axis=-1)
        elif a in (1, 5, 7):
            out = self.xp.nanprod(arr, axis=-1)
        else:
            masked = self.xp.where(self.xp.isnan(arr), 0.0, arr)
            count = self.xp.sum(~self.xp.isnan(arr), axis=-1)
            if a in (2, 8):
                out = self.xp.min(self.xp.where(self.xp.isnan(arr), self.xp.inf, arr), axis=-1)
            elif a in (3, 9):
                out = self.xp.max(self.xp.where(self.xp.isnan(arr), -self.xp.inf, arr), axis=-1)
            else:
                out = self.xp.sum(masked, axis=-1) / self.xp.maximum(count, 1)
        return self.xp.where(self.xp.any(sel != 0, axis=-1), out, missing)

    def sort_order(self, direction: Any, elems: tuple[Any, ...]) -> Any:
        order = self.xp.argsort(self.stack(elems), axis=-1)
        return self.xp.flip(order, axis=-1) if float(direction) <= 0 else order

    def vector_sort_order(self, direction: Any, pos: float, *elems: Any) -> Any:
        return self.sort_order(direction, elems)[..., int(pos)] * 1.0

    def vector_rank(self, direction: Any, pos: float, *elems: Any) -> Any:
        rank = self.xp.argsort(self.sort_order(direction, elems), axis=-1) + 1
        return rank[..., int(pos)] * 1.0

    def vector_reorder(self, index: Any, *elems: Any) -> Any:
        values = self.stack(elems)
        idx = self.xp.asarray(index).astype(int)
        if values.ndim == 1:
            return values[idx] * 1.0
        idx = self.xp.broadcast_to(idx, values.shape[:1])
        return values[self.xp.arange(values.shape[0]), idx]

    def vector_elm_map(self, index: Any, *elems: Any) -> Any:
        """VECTOR ELM MAP: element ``index`` (truncated) of ``elems``; NaN outside them."""
        values = self.stack(elems)
        n = values.shape[-1]
        k = self.xp.trunc(self.xp.asarray(index, dtype=float))
        inside = (k >= 0) & (k < n)
        idx = self.xp.where(inside, k, 0).astype(int)
        if values.ndim == 1:
            return self.xp.where(inside, values[idx], self.xp.nan)
        idx = self.xp.broadcast_to(idx, values.shape[:1])
        inside = self.xp.broadcast_to(inside, values.shape[:1])
        return self.xp.where(inside, values[self.xp.arange(values.shape[0]), idx], self.xp.nan)

    def vector_lookup(self, mode: float, x: Any, xmin: Any, xmax: Any, *ys: Any) -> Any:
        """VECTOR LOOKUP: ``ys`` at n points xmin + (xmax - xmin) * i / (n - 1) (the ends exact).
        Mode 0 interpolates holding the end values, 3 extrapolates the end segments, 2 gives the y of
        the last point at or before x, 4 of the first point at or after x (ends held)."""
        xp, n, m = self.xp, len(ys), int(mode)
        if n == 1:
            return ys[0] * 1.0
        span = xmax - xmin
        grid = [xmin, *(xmin + span * (i / (n - 1)) for i in range(1, n - 1)), xmax]
        if m == 2:
            out = ys[0]
            for i in range(1, n):
                out = xp.where(x >= grid[i], ys[i], out)
            return out
        if m == 4:
            out = ys[n - 1]
            for i in range(n - 2, -1, -1):
                out = xp.where(x <= grid[i], ys[i], out)
            return out

        def segment(i: int) -> Any:
            w = (x - grid[i]) / (grid[i + 1] - grid[i])
            return ys[i] + w * (ys[i + 1] - ys[i])

        out = segment(0)
        for i in range(1, n - 1):
            out = xp.where(x >= grid[i], segment(i), out)
        if m == 3:
            return out
        return xp.where(x <= xmin, ys[0], xp.where(x >= xmax, ys[n - 1], out))

    def invert_matrix(self, i: float, j: float, k: float, *elems: Any) -> Any:
        m = int(k)
        values = self.stack(elems)
        mat = values.reshape((*values.shape[:-1], m, m))
        return self.xp.linalg.inv(mat)[..., int(i), int(j)]

    def allocate_by_priority(
        self, pos: float, k: float, width: Any, supply: Any, *args: Any
    ) -> Any:
        """ALLOCATE BY PRIORITY, draw by draw with pysd's own 1-D algorithm (element ``pos``)."""
        import numpy as np

        from sd.frontend.pysd_runtime import allocate_by_priority_1d as _allocate_by_priority_1d

        m = int(k)
        req, prio = self.stack(args[:m]), self.stack(args[m:])
        if (
            req.ndim == 1
            and prio.ndim == 1
            and not self.xp.ndim(width)
            and not self.xp.ndim(supply)
        ):
            return float(_allocate_by_priority_1d(req, prio, float(width), float(supply))[int(pos)])
        n = max(req.shape[0] if req.ndim > 1 else 1, prio.shape[0] if prio.ndim > 1 else 1,
                self.xp.size(width), self.xp.size(supply))  # fmt: skip
        req = np.broadcast_to(np.asarray(req), (n, m))
        prio = np.broadcast_to(np.asarray(prio), (n, m))
        w = np.broadcast_to(np.asarray(width, dtype=float), (n,))
        sup = np.broadcast_to(np.asarray(supply, dtype=float), (n,))
        out = np.array(
            [_allocate_by_priority_1d(req[d], prio[d], w[d], sup[d])[int(pos)] for d in range(n)]
        )
        return self.xp.asarray(out)

    def allocate_available(self, pos: float, k: float, avail: Any, *args: Any) -> Any:
        """ALLOCATE AVAILABLE, draw by draw with pysd's own 1-D algorithm (element ``pos``)."""
        import numpy as np

        from sd.frontend.pysd_runtime import allocate_available_1d as _allocate_available_1d

        m = int(k)
        req, pp = self.stack(args[:m]), self.stack(args[m:])
        n = max(req.shape[0] if req.ndim > 1 else 1, pp.shape[0] if pp.ndim > 1 else 1,
                self.xp.size(avail))  # fmt: skip
        req = np.broadcast_to(np.asarray(req), (n, m))
        pp = np.broadcast_to(np.asarray(pp), (n, pp.shape[-1])).reshape(n, m, -1)
        av = np.broadcast_to(np.asarray(avail, dtype=float), (n,))
        out = np.array([_allocate_available_1d(req[d], pp[d], av[d])[int(pos)] for d in range(n)])
        if n == 1 and not any(self.xp.ndim(a) for a in (*args, avail)):
            return float(out[0])
        return self.xp.asarray(out)

    # -- random streams: counter-based, keyed by (seed, draw, call site, time) --------------------
    def mix(self, z: int) -> int:
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _MASK
        return z ^ (z >> 31)

    def mix_array(self, z: Any) -> Any:
        z = (z ^ (z >> self.xp.uint64(30))) * self.xp.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> self.xp.uint64(27))) * self.xp.uint64(0x94D049BB133111EB)
        return z ^ (z >> self.xp.uint64(31))

    def uniform01(self, rng: Any, key: float, time: float, stream: int = 0) -> Any:
        """Uniform numbers in (0, 1), one per draw: a pure function of (seed, draw index, key,
        time, stream), so any chunking of the draws gives the same numbers."""
        import struct

        seed, draws = rng
        tbits = struct.unpack("<Q", struct.pack("<d", float(time)))[0]
        base = self.mix(
            self.mix(self.mix((int(seed) & _MASK) ^ 0x9E3779B97F4A7C15) ^ int(key)) ^ tbits
        )
        base = self.mix(base ^ (stream * 0xD1B54A32D192ED03 & _MASK))
        with _quiet(self.xp):
            z = self.mix_array(draws * self.xp.uint64(0x9E3779B97F4A7C15) + self.xp.uint64(base))
            z = self.mix_array(z ^ self.xp.uint64(base))
        return ((z >> self.xp.uint64(11)).astype(float) + 0.5) * (1.0 / 9007199254740992.0)

    def random_0_1(self, rng: Any, key: float, time: float) -> Any:
        return self.uniform01(rng, key, time)

    def random_uniform(self, rng: Any, key: float, time: float, lo: Any, hi: Any) -> Any:
        return lo + (hi - lo) * self.uniform01(rng, key, time)

    def random_normal(self, rng: Any, key: float, time: float, lo: Any, hi: Any, mean: Any,
                      sd: Any) -> Any:  # fmt: skip
        """Normal(mean, sd) truncated to [lo, hi] by inverting the CDF."""
        from scipy.special import ndtr, ndtri

        u = self.uniform01(rng, key, time)
        a = ndtr(self.xidz(lo - mean, sd, -self.xp.inf))
        b = ndtr(self.xidz(hi - mean, sd, self.xp.inf))
        return mean + sd * ndtri(a + u * (b - a))

    def random_exponential(self, rng: Any, key: float, time: float, lo: Any, hi: Any, shift: Any,
                           stretch: Any) -> Any:  # fmt: skip
        """shift + stretch * Exp(1), truncated to [max(lo, shift), hi] (pysd's parameters)."""
        u = self.uniform01(rng, key, time)
        loc = self.xp.maximum(lo, shift)
        b = self.xidz(hi - loc, stretch, self.xp.inf)
        return loc - stretch * self.xp.log1p(-u * -self.xp.expm1(-b))


class RealRuntime(Runtime):
    """The runtime of float32 runs: array results cast to ``dtype``; the float64 runtime is untouched.

    ``code_xp`` is the array namespace the generated code sees (its functions return ``real`` of their
    result); the methods themselves compute over the plain ``xp``.
    """

    WRAPPED = ("lookup", "lookup_mode", "gamma_ln", "step", "ramp", "pulse", "pulse_train",
               "delay_order", "vector_select", "vector_lookup", "vector_sort_order", "vector_rank",
               "vector_reorder", "invert_matrix", "allocate_by_priority", "allocate_available",
               "random_0_1", "random_uniform", "random_normal", "random_exponential")  # fmt: skip

    def __init__(self, xp: Any, dtype: str) -> None:
        super().__init__(xp)
        self.real_dtype = xp.dtype(dtype)
        for name in self.WRAPPED:
            setattr(self, name, self._cast(getattr(super(), name)))
        self.code_xp = _RealXP(xp, self.real)

    def real(self, x: Any) -> Any:
        """An array as ``dtype``; a 0-d value as a Python float (so that it never promotes arrays)."""
        if type(x) is float:  # not numpy.float64, a float subclass that numpy treats as strong
            return x
        kind = getattr(x, "dtype", None)
        if kind is None:
            return x
        if x.ndim == 0:
            return float(x)
        return x if kind == self.real_dtype else x.astype(self.real_dtype)

    def full(self, n: int, value: Any) -> Any:
        out = self.xp.empty(n, dtype=self.real_dtype)
        out[...] = value
        return out

    def _cast(self, fn: Any) -> Any:
        def cast(*args: Any) -> Any:
            return self.real(fn(*args))

        return cast


class _quiet:
    """Silence the integer-overflow warnings of the hash (wrap-around is intended)."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp
        self.state: Any = None

    def __enter__(self) -> None:
        import numpy as np

        self.state = np.seterr(over="ignore")

    def __exit__(self, *exc: Any) -> None:
        import numpy as np

        np.seterr(**self.state)
