"""The experiment's row around the loop: ``monitor`` opens each iteration and marks the run
alive; ``finish`` marks it finished with the reason."""

from __future__ import annotations

import logging

from experimenter.graph.context import Context
from experimenter.graph.nodes.shared import Update
from experimenter.graph.routers import stop_reason
from experimenter.graph.state import LoopState
from storage import runs
from storage.enums import ExperimentStatus

log = logging.getLogger(__name__)


def monitor(ctx: Context, state: LoopState) -> Update:
    """Open the iteration (or reopen the one a crash interrupted) and mark the run alive."""
    with ctx.db.session() as s:
        it = runs.current_iteration(s, experiment_id=ctx.experiment_id)
        if it is None:
            it = runs.start_iteration(s, experiment_id=ctx.experiment_id)
        runs.set_experiment_status(
            s, experiment_id=ctx.experiment_id, status=ExperimentStatus.RUNNING
        )
        runs.heartbeat(
            s, experiment_id=ctx.experiment_id, env_steps=state.env_steps,
            wall_seconds=ctx.wall_seconds(), dollars=state.dollars,
        )  # fmt: skip
        iteration_id, number = it.id, it.number
    ctx.planner.new_iteration()
    ctx.recorder.iteration_id = iteration_id
    return {"iteration_id": iteration_id, "iteration": number}


def finish(ctx: Context, state: LoopState) -> Update:
    """Record why the loop ended."""
    reason = state.stop_reason or stop_reason(ctx, state) or "stopped"
    with ctx.db.session() as s:
        runs.set_experiment_status(
            s, experiment_id=ctx.experiment_id, status=ExperimentStatus.FINISHED, reason=reason
        )
    log.info("experiment %d finished: %s", ctx.experiment_id, reason)
    return {"stop_reason": reason}
