"""``propose`` and ``decompose`` with a scripted planner: what is kept, what is refused and
why, and what starts training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node_fakes import Loop, spec

import skills
from experimenter.graph.nodes import decompose, propose
from storage import proposals

REACH = spec(("reach", "red"))
GRASP = spec(("grasped", "red"))
LIFT = spec(("lifted", "red"))


def proposed(*items: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"proposals": [{"rationale": "next", "instruction": w, "spec": s} for w, s in items]}


def test_every_proposal_is_recorded_and_a_rerun_asks_nothing_again(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(max_training=3)
    loop.skill(REACH, "training")
    loop.backend.answers = {
        "propose": [proposed(("lift red", LIFT), ("touch red", REACH), ("lift red too", LIFT))]
    }
    state = loop.iteration()

    update = propose(loop.ctx, state)

    with loop.db.reader() as s:
        rows = [
            (t.wording, t.status, t.instruction)
            for t in proposals.list_tasks(s, experiment_id=loop.ctx.experiment_id)
        ]
    assert rows[0] == ("lift red", "proposed", "lift the red block")
    assert [(w, st) for w, st, _ in rows[1:]] == [
        ("touch red", "duplicate"), ("lift red too", "duplicate"),
    ]  # fmt: skip
    [question] = loop.backend.asked
    assert question.inputs.count == 2  # K = 3 and one trains: two free slots
    assert len(update["new_tasks"]) == 1

    again = propose(loop.ctx, state)  # the same iteration after a crash
    assert again == {"new_tasks": update["new_tasks"]} and len(loop.backend.asked) == 1


def test_decompose_trains_the_task_and_matches_its_subtasks_to_the_library(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    grasp = loop.skill(GRASP, "training", "learned")
    loop.backend.answers = {
        "propose": [proposed(("lift red", LIFT))],
        "decompose": [{
            "rationale": "grasp first",
            "subtasks": [
                {"instruction": "grab red", "spec": GRASP},
                {"instruction": "reach red", "spec": REACH},
                {"instruction": "lift red", "spec": LIFT},
            ],
        }],
    }  # fmt: skip
    state = loop.iteration()
    [task] = propose(loop.ctx, state)["new_tasks"]

    update = decompose(loop.ctx, loop.iteration(new_tasks=[task]))

    assert update["new_tasks"] == []
    with loop.db.reader() as s:
        steps = [
            (st.skill_id, st.matched_existing)
            for st in proposals.decomposition_steps(s, task_ids=[task])[task]
        ]
        own = skills.find_skill(s, spec=LIFT, experiment_id=loop.ctx.experiment_id)
        reach = skills.find_skill(s, spec=REACH, experiment_id=loop.ctx.experiment_id)
        accepted = proposals.get_task(s, task_id=task).status
    assert own is not None and reach is not None
    assert steps == [
        (grasp, True), (reach.id, False), (own.id, False),
    ]  # fmt: skip
    assert accepted == "accepted"
    assert (own.status, reach.status, loop.status(grasp)) == ("training", "training", "learned")
