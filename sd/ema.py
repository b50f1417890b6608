"""EMA Workbench adapter: an EMA model that runs a whole batch of experiments as one vectorised sd run.

::

    from ema_workbench import RealParameter, ScalarOutcome, TimeSeriesOutcome, perform_experiments
    from sd.ema import SDModel, VectorizedEvaluator

    model = SDModel("teacup", mdl_file="teacup.mdl")
    model.uncertainties = [RealParameter("Characteristic Time", 5, 15)]
    model.levers = [RealParameter("Room Temperature", 60, 80)]
    model.outcomes = [TimeSeriesOutcome("Teacup Temperature"),
                      ScalarOutcome("max loss", variable_name="Heat Loss to Room", function=np.max)]
    with VectorizedEvaluator(model) as evaluator:               # every experiment as one draw of one run
        experiments, outcomes = evaluator.perform_experiments(scenarios=512, policies=4)
    experiments, outcomes = perform_experiments(model, 512)     # EMA's own evaluators: one run each

An outcome's data is the variable's time series at the model's save times (as EMA's PysdModel returns
it); a :class:`ScalarOutcome` without a ``function`` gets the final value. EMA's ``Constant`` values,
uncertainties and levers (their ``variable_name`` when it differs from the name) become the run's
parameters. Needs ``ema_workbench`` (``pip install 'sd[ema]'``). See docs/howto-ema.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sd.errors import SDError

try:
    from ema_workbench.em_framework.evaluators import BaseEvaluator
    from ema_workbench.em_framework.experiment_runner import ExperimentRunner
    from ema_workbench.em_framework.model import AbstractModel, SingleReplication
    from ema_workbench.em_framework.outcomes import ScalarOutcome
    from ema_workbench.em_framework.points import experiment_generator
    from ema_workbench.em_framework.util import NamedObjectMap
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise SDError("sd.ema needs the EMA Workbench: pip install 'sd[ema]'") from err

__all__ = ["SDModel", "VectorizedEvaluator"]


class SDModel(SingleReplication):
    """An EMA model backed by sd. ``run_experiments`` evaluates many experiments in one ``Model.run``.

    Parameters
    ----------
    name
        EMA model name (alphanumeric).
    mdl_file
        The Vensim .mdl file.
    backend, final_time, saveper
        Passed to ``Model.run``.
    batch
        Experiments per vectorised run (memory bound for very large designs).
    """

    def __init__(self, name: str, mdl_file: str | Path | None = None, *, backend: str = "auto",
                 final_time: float | None = None, saveper: float | None = None,
                 batch: int = 100_000) -> None:  # fmt: skip
        super().__init__(name)
        if mdl_file is None:
            raise SDError(f"SDModel {name!r}: mdl_file is required (the Vensim .mdl to run)")
        p = Path(mdl_file)
        if not p.is_file():
            raise SDError(f"SDModel {name!r}: model file {p} not found (expected a Vensim .mdl)")
        self.mdl_file = str(p.absolute())
        self.backend = backend
        self.final_time = final_time
        self.saveper = saveper
        self.batch = int(batch)
        self._sd: Any = None

    # the compiled model is rebuilt in each worker process (EMA's multiprocessing evaluator pickles models)
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_sd"] = None
        return state

    @property
    def sd_model(self) -> Any:
        if self._sd is None:
            from sd import load

            self._sd = load(self.mdl_file)
        return self._sd

    def model_init(self, policy: Any) -> None:
        super().model_init(policy)
        _ = self.sd_model

    # -- EMA's per-experiment path (SequentialEvaluator, MultiprocessingEvaluator, ...) ---------------
    def run_experiment(self, experiment: Any) -> dict[str, Any]:
        params = {self._var(k): v for k, v in dict(experiment).items()}
        return self._run([params])[0]

    # -- the batch path -----------------------------------------------------------------------------
    def run_experiments(self, experiments: Sequence[Any]) -> list[dict[str, Any]]:
        """Outcomes (EMA's processed dict) of each experiment, ``batch`` experiments per sd run."""
        constants = {self._var(c.name): c.value for c in self.constants}
        rows = []
        for ex in experiments:
            scenario, policy = ex.scenario.copy(), ex.policy.copy()
            self._transform(scenario, self.uncertainties)
            self._transform(policy, self.levers)
            row = dict(constants)
            row.update({self._var(k): v for k, v in dict(scenario).items()})
            row.update({self._var(k): v for k, v in dict(policy).items()})
            rows.append(row)
        out: list[dict[str, Any]] = []
        for start in range(0, len(rows), self.batch):
            for raw in self._run(rows[start:start + self.batch]):
                out.append(self._process(raw))
        return out

    def _process(self, raw: dict[str, Any]) -> dict[str, Any]:
        result = {}
        for outcome in self.outcomes:
            data = [raw[v] for v in outcome.variable_name]
            if isinstance(outcome, ScalarOutcome) and outcome.function is None:
                data = [float(d[-1]) for d in data]
            result[outcome.name] = outcome.process(data)
        return result

    @property
    def outcomes_output(self) -> Any:
        return self._outcomes_output

    @outcomes_output.setter
    def outcomes_output(self, outputs: dict[str, Any]) -> None:
        self._outcomes_output = self._process(outputs)

    def _var(self, name: str) -> str:
        return name

    def _run(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One vectorised run of ``rows`` (one parameter dict per experiment); per-row raw outputs."""
        n = len(rows)
        if n == 0:
            return []
        keys = list(dict.fromkeys(k for r in rows for k in r))
        params: dict[str, Any] = {}
        for k in keys:
            vals = [r.get(k, np.nan) for r in rows]
            arr = np.asarray(vals, dtype=float)
            if np.isnan(arr).any():
                missing = int(np.isnan(arr).sum())
                raise SDError(f"{Path(self.mdl_file).name}: parameter {k!r} has no value in {missing} of "
                              f"{n} experiments; expected every experiment to set it")  # fmt: skip
            params[k] = arr if not np.all(arr == arr[0]) else float(arr[0])
        outputs = list(self.output_variables)
        kw = {k: v for k, v in (("final_time", self.final_time), ("saveper", self.saveper)) if v is not None}
        ds = self.sd_model.run(params, outputs=outputs, draws=n, backend=self.backend, **kw)
        series = {v: ds[v].to_numpy() for v in outputs}
        return [{v: series[v][i] for v in outputs} for i in range(n)]


class VectorizedEvaluator(BaseEvaluator):
    """An EMA evaluator that gives each :class:`SDModel` all its experiments at once (one sd run per
    ``batch``); other models run one experiment at a time, as with EMA's SequentialEvaluator."""

    def initialize(self) -> None:
        pass

    def finalize(self) -> None:
        pass

    def evaluate_experiments(self, scenarios: Iterable[Any], policies: Iterable[Any], callback: Any,
                             combine: str = "factorial", **kwargs: Any) -> None:  # fmt: skip
        experiments = list(experiment_generator(scenarios, self._msis, policies, combine=combine))
        models = NamedObjectMap(AbstractModel)
        models.extend(self._msis)
        by_model: dict[str, list[Any]] = {}
        for ex in experiments:
            by_model.setdefault(ex.model_name, []).append(ex)
        runner = None
        for name, exps in by_model.items():
            model = models[name]
            if isinstance(model, SDModel):
                if not model.initialized(exps[0].policy):
                    model.model_init(exps[0].policy)
                for ex, outcomes in zip(exps, model.run_experiments(exps), strict=True):
                    callback(ex, outcomes)
            else:
                runner = runner or ExperimentRunner(models)
                for ex in exps:
                    callback(ex, runner.run_experiment(ex))
        if runner is not None:
            runner.cleanup()
