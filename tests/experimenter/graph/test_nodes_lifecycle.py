"""``monitor`` and ``finish``: the experiment's row around each iteration and at the end."""

from __future__ import annotations

from collections.abc import Callable

from node_fakes import Loop

from experimenter.graph.nodes import finish, monitor
from experimenter.graph.state import LoopState
from storage import runs


def test_monitor_opens_an_iteration_once_and_marks_the_run_alive(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    loop.ctx.planner.down = "timed out"  # given up on during the last iteration
    state = LoopState(experiment_id=loop.ctx.experiment_id, env_steps=1234, dollars=0.5)

    first = monitor(loop.ctx, state)
    again = monitor(loop.ctx, state)  # a rerun after a crash reopens the same iteration

    assert first == again == {"iteration_id": first["iteration_id"], "iteration": 1}
    assert loop.ctx.planner.down is None  # the backend is asked again
    assert loop.ctx.recorder.iteration_id == first["iteration_id"]
    with loop.db.session() as s:
        exp = runs.get_experiment(s, experiment_id=loop.ctx.experiment_id)
        assert (exp.status, exp.env_steps_used, exp.dollars_used) == ("running", 1234, 0.5)
        assert exp.heartbeat_at is not None
        runs.finish_iteration(s, iteration_id=first["iteration_id"], env_steps=1234)
    assert monitor(loop.ctx, state)["iteration"] == 2


def test_finish_records_why_the_loop_ended(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(max_env_steps=1000)
    finish(loop.ctx, LoopState(experiment_id=loop.ctx.experiment_id, env_steps=1000))
    with loop.db.reader() as s:
        exp = runs.get_experiment(s, experiment_id=loop.ctx.experiment_id)
        assert (exp.status, exp.stop_reason) == ("finished", "env step budget spent: 1000 of 1000")
    update = finish(loop.ctx, LoopState(stop_reason="nothing left to train"))
    assert update == {"stop_reason": "nothing left to train"}
    with loop.db.reader() as s:
        exp = runs.get_experiment(s, experiment_id=loop.ctx.experiment_id)
        assert exp.stop_reason == "nothing left to train"
