"""The phases of a run: which variables go in which block, in which order.

Every code generator (numpy source, C lanes) walks the same :class:`Schedule`: inputs, phase-invariant
auxiliaries, the initialisation at t0, run-static auxiliaries, and the time loop (auxiliaries the states
need every step, the others only at save points, then every state at once). Pure IR: no array library.
"""

from __future__ import annotations

from dataclasses import dataclass

from sd.ir.analysis import refs, required, toposort, var_refs
from sd.ir.nodes import ActiveInitial, Call, Expr, ModelIR, Time, walk

__all__ = ["TIME_FUNCTIONS", "Schedule", "schedule", "timed_controls", "uses_time"]

TIME_FUNCTIONS = ("step", "ramp", "pulse", "pulse_train")


def uses_time(expr: Expr) -> bool:
    """True when ``expr`` reads the simulation time (TIME itself or STEP, RAMP, PULSE...)."""
    return any(
        isinstance(n, Time) or (isinstance(n, Call) and n.fn in TIME_FUNCTIONS) for n in walk(expr)
    )


def timed_controls(ir: ModelIR) -> set[str]:
    """The control variables whose value may change during the run: those that read TIME (or STEP,
    RAMP...) themselves or through what they depend on (another control variable included)."""
    controls = [i for i, v in ir.variables.items() if v.kind == "control"]
    timed: set[str] = set()
    for c in controls:
        for dep in required(ir, [c]):
            v = ir.variables[dep]
            if any(uses_time(e) for e in (v.expr, v.init) if e is not None):
                timed.add(c)
                break
    return timed


def _static(
    ir: ModelIR, needed: set[str], varying: frozenset[str] = frozenset()
) -> tuple[set[str], set[str]]:
    """Split needed variables into phase-invariant and run-static (time-invariant after init);
    ``varying`` control variables change during the run and are neither."""
    invariant: set[str] = set()
    static: set[str] = set()
    for ident in toposort(ir, needed, "run", set()):
        v = ir.variables[ident]
        if ident in varying:
            continue
        if v.kind in ("constant", "lookup", "control"):
            invariant.add(ident)
            static.add(ident)
        elif v.kind == "initial":
            static.add(ident)
        elif v.kind == "aux" and v.expr is not None:
            if uses_time(v.expr):
                continue
            deps = var_refs(v, "run")
            if deps <= static:
                static.add(ident)
                has_ai = any(isinstance(n, ActiveInitial) for n in walk(v.expr))
                if not has_ai and deps <= invariant and refs(v.expr, "init") <= invariant:
                    invariant.add(ident)
    return invariant, static


@dataclass
class Schedule:
    """Which variables go in which block of the run, in which order (shared by every code generator).

    * ``constants``, ``lookups``, ``controls`` -- the inputs;
    * ``invariant`` -- auxiliaries that depend on inputs only (the same in both phases);
    * ``init`` -- the initialisation at t0, in order (stocks, discrete states, fixed delays, initial
      values and the auxiliaries they need; ACTIVE INITIAL takes its initial argument);
    * ``run_static`` -- auxiliaries constant over the run that depend on initial values;
    * ``dynamic`` -- auxiliaries recomputed in the loop, in order; those in ``core`` every step (the
      states need them), the others only at save points;
    * ``states`` -- stocks, discrete states and fixed delays, updated together after the save.
    """

    outputs: list[str]
    constants: list[str]
    lookups: list[str]
    controls: list[str]
    invariant: list[str]
    init: list[str]
    run_static: list[str]
    dynamic: list[str]
    core: set[str]
    states: list[str]


def schedule(ir: ModelIR, outputs: list[str], varying: frozenset[str] = frozenset()) -> Schedule:
    """Prune ``ir`` to what ``outputs`` need and sort it into the blocks of a run.

    ``varying`` names the control variables whose values change during this run (a time grid stepped
    on the host): the auxiliaries that read them are recomputed in the loop, not before it."""
    variables = ir.variables
    states = [i for i, v in variables.items() if v.kind in ("stock", "discrete", "fixed_delay")]
    controls = [i for i, v in variables.items() if v.kind == "control"]
    needed = required(ir, list(outputs) + controls)
    # a state needed by any output pulls in its own dynamics (done by `required`)
    states = [s for s in states if s in needed]
    initials = [i for i in needed if variables[i].kind == "initial"]
    invariant, static = _static(ir, needed, frozenset(varying))

    consts = [i for i in variables if i in needed and variables[i].kind == "constant"]
    lookups = [i for i in variables if i in needed and variables[i].kind == "lookup"]
    inv_aux = [i for i in toposort(ir, invariant, "run", set()) if variables[i].kind == "aux"]

    init_roots = states + initials
    init_needed: set[str] = set()
    stack = list(init_roots)
    while stack:
        i = stack.pop()
        if i in init_needed or i in invariant:
            continue
        init_needed.add(i)
        stack.extend(var_refs(variables[i], "init"))
    init = [
        i
        for i in toposort(ir, init_needed, "init", invariant)
        if variables[i].kind in ("stock", "discrete", "fixed_delay", "aux", "initial")
    ]
    run_static = [
        i for i in toposort(ir, static - invariant, "run", invariant) if variables[i].kind == "aux"
    ]
    dynamic = [
        i
        for i in toposort(ir, needed, "run", static | set(states))
        if variables[i].kind == "aux" and i not in static
    ]
    core: set[str] = set()
    stack = []
    for s in states:
        stack.extend(var_refs(variables[s], "run"))
    while stack:
        i = stack.pop()
        if i in core or i not in dynamic:
            continue
        core.add(i)
        stack.extend(var_refs(variables[i], "run"))
    return Schedule(
        outputs=list(outputs),
        constants=consts,
        lookups=lookups,
        controls=controls,
        invariant=inv_aux,
        init=init,
        run_static=run_static,
        dynamic=dynamic,
        core=core,
        states=states,
    )
