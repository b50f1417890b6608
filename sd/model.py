"""The public :class:`Model`: a loaded .mdl that runs every parameter draw at once."""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import BackendUnavailableError, ModelError, ParamError
from sd.ir.nodes import ArrayInfo, ModelIR, Variable

__all__ = ["BACKENDS", "Model", "load", "run"]

BACKENDS = ("numpy", "cupy", "fused", "auto")
DTYPES = ("float64", "float32")
RPREC = 1e-5  # pysd's relative precision for final time and save times


def load(path: str | Path) -> Model:
    """Parse a Vensim ``.mdl`` file with pysd and compile it into a vectorised :class:`Model`.

    Examples
    --------
    >>> import sd
    >>> model = sd.load("models/productivity_deflation.mdl")  # doctest: +SKIP
    >>> ds = model.run({"robot lifetime": [8.0, 10.0, 12.0]})  # doctest: +SKIP
    """
    from sd.frontend.vensim import load_ir

    p = Path(path)
    ir = load_ir(p)
    return Model(ir, p)


def run(path: str | Path, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """``sd.load(path).run(params, **kwargs)``."""
    return load(path).run(params, **kwargs)


def time_grid(
    t0: float, tf: float, dt: float, saveper: float
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """pysd's time points (accumulated ``t += dt``), the save index per point and the saved times.

    Returns the list of times the loop visits, an int array giving for each the row it is saved to (-1 when
    not saved) and the saved times rounded to the precision pysd uses for its index.
    """
    times: list[float] = []
    t = t0
    prec = dt * RPREC
    while t + prec < tf:
        times.append(t)
        t = t + dt
    times.append(t)
    save = np.full(len(times), -1, dtype=np.int64)
    saved: list[float] = []
    for k, tk in enumerate(times):
        delay = tk - t0
        if delay % saveper < prec or -delay % saveper < prec:
            save[k] = len(saved)
            saved.append(tk)
    digits = -int(np.log10(dt * RPREC))
    return times, save, np.round(np.asarray(saved, dtype=float), digits)


class Model:
    """A Vensim model compiled for vectorised runs.

    Attributes
    ----------
    path : pathlib.Path
        The .mdl file.
    constants, lookups, stocks, auxiliaries, controls : dict[str, Variable]
        The model's visible variables by Vensim name, with ``units``, ``doc`` and ``limits``
        (``(min, max, step)`` from the units field, None where not given).
    """

    def __init__(self, ir: ModelIR, path: Path) -> None:
        self.ir = ir
        self.path = path
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        self._programs: dict[tuple[Any, ...], Any] = {}
        self._fused: dict[tuple[Any, ...], Any] = {}
        self._controls_fn: Any = None
        self._arrays_by_name: dict[str, ArrayInfo] | None = None
        self._by_name: dict[str, str] = {}
        for ident, var in ir.variables.items():
            if var.hidden:
                continue
            for key in (var.name, var.name.lower(), ident, ident.lower()):
                self._by_name.setdefault(key, ident)
        self._by_name.update(ir.names)

    # -- inspection -----------------------------------------------------------------------------
    def _visible(self, *kinds: str) -> dict[str, Variable]:
        return {v.name: v for v in self.ir.of_kind(*kinds, hidden=False)}

    @property
    def constants(self) -> dict[str, Variable]:
        return self._visible("constant")

    @property
    def lookups(self) -> dict[str, Variable]:
        return self._visible("lookup")

    @property
    def stocks(self) -> dict[str, Variable]:
        return self._visible("stock")

    @property
    def auxiliaries(self) -> dict[str, Variable]:
        return self._visible("aux", "initial", "fixed_delay")

    @property
    def controls(self) -> dict[str, Variable]:
        return self._visible("control")

    @property
    def variables(self) -> dict[str, Variable]:
        return {v.name: v for v in self.ir.variables.values() if not v.hidden}

    def __repr__(self) -> str:
        return (
            f"<sd.Model {self.path.name}: {len(self.stocks)} stocks, {len(self.auxiliaries)} "
            f"auxiliaries, {len(self.constants)} constants, {len(self.lookups)} lookups>"
        )

    def resolve(self, name: str) -> str:
        """The identifier of a variable given its Vensim name or pysd's Python name."""
        from sd.ir.names import normalise, normalise_element

        for key in (name, name.lower(), normalise(name), normalise(name.replace("_", " ")),
                    normalise_element(name)):  # fmt: skip
            if key in self._by_name:
                return self._by_name[key]
        raise KeyError(name)

    def _unknown(self, name: str, what: str, choices: Iterable[str]) -> ParamError:
        choices = sorted(choices)
        close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        shown = ", ".join(map(repr, choices[:12])) + (" ..." if len(choices) > 12 else "")
        return ParamError(
            f"{self.path}: {what} '{name}' is not in the model{hint} (valid choices: {shown})"
        )

    # -- code -----------------------------------------------------------------------------------
    def default_outputs(self) -> list[str]:
        """Identifiers saved when ``outputs=None``: every stock, flow and auxiliary, like pysd."""
        return [
            i
            for i, v in self.ir.variables.items()
            if not v.hidden and v.kind in ("stock", "aux", "initial", "fixed_delay")
        ]

    def _array_of(self, name: str) -> ArrayInfo | None:
        """The subscripted variable called ``name`` (Vensim or Python name), if any."""
        from sd.ir.names import normalise

        if not self.ir.arrays:
            return None
        if self._arrays_by_name is None:
            self._arrays_by_name = {}
            for info in self.ir.arrays.values():
                for key in (info.name, info.name.lower(), normalise(info.name)):
                    self._arrays_by_name.setdefault(key, info)
        for key in (name, name.lower(), normalise(name), normalise(name.replace("_", " "))):
            if key in self._arrays_by_name:
                return self._arrays_by_name[key]
        return None

    def _expand_params(
        self, params: Mapping[str, Any], settable: set[str]
    ) -> list[tuple[str, Any, str]]:
        """(name, value, ident) per scalar parameter: a subscripted constant's value (a scalar, an
        array of shape (*dims) or (n, *dims)) is split into its elements."""
        out: list[tuple[str, Any, str]] = []
        for name, value in params.items():
            info = self._array_of(name)
            if info is None:
                try:
                    out.append((name, value, self.resolve(name)))
                except KeyError:
                    raise self._unknown(name, "parameter", settable) from None
                continue
            shape = info.shape
            kinds = {self.ir.variables[i].kind for i in info.elements.values()}
            if "lookup" in kinds:
                for elems, ident in info.elements.items():
                    out.append((f"{info.name}[{','.join(elems)}]", value, ident))
                continue
            arr = np.asarray(_to_numpy(value), dtype=float)
            if arr.ndim == 0:
                split = dict.fromkeys(info.elements, arr)
            elif arr.shape == shape:
                split = {e: arr[self._index(info, e)] for e in info.elements}
            elif arr.ndim == len(shape) + 1 and arr.shape[1:] == shape:
                split = {e: arr[(slice(None), *self._index(info, e))] for e in info.elements}  # type: ignore[arg-type]
            else:
                raise ParamError(
                    f"{self.path}: parameter '{info.name}' has shape {arr.shape}; expected a "
                    f"scalar, an array of shape {shape} (dims {info.dims}) or (draws, *{shape})"
                )
            for elems, ident in info.elements.items():
                out.append((f"{info.name}[{','.join(elems)}]", split[elems], ident))
        return out

    @staticmethod
    def _index(info: ArrayInfo, elems: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(info.coords[d].index(e) for d, e in zip(info.dims, elems, strict=True))

    def _output_idents(self, outputs: Sequence[str] | str | None) -> list[str]:
        """Identifiers to compute; ``.groups`` tells :meth:`_dataset` how to assemble them."""
        result = _Outputs()
        if outputs is None:
            owner = {i: info for info in self.ir.arrays.values() for i in info.elements.values()}
            for ident in self.default_outputs():
                info = owner.get(ident)
                if info is None:
                    result.append(ident)
                    result.groups.append((self.ir.variables[ident].name, None, ident))
                elif all(g[1] is not info for g in result.groups):
                    result.extend(info.elements.values())
                    result.groups.append((info.name, info, None))
            return result
        if isinstance(outputs, str):
            outputs = [outputs]
        for name in outputs:
            info = self._array_of(name)
            if info is None:
                continue
            if any(self.ir.variables[i].kind == "lookup" for i in info.elements.values()):
                raise ParamError(
                    f"{self.path}: output '{name}' is a lookup table, not a variable; "
                    "save a variable that calls it instead"
                )
            result.extend(i for i in info.elements.values() if i not in result)
            result.groups.append((info.name, info, None))
        for ident in self._scalar_outputs([o for o in outputs if self._array_of(o) is None]):
            if ident not in result:
                result.append(ident)
            result.groups.append((self.ir.variables[ident].name, None, ident))
        return result

    def _scalar_outputs(self, outputs: Sequence[str]) -> list[str]:
        idents = []
        savable = {
            v.name for v in self.ir.variables.values() if not v.hidden and v.kind not in ("lookup",)
        } | set(self.ir.arrays)
        for name in outputs:
            try:
                ident = self.resolve(name)
            except KeyError:
                raise self._unknown(name, "output", savable) from None
            if self.ir.variables[ident].kind == "lookup":
                raise ParamError(
                    f"{self.path}: output '{name}' is a lookup table, not a variable; "
                    "save a variable that calls it instead"
                )
            if ident not in idents:
                idents.append(ident)
        return idents

    def _program(
        self, outputs: list[str], backend: str, integration: str = "euler", dtype: str = "float64"
    ) -> Any:
        key = (backend, tuple(outputs), integration) + ((dtype,) if dtype != "float64" else ())
        prog = self._programs.get(key)
        if prog is None:
            from sd.backends.numpy_ import compile_source, generate

            prog = generate(self.ir, outputs, integration, dtype)
            prog.fn = compile_source(
                prog.source, "simulate", _xp(backend), f"<sd:{self.path.name}>", dtype
            )
            self._programs[key] = prog
        return prog

    def source(self, outputs: Sequence[str] | None = None) -> str:
        """The generated vectorised Python source for ``outputs`` (for inspection)."""
        from sd.backends.numpy_ import generate

        return generate(self.ir, self._output_idents(outputs)).source

    def kernel_source(
        self, target: str = "c", outputs: Sequence[str] | None = None, dtype: Any = "float64"
    ) -> str:
        """The generated fused kernel source for ``outputs``: ``target`` 'c' (CPU) or 'cuda';
        ``dtype`` 'float64' (default) or 'float32' (``float`` variables and math functions).

        Raises :class:`sd.backends.fused.FusedUnsupportedError` when the model cannot be fused.

        Examples
        --------
        >>> print(model.kernel_source("cuda", ["Teacup Temperature"]))  # doctest: +SKIP
        """
        from sd.backends.fused import generate as generate_fused

        return generate_fused(
            self.ir, self._output_idents(outputs), target, title=self.path.name,
            dtype=self._dtype(dtype),
        ).source  # fmt: skip

    def _fused_kernel(
        self,
        outputs: list[str],
        target: str,
        outcomes: tuple[Any, ...] = (),
        dtype: str = "float64",
    ) -> Any:
        key = (target, tuple(outputs), outcomes) + ((dtype,) if dtype != "float64" else ())
        kernel = self._fused.get(key)
        if kernel is None:
            from sd.backends.fused import FusedKernel

            kernel = FusedKernel.build(
                self.ir, outputs, target, outcomes, title=self.path.name, dtype=dtype
            )
            self._fused[key] = kernel
        return kernel

    def _run_fused(
        self,
        idents: list[str],
        P: dict[str, Any],
        n: int,
        ctrl: Mapping[str, float],
        times: list[float],
        save: np.ndarray,
        saved: np.ndarray,
        backend: str,
        dtype: str = "float64",
    ) -> tuple[dict[str, Any], str] | None:
        """Run fused on the device of the inputs; None when 'auto' must fall back."""
        from sd.backends.fused import FusedUnsupportedError

        target = "cuda" if any(_device_input(v) for v in P.values()) else "c"
        try:
            kernel = self._fused_kernel(idents, target, (), dtype)
        except (FusedUnsupportedError, BackendUnavailableError):
            if backend == "fused":
                raise
            return None
        out, _ = kernel(P, n, ctrl, times, save, saved)
        return out, "fused-cpu" if target == "c" else "fused-cuda"

    def _dtype(self, dtype: Any) -> str:
        """'float64' or 'float32' from a name or a numpy dtype; anything else is a ParamError."""
        try:
            name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
        except TypeError:
            name = None
        if name not in DTYPES:
            raise ParamError(
                f"{self.path}: unknown dtype {dtype!r}; choose one of "
                f"{', '.join(map(repr, DTYPES))} (or numpy.float64, numpy.float32)"
            )
        return name

    # -- params ---------------------------------------------------------------------------------
    def _params(
        self, params: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any], int]:
        """Validate ``params``; return (values by ident, given values by name, n draws)."""
        values: dict[str, Any] = {}
        given: dict[str, Any] = {}
        n = 1
        lengths: dict[str, int] = {}
        settable = {
            v.name for v in self.ir.variables.values()
            if not v.hidden and v.kind in ("constant", "lookup", "control")
        }  # fmt: skip
        settable |= {info.name for info in self.ir.arrays.values()}
        for name, value, ident in self._expand_params(params or {}, settable):
            var = self.ir.variables[ident]
            if var.kind == "lookup":
                values[ident] = self._table_param(var, value)
                ys = values[ident][1]
                if ys.ndim == 2:
                    lengths[var.name] = ys.shape[0]
                continue
            if var.kind not in ("constant", "control"):
                raise ParamError(
                    f"{self.path}: parameter '{name}' is a {var.kind} ('{var.name}'), not a constant; "
                    f"only constants and lookups can be set (e.g. {', '.join(sorted(settable)[:5])})"
                )
            arr = np.asarray(value, dtype=float) if not _is_device_array(value) else value
            if arr.ndim > 1:
                raise ParamError(
                    f"{self.path}: parameter '{var.name}' has shape {arr.shape}; expected a scalar "
                    "or a 1-D array with one value per draw"
                )
            bad = ~np.isfinite(_to_numpy(arr))
            if bad.any():
                where = np.flatnonzero(bad)[:5].tolist() if arr.ndim else []
                raise ParamError(
                    f"{self.path}: parameter '{var.name}' is not finite"
                    + (f" at draws {where}" if where else f" ({float(arr)})")
                    + "; expected finite numbers"
                )
            if var.kind == "control" or ident in self.ir.structural:
                if arr.ndim and not bool((arr == arr.flat[0]).all()):
                    raise ParamError(
                        f"{self.path}: parameter '{var.name}' sets the model's time grid or shape "
                        "and cannot vary across draws; pass a scalar"
                    )
                arr = np.asarray(arr.flat[0] if arr.ndim else arr, dtype=float)
                if ident in self.ir.structural and float(arr) != var.value:
                    raise ParamError(
                        f"{self.path}: parameter '{var.name}' fixes the order of a delay or smooth "
                        f"(default {var.value}); change it in the .mdl file and load it again"
                    )
            if arr.ndim == 1:
                lengths[var.name] = arr.shape[0]
                values[ident] = arr
            else:
                values[ident] = float(arr)
            given[var.name] = values[ident]
        if lengths:
            sizes = set(lengths.values())
            if len(sizes) > 1:
                detail = ", ".join(f"'{k}': {v}" for k, v in lengths.items())
                raise ParamError(
                    f"{self.path}: parameter arrays have different numbers of draws ({detail}); "
                    "expected 1-D arrays of one common length (scalars broadcast)"
                )
            n = sizes.pop()
            if n == 0:
                raise ParamError(
                    f"{self.path}: parameter arrays are empty; expected at least 1 draw"
                )
        return values, given, n

    def _table_param(self, var: Variable, value: Any) -> tuple[np.ndarray, np.ndarray]:
        if hasattr(value, "index") and hasattr(value, "values") and not isinstance(value, tuple):
            x, y = np.asarray(value.index, dtype=float), np.asarray(value.values, dtype=float)
        elif isinstance(value, tuple | list) and len(value) == 2:
            x, y = np.asarray(value[0], dtype=float), np.asarray(value[1], dtype=float)
        else:
            arr = np.asarray(value, dtype=float)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ParamError(
                    f"{self.path}: lookup '{var.name}' must be given as (x, y), a pandas Series or an "
                    f"(m, 2) array; got an array of shape {arr.shape}"
                )
            x, y = arr[:, 0], arr[:, 1]
        if x.ndim != 1 or y.shape[-1] != x.shape[0] or y.ndim not in (1, 2):
            raise ParamError(
                f"{self.path}: lookup '{var.name}': x has shape {x.shape} and y {y.shape}; expected "
                "y of shape (m,) or (draws, m) for m x values"
            )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ParamError(f"{self.path}: lookup '{var.name}' contains NaN or inf")
        order = np.argsort(x, kind="stable")
        if np.any(np.diff(x[order]) == 0):
            raise ParamError(f"{self.path}: lookup '{var.name}' has repeated x values")
        return x[order], y[..., order]

    def _inputs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        P: dict[str, Any] = {}
        for ident, var in self.ir.variables.items():
            if ident in values:
                P[ident] = values[ident]
            elif var.kind == "constant":
                P[ident] = var.value
            elif var.kind == "lookup":
                assert var.table is not None
                P[ident] = (np.asarray(var.table.x), np.asarray(var.table.y))
        return P

    def _control_values(
        self, P: Mapping[str, Any], overrides: Mapping[str, Any]
    ) -> dict[str, float]:
        if self._controls_fn is None:
            from sd.backends.numpy_ import compile_source, generate_controls

            self._controls_fn = compile_source(generate_controls(self.ir), "controls", np)
        with np.errstate(all="ignore"):
            raw = self._controls_fn(P, dict(overrides))
        out: dict[str, float] = {}
        for ident, value in raw.items():
            arr = np.asarray(value, dtype=float)
            name = self.ir.variables[ident].name
            if arr.ndim and arr.size > 1 and not bool((arr == arr.flat[0]).all()):
                raise ModelError(
                    f"{self.path}: control variable '{name}' differs across draws; the time grid "
                    "must be the same for every draw"
                )
            v = float(arr.flat[0]) if arr.ndim else float(arr)
            if not math.isfinite(v):
                raise ModelError(
                    f"{self.path}: control variable '{name}' is not a finite number ({v}); "
                    "it must be a constant or depend only on constants"
                )
            out[ident] = v
        return out

    # -- running --------------------------------------------------------------------------------
    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        outputs: Sequence[str] | str | None = None,
        backend: str = "numpy",
        initial_time: float | None = None,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
        draws: int | None = None,
        seed: int = 0,
        first_draw: int = 0,
        integration: str = "euler",
        dtype: Any = "float64",
    ) -> Any:
        """Run every draw at once and return an :class:`xarray.Dataset` with dims ``(draw, time)``.

        Parameters
        ----------
        params
            Maps a constant's Vensim name (or pysd's Python name) to a scalar or a 1-D array of n draws
            (scalars broadcast); a lookup's name to ``(x, y)`` with ``y`` of shape (m,) or (n, m).
        outputs
            Variables to save (Vensim names). None saves every stock, flow and auxiliary; a list prunes
            the computation to what those outputs need.
        backend
            'numpy' (default); 'cupy' (the same array code on a CUDA device); 'fused' (the whole run of
            each draw compiled as one function: C on the CPU, a CUDA kernel when the parameters are
            cupy arrays); 'auto' (fused when a compiler is present and the model can be fused, else
            numpy or cupy). ``ds.attrs['backend']`` records what ran ('numpy', 'cupy', 'fused-cpu',
            'fused-cuda').
        initial_time, final_time, time_step, saveper
            Override the model's control variables.
        draws
            Number of draws when no parameter array sets it (must agree with the arrays otherwise).
        integration
            'euler' (default: pysd's explicit Euler, PySD-exact) or 'rk4' (classical Runge-Kutta of
            order 4 for the stocks; numpy/cupy backends -- 'auto' falls back to them, 'fused' refuses).
        seed, first_draw
            RANDOM functions draw from a stream keyed by (seed, draw index, call site, time); the
            draws of this run have indices ``first_draw, ..., first_draw + n - 1``, so a run split
            into chunks (each with its ``first_draw``) gives the same numbers as one run.
        dtype
            'float64' (default, PySD-exact) or 'float32' (also ``numpy.float32``): the numpy/cupy
            backends compute in float32 arrays and the fused kernels with C ``float``; outputs are
            float32. The time grid and save points stay float64. Measured error against float64 in
            docs/performance.md ("float32"); ``ds.attrs['dtype']`` records it.

        Returns
        -------
        xarray.Dataset
            One data variable per output, named by its Vensim name; the parameters given as coordinates
            along ``draw``; attrs with the model file's hash and the sd and pysd versions.

        Examples
        --------
        >>> ds = model.run({"Characteristic Time": np.linspace(5, 15, 1000)})  # doctest: +SKIP
        >>> ds["Teacup Temperature"].sel(time=10).mean()  # doctest: +SKIP
        """
        backend = _check_backend(backend)
        dtype = self._dtype(dtype)
        idents = self._output_idents(outputs)
        values, given, n = self._params(params)
        if draws is not None:
            if int(draws) < 1 or (n > 1 and int(draws) != n):
                raise ParamError(
                    f"{self.path}: draws={draws} but the parameter arrays hold {n} draws; "
                    "expected a positive number matching the arrays"
                )
            n = int(draws)
        overrides: dict[str, float] = {}
        for key, val in (("initial_time", initial_time), ("final_time", final_time),
                         ("time_step", time_step), ("saveper", saveper)):  # fmt: skip
            if key in values:
                overrides[key] = float(values.pop(key))
            if val is not None:
                if not math.isfinite(float(val)):
                    raise ParamError(f"{self.path}: {key} must be finite, got {val}")
                overrides[key] = float(val)
        P = self._inputs(values)
        P["__rng__"] = (int(seed), np.arange(first_draw, first_draw + n, dtype=np.uint64))
        ctrl = self._control_values(P, overrides)
        t0, tf, dt = ctrl["initial_time"], ctrl["final_time"], ctrl["time_step"]
        sp = ctrl.get("saveper", dt)
        if dt <= 0:
            raise ModelError(f"{self.path}: TIME STEP must be positive, got {dt}")
        if sp <= 0:
            raise ModelError(f"{self.path}: SAVEPER must be positive, got {sp}")
        if (tf - t0) / dt > 5e7:
            raise ModelError(
                f"{self.path}: {(tf - t0) / dt:.3g} time steps from INITIAL TIME {t0} to FINAL TIME "
                f"{tf} with TIME STEP {dt}; expected at most 5e7"
            )
        times, save, saved = time_grid(t0, tf, dt, sp)
        if integration not in ("euler", "rk4"):
            raise ParamError(
                f"{self.path}: unknown integration {integration!r}; choose one of 'euler', 'rk4'"
            )
        if integration == "rk4" and backend == "fused":
            raise BackendUnavailableError(
                "backend 'fused' integrates with Euler only; use backend 'numpy' (or 'auto') for rk4"
            )
        if backend in ("fused", "auto") and integration == "euler":
            fused = self._run_fused(idents, P, n, ctrl, times, save, saved, backend, dtype)
            if fused is not None:
                return self._dataset(fused[0], idents, saved, n, given, ctrl, fused[1], dtype)
            backend = "cupy" if any(_device_input(v) for v in P.values()) else "numpy"
        if backend == "auto":
            backend = "cupy" if any(_device_input(v) for v in P.values()) else "numpy"
        prog = self._program(idents, backend, integration, dtype)
        xp = _xp(backend)
        if xp is not np:
            P = {k: (xp.asarray(v) if isinstance(v, np.ndarray) else
                     (tuple(xp.asarray(a) for a in v) if isinstance(v, tuple) else v))
                 for k, v in P.items()}  # fmt: skip
        if dtype != "float64":
            P = _as_real(P, xp, dtype)
        out = {o: xp.empty((len(saved), n), dtype=dtype) for o in idents}
        with np.errstate(all="ignore"):
            prog.fn(P, n, t0, tf, dt, sp, times, save.tolist(), out)
        ds = self._dataset(out, idents, saved, n, given, ctrl, backend, dtype)
        ds.attrs["integration"] = integration
        return ds

    def _dataset(
        self,
        out: dict[str, Any],
        idents: list[str],
        saved: np.ndarray,
        n: int,
        given: Mapping[str, Any],
        ctrl: Mapping[str, float],
        backend: str,
        dtype: str = "float64",
    ) -> Any:
        import pysd
        import xarray as xr

        import sd

        coords: dict[str, Any] = {"draw": np.arange(n), "time": saved}
        data: dict[str, Any] = {}
        groups = getattr(idents, "groups", None)
        if groups is None:
            groups = [(self.ir.variables[o].name, None, o) for o in idents]
        saved_labels = {label for label, _, _ in groups}
        for name, value in given.items():
            if name in saved_labels:  # also requested as an output: the series carries the values
                continue
            arr = _to_numpy(value)
            coords[name] = ("draw", np.broadcast_to(arr, (n,)).copy())
        for label, info, ident in groups:
            if info is None:
                data[label] = (("draw", "time"), _to_numpy(out[ident]).T)
                continue
            arr = np.full((n, len(saved), *info.shape), np.nan, dtype=dtype)
            for elems, el_ident in info.elements.items():
                where: tuple[Any, ...] = (slice(None), slice(None), *self._index(info, elems))
                arr[where] = _to_numpy(out[el_ident]).T
            data[label] = (("draw", "time", *info.dims), arr)
            for d in info.dims:
                coords.setdefault(d, list(info.coords[d]))
        attrs = {
            "model": self.path.name,
            "model_sha256": self.sha256,
            "sd_version": sd.__version__,
            "pysd_version": pysd.__version__,
            "backend": backend,
            "integration": "euler",
            "initial_time": ctrl["initial_time"],
            "final_time": ctrl["final_time"],
            "time_step": ctrl["time_step"],
            "saveper": ctrl.get("saveper", ctrl["time_step"]),
            "dtype": dtype,
        }
        ds = xr.Dataset(data, coords=coords, attrs=attrs)
        for label, info, ident in groups:
            var = self.ir.variables[ident if info is None else next(iter(info.elements.values()))]
            ds[label].attrs.update(units=var.units, description=var.doc)
        return ds


def _check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise BackendUnavailableError(
            f"Unknown backend {backend!r}; choose one of {', '.join(map(repr, BACKENDS))}"
        )
    if backend == "cupy":
        _xp("cupy")
    return backend


def _xp(backend: str) -> Any:
    if backend == "cupy":
        from sd.backends.cupy_ import cupy_module

        return cupy_module()
    return np


def _as_real(P: Mapping[str, Any], xp: Any, dtype: str) -> dict[str, Any]:
    """Inputs for a float32 run: parameter arrays and lookup tables as ``dtype``; scalars stay Python
    floats (numpy keeps them weak, so they never promote a float32 array)."""
    out: dict[str, Any] = {}
    for k, v in P.items():
        if k == "__rng__":
            out[k] = v
        elif isinstance(v, tuple):
            out[k] = tuple(xp.asarray(a, dtype=dtype) for a in v)
        elif getattr(v, "ndim", 0):
            out[k] = xp.asarray(v, dtype=dtype)
        elif hasattr(v, "dtype"):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def _is_device_array(value: Any) -> bool:
    return type(value).__module__.startswith("cupy")


def _device_input(value: Any) -> bool:
    """A parameter (a value or a lookup's (x, y)) held on a CUDA device."""
    if isinstance(value, tuple):
        return any(_is_device_array(v) for v in value)
    return _is_device_array(value)


def _to_numpy(value: Any) -> np.ndarray:
    if _is_device_array(value):
        return value.get()
    return np.asarray(value)


class _Outputs(list[str]):
    """Output identifiers plus how to assemble them: (label, ArrayInfo or None, ident or None)."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[tuple[str, ArrayInfo | None, str | None]] = []
