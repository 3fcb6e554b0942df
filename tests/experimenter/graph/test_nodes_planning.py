"""``plan``: which skills train this iteration, with what weight, and how far it goes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from node_fakes import Loop, spec

import skills
from experimenter.graph.nodes import plan
from experimenter.graph.roster import seed_library

REACH = spec(("reach", "red"))
GRASP = spec(("grasped", "red"))
LIFT = spec(("lifted", "red"))
REACH_BLUE = spec(("reach", "blue"))


def test_the_skills_in_training_are_weighted_and_the_learned_ones_kept_from_forgetting(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(collect_steps=1200, updates_per_step=0.5, forgetting_weight=0.2)
    with loop.db.session() as s:
        seed_library(s, layout=loop.ctx.layout)  # learned primitives: scripted, never trained
    reach = loop.skill(REACH, "training")
    grasp = loop.skill(GRASP, "training", "learned")
    lift = loop.skill(LIFT, "training", "failed")  # failed after grasp was learned: not due
    loop.skill(REACH_BLUE)  # proposed, not accepted

    update = plan(loop.ctx, loop.iteration())

    assert update["weights"] == {str(reach): 1.0, str(grasp): 0.2}
    assert update["collecting"] == [reach]
    assert update["collect_target"] == 1200
    assert update["update_target"] == 600  # 1,200 env steps at 0.5 updates each
    assert update["training_since"] == {str(reach): 0}
    assert sorted(map(loop.learner.instruction, range(len(loop.learner.tasks)))) == [
        "grasp the red block", "reach the red block",
    ]  # fmt: skip
    assert loop.status(lift) == "failed"

    # The next iteration goes on from where the learner is; patience keeps its start.
    loop.learner.env_steps, loop.learner.updates = 5000, 2500
    later = plan(loop.ctx, loop.iteration(training_since=update["training_since"]))
    assert later["collect_target"] == 6200 and later["update_target"] == 3100
    assert later["training_since"] == {str(reach): 0}


def test_many_learned_skills_share_the_forgetting_weight_instead_of_crowding_out_training(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(forgetting_weight=0.2, forgetting_total=1.0)
    rung = loop.skill(spec(("above", "red", "green")), "training")
    few = [loop.skill(s, "training", "learned") for s in (REACH, GRASP, LIFT)]
    weights = plan(loop.ctx, loop.iteration())["weights"]
    assert weights == {str(rung): 1.0, **{str(k): 0.2 for k in few}}  # 0.6 under the total

    more = [loop.skill(spec(("reach", c)), "training", "learned") for c in ("green", "blue")] + [
        loop.skill(spec(("grasped", c)), "training", "learned") for c in ("green", "blue")
    ]
    weights = plan(loop.ctx, loop.iteration())["weights"]
    assert weights[str(rung)] == 1.0
    assert {weights[str(k)] for k in few + more} == {1.0 / 7}  # seven share 1.0
    assert sum(weights.values()) == pytest.approx(2.0)  # the rung keeps half of each batch


def test_no_updates_until_half_the_random_warm_up_is_collected(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(collect_steps=400, learner={"random_steps": 2000})
    loop.skill(REACH, "training")
    assert plan(loop.ctx, loop.iteration())["update_target"] == 0  # 400 < 1,000
    loop.learner.env_steps = 800
    assert plan(loop.ctx, loop.iteration())["update_target"] == 200  # 1,200 >= 1,000


def test_a_failed_skill_trains_again_once_another_is_learned_and_its_patience_restarts(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(retries=1, max_training=2)
    lift = loop.skill(LIFT, "training", "failed")
    loop.skill(GRASP, "training", "learned")
    loop.learner.env_steps = 5000

    update = plan(loop.ctx, loop.iteration(iteration=3, training_since={str(lift): 100}))

    assert loop.status(lift) == "training"
    assert update["collecting"] == [lift]
    assert update["training_since"][str(lift)] == 5000  # counted afresh from the retry
    with loop.db.reader() as s:
        last = skills.skill_detail(s, skill_id=lift).history[-1]
    assert last.decided_by == "numbers"
    assert last.reason == (
        "iteration 3: retry 1 of 1: 1 skill(s) learned since it failed ('grasp the red block')"
    )


def test_an_open_ended_run_with_nothing_to_train_ends(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop()
    loop.skill(REACH_BLUE)  # proposed only: not trainable until accepted
    update = plan(loop.ctx, loop.iteration())
    assert update == {"stop_reason": "nothing left to train: no skill in training, none proposed"}
    assert loop.store.saved == [] and loop.learner.tasks == []


def test_a_goal_directed_run_trains_its_goal_when_nothing_else_trains(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(goal="stack the red block on the blue block")
    update = plan(loop.ctx, loop.iteration())
    [goal] = update["collecting"]
    assert loop.status(goal) == "training"
    assert update["weights"] == {str(goal): 1.0}
    assert loop.learner.instruction(0) == "stack the red block on the blue block"
    with loop.db.reader() as s:
        last = skills.skill_detail(s, skill_id=goal).history[-1]
    assert last.decided_by == "numbers" and last.reason.startswith("the goal is trained until")
