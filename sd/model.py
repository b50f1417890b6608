"""The public :class:`Model`: a loaded model's names, inspection and parameter validation.

Running is the run layer's job (:mod:`sd.simulate`: time grid, backend choice, the integration call);
the result is built by :mod:`sd.results`. The Model only validates what the user passes and hands the
run layer identifiers and arrays.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sd.backends.common import check_dtype
from sd.errors import ParamError
from sd.ir.names import normalise, normalise_element
from sd.ir.nodes import ArrayInfo, ModelIR, Num, Variable
from sd.ir.outcomes import Outcome
from sd.results import OutputGroup, build_dataset, element_index, group_series, time_unit
from sd.simulate import (
    BACKENDS,
    Grid,
    Simulator,
    check_backend,
    is_device_array,
    time_grid,
    to_numpy,
)

if TYPE_CHECKING:
    from sd.frontend.data_files import DataFiles

__all__ = ["BACKENDS", "Model", "Outcome", "RunArrays", "load", "run", "time_grid"]

CONTROLS = ("initial_time", "final_time", "time_step", "saveper")


def load(path: str | Path, data_files: DataFiles | None = None) -> Model:
    """Parse a Vensim ``.mdl`` (or XMILE) file with pysd and compile it into a vectorised :class:`Model`.

    ``data_files`` gives the values of data variables written without an equation (Vensim reads them
    from a data file named at run time), as pysd's ``read_vensim(..., data_files=...)``: a ``.tab``,
    ``.csv`` or ``.dat`` file, a list of them (each variable from the first that has it), or a dict
    ``{file: [variable names]}``. They are read once, here, and interpolated the way each variable's
    keyword asks (:mod:`sd.frontend.data_files`).

    The lowered model is cached in sd's user cache (:mod:`sd.cache`), keyed by the file's hash: a second
    load of an unchanged model (and data files) skips pysd's parse.

    Examples
    --------
    >>> import sd
    >>> model = sd.load("models/productivity_deflation.mdl")  # doctest: +SKIP
    >>> ds = model.run({"robot lifetime": [8.0, 10.0, 12.0]})  # doctest: +SKIP
    >>> sd.load("other.mdl", data_files="data.tab")  # doctest: +SKIP
    """
    p = Path(path)
    parse = functools.partial(_parse, data_files=data_files)
    try:
        sha = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return Model(parse(p), p)  # the frontend names what is wrong with the path
    from sd.cache import load_ir_cached

    extra = _data_files_identity(data_files)
    return Model(load_ir_cached(p, sha, parse, extra=extra), p)


def _data_files_identity(data_files: DataFiles | None) -> Any:
    """The data files as part of the cache key (their bytes are checked through ``ModelIR.files``)."""
    if data_files is None:
        return None
    if isinstance(data_files, Mapping):
        return [[str(Path(f).resolve()), [names] if isinstance(names, str) else list(names)]
                for f, names in data_files.items()]  # fmt: skip
    if isinstance(data_files, str | Path):
        return [str(Path(data_files).resolve())]
    return [str(Path(f).resolve()) for f in data_files]


def _parse(p: Path, data_files: DataFiles | None = None) -> ModelIR:
    """Parse and lower ``p`` (pysd's parse: the slow part of a load; :mod:`sd.cache` keeps the result)."""
    from sd.frontend.vensim import load_ir

    return load_ir(p, data_files)


def run(path: str | Path, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """``sd.load(path).run(params, **kwargs)``."""
    return load(path).run(params, **kwargs)


@dataclass
class Outputs:
    """What a run saves: the identifiers to compute and the data variables they form."""

    idents: list[str] = field(default_factory=list)
    groups: list[OutputGroup] = field(default_factory=list)

    def add(self, idents: Iterable[str], group: OutputGroup) -> None:
        self.idents.extend(i for i in idents if i not in self.idents)
        self.groups.append(group)


@dataclass
class RunArrays:
    """A run's results before they become a Dataset (:meth:`Model.run_arrays`).

    ``out``: saved series by identifier, (nsave, n) arrays; ``reds``: outcomes by label, (n,);
    ``groups``: the data variables they form; ``saved``: the saved times; ``attrs``: as the Dataset's.
    """

    ir: ModelIR
    groups: list[OutputGroup]
    out: dict[str, Any]
    reds: dict[str, Any]
    saved: np.ndarray
    n: int
    given: dict[str, Any]
    attrs: dict[str, Any]

    def series(self) -> dict[str, np.ndarray]:
        """The saved series by label as host arrays, (draw, time) or (draw, time, *dims): no xarray."""
        return group_series(self.groups, self.out, n=self.n, nsave=len(self.saved),
                            dtype=self.attrs.get("dtype", "float64"))  # fmt: skip

    def dataset(self) -> Any:
        """The :class:`xarray.Dataset` that :meth:`Model.run` returns."""
        return build_dataset(self.ir, self.groups, self.out, self.reds, saved=self.saved, n=self.n,
                             given=self.given, attrs=self.attrs)  # fmt: skip


class Model:
    """A Vensim model compiled for vectorised runs.

    Attributes
    ----------
    path : pathlib.Path
        The .mdl file.
    constants, lookups, stocks, auxiliaries, controls : dict[str, Variable]
        The model's visible variables by Vensim name, with ``units``, ``doc`` and ``limits``
        (``(min, max, step)`` from the units field, None where not given).
    simulator : sd.simulate.Simulator
        Builds, caches and runs the generated code.
    """

    def __init__(self, ir: ModelIR, path: Path) -> None:
        self.ir = ir
        self.path = path
        self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        self.simulator = Simulator(ir, path.name)
        self._arrays_by_name: dict[str, ArrayInfo] | None = None
        self._lowered: dict[str, Any] = {}  # condition text -> IR (outcomes over a condition)
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
    def time_unit(self) -> str:
        """The unit of the time axis (INITIAL TIME's units, else TIME STEP's; '' when the model gives none)."""
        return time_unit(self.ir)

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
            arr = self._numbers(info.name, to_numpy(value))
            if arr.ndim == 0:
                split = dict.fromkeys(info.elements, arr)
            elif arr.shape == shape:
                split = {e: arr[element_index(info, e)] for e in info.elements}
            elif arr.ndim == len(shape) + 1 and arr.shape[1:] == shape:
                split = {e: arr[(slice(None), *element_index(info, e))] for e in info.elements}  # type: ignore[arg-type]
            else:
                raise ParamError(
                    f"{self.path}: parameter '{info.name}' has shape {arr.shape}; expected a "
                    f"scalar, an array of shape {shape} (dims {info.dims}) or (draws, *{shape})"
                )
            for elems, ident in info.elements.items():
                out.append((f"{info.name}[{','.join(elems)}]", split[elems], ident))
        return out

    def _outputs(self, outputs: Sequence[str] | str | None) -> Outputs:
        """The identifiers to compute and the data variables (groups) they form."""
        result = Outputs()
        if outputs is None:
            owner = {i: info for info in self.ir.arrays.values() for i in info.elements.values()}
            for ident in self.default_outputs():
                info = owner.get(ident)
                if info is None:
                    result.add([ident], OutputGroup(self.ir.variables[ident].name, ident=ident))
                elif all(g.info is not info for g in result.groups):
                    result.add(info.elements.values(), OutputGroup(info.name, info=info))
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
            result.add(info.elements.values(), OutputGroup(info.name, info=info))
        for ident in self._scalar_outputs([o for o in outputs if self._array_of(o) is None]):
            result.add([ident], OutputGroup(self.ir.variables[ident].name, ident=ident))
        return result

    def _output_idents(self, outputs: Sequence[str] | str | None) -> list[str]:
        """The identifiers that saving ``outputs`` (Vensim names; None: every variable) computes."""
        return self._outputs(outputs).idents

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

    def source(self, outputs: Sequence[str] | None = None) -> str:
        """The generated vectorised Python source for ``outputs`` (for inspection)."""
        from sd.backends.numpy_ import generate

        return generate(self.ir, self._output_idents(outputs)).source

    def kernel_source(
        self, target: str = "c", outputs: Sequence[str] | None = None, dtype: Any = "float64",
        outcomes: Sequence[Outcome] = (),
    ) -> str:
        """The generated fused kernel source for ``outputs`` (and ``outcomes``): ``target`` 'c' (CPU)
        or 'cuda'; ``dtype`` 'float64' (default) or 'float32' (``float`` variables and math functions).

        Raises :class:`sd.backends.fused.FusedUnsupportedError` when the model cannot be fused.

        Examples
        --------
        >>> print(model.kernel_source("cuda", ["Teacup Temperature"]))  # doctest: +SKIP
        """
        from sd.backends.fused import generate as generate_fused

        return generate_fused(
            self.ir, self._output_idents(outputs), target, [self._outcome(oc) for oc in outcomes],
            title=self.path.name, dtype=self._dtype(dtype),
        ).source  # fmt: skip

    def _dtype(self, dtype: Any) -> str:
        """'float64' or 'float32' from a name or a numpy dtype; anything else is a ParamError."""
        return check_dtype(dtype, str(self.path))

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
            arr = self._numbers(var.name, value) if not is_device_array(value) else value
            if arr.ndim > 1:
                raise ParamError(
                    f"{self.path}: parameter '{var.name}' has shape {arr.shape}; expected a scalar "
                    "or a 1-D array with one value per draw"
                )
            bad = ~np.isfinite(to_numpy(arr))
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
                self._check_structural(ident, float(arr))
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

    # -- the time grid ----------------------------------------------------------------------------
    def _overrides(self, values: dict[str, Any], **given: float | None) -> dict[str, float]:
        """Control overrides from keyword arguments and from control variables set as parameters."""
        overrides: dict[str, float] = {}
        for key in CONTROLS:
            if key in values:
                overrides[key] = float(values.pop(key))
            val = given.get(key)
            if val is not None:
                if not math.isfinite(float(val)):
                    raise ParamError(f"{self.path}: {key} must be finite, got {val}")
                overrides[key] = float(val)
            if key in overrides:
                self._check_structural(self.ir.names.get(key, key), overrides[key])
        return overrides

    def _check_structural(self, ident: str, value: float) -> None:
        """A constant (or control) that fixes the model's structure (a delay's order, a function's
        mode: ``ModelIR.structural``) keeps the value the model was built with."""
        var = self.ir.variables.get(ident)
        if var is None or ident not in self.ir.structural:
            return
        default = var.expr.value if isinstance(var.expr, Num) else None
        if value != default:
            raise ParamError(
                f"{self.path}: parameter '{var.name}' fixes the model's structure at load (the order "
                f"of a delay or smooth, a function's mode; default {default}); change it in the .mdl "
                "file and load it again"
            )

    def control_values(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        initial_time: float | None = None,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
    ) -> dict[str, float]:
        """INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER (by identifier) for these parameters and
        overrides, without running the model.

        When a control variable reads TIME, these are the start, FINAL TIME where the run stops and
        TIME STEP and SAVEPER at the start (:meth:`time_grid` gives their values at every time step)."""
        values, _, _ = self._params(params)
        overrides = self._overrides(values, initial_time=initial_time, final_time=final_time,
                                    time_step=time_step, saveper=saveper)  # fmt: skip
        if self.simulator.timed - set(overrides):
            ctrl = dict(self.simulator.grid(self._inputs(values), overrides).controls)
        else:
            ctrl = self.simulator.controls(self._inputs(values), overrides)
        ctrl.setdefault("saveper", ctrl["time_step"])
        return ctrl

    def time_grid(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        initial_time: float | None = None,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
    ) -> Grid:
        """The run's time grid for these parameters and overrides (no simulation): the loop's time points
        (``times``), the saved row of each (``save``, -1 when not saved), the saved times (``saved``) and,
        for control variables that read TIME, their value at every time point (``varying``)."""
        values, _, _ = self._params(params)
        overrides = self._overrides(values, initial_time=initial_time, final_time=final_time,
                                    time_step=time_step, saveper=saveper)  # fmt: skip
        return self.simulator.grid(self._inputs(values), overrides)

    def time_axis(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        initial_time: float | None = None,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
    ) -> np.ndarray:
        """The saved times a run with these parameters and overrides returns (no simulation).

        Examples
        --------
        >>> model.time_axis(saveper=1)  # doctest: +SKIP
        array([2025., 2026., ...])
        """
        return self.time_grid(params, initial_time=initial_time, final_time=final_time,
                              time_step=time_step, saveper=saveper).saved  # fmt: skip

    # -- running --------------------------------------------------------------------------------
    def run(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        outputs: Sequence[str] | str | None = None,
        outcomes: Sequence[Outcome] | None = None,
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
            Variables to save (Vensim names). None saves every stock, flow and auxiliary -- unless
            ``outcomes`` are given, then None saves nothing but them; a list prunes the computation
            to what those outputs need.
        outcomes
            Per-draw reductions (:class:`sd.Outcome`: value at a time, initial, final, min, max, mean,
            first time a condition holds), each stored as a ``(draw,)`` variable named by its label.
            The fused kernel computes them inside the time loop (no series leaves the device); the
            numpy/cupy backends reduce the saved series.
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
            One data variable per output, named by its Vensim name, and one per outcome; the
            parameters given as coordinates along ``draw``; attrs with the model file's hash and the
            sd and pysd versions.

        Examples
        --------
        >>> ds = model.run({"Characteristic Time": np.linspace(5, 15, 1000)})  # doctest: +SKIP
        >>> ds["Teacup Temperature"].sel(time=10).mean()  # doctest: +SKIP
        """
        return self.run_arrays(
            params, outputs=outputs, outcomes=outcomes, backend=backend, initial_time=initial_time,
            final_time=final_time, time_step=time_step, saveper=saveper, draws=draws, seed=seed,
            first_draw=first_draw, integration=integration, dtype=dtype,
        ).dataset()  # fmt: skip

    def run_arrays(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        outputs: Sequence[str] | str | None = None,
        outcomes: Sequence[Outcome] | None = None,
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
    ) -> RunArrays:
        """:meth:`run` without the xarray Dataset: the same validation and run, the arrays it produced
        (:class:`RunArrays`; ``.dataset()`` builds what :meth:`run` returns). For callers that need a few
        numbers fast (``sd run``'s summary): xarray and the dask import it triggers are skipped."""
        backend = check_backend(backend)
        dtype = self._dtype(dtype)
        chosen = self._outputs([] if outputs is None and outcomes else outputs)
        resolved = [self._outcome(oc) for oc in outcomes or ()]
        values, given, n = self._params(params)
        n = self._draws(draws, n)
        seed, first_draw = self._integer("seed", seed), self._integer("first_draw", first_draw, 0)
        overrides = self._overrides(values, initial_time=initial_time, final_time=final_time,
                                    time_step=time_step, saveper=saveper)  # fmt: skip
        P = self._inputs(values)
        P["__rng__"] = (int(seed), np.arange(first_draw, first_draw + n, dtype=np.uint64))
        grid = self.simulator.grid(P, overrides)
        try:
            out, reds, used = self.simulator.run(P, n, chosen.idents, grid, backend=backend,
                                                 integration=integration, dtype=dtype,
                                                 outcomes=resolved)  # fmt: skip
        except ValueError as err:
            if "not a saved time" not in str(err):
                raise
            raise ParamError(f"{self.path}: {err}") from None
        return RunArrays(self.ir, chosen.groups, out, reds, grid.saved, n, given,
                         self._attrs(grid, used, integration, dtype))  # fmt: skip

    def _numbers(self, name: str, value: Any) -> np.ndarray:
        """``value`` as a float array, or a ParamError naming the parameter and what it got."""
        try:
            arr = np.asarray(value)
            if arr.dtype.kind == "c":
                raise TypeError("complex")
            return np.asarray(arr, dtype=float)
        except (TypeError, ValueError):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ParamError(
                f"{self.path}: parameter '{name}' is {shown} ({type(value).__name__}); expected a "
                "real number or an array of real numbers (one per draw)"
            ) from None

    def _integer(self, what: str, value: Any, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ParamError(f"{self.path}: {what} must be an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise ParamError(f"{self.path}: {what} must be >= {minimum}, got {value}")
        return int(value)

    def _draws(self, draws: int | None, n: int) -> int:
        if draws is None:
            return n
        if isinstance(draws, bool) or not isinstance(draws, int | np.integer):
            raise ParamError(f"{self.path}: draws must be an integer, got {draws!r}")
        if int(draws) < 1 or (n > 1 and int(draws) != n):
            raise ParamError(
                f"{self.path}: draws={draws} but the parameter arrays hold {n} draws; "
                "expected a positive number matching the arrays"
            )
        return int(draws)

    def _outcome(self, oc: Outcome) -> Outcome:
        """``oc`` on the variable's identifier, labelled as the user named it."""
        if not isinstance(oc, Outcome):
            raise ParamError(f"{self.path}: outcomes must be sd.Outcome objects, got {oc!r}")
        if oc.condition:
            return Outcome(oc.kind, oc.variable, name=oc.label, expr=self._condition(oc), rows=oc.rows)
        try:
            ident = self.resolve(oc.variable)
        except KeyError:
            raise self._unknown(oc.variable, "outcome variable", self.variables) from None
        if self.ir.variables[ident].kind == "lookup":
            raise ParamError(f"{self.path}: outcome '{oc.label}' reduces a lookup table")
        return Outcome(oc.kind, ident, oc.time, oc.op, oc.value, name=oc.label)

    def _condition(self, oc: Outcome) -> Any:
        """The condition of outcome ``oc`` lowered into IR nodes over identifiers (cached per text)."""
        cache = self._lowered
        if oc.variable in cache:
            return cache[oc.variable]
        from sd.conditions import compile_condition
        from sd.ir.nodes import Ref

        try:
            cond = compile_condition(oc.variable, self.variables)
        except ValueError as err:
            raise ParamError(f"{self.path}: outcome '{oc.label}': {err}") from None

        def ref(name: str) -> Ref:
            ident = self.resolve(name)
            if self.ir.variables[ident].kind == "lookup":
                raise ParamError(f"{self.path}: outcome '{oc.label}' reads the lookup table '{name}'")
            return Ref(ident)

        try:
            cache[oc.variable] = cond.lower(ref)
        except ValueError as err:  # NotLowerable
            raise ParamError(f"{self.path}: outcome '{oc.label}': {err}") from None
        return cache[oc.variable]

    def _attrs(self, grid: Grid, backend: str, integration: str, dtype: str) -> dict[str, Any]:
        from sd._version import __version__, pysd_version

        c = grid.controls
        return {
            "model": self.path.name,
            "model_sha256": self.sha256,
            "sd_version": __version__,
            "pysd_version": pysd_version(),
            "backend": backend,
            "integration": integration,
            "initial_time": c["initial_time"],
            "final_time": c["final_time"],
            "time_step": c["time_step"],
            "saveper": c.get("saveper", c["time_step"]),
            "dtype": dtype,
        }
