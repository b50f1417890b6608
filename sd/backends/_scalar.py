"""The numpy program of one draw on Python floats: the same generated source, a faster namespace.

A run of one draw spends almost all its time in numpy's per-call overhead (about 1 us per operation on
a one-element array, against 30 ns for Python float arithmetic): the mission model's 353 steps of ~600
operations took 0.25 s. :func:`bind_scalar` gives the generated ``simulate`` an ``xp`` and an ``rt`` whose
functions compute on Python floats directly and give, bit for bit, what numpy gives on one-element
float64 arrays:

- ``+ - * /`` and comparisons are IEEE operations in both; where Python raises instead of returning
  inf or NaN (a float divided by zero) the run is repeated on arrays (:meth:`sd.simulate.Simulator.run`);
- ``minimum``/``maximum`` follow numpy's rule (NaN propagates; of two equal values, the second, which
  decides the sign of a zero); ``where`` and the logical functions take NaN as true, as numpy does;
- transcendental functions (``exp``, ``log``, ``power``, ...) and ``interp`` call numpy's own ufuncs, so
  they use the same implementation (numpy's SIMD ``exp`` is not the C library's), and come back as floats.

Anything that is not a Python float (an array from a DELAY FIXED buffer, a random stream, a per-draw
table) goes to numpy unchanged. ``tests/test_scalar_program.py`` holds the two paths equal on every
model of the corpora.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sd.backends._runtime import SMALL_VENSIM, Runtime

__all__ = ["ScalarRuntime", "ScalarXP", "bind_scalar"]

_F = float


def _unary(ufunc: Any) -> Any:
    def call(x: Any) -> Any:
        return _F(ufunc(x)) if type(x) is _F else ufunc(x)

    call.__name__ = ufunc.__name__
    return call


def _binary(ufunc: Any) -> Any:
    def call(a: Any, b: Any) -> Any:
        return _F(ufunc(a, b)) if type(a) is _F and type(b) is _F else ufunc(a, b)

    call.__name__ = ufunc.__name__
    return call


def _plain(x: Any) -> bool:
    t = type(x)
    return t is _F or t is bool or t is int


class ScalarXP:
    """The ``xp`` the generated code sees in a run of one draw (unlisted names: numpy's own)."""

    @staticmethod
    def maximum(a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)  # (the test inlined: this is the hottest call of a one-draw run)
        if (ta is _F or ta is bool or ta is int) and (tb is _F or tb is bool or tb is int):
            return a if (a > b or a != a) else b  # numpy: NaN wins; equal values give b (-0.0, 0.0)
        return np.maximum(a, b)

    @staticmethod
    def minimum(a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)
        if (ta is _F or ta is bool or ta is int) and (tb is _F or tb is bool or tb is int):
            return a if (a < b or a != a) else b
        return np.minimum(a, b)

    @staticmethod
    def where(c: Any, a: Any, b: Any) -> Any:
        if _plain(c) and _plain(a) and _plain(b):
            return a if c else b  # NaN is true, as numpy's nonzero test
        return np.where(c, a, b)

    @staticmethod
    def abs(x: Any) -> Any:
        return abs(x) if _plain(x) else np.abs(x)

    @staticmethod
    def logical_and(a: Any, b: Any) -> Any:
        return (bool(a) and bool(b)) if _plain(a) and _plain(b) else np.logical_and(a, b)

    @staticmethod
    def logical_or(a: Any, b: Any) -> Any:
        return (bool(a) or bool(b)) if _plain(a) and _plain(b) else np.logical_or(a, b)

    @staticmethod
    def logical_not(a: Any) -> Any:
        return (not a) if _plain(a) else np.logical_not(a)

    exp = staticmethod(_unary(np.exp))
    log = staticmethod(_unary(np.log))
    sqrt = staticmethod(_unary(np.sqrt))
    trunc = staticmethod(_unary(np.trunc))
    sin = staticmethod(_unary(np.sin))
    cos = staticmethod(_unary(np.cos))
    tan = staticmethod(_unary(np.tan))
    arcsin = staticmethod(_unary(np.arcsin))
    arccos = staticmethod(_unary(np.arccos))
    arctan = staticmethod(_unary(np.arctan))
    sinh = staticmethod(_unary(np.sinh))
    cosh = staticmethod(_unary(np.cosh))
    tanh = staticmethod(_unary(np.tanh))
    power = staticmethod(_binary(np.power))

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


class ScalarRuntime(Runtime):
    """The builtins of a one-draw run: the hot ones on Python floats, the rest numpy's (:class:`Runtime`
    over numpy; the generated code's ``xp`` is :class:`ScalarXP`)."""

    def __init__(self) -> None:
        super().__init__(np)
        self.code_xp = ScalarXP()

    def full(self, n: int, value: Any) -> Any:
        if n == 1 and _plain(value):
            return _F(value)
        if n == 1 and type(value) is np.float64:
            return _F(value)
        return super().full(n, value)

    def xidz(self, a: Any, b: Any, x: Any) -> Any:
        if type(a) is _F and type(b) is _F and _plain(x):
            return x if abs(b) < SMALL_VENSIM else a / b
        return super().xidz(a, b, x)

    def zidz(self, a: Any, b: Any) -> Any:
        if type(a) is _F and type(b) is _F:
            return 0.0 if abs(b) < SMALL_VENSIM else a / b
        return super().zidz(a, b)

    def lookup(self, x: Any, xs: Any, ys: Any) -> Any:
        out = super().lookup(x, xs, ys)
        return _F(out) if type(out) is np.float64 else out

    def lookup_mode(self, x: Any, xs: Any, ys: Any, mode: str) -> Any:
        out = super().lookup_mode(x, xs, ys, mode)
        return _F(out) if type(out) is np.float64 else out


def bind_scalar() -> ScalarRuntime:
    """The runtime (and, as its ``code_xp``, the namespace) of a one-draw float64 numpy run."""
    return ScalarRuntime()
