"""Sweep specifications: a TOML file (or Python objects) validated into a typed :class:`Spec`.

A spec says *what* to run (model, scenario, parameter distributions, sampler, draws, seed, outputs,
outcomes) and *how* (chunk, backend, scheduler, store). Only the *what* decides a draw's values and the
stored result; the *how* can change between a run and its resume (see :func:`Spec.identity`).

Every check here is structural (types, names of keys, distribution arguments, sampler sizes); the checks that
need the model (does a parameter exist, is it a constant) are in :mod:`sd.sweep.planning` and also run before
any work starts. Errors are :class:`sd.errors.SpecError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import SpecError
from sd.sweep.checks import WHEN, Check

__all__ = [
    "BACKENDS",
    "DISTRIBUTIONS",
    "REDUCTIONS",
    "SAMPLERS",
    "Distribution",
    "Outcome",
    "Paired",
    "Spec",
    "load_spec",
]

SAMPLERS = ("mc", "lhs", "sobol", "saltelli", "morris", "grid")
BACKENDS = ("numpy", "cupy", "fused", "auto")
REDUCTIONS = ("max", "min", "mean", "final", "initial")

# name -> (required arguments, optional arguments with defaults); low/high of the bounded distributions
# default to the model's [min, max] range of the constant when omitted (filled in by the plan).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "uniform": (("low", "high"), {}),
    "loguniform": (("low", "high"), {}),
    "normal": (("mean", "sd"), {}),
    "truncnormal": (("mean", "sd", "low", "high"), {}),
    "lognormal": (("mu", "sigma"), {}),
    "triangular": (("low", "mode", "high"), {}),
    "beta": (("a", "b"), {"low": 0.0, "high": 1.0}),
    "choice": (("values",), {"weights": None}),
    "samples": (("file", "column"), {"sha256": None, "rows": None}),  # sd/sweep/posterior.py
}
BOUNDED = ("uniform", "loguniform", "truncnormal", "triangular", "beta", "choice", "samples")
RANGE_DEFAULT = ("uniform", "loguniform", "truncnormal", "triangular")  # may take low/high from the model

_TOP_KEYS = {
    "checks",
    "model", "draws", "seed", "sampler", "chunk", "backend", "store", "scenario", "scenarios",
    "scheduler", "final_time", "parameters", "outputs", "outcomes", "description", "paired", "report",
    "data_files",
}  # fmt: skip
_OPS = {"<=", ">=", "<", ">", "==", "!="}
_COND = re.compile(r"^\s*(?P<var>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<num>[-+0-9.eE_]+|[-+]?inf)\s*$")
_COMPARISON = re.compile(r"<|>|=")  # a first_time condition compares (checked against the model in the plan)


def _fail(source: str, key: str, msg: str) -> SpecError:
    return SpecError(f"{source}: {key}: {msg}")


def _number(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _fail(source, key, f"expected a number, got {value!r}")
    v = float(value)
    if math.isnan(v):
        raise _fail(source, key, "is NaN; expected a finite number")
    if math.isinf(v):
        raise _fail(source, key, f"is {v}; expected a finite number")
    return v


@dataclass(frozen=True)
class Distribution:
    """A distribution of one parameter; values are ``ppf(u)`` of unit-hypercube samples ``u``.

    ``low``/``high`` of uniform, loguniform, truncnormal and triangular may be left out: they are then the
    constant's ``[min, max]`` range in the model (see :meth:`with_range`).

    >>> Distribution("uniform", {"low": 5, "high": 15}).ppf(np.array([0.0, 0.5]))
    array([ 5., 10.])
    """

    dist: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_value(cls, value: Any, *, source: str = "<spec>", key: str = "parameter") -> Distribution:
        """A Distribution from a TOML table such as ``{dist = "uniform", low = 5, high = 15}``."""
        if isinstance(value, Distribution):
            return value
        if not isinstance(value, Mapping):
            raise _fail(source, key, f"expected a table such as {{dist = \"uniform\", low = 0, "
                                     f"high = 1}} or a number, got {value!r}")  # fmt: skip
        args = dict(value)
        dist = args.pop("dist", None)
        if dist is None:
            raise _fail(source, key, f"missing 'dist' (one of {', '.join(DISTRIBUTIONS)})")
        return cls(str(dist), args).checked(source, key, partial=True)

    @property
    def bounded(self) -> bool:
        return self.dist in BOUNDED

    def needs_range(self) -> bool:
        return self.dist in RANGE_DEFAULT and ("low" not in self.args or "high" not in self.args)

    def with_range(self, low: float, high: float, source: str, key: str) -> Distribution:
        """Fill a missing low/high from the model's range of the constant."""
        args = {"low": low, "high": high, **self.args}
        return Distribution(self.dist, args).checked(source, key)

    def checked(self, source: str, key: str, *, partial: bool = False) -> Distribution:
        """Validate the arguments; ``partial`` allows low/high missing (filled from the model later)."""
        if self.dist not in DISTRIBUTIONS:
            raise _fail(
                source, f"{key}.dist", f"unknown distribution {self.dist!r}; expected one of "
                + ", ".join(DISTRIBUTIONS)
            )  # fmt: skip
        required, optional = DISTRIBUTIONS[self.dist]
        allowed = set(required) | set(optional)
        for k in self.args:
            if k not in allowed:
                raise _fail(source, f"{key}.{k}", f"unknown argument of {self.dist!r}; expected "
                            + ", ".join(required + tuple(optional)))  # fmt: skip
        args: dict[str, Any] = {**optional, **self.args}
        for k in required:
            if k not in args:
                if partial and self.dist in RANGE_DEFAULT and k in ("low", "high"):
                    continue
                raise _fail(source, key, f"{self.dist!r} needs {', '.join(required)}; {k!r} is missing")
        if self.dist == "choice":
            vals = args["values"]
            if not isinstance(vals, list | tuple) or not vals:
                raise _fail(source, f"{key}.values", "expected a non-empty list of numbers")
            args["values"] = [_number(source, f"{key}.values[{i}]", v) for i, v in enumerate(vals)]
            w = args.get("weights")
            if w is not None:
                if not isinstance(w, list | tuple) or len(w) != len(vals):
                    raise _fail(source, f"{key}.weights", f"expected {len(vals)} numbers, one per value")
                w = [_number(source, f"{key}.weights[{i}]", x) for i, x in enumerate(w)]
                if min(w) < 0 or sum(w) <= 0:
                    raise _fail(source, f"{key}.weights", "expected non-negative weights with a positive sum")
                args["weights"] = w
            return Distribution(self.dist, args)
        if self.dist == "samples":
            from sd.sweep.posterior import check_samples

            return Distribution(self.dist, check_samples(args, source, key))
        for k in list(args):
            args[k] = _number(source, f"{key}.{k}", args[k])
        lo, hi = args.get("low"), args.get("high")
        if lo is not None and hi is not None and not lo < hi:
            raise _fail(source, key, f"inverted or empty bounds: low = {lo:g} must be < high = {hi:g}")
        if self.dist == "loguniform" and lo is not None and lo <= 0:
            raise _fail(source, f"{key}.low", f"'loguniform' needs low > 0, got {lo:g}")
        for k in ("sd", "sigma", "a", "b"):
            if k in args and args[k] <= 0:
                raise _fail(source, f"{key}.{k}", f"must be > 0, got {args[k]:g}")
        if self.dist == "triangular" and lo is not None and hi is not None and not lo <= args["mode"] <= hi:
            raise _fail(source, f"{key}.mode", f"must lie in [low, high] = [{lo:g}, {hi:g}], "
                        f"got {args['mode']:g}")  # fmt: skip
        return Distribution(self.dist, args)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at the unit-interval points ``u`` (inverse CDF; scipy.stats)."""
        a = self.args
        u = np.asarray(u, dtype=float)
        if self.dist == "choice":
            vals = np.asarray(a["values"], dtype=float)
            w = np.ones(len(vals)) if a.get("weights") is None else np.asarray(a["weights"], float)
            cum = np.cumsum(w) / np.sum(w)
            idx = np.searchsorted(cum, u, side="right")
            return vals[np.minimum(idx, len(vals) - 1)]
        if self.dist == "samples":
            from sd.sweep.posterior import samples_ppf

            return samples_ppf(dict(a), u)
        if self.dist == "uniform":
            return a["low"] + (a["high"] - a["low"]) * u
        # imported here: importing scipy.stats costs ~0.7 s, and uniform draws need none of it
        from scipy import stats

        if not self.bounded:  # keep ppf finite where a sampler hits 0 (mc: probability 2^-53)
            u = np.clip(u, 2.0**-53, 1 - 2.0**-53)
        if self.dist == "loguniform":
            return np.asarray(stats.loguniform(a["low"], a["high"]).ppf(u))
        if self.dist == "normal":
            return np.asarray(stats.norm(a["mean"], a["sd"]).ppf(u))
        if self.dist == "truncnormal":
            lo, hi = (a["low"] - a["mean"]) / a["sd"], (a["high"] - a["mean"]) / a["sd"]
            return np.asarray(stats.truncnorm(lo, hi, loc=a["mean"], scale=a["sd"]).ppf(u))
        if self.dist == "lognormal":
            return np.asarray(stats.lognorm(a["sigma"], scale=math.exp(a["mu"])).ppf(u))
        if self.dist == "triangular":
            lo, hi = a["low"], a["high"]
            return np.asarray(stats.triang((a["mode"] - lo) / (hi - lo), loc=lo, scale=hi - lo).ppf(u))
        if self.dist == "beta":
            return np.asarray(
                stats.beta(a["a"], a["b"], loc=a["low"], scale=a["high"] - a["low"]).ppf(u)
            )
        raise AssertionError(self.dist)  # pragma: no cover

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, **self.args}


@dataclass(frozen=True)
class Outcome:
    """A per-draw reduction of one variable's series, computed next to the run at every time step.

    Exactly one of: ``at`` (value at that time), ``reduce`` (max, min, mean, final, initial) or
    ``first_time`` (a condition of :mod:`sd.conditions`, e.g. ``"<variable> <op> <number>"`` or
    ``"a <= 0 and b > 1"``: the first time it holds, NaN if never).
    """

    var: str | None = None
    at: float | None = None
    reduce: str | None = None
    first_time: str | None = None

    @classmethod
    def from_value(cls, value: Any, *, source: str = "<spec>", key: str = "outcome") -> Outcome:
        if isinstance(value, Outcome):
            return value.checked(source, key)
        if not isinstance(value, Mapping):
            raise _fail(source, key, "expected a table: {var, at}, {var, reduce} or {first_time}")
        extra = set(value) - {"var", "at", "reduce", "first_time"}
        if extra:
            raise _fail(source, f"{key}.{sorted(extra)[0]}", "unknown key; expected var with at or "
                        "reduce, or first_time")  # fmt: skip
        at = value.get("at")
        return cls(
            var=value.get("var"),
            at=None if at is None else _number(source, f"{key}.at", at),
            reduce=value.get("reduce"),
            first_time=value.get("first_time"),
        ).checked(source, key)

    @property
    def kind(self) -> str:
        return "at" if self.at is not None else ("reduce" if self.reduce else "first_time")

    def condition(self) -> tuple[str, str, float]:
        """``first_time``'s (variable, operator, number) when it has that simple form (ValueError if not)."""
        assert self.first_time is not None
        m = _COND.match(self.first_time)
        if m is None:
            raise ValueError(f"{self.first_time!r} is not of the form 'variable <op> number'")
        return m["var"].strip().strip('"'), m["op"], float(m["num"])

    @property
    def variable(self) -> str:
        """The variable (for ``first_time``: of the simple form ``variable <op> number``)."""
        return self.condition()[0] if self.first_time is not None else str(self.var)

    def checked(self, source: str, key: str) -> Outcome:
        given = [k for k in ("at", "reduce", "first_time") if getattr(self, k) is not None]
        if len(given) != 1:
            raise _fail(source, key, "expected exactly one of 'at', 'reduce' or 'first_time'"
                        + (f" (got {', '.join(given)})" if given else ""))  # fmt: skip
        if self.first_time is not None:
            if self.var is not None:
                raise _fail(source, f"{key}.var", "not used with first_time (the condition names it)")
            if not isinstance(self.first_time, str) or not _COMPARISON.search(self.first_time):
                raise _fail(source, f"{key}.first_time", f"expected 'variable <op> number' with <op> one "
                            f"of {', '.join(sorted(_OPS))} (or a condition over model variables such as "
                            f"'a <= 0 and b > 1'), got {self.first_time!r}")  # fmt: skip
            return self
        if not isinstance(self.var, str) or not self.var:
            raise _fail(source, f"{key}.var", "expected the name of a model variable")
        if self.reduce is not None and self.reduce not in REDUCTIONS:
            raise _fail(source, f"{key}.reduce", f"unknown reduction {self.reduce!r}; expected one of "
                        + ", ".join(REDUCTIONS))  # fmt: skip
        return self

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Paired:
    """The ``[paired]`` counterfactual: every draw also runs its twin with the constants ``set``
    (same parameters otherwise, same random numbers) and the store gets ``"<prefix> <outcome>"`` =
    outcome(draw) - outcome(twin) for each of ``outcomes`` (names of ``[outcomes]``)."""

    prefix: str
    set: Mapping[str, float]
    outcomes: tuple[str, ...]

    @classmethod
    def from_value(cls, value: Any, *, source: str, outcomes: Mapping[str, Any]) -> Paired:
        if isinstance(value, Paired):
            value = value.to_dict()
        if not isinstance(value, Mapping):
            raise _fail(source, "paired", "expected a table with prefix, set and outcomes")
        for k in value:
            if k not in ("prefix", "set", "outcomes"):
                raise _fail(source, f"paired.{k}", "unknown key; expected prefix, set, outcomes")
        prefix = value.get("prefix")
        if not isinstance(prefix, str) or not prefix.strip():
            raise _fail(source, "paired.prefix", f"expected a non-empty string, got {prefix!r}")
        changes = value.get("set")
        if not isinstance(changes, Mapping) or not changes:
            raise _fail(source, "paired.set", "expected a table of constant name -> value (the twin's)")
        values = {str(k): _number(source, f"paired.set.{k!r}", v) for k, v in changes.items()}
        names = value.get("outcomes")
        if isinstance(names, str) or not isinstance(names, list | tuple) or not names:
            raise _fail(source, "paired.outcomes", "expected a non-empty list of names of [outcomes]")
        for name in names:
            if name not in outcomes:
                import difflib

                close = difflib.get_close_matches(str(name), list(outcomes), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise _fail(source, f"paired.outcomes {name!r}", f"not an outcome of [outcomes]{hint}")
        return cls(prefix.strip(), values, tuple(dict.fromkeys(names)))

    @property
    def names(self) -> list[str]:
        """The stored names of the effects."""
        return [f"{self.prefix} {o}" for o in self.outcomes]

    def to_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "set": dict(self.set), "outcomes": list(self.outcomes)}


@dataclass(frozen=True)
class Spec:
    """A validated sweep specification (see docs/sweeps.md for every key).

    Construct it from a TOML file with :func:`load_spec`, or directly::

        Spec(model="teacup.mdl", draws=1024, sampler="sobol",
             parameters={"Characteristic Time": {"dist": "uniform", "low": 5, "high": 15}},
             outcomes={"T at 10": {"var": "Teacup Temperature", "at": 10}}, store="teacup.zarr")

    ``model`` is resolved against ``base_dir`` (the spec file's folder) first, then the current directory;
    ``store`` against the current directory.
    """

    model: str | Path
    draws: int | None = None
    seed: int = 0
    sampler: str = "mc"
    sampler_options: Mapping[str, Any] = field(default_factory=dict)
    chunk: int | str = "auto"
    backend: str = "auto"
    store: str | Path | None = None
    scenario: str | None = None
    scenarios: str | Path | None = None
    scheduler: str | None = None
    final_time: float | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    timeseries: tuple[str, ...] = ()
    saveper: float | None = None
    outcomes: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Any] = field(default_factory=dict)
    paired: Any = None  # a Paired, or its table
    report: Any = None  # the [report] table (sd.report.ReportConfig): what `sd report` shows; not in the identity
    # data files of data variables without an equation (sd.load(path, data_files=...)): a path, a list of
    # paths or a table {path: [variable names]}; paths relative to the spec's folder, like ``model``
    data_files: Any = None
    description: str = ""
    source: str = "<spec>"
    base_dir: Path | None = None

    def __post_init__(self) -> None:
        src = self.source
        set_ = object.__setattr__
        if not isinstance(self.model, str | Path) or not str(self.model):
            raise _fail(src, "model", "expected the path of a .mdl file")
        set_(self, "data_files", _checked_data_files(src, self.data_files))
        if self.draws is not None:
            if isinstance(self.draws, bool) or not isinstance(self.draws, int | np.integer):
                raise _fail(src, "draws", f"expected a positive integer, got {self.draws!r}")
            if self.draws < 1:
                raise _fail(src, "draws", f"must be positive, got {self.draws}")
            set_(self, "draws", int(self.draws))
        elif self.sampler != "grid":
            raise _fail(src, "draws", f"missing (the number of draws of sampler {self.sampler!r})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise _fail(src, "seed", f"expected a non-negative integer, got {self.seed!r}")
        if self.sampler not in SAMPLERS:
            raise _fail(src, "sampler", f"unknown sampler {self.sampler!r}; expected one of "
                        + ", ".join(SAMPLERS))  # fmt: skip
        if self.chunk != "auto":
            if isinstance(self.chunk, bool) or not isinstance(self.chunk, int | np.integer) or self.chunk < 1:
                raise _fail(src, "chunk", f"expected a positive integer or \"auto\", got {self.chunk!r}")
            set_(self, "chunk", int(self.chunk))
        if self.backend not in BACKENDS:
            raise _fail(src, "backend", f"unknown backend {self.backend!r}; expected one of "
                        + ", ".join(BACKENDS))  # fmt: skip
        for key in ("scenario", "scheduler"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, str) or not v):
                raise _fail(src, key, f"expected a string, got {v!r}")
        for key in ("final_time", "saveper"):
            v = getattr(self, key)
            if v is not None:
                v = _number(src, f"outputs.{key}" if key == "saveper" else key, v)
                if key == "saveper" and v <= 0:
                    raise _fail(src, "outputs.saveper", f"must be positive, got {v:g}")
                set_(self, key, v)
        # parameters: a table (distribution) or a number (fixed value)
        params: dict[str, Any] = {}
        if not isinstance(self.parameters, Mapping):
            raise _fail(src, "parameters", "expected a table of parameter name -> distribution")
        for name, value in self.parameters.items():
            key = f"parameters.{name!r}"
            if isinstance(value, int | float) and not isinstance(value, bool):
                params[name] = _number(src, key, value)
            else:
                params[name] = Distribution.from_value(value, source=src, key=key)
                if params[name].dist == "samples":  # read the file now: errors before any work
                    from sd.sweep.posterior import resolve_samples

                    params[name] = Distribution("samples", resolve_samples(
                        dict(params[name].args), self.base_dir, src, key))  # fmt: skip
        set_(self, "parameters", params)
        if not any(isinstance(v, Distribution) for v in params.values()):
            raise _fail(src, "parameters", "no parameter has a distribution; nothing to sweep")
        ts = self.timeseries
        if isinstance(ts, str) or not all(isinstance(t, str) for t in ts):
            raise _fail(src, "outputs.timeseries", "expected a list of variable names")
        set_(self, "timeseries", tuple(dict.fromkeys(ts)))
        outs: dict[str, Outcome] = {}
        if not isinstance(self.outcomes, Mapping):
            raise _fail(src, "outcomes", "expected a table of outcome name -> reduction")
        for name, value in self.outcomes.items():
            outs[name] = Outcome.from_value(value, source=src, key=f"outcomes.{name!r}")
        set_(self, "outcomes", outs)
        if not outs and not self.timeseries and not self.checks:
            raise _fail(src, "outputs", "nothing to store: give outputs.timeseries or [outcomes]")
        checks: dict[str, Check] = {}
        if not isinstance(self.checks, Mapping):
            raise _fail(src, "checks", "expected a table of check name -> expression")
        for name, value in self.checks.items():
            key = f"checks.{name!r}"
            if isinstance(value, Check):
                value = value.to_dict()
            if isinstance(value, str):
                value = {"expr": value}
            if not isinstance(value, Mapping) or set(value) - {"expr", "when"} or "expr" not in value:
                raise _fail(src, key, "expected an expression string or a table {expr, when}")
            when = value.get("when", "always")
            if when not in WHEN:
                raise _fail(src, f"{key}.when", f"expected one of {', '.join(WHEN)}, got {when!r}")
            if not isinstance(value["expr"], str) or not value["expr"].strip():
                raise _fail(src, f"{key}.expr", "expected a boolean expression over model variables")
            checks[name] = Check(value["expr"], when)
        set_(self, "checks", checks)
        clash = set(outs) & (set(self.timeseries) | set(params))
        if clash:
            raise _fail(src, f"outcomes.{sorted(clash)[0]!r}", "has the name of a parameter or a "
                        "stored time series; rename the outcome")  # fmt: skip
        if self.paired is not None:
            set_(self, "paired", self._checked_paired())
        if self.report is not None:
            from sd.sweep.report_spec import ReportConfig

            set_(self, "report", ReportConfig.from_value(self.report, source=src))
        self._check_sampler()

    def _checked_paired(self) -> Paired:
        pairs = Paired.from_value(self.paired, source=self.source, outcomes=self.outcomes)
        clash = set(pairs.names) & (set(self.outcomes) | set(self.timeseries) | set(self.parameters))
        if clash:
            raise _fail(self.source, "paired.prefix", f"the effect {sorted(clash)[0]!r} has the name of an "
                        "outcome, a parameter or a stored time series; choose another prefix")  # fmt: skip
        return pairs

    # -- sampler constraints (sizes need only the number of parameters) -------------------------
    @property
    def distributions(self) -> dict[str, Distribution]:
        return {k: v for k, v in self.parameters.items() if isinstance(v, Distribution)}

    @property
    def fixed(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.parameters.items() if not isinstance(v, Distribution)}

    def _check_sampler(self) -> None:
        src, s, d = self.source, self.sampler, len(self.distributions)
        opts = dict(self.sampler_options)
        allowed = {"saltelli": {"second_order"}, "morris": {"levels"}, "grid": {"levels"}}.get(s, set())
        for k in opts:
            if k not in allowed:
                raise _fail(src, f"sampler.{k}", f"not an option of sampler {s!r}"
                            + (f" (options: {', '.join(sorted(allowed))})" if allowed else ""))  # fmt: skip
        n = self.draws
        if s == "sobol":
            assert n is not None
            if n & (n - 1):
                lo = 1 << (n.bit_length() - 1)
                raise _fail(src, "draws", f"sampler 'sobol' needs a power of two (keeps the sequence "
                            f"balanced), got {n}; use {lo} or {lo * 2}")  # fmt: skip
        elif s in ("saltelli", "morris"):
            assert n is not None
            if s == "saltelli":
                so = opts.get("second_order", True)
                if not isinstance(so, bool):
                    raise _fail(src, "sampler.second_order", f"expected true or false, got {so!r}")
                per = 2 * d + 2 if so else d + 2
                what = f"N x (2D+2) = N x {per}" if so else f"N x (D+2) = N x {per}"
            else:
                levels = opts.get("levels", 4)
                if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
                    raise _fail(src, "sampler.levels", f"expected an even integer >= 2, got {levels!r}")
                per = d + 1
                what = f"N x (D+1) = N x {per} (N trajectories)"
            base, rest = divmod(n, per)
            pow2 = s == "saltelli"
            if rest or base < 1 or (pow2 and base & (base - 1)):
                lo = max(1, n // per)
                if pow2:
                    lo = 1 << (lo.bit_length() - 1)
                hi = lo * 2 if pow2 else lo + 1
                raise _fail(src, "draws", f"sampler {s!r} with D = {d} parameters needs draws = {what}"
                            + (" with N a power of two" if pow2 else "")
                            + f", got {n}; use {lo * per} or {hi * per}")  # fmt: skip
            if s == "morris":
                for name, dist in self.distributions.items():
                    if not dist.bounded:
                        raise _fail(src, f"parameters.{name!r}", f"sampler 'morris' samples the ends "
                                    f"of each range; {dist.dist!r} is unbounded")  # fmt: skip
        elif s == "grid":
            levels = opts.get("levels", 5)
            if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
                raise _fail(src, "sampler.levels", f"expected a positive integer, got {levels!r}")
            for name, dist in self.distributions.items():
                if not dist.bounded:
                    raise _fail(src, f"parameters.{name!r}", f"sampler 'grid' spans each range from "
                                f"low to high; {dist.dist!r} is unbounded")  # fmt: skip
            total = math.prod(self.grid_levels())
            if n is None:
                object.__setattr__(self, "draws", total)
            elif n != total:
                raise _fail(src, "draws", f"sampler 'grid' gives {total} draws "
                            f"({' x '.join(map(str, self.grid_levels()))}); got {n}")  # fmt: skip

    def grid_levels(self) -> list[int]:
        levels = int(self.sampler_options.get("levels", 5))
        return [
            len(d.args["values"]) if d.dist == "choice" else levels for d in self.distributions.values()
        ]

    # -- identity and text -----------------------------------------------------------------------
    def replace(self, **changes: Any) -> Spec:
        """A copy with ``changes`` applied and validated again (e.g. ``draws`` from the CLI)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (the same keys as the TOML file)."""
        out: dict[str, Any] = {"model": str(self.model)}
        for key in ("description", "draws", "seed", "chunk", "backend", "store", "scenario",
                    "scenarios", "scheduler", "final_time"):  # fmt: skip
            v = getattr(self, key)
            if v not in (None, ""):
                out[key] = str(v) if isinstance(v, Path) else v
        out["sampler"] = {"name": self.sampler, **self.sampler_options} if self.sampler_options else self.sampler
        out["parameters"] = {
            k: v.to_dict() if isinstance(v, Distribution) else v for k, v in self.parameters.items()
        }
        outputs: dict[str, Any] = {"timeseries": list(self.timeseries)}
        if self.saveper is not None:
            outputs["saveper"] = self.saveper
        out["outputs"] = outputs
        out["outcomes"] = {k: v.to_dict() for k, v in self.outcomes.items()}
        if self.checks:
            out["checks"] = {k: v.to_dict() for k, v in self.checks.items()}
        if self.paired is not None:
            out["paired"] = self.paired.to_dict()
        if self.report is not None and self.report.to_dict():
            out["report"] = self.report.to_dict()
        if self.data_files is not None:
            out["data_files"] = (list(self.data_files) if isinstance(self.data_files, tuple)
                                 else {f: list(n) for f, n in self.data_files.items()})  # fmt: skip
        return out

    def resolve_model(self) -> Path:
        """The model path: relative to the spec file's folder, else to the current directory."""
        return self._resolve(self.model, "model")

    def _resolve(self, path: str | Path, key: str) -> Path:
        p = Path(path)
        if not p.is_absolute() and self.base_dir is not None:
            q = self.base_dir / p
            if q.exists() or not p.exists():
                p = q
        if not p.is_file():
            tried = f" (looked beside the spec in {self.base_dir} and in the current directory)" if (
                self.base_dir is not None and not Path(path).is_absolute()) else ""  # fmt: skip
            raise _fail(self.source, key, f"no such file {str(path)!r}{tried}")
        return p

    def resolve_data_files(self) -> list[str] | dict[str, list[str]] | None:
        """``data_files`` with each path resolved like ``model``'s (absolute), as ``sd.load`` takes them."""
        if self.data_files is None:
            return None
        if isinstance(self.data_files, tuple):
            return [str(self._resolve(f, "data_files").absolute()) for f in self.data_files]
        return {str(self._resolve(f, f"data_files.{f!r}").absolute()): list(names)
                for f, names in self.data_files.items()}  # fmt: skip

    def resolve_store(self) -> str:
        """The store location: a URL as given, else a path relative to the current directory."""
        store = self.store
        if store is None:
            stem = Path(self.source).stem if self.source != "<spec>" else Path(self.model).stem
            store = Path("results") / f"{stem}.zarr"
        if "://" in str(store):
            return str(store)
        return str(Path(store).expanduser().absolute())


def _checked_data_files(src: str, value: Any) -> tuple[str, ...] | dict[str, tuple[str, ...]] | None:
    """``data_files``: a path, a list of paths, or a table {path: variable name or [names]}."""
    if value is None:
        return None
    if isinstance(value, str | Path):
        value = [value]
    if isinstance(value, Mapping):
        out: dict[str, tuple[str, ...]] = {}
        for f, names in value.items():
            names = [names] if isinstance(names, str) else names
            if not isinstance(names, list | tuple) or not names or not all(isinstance(n, str) for n in names):
                raise _fail(src, f"data_files.{f!r}", "expected a variable name or a list of variable names")
            out[str(f)] = tuple(names)
        if not out:
            raise _fail(src, "data_files", "expected at least one data file")
        return out
    if (not isinstance(value, list | tuple) or not value
            or not all(isinstance(f, str | Path) and str(f) for f in value)):  # fmt: skip
        raise _fail(src, "data_files", "expected a path, a list of paths or a table {path: [variable names]}")
    return tuple(str(f) for f in value)


def _pop(data: dict[str, Any], key: str, default: Any = None) -> Any:
    return data.pop(key) if key in data else default


def spec_from_dict(data: Mapping[str, Any], *, source: str = "<spec>", base_dir: Path | None = None) -> Spec:
    """Validate plain data (a parsed TOML document) into a :class:`Spec`."""
    data = dict(data)
    for key in data:
        if key not in _TOP_KEYS:
            raise _fail(source, key, "unknown key; expected one of " + ", ".join(sorted(_TOP_KEYS)))
    if "model" not in data:
        raise _fail(source, "model", "missing (the path of the .mdl file)")
    sampler = _pop(data, "sampler", "mc")
    options: dict[str, Any] = {}
    if isinstance(sampler, Mapping):
        options = dict(sampler)
        sampler = options.pop("name", None)
        if sampler is None:
            raise _fail(source, "sampler.name", "missing (one of " + ", ".join(SAMPLERS) + ")")
    if not isinstance(sampler, str):
        raise _fail(source, "sampler", f"expected a name or a table, got {sampler!r}")
    outputs = _pop(data, "outputs", {})
    if not isinstance(outputs, Mapping):
        raise _fail(source, "outputs", "expected a table with timeseries and saveper")
    for key in outputs:
        if key not in ("timeseries", "saveper"):
            raise _fail(source, f"outputs.{key}", "unknown key; expected timeseries, saveper")
    ts = outputs.get("timeseries", [])
    if isinstance(ts, str) or not isinstance(ts, list):
        raise _fail(source, "outputs.timeseries", "expected a list of variable names")
    return Spec(
        model=data.pop("model"),
        sampler=sampler,
        sampler_options=options,
        timeseries=tuple(ts),
        saveper=outputs.get("saveper"),
        source=source,
        base_dir=base_dir,
        **data,
    )


def load_spec(path: str | Path) -> Spec:
    """Read and validate a sweep spec TOML file."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: no such sweep spec file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{p}: not valid TOML: {err}") from err
    return spec_from_dict(data, source=str(p), base_dir=p.parent)
