"""IR -> one C function body that runs the whole time loop of ONE draw.

The same body is wrapped twice (see :func:`generate`):

* ``target="c"``: ``sd_run(d0, d1, ...)`` loops over the draws ``[d0, d1)`` (the host splits the draws
  between threads); compiled by the system C compiler into a shared library.
* ``target="cuda"``: ``extern "C" __global__ sd_kernel(...)``, one thread per draw, for ``cupy.RawModule``.

Semantics are the numpy backend's (:mod:`sd.backends.numpy_`): the blocks and their order come from the
same :func:`sd.backends.numpy_.schedule`, and every builtin is a C helper mirroring
:mod:`sd.backends._runtime` with pysd's tolerances (so results agree with numpy to rounding; with
``-ffp-contract=off`` they are bit-identical except where libm and numpy's SIMD transcendental functions
differ in the last bit).

Kernel arguments (the same for both targets)::

    n                 number of draws
    pv, pidx          constants: the value of constant i for draw d is pv[pidx[2i] + d * pidx[2i+1]]
                      (stride 0 broadcasts a scalar)
    tab, tidx         lookups: for lookup i, tidx[5i:5i+5] = x offset, m, y offset, y stride per draw,
                      per-draw flag (1 when y has one row per draw: then the interpolation mirrors
                      sd's per-draw lookup, else numpy.interp)
    nt, times, save   the loop's time points (pysd's accumulated t += dt) and their save rows (-1: not saved)
    ctrl              a stepped grid's control variables that change during the run (they read TIME): the
                      value of varying control i at time point k is ctrl[i * nt + k] (TIME STEP's is that
                      step's dt); NULL for a fixed grid
    nsave, stimes     number of saved points and their (rounded) times, for outcome reductions
    t0, tf, dt, saveper
    out               saved outputs; CPU layout (n, nout, nsave), CUDA layout (nout, nsave, n)
                      (coalesced writes: consecutive threads write consecutive addresses)
    red, rpar         outcome reductions; CPU layout (n, nred), CUDA layout (nred, n); rpar[r] is the
                      reduction's parameter (save row for 'at', threshold for 'first')
    scratch, fdoff,   DELAY FIXED ring buffers: draw d's buffers start at scratch + fdoff[d]
    fdord, mode       mode 0 only runs the initialisation and writes each fixed delay's ring size to
                      fdord[d * NFD + j] (the host sizes ``scratch`` from it); mode 1 runs the draw
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sd.backends.common import CONTROL_LOCALS, DTYPES, ExprMapper, local, walk
from sd.backends.fused import abi
from sd.errors import SDError
from sd.ir.nodes import (
    ActiveInitial,
    BinOp,
    Call,
    Expr,
    If,
    LookupCall,
    ModelIR,
    Num,
    Ref,
    Time,
    Unary,
)
from sd.ir.outcomes import Outcome
from sd.ir.schedule import Schedule, schedule

__all__ = ["C_FUNCTIONS", "FusedUnsupportedError", "KernelSpec", "Outcome", "generate"]

TARGETS = ("c", "cuda")


class FusedUnsupportedError(SDError):
    """The fused generator cannot express this model; ``backend='auto'`` falls back to numpy."""


@dataclass
class KernelSpec:
    """The generated source and what the host needs to call it."""

    source: str
    target: str
    outputs: list[str]
    outcomes: list[Outcome]
    constants: list[str]
    lookups: list[str]
    fixed_delays: list[str]
    dtype: str = "float64"
    flops: dict[str, int] = field(default_factory=dict)
    varying: tuple[str, ...] = ()  # the control variables read from ``ctrl`` (a stepped grid), in order

    @property
    def key(self) -> str:
        import hashlib

        return hashlib.sha256(self.source.encode()).hexdigest()[:24]


# -- helpers: pysd's builtins in C, mirroring sd/backends/_runtime.py --------------------------------
PRELUDE = r"""
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SD_CUDA 1
#define SD_FN __device__ static __forceinline__
#define SD_NAN __longlong_as_double(0x7ff8000000000000LL)
#define SD_INF __longlong_as_double(0x7ff0000000000000LL)
#else
#include <math.h>
#include <stdint.h>
#define SD_FN static inline
#define SD_NAN ((double)NAN)
#define SD_INF ((double)INFINITY)
#endif
typedef long long sd_i64;
typedef unsigned long long sd_u64;
#define SD_SMALL 1e-6
/* SD_W draws ("lanes") run side by side in one call of the body: every variable is an array of SD_W
   doubles and every equation a loop over the lanes, which the C compiler turns into SIMD code. The
   CUDA build runs one draw per thread (SD_W = 1: the arrays become registers). */
#ifndef SD_W
#ifdef SD_CUDA
#define SD_W 1
#else
#define SD_W 32
#endif
#endif
#define SD_LANES for (int l = 0; l < SD_W; l++)

/* np.minimum / np.maximum: NaN propagates */
SD_FN double sd_min(double a, double b) { return isnan(a) ? a : (isnan(b) ? b : (a <= b ? a : b)); }
SD_FN double sd_max(double a, double b) { return isnan(a) ? a : (isnan(b) ? b : (a >= b ? a : b)); }
SD_FN double sd_xidz(double a, double b, double x) { return fabs(b) < SD_SMALL ? x : a / b; }
SD_FN double sd_zidz(double a, double b) { return fabs(b) < SD_SMALL ? 0.0 : a / b; }
SD_FN double sd_quantum(double a, double b) { return b < SD_SMALL ? a : b * trunc(a / b); }
SD_FN double sd_modulo(double x, double m) { return x - sd_quantum(x, m); }
/* Python's / numpy's floating remainder (the sign of the divisor) */
SD_FN double sd_pymod(double a, double b) {
    double mod = fmod(a, b);
    if (b == 0.0) return mod;
    if (mod != 0.0) { if ((b < 0.0) != (mod < 0.0)) mod += b; }
    else mod = copysign(0.0, b);
    return mod;
}
SD_FN double sd_step(double t, double dt, double h, double ts) { return h * (double)(t + dt / 2.0 > ts); }
SD_FN double sd_ramp(double t, double s, double a) { return (double)(t + SD_SMALL > a) * s * (t - a); }
SD_FN double sd_ramp3(double t, double s, double a, double b) {
    return (double)(t + SD_SMALL > a) * s * (sd_min(b, t) - a);
}
SD_FN double sd_pulse(double t, double start, double w) {
    return (double)((start - SD_SMALL <= t) && (t < start + w));
}
SD_FN double sd_pulse_train(double t, double start, double w, double interval, double end) {
    int single = (start - SD_SMALL <= t) && (t < start + w);
    double safe = interval == 0.0 ? 1.0 : interval;
    /* Vensim fires a pulse that starts at the end time (pysd stops before it) */
    int repeated = (start <= t) && (t <= end + SD_SMALL)
                   && (sd_pymod(t - start + SD_SMALL, safe) < w);
    return (double)(interval == 0.0 ? single : repeated);
}
/* numpy.interp, exactly (end values held) */
SD_FN double sd_interp(double x, const double* xs, const double* ys, sd_i64 m) {
    if (isnan(x)) return x;
    if (x > xs[m - 1]) return ys[m - 1];
    if (x < xs[0]) return ys[0];
    if (x == xs[m - 1]) return ys[m - 1];
    sd_i64 lo = 0, hi = m - 1;          /* xs[lo] <= x < xs[hi] */
    while (hi - lo > 1) { sd_i64 mid = (lo + hi) / 2; if (xs[mid] <= x) lo = mid; else hi = mid; }
    if (xs[lo] == x) return ys[lo];
    double slope = (ys[lo + 1] - ys[lo]) / (xs[lo + 1] - xs[lo]);
    double r = slope * (x - xs[lo]) + ys[lo];
    if (isnan(r)) {
        r = slope * (x - xs[lo + 1]) + ys[lo + 1];
        if (isnan(r) && ys[lo] == ys[lo + 1]) r = ys[lo];
    }
    return r;
}
/* sd's per-draw lookup (y has one row per draw): _runtime.lookup's 2-D branch */
SD_FN double sd_interp2(double x, const double* xs, const double* ys, sd_i64 m) {
    if (m == 1) return ys[0] + 0.0 * x;
    sd_i64 cnt = 0;                      /* searchsorted(xs, x, 'right') */
    { sd_i64 lo = 0, hi = m; while (lo < hi) { sd_i64 mid = (lo + hi) / 2; if (xs[mid] <= x) lo = mid + 1; else hi = mid; } cnt = lo; }
    if (isnan(x)) cnt = m;
    sd_i64 idx = cnt - 1; if (idx < 0) idx = 0; if (idx > m - 2) idx = m - 2;
    double x0 = xs[idx], x1 = xs[idx + 1], y0 = ys[idx], y1 = ys[idx + 1];
    double w = sd_min(sd_max((x - x0) / (x1 - x0), 0.0), 1.0);
    return x <= xs[0] ? ys[0] : (x >= xs[m - 1] ? ys[m - 1] : y0 + w * (y1 - y0));
}
SD_FN double sd_lookup(double x, const double* xs, const double* ys, sd_i64 m, sd_i64 perdraw) {
    return perdraw ? sd_interp2(x, xs, ys, m) : sd_interp(x, xs, ys, m);
}
/* VECTOR LOOKUP (mode 0, 2, 3 or 4) of y[0..n-1] at n points from xmin to xmax: _runtime.vector_lookup */
SD_FN double sd_vl_x(double xmin, double xmax, sd_i64 i, sd_i64 n) {
    return i == 0 ? xmin : (i == n - 1 ? xmax : xmin + (xmax - xmin) * ((double)i / (double)(n - 1)));
}
SD_FN double sd_vector_lookup(double mode, double x, double xmin, double xmax, sd_i64 n, const double* y) {
    if (n == 1) return y[0];
    sd_i64 k = 0;
    if (mode == 2.0) { for (sd_i64 i = 1; i < n; i++) if (x >= sd_vl_x(xmin, xmax, i, n)) k = i; return y[k]; }
    if (mode == 4.0) {
        k = n - 1;
        for (sd_i64 i = n - 2; i >= 0; i--) if (x <= sd_vl_x(xmin, xmax, i, n)) k = i;
        return y[k];
    }
    for (sd_i64 i = 1; i < n - 1; i++) if (x >= sd_vl_x(xmin, xmax, i, n)) k = i;
    double x0 = sd_vl_x(xmin, xmax, k, n), x1 = sd_vl_x(xmin, xmax, k + 1, n);
    double w = (x - x0) / (x1 - x0);
    double r = y[k] + w * (y[k + 1] - y[k]);
    if (mode == 3.0) return r;
    return x <= xmin ? y[0] : (x >= xmax ? y[n - 1] : r);
}
/* pysd lowers a delay's order while order * dt > delay time */
SD_FN double sd_delay_order(double order, double dt, double T) {
    sd_i64 n = (sd_i64)order; double k = (double)n;
    for (sd_i64 j = n; j >= 1; j--) if ((double)j * dt > T) k = (double)(j - 1);
    return k;
}
SD_FN double sd_stage_factor(double k, double i) { return k * (double)(i <= k); }
/* DELAY FIXED's ring size: round(max(T / dt, 1) + 1e-6), half to even like numpy */
SD_FN sd_i64 sd_fixed_order(double T, double dt) {
    double o = nearbyint(sd_max(T / dt, 1.0) + SD_SMALL);
    return (o >= 1.0 && o < 9.0e15) ? (sd_i64)o : 1;
}
SD_FN double sd_first(double cur, int hit, double t) { return (isnan(cur) && hit) ? t : cur; }

/* exp, log and pow over the SD_W lanes, in place. On the CPU a branch-free version (fdlibm's
   polynomials, < 1 ulp for exp and log; pow = exp(y log x), relative error < |y log x| * 2^-52 + 1 ulp)
   that the compiler vectorises, with libm for the lanes outside its domain (non-positive, subnormal,
   huge or non-finite arguments); define SD_LIBM to use libm everywhere. CUDA uses its own libm. */
#if defined(SD_CUDA) || defined(SD_LIBM)
SD_FN void sd_vexp(double* x) { SD_LANES x[l] = exp(x[l]); }
SD_FN void sd_vlog(double* x) { SD_LANES x[l] = log(x[l]); }
SD_FN void sd_vpow(double* x, const double* y) { SD_LANES x[l] = pow(x[l], y[l]); }
#else
typedef union { double f; sd_u64 u; } sd_bits;
SD_FN double sd_asdouble(sd_u64 u) { sd_bits b; b.u = u; return b.f; }
SD_FN sd_u64 sd_asuint(double f) { sd_bits b; b.f = f; return b.u; }
#define SD_LN2HI 6.93147180369123816490e-01
#define SD_LN2LO 1.90821492927058770002e-10
SD_FN double sd_exp_fast(double x) {
    const double shift = 6755399441055744.0;          /* 0x1.8p52: rounds x / ln2 to an integer */
    double kd = x * 1.44269504088896338700e+00 + shift;
    sd_u64 ki = sd_asuint(kd);
    kd = kd - shift;
    double hi = x - kd * SD_LN2HI, lo = kd * SD_LN2LO, r = hi - lo;
    double t = r * r;
    double c = r - t * (1.66666666666666019037e-01 + t * (-2.77777777770155933842e-03
             + t * (6.61375632143793436117e-05 + t * (-1.65339022054652515390e-06
             + t * 4.13813679705723846039e-08))));
    double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    return sd_asdouble(sd_asuint(y) + (ki << 52));   /* y * 2^k */
}
SD_FN double sd_log_fast(double x) {
    sd_u64 u = sd_asuint(x);
    sd_u64 tmp = u - 0x3fe6a09e667f3bcdULL;            /* m in [sqrt(2)/2, sqrt(2)) */
    sd_u64 e_bits = (sd_u64)((sd_i64)tmp >> 52);
    double m = sd_asdouble(u - (e_bits << 52));
    double e = sd_asdouble(0x4338000000000000ULL + e_bits) - 6755399441055744.0;
    double f = m - 1.0, s = f / (2.0 + f), z = s * s, w = z * z;
    double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    double t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
              + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    double R = t2 + t1, hfsq = 0.5 * f * f;
    return e * SD_LN2HI - ((hfsq - (s * (hfsq + R) + e * SD_LN2LO)) - f);
}
SD_FN void sd_vexp(double* x) {
    double r[SD_W]; int ok[SD_W]; int bad = 0;
    SD_LANES { double v = x[l]; ok[l] = fabs(v) < 707.0; r[l] = sd_exp_fast(ok[l] ? v : 0.0); }
    SD_LANES bad |= !ok[l];
    if (bad) { SD_LANES if (!ok[l]) r[l] = exp(x[l]); }
    SD_LANES x[l] = r[l];
}
SD_FN void sd_vlog(double* x) {
    double r[SD_W]; int ok[SD_W]; int bad = 0;
    SD_LANES { double v = x[l]; ok[l] = v >= 2.2250738585072014e-308 && v < 1.0e308; r[l] = sd_log_fast(ok[l] ? v : 1.0); }
    SD_LANES bad |= !ok[l];
    if (bad) { SD_LANES if (!ok[l]) r[l] = log(x[l]); }
    SD_LANES x[l] = r[l];
}
SD_FN void sd_vpow(double* x, const double* y) {
    double r[SD_W]; int ok[SD_W]; int bad = 0;
    SD_LANES {
        double a = x[l], b = y[l];
        int dom = a >= 2.2250738585072014e-308 && a < 1.0e308 && fabs(b) < 1.0e300;
        double e = b * sd_log_fast(dom ? a : 1.0);
        ok[l] = dom && fabs(e) < 707.0;
        r[l] = sd_exp_fast(ok[l] ? e : 0.0);
    }
    SD_LANES bad |= !ok[l];
    if (bad) { SD_LANES if (!ok[l]) r[l] = pow(x[l], y[l]); }
    SD_LANES x[l] = r[l];
}
#endif
"""


_FLOAT_MATH = re.compile(
    r"\b(fabs|sqrt|trunc|sin|cos|tan|asin|acos|atan|sinh|cosh|tanh|lgamma)\("
)


def float_prelude() -> str:
    """PRELUDE for float32 kernels: the helpers over ``float`` (float math functions, float
    tolerances); DELAY FIXED's ring size still in double (as numpy computes it); exp/log/pow lanes
    ``sd_vexpf``/``sd_vlogf``/``sd_vpowf``: CUDA's (and SD_LIBM's) expf/logf/powf, on the CPU the
    vectorised double kernels rounded to float (correctly rounded but for double rounding)."""
    head, rest = PRELUDE.split("/* np.minimum", 1)
    helpers, vec = rest.split("/* exp, log and pow", 1)
    head = head.replace("#define SD_SMALL 1e-6", "#define SD_SMALL 1e-6f")
    helpers = "/* np.minimum" + helpers
    fixed_start = helpers.index("/* DELAY FIXED's ring size")
    fixed_end = helpers.index("SD_FN double sd_first")
    fixed = helpers[fixed_start:fixed_end]
    helpers = helpers[:fixed_start] + helpers[fixed_end:]
    helpers = helpers.replace("double", "float")
    helpers = re.sub(r"\b(fabs|trunc|fmod|copysign|nearbyint)\(", r"\1f(", helpers)
    fixed = fixed.replace("sd_max(T / dt, 1.0)", "sd_maxd(T / dt, 1.0)").replace(
        "SD_FN sd_i64", "SD_FN double sd_maxd(double a, double b) "
        "{ return isnan(a) ? a : (isnan(b) ? b : (a >= b ? a : b)); }\nSD_FN sd_i64", 1
    )  # fmt: skip
    lanes = r"""
#if defined(SD_CUDA) || defined(SD_LIBM)
SD_FN void sd_vexpf(float* x) { SD_LANES x[l] = expf(x[l]); }
SD_FN void sd_vlogf(float* x) { SD_LANES x[l] = logf(x[l]); }
SD_FN void sd_vpowf(float* x, const float* y) { SD_LANES x[l] = powf(x[l], y[l]); }
#else
SD_FN void sd_vexpf(float* x) { double t[SD_W]; SD_LANES t[l] = x[l]; sd_vexp(t); SD_LANES x[l] = (float)t[l]; }
SD_FN void sd_vlogf(float* x) { double t[SD_W]; SD_LANES t[l] = x[l]; sd_vlog(t); SD_LANES x[l] = (float)t[l]; }
SD_FN void sd_vpowf(float* x, const float* y) {
    double t[SD_W], u[SD_W]; SD_LANES { t[l] = x[l]; u[l] = y[l]; } sd_vpow(t, u); SD_LANES x[l] = (float)t[l];
}
#endif
"""
    return head + helpers + fixed + "/* exp, log and pow" + vec + lanes


def _vector(fn: str) -> Callable[[CPrinter, list[str]], str]:
    def render(p: CPrinter, args: list[str]) -> str:
        return p.vector(fn, args)

    return render


def _ramp(p: CPrinter, args: list[str]) -> str:
    return p.template(
        "sd_ramp3(sd_t, {0}, {1}, {2})" if len(args) == 3 else "sd_ramp(sd_t, {0}, {1})", args
    )


def _vector_lookup(p: CPrinter, args: list[str]) -> str:
    """sd_vector_lookup over a lane array of the vector's values (filled before the statement)."""
    mode, x, xmin, xmax, *ys = args
    p.counter[0] += 1
    name = f"sd_vec{p.counter[0]}"
    fill = " ".join(f"{name}[l][{i}] = {y};" for i, y in enumerate(ys))
    p.pre.append(f"{p.real} {name}[SD_W][{len(ys)}]; SD_LANES {{ {fill} }}")
    return f"sd_vector_lookup({mode}, {x}, {xmin}, {xmax}, {len(ys)}, {name}[l])"


def _stage(p: CPrinter, args: list[str]) -> str:
    k, stages = args[0], args[1:]
    out = stages[0]
    for i, s in enumerate(stages[1:], 2):
        out = f"({k} == {float(i)!r} ? {s} : {out})"
    return out


# IR function -> a C template over the printed arguments, or a function of the printer and them.
# exp, ln, log and power are computed over all lanes at once (sd_vexp, sd_vlog, sd_vpow). Functions
# absent here (RANDOM, the vector functions but VECTOR LOOKUP, ALLOCATE, INVERT MATRIX) raise
# FusedUnsupportedError.
C_FUNCTIONS: dict[str, str | Callable[[CPrinter, list[str]], str]] = {
    "abs": "fabs({0})",
    "min": "sd_min({0}, {1})",
    "max": "sd_max({0}, {1})",
    "exp": _vector("exp"),
    "ln": _vector("ln"),
    "log": _vector("log"),
    "power": _vector("power"),
    "sqrt": "sqrt({0})",
    "integer": "trunc({0})",
    "modulo": "sd_modulo({0}, {1})",
    "quantum": "sd_quantum({0}, {1})",
    "sin": "sin({0})",
    "cos": "cos({0})",
    "tan": "tan({0})",
    "arcsin": "asin({0})",
    "arccos": "acos({0})",
    "arctan": "atan({0})",
    "sinh": "sinh({0})",
    "cosh": "cosh({0})",
    "tanh": "tanh({0})",
    "gamma_ln": "lgamma({0})",
    "xidz": "sd_xidz({0}, {1}, {2})",
    "zidz": "sd_zidz({0}, {1})",
    "step": "sd_step(sd_t, dt, {0}, {1})",
    "ramp": _ramp,
    "pulse": "sd_pulse(sd_t, {0}, {1})",
    "pulse_train": "sd_pulse_train(sd_t, {0}, {1}, {2}, {3})",
    "_delay_order": "sd_delay_order({0}, dt, {1})",
    "_stage_factor": "sd_stage_factor({0}, {1})",
    "_stage": _stage,
    "_vector_lookup": _vector_lookup,
}
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")


class CPrinter(ExprMapper):
    """Prints IR expressions as C for lane ``l`` of one phase ('init' or 'run').

    exp/ln/log/power are hoisted into lane arrays computed by sd_vexp/sd_vlog/sd_vpow: their statements
    collect in ``pre`` and must be emitted before the expression that uses them.
    """

    def __init__(self, ir: ModelIR, phase: str, counter: list[int], real: str = "double") -> None:
        self.ir = ir
        self.phase = phase
        self.real = real  # the C type of values: 'double' or 'float' (dtype float32)
        self.single = real == "float"
        self.current = ""
        self.pre: list[str] = []
        self.counter = counter

    def unsupported(self, what: str) -> FusedUnsupportedError:
        where = f" (variable '{self.current}')" if self.current else ""
        return FusedUnsupportedError(f"{self.ir.path}{where}: the fused backend has no {what}")

    def temp(self, expr: str) -> str:
        self.counter[0] += 1
        name = f"sd_tmp{self.counter[0]}"
        self.pre.append(f"{self.real} {name}[SD_W]; SD_LANES {name}[l] = {expr};")
        return name

    def template(self, text: str, args: list[str]) -> str:
        if self.single:
            text = _FLOAT_MATH.sub(r"\1f(", text)
        return text.format(*args)

    def vector(self, fn: str, args: list[str]) -> str:
        text = self._vector(fn, args)
        if self.single:  # the float lane helpers of float_prelude()
            self.pre = [
                x.replace("sd_vexp(", "sd_vexpf(").replace("sd_vlog(", "sd_vlogf(")
                .replace("sd_vpow(", "sd_vpowf(") for x in self.pre
            ]  # fmt: skip
        return text

    def _vector(self, fn: str, args: list[str]) -> str:
        a = self.temp(args[0])
        if fn == "exp":
            self.pre.append(f"sd_vexp({a});")
            return f"{a}[l]"
        if fn == "ln":
            self.pre.append(f"sd_vlog({a});")
            return f"{a}[l]"
        b = self.temp(args[1])
        if fn == "log":
            self.pre.append(f"sd_vlog({a}); sd_vlog({b});")
            return f"({a}[l] / {b}[l])"
        self.pre.append(f"sd_vpow({a}, {b});")
        return f"{a}[l]"

    def map_missing(self) -> str:
        raise self.unsupported("equation for a variable without one")

    def map_unknown(self, e: Expr) -> str:
        raise self.unsupported(f"expression node {type(e).__name__}")

    def map_num(self, e: Num) -> str:
        v = e.value
        if math.isnan(v):
            return "SD_NAN"
        if math.isinf(v):
            return "SD_INF" if v > 0 else "(-SD_INF)"
        text = repr(float(v))
        if self.single and abs(v) < 3.0e38 and (v == 0 or abs(v) > 1.0e-37):
            text += "f"  # a float literal (numpy keeps a Python float weak: float32 too)
        return text if v >= 0 else f"({text})"

    def map_ref(self, e: Ref) -> str:
        return f"{local(e.ident)}[l]"

    def map_time(self, e: Time) -> str:
        return "sd_t"

    def map_binop(self, e: BinOp) -> str:
        a, b = self(e.left), self(e.right)
        if e.op == "**":
            return self.vector("power", [a, b])
        R = self.real
        if e.op == "and":
            return f"(({R})(({a}) != 0.0 && ({b}) != 0.0))"
        if e.op == "or":
            return f"(({R})(({a}) != 0.0 || ({b}) != 0.0))"
        if e.op in _COMPARE:
            return f"(({R})({a} {e.op} {b}))"
        if e.op in ("+", "-", "*", "/"):
            return f"({a} {e.op} {b})"
        raise self.unsupported(f"operator {e.op}")

    def map_unary(self, e: Unary) -> str:
        if e.op == "not":
            return f"(({self.real})(({self(e.operand)}) == 0.0))"
        if e.op == "-":
            return f"(-{self(e.operand)})"
        raise self.unsupported(f"unary operator {e.op}")

    def map_if(self, e: If) -> str:
        return f"(({self(e.cond)}) != 0.0 ? {self(e.then)} : {self(e.otherwise)})"

    def map_active_initial(self, e: ActiveInitial) -> str:
        return self(e.init) if self.phase == "init" else self(e.expr)

    def map_lookup_call(self, e: LookupCall) -> str:
        table = self.ir.variables[e.table].table
        mode = table.interp if table is not None else "interpolate"
        if mode != "interpolate":
            raise self.unsupported(f"lookup mode '{mode}' (table '{e.table}')")
        t = e.table
        return f"sd_lookup({self(e.x)}, lx_{t}, ly_{t}[l], lm_{t}, l2_{t})"

    def map_call(self, e: Call) -> str:
        args = [self(a) for a in e.args]
        rule = C_FUNCTIONS.get(e.fn)
        if rule is None:
            raise self.unsupported(f"function {e.fn.upper()}")
        if callable(rule):
            return rule(self, args)
        return self.template(rule, args)

    def statement(self, target: str, expr: Expr | None, comment: str = "") -> list[str]:
        """Lines computing ``target[l] = expr`` for every lane (hoisted calls first)."""
        self.pre = []
        text = self(expr)
        note = f"  /* {_comment(comment)} */" if comment else ""
        return [*self.pre, f"SD_LANES {target}[l] = {text};{note}"]


# rough cost of a call in floating-point operations, for the benchmark's flop count
_CALL_FLOPS = {"exp": 20, "ln": 20, "log": 41, "power": 40, "sin": 20, "cos": 20, "tan": 20,
               "arcsin": 20, "arccos": 20, "arctan": 20, "sinh": 20, "cosh": 20, "tanh": 20,
               "gamma_ln": 40,
               "sqrt": 1, "step": 3, "ramp": 4, "ramp3": 5, "pulse": 4, "pulse_train": 10,
               "xidz": 2, "zidz": 2, "quantum": 3, "modulo": 4, "abs": 1, "min": 1, "max": 1,
               "integer": 1, "_delay_order": 0, "_stage_factor": 0, "_stage": 0,
               "_vector_lookup": 10}  # fmt: skip


class FlopCounter(ExprMapper):
    """Rough floating-point operations of an expression (the benchmark's flop count)."""

    def __init__(self, phase: str) -> None:
        self.phase = phase

    def map_missing(self) -> int:
        return 0

    def map_unknown(self, e: Expr) -> int:
        return 0

    def map_num(self, e: Num) -> int:
        return 0

    map_ref = map_time = map_num

    def map_binop(self, e: BinOp) -> int:
        return self(e.left) + self(e.right) + (40 if e.op == "**" else 1)

    def map_unary(self, e: Unary) -> int:
        return int(self(e.operand))

    def map_if(self, e: If) -> int:
        return int(self(e.cond) + self(e.then) + self(e.otherwise))

    def map_active_initial(self, e: ActiveInitial) -> int:
        return int(self(e.init) if self.phase == "init" else self(e.expr))

    def map_lookup_call(self, e: LookupCall) -> int:
        return int(self(e.x)) + 5

    def map_call(self, e: Call) -> int:
        key = "ramp3" if e.fn == "ramp" and len(e.args) == 3 else e.fn
        return sum(self(a) for a in e.args) + _CALL_FLOPS.get(key, 1)


def count_flops(ir: ModelIR, sch: Schedule) -> dict[str, int]:
    """Flops per time step, per save point, at initialisation and once per draw before the loop (the
    phase-invariant and run-static auxiliaries: 'static'), as the kernel computes them."""
    v = ir.variables
    run, init = FlopCounter("run"), FlopCounter("init")
    static = sum(run(v[i].expr) for i in (*sch.invariant, *sch.run_static))
    step = sum(run(v[i].expr) for i in sch.dynamic if i in sch.core)
    for s in sch.states:
        var = v[s]
        step += run(
            var.ddt
            if var.kind == "stock"
            else (var.update if var.kind == "discrete" else var.args[0])
        )
        step += 2 if var.kind == "stock" else 0
    save = sum(run(v[i].expr) for i in sch.dynamic if i not in sch.core)
    n_init = 0
    for i in sch.init:
        var = v[i]
        if var.kind in ("stock", "discrete"):
            n_init += init(var.init)
        elif var.kind == "fixed_delay":
            n_init += init(var.args[1]) + init(var.args[2])
        else:
            n_init += init(var.expr)
    return {"step": step, "save": save, "init": n_init, "static": static}


class CEmitter:
    """The blocks of ``sd_block`` as C over SD_W lanes (see :func:`sd.backends.common.walk`)."""

    def __init__(self, ir: ModelIR, sch: Schedule, outputs: list[str], outcomes: list[Outcome],
                 real: str, varying: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.ir = ir
        self.varying = varying
        self.v = ir.variables
        self.sch = sch
        self.outputs = outputs
        self.outcomes = outcomes
        self.R = real
        self.fixed = [s for s in sch.states if self.v[s].kind == "fixed_delay"]
        counter = [0]
        self.run_p, self.init_p = (
            CPrinter(ir, "run", counter, real),
            CPrinter(ir, "init", counter, real),
        )
        self.save_p = CPrinter(ir, "run", counter, real)  # what runs only at save points
        self.lines: list[str] = []
        self.inner: list[str] = []
        self.body: list[str] = []
        # 0. the lanes' draws (lanes past the limit repeat the last draw)
        self.lines.append("sd_i64 sd_d[SD_W]; int sd_live[SD_W];")
        self.lines.append(
            "SD_LANES { sd_i64 dd = d0 + l; sd_live[l] = dd < lim; sd_d[l] = dd < lim ? dd : lim - 1; }"
        )

    def assign(self, ident: str, printer: CPrinter, expr: Expr | None) -> None:
        v = self.v[ident]
        printer.current = v.name
        self.lines.append(f"{self.R} {local(ident)}[SD_W];")
        self.lines.extend(printer.statement(local(ident), expr, v.name))

    # 1. inputs
    def constant(self, pos: int, ident: str) -> None:
        self.lines.append(
            f"{self.R} {local(ident)}[SD_W]; "
            f"SD_LANES {local(ident)}[l] = pv[pidx[{2 * pos}] + sd_d[l] * pidx[{2 * pos + 1}]];"
        )

    def lookup(self, pos: int, lk: str) -> None:
        b, R = 5 * pos, self.R
        self.lines.append(
            f"const {R}* lx_{lk} = tab + tidx[{b}]; const sd_i64 lm_{lk} = tidx[{b + 1}]; "
            f"const sd_i64 l2_{lk} = tidx[{b + 4}]; const {R}* ly_{lk}[SD_W]; "
            f"SD_LANES ly_{lk}[l] = tab + tidx[{b + 2}] + sd_d[l] * tidx[{b + 3}];"
        )

    def control(self, ident: str) -> None:
        val = CONTROL_LOCALS.get(ident)
        self.lines.append(
            f"{self.R} {local(ident)}[SD_W]; SD_LANES {local(ident)}[l] = "
            f"{val if val is not None else 'SD_NAN'};"
        )

    def inputs_end(self) -> None:
        self.lines.append("(void)tf; (void)saveper;")

    # 2. phase-invariant auxiliaries
    def invariant(self, ident: str) -> None:
        self.assign(ident, self.run_p, self.v[ident].expr)

    # 3. initialisation at t0 (its own scope: auxiliaries take their init-phase values there)
    def init_begin(self) -> None:
        R = self.R
        for i in self.sch.init:
            if self.v[i].kind in ("stock", "discrete", "initial"):
                self.lines.append(f"{R} {local(i)}[SD_W];")
        for s in self.fixed:
            self.lines.append(f"{R} {local(s)}[SD_W]; {R}* fdb_{s}[SD_W]; sd_i64 fdn_{s}[SD_W]; "
                              f"sd_i64 fdp_{s}[SD_W];")  # fmt: skip
        self.lines.append("{")
        self.inner.append("const double sd_t = t0; (void)sd_t;")
        if self.fixed:
            self.inner.append("sd_i64 fdacc[SD_W]; SD_LANES fdacc[l] = 0;")

    def init(self, i: str) -> None:
        v, p, inner = self.v[i], self.init_p, self.inner
        p.current = v.name
        if v.kind in ("stock", "discrete"):
            inner.extend(p.statement(local(i), v.init, f"{v.name} (init)"))
        elif v.kind == "fixed_delay":
            j = self.fixed.index(i)
            inner.extend(p.statement(f"fdn_{i}", v.args[1], f"{v.name} (delay time)"))
            inner[-1] = inner[-1].replace(f"fdn_{i}[l] = ", f"fdn_{i}[l] = sd_fixed_order(", 1)
            inner[-1] = inner[-1].replace(";  /*", ", dt);  /*", 1)
            inner.extend(p.statement(local(i), v.args[2], f"{v.name} (init)"))
            inner.append(
                f"SD_LANES {{ fdp_{i}[l] = 0; if (mode == 0) {{ if (sd_live[l]) "
                f"fdord[sd_d[l] * {len(self.fixed)} + {j}] = fdn_{i}[l]; fdb_{i}[l] = 0; }} "
                f"else {{ fdb_{i}[l] = scratch + fdoff[sd_d[l]] + fdacc[l]; "
                f"for (sd_i64 q = 0; q < fdn_{i}[l]; q++) fdb_{i}[l][q] = {local(i)}[l]; }} "
                f"fdacc[l] += fdn_{i}[l]; }}"
            )
        elif v.kind == "initial":
            inner.extend(p.statement(local(i), v.expr, f"{v.name} (init)"))
        else:
            inner.append(f"{self.R} {local(i)}[SD_W];")
            inner.extend(p.statement(local(i), v.expr, f"{v.name} (init)"))

    def init_end(self) -> None:
        self.lines.extend("    " + x for x in self.inner)
        self.lines.append("}")
        if self.fixed:
            self.lines.append("if (mode == 0) return;")

    # 4. time-invariant auxiliaries that depend on initial values
    def run_static(self, ident: str) -> None:
        self.assign(ident, self.run_p, self.v[ident].expr)

    # 5. reductions' starting values, 6. the time loop
    def loop_begin(self) -> None:
        for r, oc in enumerate(self.outcomes):
            start = {"min": "SD_INF", "max": "(-SD_INF)", "mean": "0.0", "fails": "0.0",
                     "fails_end": "0.0"}.get(oc.kind, "SD_NAN")  # fmt: skip
            self.lines.append(
                f"{self.R} red{r}[SD_W]; SD_LANES red{r}[l] = {start};  /* {_comment(oc.label)} */"
            )
        self.lines.append("for (sd_i64 k = 0; k < nt; k++) {")
        self.body.append("const double sd_t = times[k]; (void)sd_t;")
        for i, c in enumerate(self.varying):  # control values stepped on the host (a time grid that changes)
            if c == "time_step":
                self.body.append(f"dt = ctrl[{i} * nt + k];")
            if c in self.sch.controls:
                self.body.append(f"SD_LANES {local(c)}[l] = ({self.R})ctrl[{i} * nt + k];")

    def dynamic(self, i: str, every_step: bool) -> None:
        v = self.v[i]
        if every_step:
            self.run_p.current = v.name
            self.body.append(f"{self.R} {local(i)}[SD_W];")
            self.body.extend(self.run_p.statement(local(i), v.expr, v.name))
        else:
            self.save_p.current = v.name
            self.body.append(f"    {self.R} {local(i)}[SD_W];")
            self.body.extend("    " + x for x in self.save_p.statement(local(i), v.expr, v.name))

    def save_begin(self) -> None:
        self.body.append("const sd_i64 j = save[k];")
        self.body.append("if (j >= 0) {")

    def save_end(self) -> None:
        for o, ident in enumerate(self.outputs):
            self.body.append(f"    SD_LANES if (sd_live[l]) SD_OUT({o}, j) = {local(ident)}[l];")
        for r, oc in enumerate(self.outcomes):
            if oc.condition:
                self.body.extend("    " + x for x in self.condition(r, oc))
            else:
                self.body.append(f"    SD_LANES {_reduction(r, oc)}")
        self.body.append("}")
        self.body.append("if (k == nt - 1) break;")

    def condition(self, r: int, oc: Outcome) -> list[str]:
        """The save-point lines of outcome ``r`` over a condition (its lowered IR printed in C): 'when'
        keeps the first saved time it holds, 'fails' sets 1.0 where it fails at one of its rows (those
        flagged in ``rpar`` from offset ``rpar[r]`` when it has ``rows``), 'fails_end' holds whether it
        fails at the latest saved row (the last one at the end)."""
        p = self.save_p
        p.current, p.pre = f"outcome {oc.label}", []
        hit = f"(({p(oc.expr)}) != 0.0)"
        if oc.rows is not None:
            hit = f"(rpar[(sd_i64)rpar[{r}] + j] != 0.0 && {hit})" if oc.kind == "when" else hit
        note = f"  /* {_comment(oc.label)} */"
        if oc.kind == "when":
            line = f"SD_LANES red{r}[l] = sd_first(red{r}[l], {hit}, stimes[j]);{note}"
        elif oc.kind == "fails":
            gate = f"if (rpar[(sd_i64)rpar[{r}] + j] != 0.0) " if oc.rows is not None else ""
            line = f"{gate}SD_LANES {{ if (!{hit}) red{r}[l] = 1.0; }}{note}"
        else:
            line = f"SD_LANES red{r}[l] = {hit} ? 0.0 : 1.0;{note}"
        return [*p.pre, line]

    def states(self, idents: list[str]) -> None:
        body, p = self.body, self.run_p
        for s in idents:
            v = self.v[s]
            p.current = v.name
            expr = v.ddt if v.kind == "stock" else (v.update if v.kind == "discrete" else v.args[0])
            name = f"d_{s}" if v.kind == "stock" else f"u_{s}"
            body.append(f"{self.R} {name}[SD_W];")
            body.extend(p.statement(name, expr))
        for s in idents:
            v = self.v[s]
            if v.kind == "stock":
                new = f"{local(s)}[l] + d_{s}[l] * dt"
                if v.non_negative:
                    new = f"sd_max({new}, 0.0)"
                body.append(f"SD_LANES {local(s)}[l] = {new};")
            elif v.kind == "discrete":
                body.append(f"SD_LANES {local(s)}[l] = u_{s}[l];")
            else:
                body.append(
                    f"SD_LANES {{ fdb_{s}[l][fdp_{s}[l]] = u_{s}[l]; "
                    f"if (++fdp_{s}[l] == fdn_{s}[l]) fdp_{s}[l] = 0; "
                    f"{local(s)}[l] = fdb_{s}[l][fdp_{s}[l]]; }}"
                )

    def loop_end(self) -> None:
        self.lines.extend("    " + b for b in self.body)
        self.lines.append("}")
        for r, oc in enumerate(self.outcomes):
            value = f"red{r}[l] / (double)nsave" if oc.kind == "mean" else f"red{r}[l]"
            self.lines.append(f"SD_LANES if (sd_live[l]) SD_RED({r}) = {value};")
        self.lines.append(
            "(void)red; (void)rpar; (void)stimes; (void)scratch; (void)fdoff; (void)fdord; (void)n; "
            "(void)ctrl;"
        )


def _reduction(r: int, oc: Outcome) -> str:
    """The save-point statement of outcome ``r`` for lane ``l``."""
    x = f"{local(oc.variable)}[l]"
    if oc.kind == "final":
        return f"red{r}[l] = {x};"
    if oc.kind == "initial":
        return f"if (j == 0) red{r}[l] = {x};"
    if oc.kind == "at":
        return f"if ((double)j == rpar[{r}]) red{r}[l] = {x};"
    if oc.kind == "min":
        return f"red{r}[l] = sd_min(red{r}[l], {x});"
    if oc.kind == "max":
        return f"red{r}[l] = sd_max(red{r}[l], {x});"
    if oc.kind == "mean":
        return f"red{r}[l] = red{r}[l] + {x};"
    return f"red{r}[l] = sd_first(red{r}[l], {x} {oc.op} rpar[{r}], stimes[j]);"


def generate(
    ir: ModelIR,
    outputs: Sequence[str],
    target: str = "c",
    outcomes: Sequence[Outcome] = (),
    title: str = "",
    dtype: str = "float64",
    varying: Sequence[str] = (),
) -> KernelSpec:
    """Generate the fused kernel source computing ``outputs`` and ``outcomes`` (identifiers).

    The body ``sd_block(d0, lim, ...)`` runs draws ``d0 .. d0 + SD_W - 1`` (lanes past ``lim`` repeat
    draw ``lim - 1`` and write nothing); the wrappers differ only in how they pick ``d0``.

    ``dtype`` 'float32' declares every value ``float`` (float literals and math functions, float
    arrays in and out); the time grid stays double. 'float64' (default) is the PySD-exact kernel.

    ``varying`` names the control variables that change during the run (a stepped grid, see
    :func:`sd.simulate.stepped_grid`): the kernel reads their value at each time point from ``ctrl``
    (TIME STEP's is the step's ``dt``) and recomputes what reads them in the loop, as the numpy backend
    does. DELAY FIXED sizes its buffer in steps: refused when TIME STEP varies.

    Raises
    ------
    FusedUnsupportedError
        When the model uses something the fused generator cannot express.
    """
    if target not in TARGETS:
        raise ValueError(
            f"Unknown target {target!r}; choose one of {', '.join(map(repr, TARGETS))}"
        )
    if dtype not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}; choose one of {', '.join(map(repr, DTYPES))}")
    outputs, outcomes = list(outputs), list(outcomes)
    for oc in outcomes:
        if oc.condition and oc.expr is None:
            raise ValueError(f"outcome {oc.label}: the condition is not lowered (Model.run lowers it)")
        for ident in oc.reads:
            if ident not in ir.variables:
                raise ValueError(f"outcome {oc.label}: no variable {ident!r} in the model")
    red_vars = [i for oc in outcomes for i in oc.reads if i not in outputs]
    varying = tuple(varying)
    sch = schedule(ir, outputs + list(dict.fromkeys(red_vars)), frozenset(varying))
    if "time_step" in varying:
        for s in sch.states:
            if ir.variables[s].kind == "fixed_delay":
                raise FusedUnsupportedError(
                    f"{ir.path}: the fused backend has no DELAY FIXED with a TIME STEP that changes "
                    "during the run (its buffer holds a fixed number of time steps)"
                )
    em = CEmitter(ir, sch, outputs, outcomes, "float" if dtype == "float32" else "double", varying)
    walk(sch, em)
    source = _assemble(ir, em.lines, target, outputs, outcomes, title, dtype)
    return KernelSpec(
        source=source, target=target, outputs=outputs, outcomes=outcomes,
        constants=sch.constants, lookups=sch.lookups, fixed_delays=em.fixed, dtype=dtype,
        flops=count_flops(ir, sch), varying=varying,
    )  # fmt: skip


def _assemble(ir: ModelIR, lines: list[str], target: str, outputs: list[str],
              outcomes: list[Outcome], title: str, dtype: str) -> str:  # fmt: skip
    """The kernel's source: header, prelude, the body ``sd_block`` and the target's wrapper."""
    body_src = "\n".join("    " + ln for ln in lines)
    nout, nred = len(outputs), len(outcomes)
    head = [
        f"/* sd fused kernel ({target}){': ' + _comment(title) if title else ''}",
        f" * outputs: {_comment(', '.join(ir.variables[o].name for o in outputs)) or '(none)'}",
        f" * outcomes: {_comment(', '.join(oc.label for oc in outcomes)) or '(none)'}",
        " * generated by sd from the model's IR; do not edit */",
        PRELUDE if dtype == "float64" else float_prelude(),
        f"#define SD_NOUT {nout}",
        f"#define SD_NRED {nred}",
    ]
    if target == "c":
        head += [
            "#define SD_OUT(o, j) out[((sd_d[l] * SD_NOUT) + (o)) * nsave + (j)]",
            "#define SD_RED(r) red[sd_d[l] * SD_NRED + (r)]",
        ]
    else:
        head += [
            "#define SD_OUT(o, j) out[((sd_i64)(o) * nsave + (j)) * n + sd_d[l]]",
            "#define SD_RED(r) red[(sd_i64)(r) * n + sd_d[l]]",
        ]
    sig, args = abi.signature(dtype), abi.argument_names()
    draw = [f"SD_FN void sd_block(sd_i64 d0, sd_i64 lim, {sig})", "{", body_src, "}"]
    if target == "c":
        wrapper = [
            "#if defined(_WIN32)",
            "#define SD_EXPORT __declspec(dllexport)",
            "#else",
            '#define SD_EXPORT __attribute__((visibility("default")))',
            "#endif",
            "SD_EXPORT int sd_lanes(void) { return SD_W; }",
            f"SD_EXPORT void sd_run(sd_i64 d0, sd_i64 d1, {sig})",
            "{",
            f"    for (sd_i64 d = d0; d < d1; d += SD_W) sd_block(d, d1, {args});",
            "}",
        ]
    else:
        wrapper = [
            f'extern "C" __global__ void sd_kernel({sig})',
            "{",
            "    const sd_i64 d = (sd_i64)blockIdx.x * blockDim.x + threadIdx.x;",
            f"    if (d < n) sd_block(d, n, {args});",
            "}",
        ]
    return "\n".join([*head, *draw, *wrapper]) + "\n"


def _comment(text: str) -> str:
    return text.replace("*/", "* /").replace("\n", " ")
