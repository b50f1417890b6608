"""Vensim builtins over an array namespace (numpy or cupy), with pysd's exact tolerances.

Every function works on Python floats and on arrays with a leading draw axis. :func:`bind` returns the
functions closed over one array namespace ``xp``; the generated code calls them as ``rt.<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

SMALL_VENSIM = 1e-6  # what Vensim (and pysd) treat as zero


def bind(xp: Any, dtype: str = "float64") -> SimpleNamespace:
    """The builtins over ``xp``; ``dtype='float32'`` wraps them so that every array they return is
    float32 (scalars come back as Python floats, which numpy keeps weak) and adds ``real``."""
    ns = _bind(xp)
    if dtype == "float64":
        return ns
    return _real_namespace(ns, xp, dtype)


def _real_namespace(ns: SimpleNamespace, xp: Any, dtype: str) -> SimpleNamespace:
    """``ns`` with array results cast to ``dtype`` (float32 runs); the float64 runtime is untouched."""
    real_dtype = xp.dtype(dtype)

    def real(x: Any) -> Any:
        """An array as ``dtype``; a 0-d value as a Python float (so that it never promotes arrays)."""
        if type(x) is float:  # not numpy.float64, a float subclass that numpy treats as strong
            return x
        kind = getattr(x, "dtype", None)
        if kind is None:
            return x
        if x.ndim == 0:
            return float(x)
        return x if kind == real_dtype else x.astype(real_dtype)

    def full(n: int, value: Any) -> Any:
        out = xp.empty(n, dtype=real_dtype)
        out[...] = value
        return out

    def wrap(fn: Any) -> Any:
        def cast(*args: Any) -> Any:
            return real(fn(*args))

        return cast

    out = SimpleNamespace(**vars(ns))
    for name in ("lookup", "lookup_mode", "step", "ramp", "pulse", "pulse_train", "delay_order",
                 "vector_select", "vector_sort_order", "vector_rank", "vector_reorder",
                 "invert_matrix", "allocate_by_priority", "allocate_available", "random_0_1",
                 "random_uniform", "random_normal", "random_exponential"):  # fmt: skip
        setattr(out, name, wrap(getattr(ns, name)))
    out.full = full
    out.real = real
    out.xp = _RealXP(xp, real)
    return out


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


def _bind(xp: Any) -> SimpleNamespace:
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
        # Vensim fires a pulse that starts at the end time (pysd stops before it)
        repeated = (
            (start <= time)
            & (time <= end + SMALL_VENSIM)
            & ((time - start + SMALL_VENSIM) % safe < width)
        )
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

    def lookup_mode(x: Any, xs: Any, ys: Any, mode: str) -> Any:
        """Data interpolation: 'hold_backward' (last value at or before x), 'look_forward' (first
        value at or after x), 'raw' (the value at x, NaN between points); end values held."""
        m = xs.shape[0]
        if mode == "hold_backward":
            idx = xp.clip(xp.searchsorted(xs, x, side="right") - 1, 0, m - 1)
        else:
            idx = xp.clip(xp.searchsorted(xs, x, side="left"), 0, m - 1)
        if getattr(ys, "ndim", 1) == 1:
            out = ys[idx]
        else:
            idx = xp.broadcast_to(idx, ys.shape[:1])
            out = ys[xp.arange(ys.shape[0]), idx]
        if mode == "raw":
            inside = (x >= xs[0]) & (x <= xs[-1])
            out = where(inside & (xs[idx] != x), xp.nan, out)
        return out * 1.0

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

    # -- array functions over unrolled elements (each a float or an (n,) array) ------------------
    def stack(elems: tuple[Any, ...]) -> Any:
        arrays = xp.broadcast_arrays(*(xp.asarray(e, dtype=float) for e in elems))
        return xp.stack(arrays, axis=-1)

    def vector_select(action: float, missing: Any, k: float, *args: Any) -> Any:
        """VECTOR SELECT as pysd computes it, over k selection values then k expression values."""
        n = int(k)
        sel, val = stack(args[:n]), stack(args[n:])
        sel, val = xp.broadcast_arrays(sel, val)
        a = int(action) if not xp.ndim(action) else int(xp.asarray(action).flat[0])
        if a not in range(11):
            raise ValueError(f"VECTOR SELECT numerical action {a} is not one of 0-10")
        if a <= 4:
            arr = sel * val
        elif a == 5:
            arr = val**sel
        else:
            arr = val
        arr = where(sel == 0, xp.nan, arr)
        if a in (0, 6):
            out = xp.nansum(arr, axis=-1)
        elif a in (1, 5, 7):
            out = xp.nanprod(arr, axis=-1)
        else:
            masked = xp.where(xp.isnan(arr), 0.0, arr)
            count = xp.sum(~xp.isnan(arr), axis=-1)
            if a in (2, 8):
                out = xp.min(xp.where(xp.isnan(arr), xp.inf, arr), axis=-1)
            elif a in (3, 9):
                out = xp.max(xp.where(xp.isnan(arr), -xp.inf, arr), axis=-1)
            else:
                out = xp.sum(masked, axis=-1) / xp.maximum(count, 1)
        return where(xp.any(sel != 0, axis=-1), out, missing)

    def sort_order(direction: Any, elems: tuple[Any, ...]) -> Any:
        order = xp.argsort(stack(elems), axis=-1)
        return xp.flip(order, axis=-1) if float(direction) <= 0 else order

    def vector_sort_order(direction: Any, pos: float, *elems: Any) -> Any:
        return sort_order(direction, elems)[..., int(pos)] * 1.0

    def vector_rank(direction: Any, pos: float, *elems: Any) -> Any:
        rank = xp.argsort(sort_order(direction, elems), axis=-1) + 1
        return rank[..., int(pos)] * 1.0

    def vector_reorder(index: Any, *elems: Any) -> Any:
        values = stack(elems)
        idx = xp.asarray(index).astype(int)
        if values.ndim == 1:
            return values[idx] * 1.0
        idx = xp.broadcast_to(idx, values.shape[:1])
        return values[xp.arange(values.shape[0]), idx]

    def invert_matrix(i: float, j: float, k: float, *elems: Any) -> Any:
        m = int(k)
        values = stack(elems)
        mat = values.reshape((*values.shape[:-1], m, m))
        return xp.linalg.inv(mat)[..., int(i), int(j)]

    def allocate_by_priority(pos: float, k: float, width: Any, supply: Any, *args: Any) -> Any:
        """ALLOCATE BY PRIORITY, draw by draw with pysd's own 1-D algorithm (element ``pos``)."""
        import numpy as np
        from pysd.py_backend.allocation import _allocate_by_priority_1d

        m = int(k)
        req, prio = stack(args[:m]), stack(args[m:])
        if req.ndim == 1 and prio.ndim == 1 and not xp.ndim(width) and not xp.ndim(supply):
            return float(_allocate_by_priority_1d(req, prio, float(width), float(supply))[int(pos)])
        n = max(req.shape[0] if req.ndim > 1 else 1, prio.shape[0] if prio.ndim > 1 else 1,
                xp.size(width), xp.size(supply))  # fmt: skip
        req = np.broadcast_to(np.asarray(req), (n, m))
        prio = np.broadcast_to(np.asarray(prio), (n, m))
        w = np.broadcast_to(np.asarray(width, dtype=float), (n,))
        sup = np.broadcast_to(np.asarray(supply, dtype=float), (n,))
        out = np.array(
            [_allocate_by_priority_1d(req[d], prio[d], w[d], sup[d])[int(pos)] for d in range(n)]
        )
        return xp.asarray(out)

    def allocate_available(pos: float, k: float, avail: Any, *args: Any) -> Any:
        """ALLOCATE AVAILABLE, draw by draw with pysd's own 1-D algorithm (element ``pos``)."""
        import numpy as np
        from pysd.py_backend.allocation import _allocate_available_1d

        m = int(k)
        req, pp = stack(args[:m]), stack(args[m:])
        n = max(req.shape[0] if req.ndim > 1 else 1, pp.shape[0] if pp.ndim > 1 else 1,
                xp.size(avail))  # fmt: skip
        req = np.broadcast_to(np.asarray(req), (n, m))
        pp = np.broadcast_to(np.asarray(pp), (n, pp.shape[-1])).reshape(n, m, -1)
        av = np.broadcast_to(np.asarray(avail, dtype=float), (n,))
        out = np.array([_allocate_available_1d(req[d], pp[d], av[d])[int(pos)] for d in range(n)])
        if n == 1 and not any(xp.ndim(a) for a in (*args, avail)):
            return float(out[0])
        return xp.asarray(out)

    # -- random streams: counter-based, keyed by (seed, draw, call site, time) --------------------
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & mask
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & mask
        return z ^ (z >> 31)

    def mix_array(z: Any) -> Any:
        z = (z ^ (z >> xp.uint64(30))) * xp.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> xp.uint64(27))) * xp.uint64(0x94D049BB133111EB)
        return z ^ (z >> xp.uint64(31))

    def uniform01(rng: Any, key: float, time: float, stream: int = 0) -> Any:
        """Uniform numbers in (0, 1), one per draw: a pure function of (seed, draw index, key,
        time, stream), so any chunking of the draws gives the same numbers."""
        import struct

        seed, draws = rng
        tbits = struct.unpack("<Q", struct.pack("<d", float(time)))[0]
        base = mix(mix(mix((int(seed) & mask) ^ 0x9E3779B97F4A7C15) ^ int(key)) ^ tbits)
        base = mix(base ^ (stream * 0xD1B54A32D192ED03 & mask))
        with _quiet(xp):
            z = mix_array(draws * xp.uint64(0x9E3779B97F4A7C15) + xp.uint64(base))
            z = mix_array(z ^ xp.uint64(base))
        return ((z >> xp.uint64(11)).astype(float) + 0.5) * (1.0 / 9007199254740992.0)

    def random_0_1(rng: Any, key: float, time: float) -> Any:
        return uniform01(rng, key, time)

    def random_uniform(rng: Any, key: float, time: float, lo: Any, hi: Any) -> Any:
        return lo + (hi - lo) * uniform01(rng, key, time)

    def random_normal(rng: Any, key: float, time: float, lo: Any, hi: Any, mean: Any,
                      sd: Any) -> Any:  # fmt: skip
        """Normal(mean, sd) truncated to [lo, hi] by inverting the CDF."""
        from scipy.special import ndtr, ndtri

        u = uniform01(rng, key, time)
        a = ndtr(xidz(lo - mean, sd, -xp.inf))
        b = ndtr(xidz(hi - mean, sd, xp.inf))
        return mean + sd * ndtri(a + u * (b - a))

    def random_exponential(rng: Any, key: float, time: float, lo: Any, hi: Any, shift: Any,
                           stretch: Any) -> Any:  # fmt: skip
        """shift + stretch * Exp(1), truncated to [max(lo, shift), hi] (pysd's parameters)."""
        u = uniform01(rng, key, time)
        loc = xp.maximum(lo, shift)
        b = xidz(hi - loc, stretch, xp.inf)
        return loc - stretch * xp.log1p(-u * -xp.expm1(-b))

    return SimpleNamespace(
        vector_select=vector_select,
        vector_sort_order=vector_sort_order,
        vector_rank=vector_rank,
        vector_reorder=vector_reorder,
        invert_matrix=invert_matrix,
        allocate_by_priority=allocate_by_priority,
        allocate_available=allocate_available,
        random_0_1=random_0_1,
        random_uniform=random_uniform,
        random_normal=random_normal,
        random_exponential=random_exponential,
        xidz=xidz,
        zidz=zidz,
        quantum=quantum,
        modulo=modulo,
        step=step,
        ramp=ramp,
        pulse=pulse,
        pulse_train=pulse_train,
        lookup=lookup,
        lookup_mode=lookup_mode,
        full=full,
        delay_order=delay_order,
        stage_factor=stage_factor,
        stage=stage,
        FixedDelay=FixedDelay,
    )


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
