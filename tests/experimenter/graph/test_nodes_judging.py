"""``analyze``: the planner's verdicts, checked against the numbers before anything changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node_fakes import Loop, spec
from sqlalchemy import select

import skills
from experimenter.graph.nodes import analyze
from storage import metrics
from storage.models import Decision

REACH = spec(("reach", "red"))
REACH_BLUE = spec(("reach", "blue"))
REACH_GREEN = spec(("reach", "green"))


def verdicts(*items: tuple[int, str]) -> dict[str, list[dict[str, Any]]]:
    """The planner's script: one analysis judging each ``(skill, verdict)``."""
    judgements = [
        {"skill_id": k, "reason": f"looks {v}", "verdict": v, "confidence": 0.9} for k, v in items
    ]
    return {"analyze": [{"judgements": judgements, "summary": ""}]}


def test_a_skill_is_promoted_only_when_the_verdict_and_the_lower_bound_agree(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(threshold=0.8)
    sure = loop.skill(REACH, "training", evaluations=((10, 10), (50, 49)))  # bound 0.895
    lucky = loop.skill(REACH_BLUE, "training", evaluations=((10, 10),))  # bound 72 %
    rising = loop.skill(REACH_GREEN, "training", evaluations=((10, 2),))
    loop.backend.answers = verdicts((sure, "learned"), (lucky, "learned"), (rising, "improving"))

    update = analyze(loop.ctx, loop.iteration(env_steps=2000))

    assert (loop.status(sure), loop.status(lucky), loop.status(rising)) == (
        "learned", "training", "training",
    )  # fmt: skip
    with loop.db.reader() as s:
        promoted = skills.skill_detail(s, skill_id=sure).history[-1]
        [decision] = s.scalars(select(Decision.id).where(Decision.kind == "analyze")).all()
        agreement = metrics.metric_points(
            s, experiment_id=loop.ctx.experiment_id, name="analyze_agreement"
        )
    assert promoted.decided_by == "planner" and promoted.decision_id == decision
    assert promoted.reason == (
        "planner: looks learned; measured 98% over 50 episodes, 95 % lower bound 90% "
        "(threshold 80%)"
    )
    assert agreement == [(2000, 2 / 3)]  # the lucky 10 of 10 is where verdict and bound differ
    assert update == {"dollars": 0.0}


def test_the_goals_skill_has_its_own_bar_and_is_never_failed_for_stalling(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(
        goal="reach the red block", threshold=0.8, goal_threshold=0.95, patience_steps=0
    )
    goal = loop.skill(REACH, "training", evaluations=((50, 49),))  # bound 0.895: not 0.95
    other = loop.skill(REACH_BLUE, "training", evaluations=((50, 49),))
    loop.backend.answers = verdicts((goal, "learned"), (other, "learned"))
    analyze(loop.ctx, loop.iteration())
    assert (loop.status(goal), loop.status(other)) == ("training", "learned")
    [question] = loop.backend.asked
    bars = {p.skill_id: p.threshold for p in question.inputs.skills}
    assert bars[goal] == 0.95  # the planner is shown the goal's bar too

    loop.backend.answers = verdicts((goal, "stalled"))
    analyze(loop.ctx, loop.iteration(env_steps=10**6))
    assert loop.status(goal) == "training"


def test_a_stalled_skill_is_failed_once_its_own_data_reaches_the_patience(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(patience_steps=1000)
    flat = loop.skill(REACH, "training", evaluations=((10, 0), (10, 0), (10, 0)))
    state = loop.iteration(env_steps=4000, training_since={str(flat): 0})
    loop.collected(flat, *range(0, 900, 100))  # 900 env steps of its own data
    loop.collected(None, *range(0, 900, 100))  # and as many for no skill in particular

    loop.backend.answers = verdicts((flat, "stalled"))
    analyze(loop.ctx, state)
    assert loop.status(flat) == "training"

    loop.collected(flat, 900)
    loop.backend.answers = verdicts((flat, "stalled"))
    analyze(loop.ctx, state)
    assert loop.status(flat) == "failed"
    with loop.db.reader() as s:
        reason = skills.skill_detail(s, skill_id=flat).history[-1].reason
    assert reason.startswith("planner: stalled: looks stalled; measured 0% over 10 episodes")
    assert reason.endswith(
        "after 1000 env steps of its own data (4000 in all), 0 of its 10 episodes successful"
    )


def test_a_stalled_skill_whose_own_episodes_succeed_gets_the_longer_patience(
    make_loop: Callable[..., Loop],
) -> None:
    """Its chain doing the task gives the policy examples to learn from: a stacking rung's
    policy can sit at 0 % for tens of thousands of env steps before it rises."""
    loop = make_loop(patience_steps=1000, patience_with_successes_steps=3000)
    slow = loop.skill(REACH, "training", evaluations=((10, 0), (10, 0), (10, 0)))
    stuck = loop.skill(REACH_BLUE, "training", evaluations=((10, 0), (10, 0), (10, 0)))
    state = loop.iteration(env_steps=8000, training_since={str(slow): 0, str(stuck): 0})
    loop.collected(slow, *range(0, 1900, 100))
    loop.collected(slow, 1900, success=True)  # 1 in 20 episodes: its chain did the task
    loop.collected(stuck, *range(0, 2000, 100))

    loop.backend.answers = verdicts((slow, "stalled"), (stuck, "stalled"))
    analyze(loop.ctx, state)
    assert (loop.status(slow), loop.status(stuck)) == ("training", "failed")

    loop.collected(slow, *range(2000, 3000, 100))
    loop.backend.answers = verdicts((slow, "stalled"))
    analyze(loop.ctx, state)
    assert loop.status(slow) == "failed"
    with loop.db.reader() as s:
        reason = skills.skill_detail(s, skill_id=slow).history[-1].reason
    assert reason.endswith(
        "after 3000 env steps of its own data (8000 in all), 1 of its 30 episodes successful"
    )


def test_nothing_is_asked_before_a_skill_in_training_is_measured(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    fresh = loop.skill(REACH, "training")
    assert analyze(loop.ctx, loop.iteration()) == {}
    assert loop.backend.asked == [] and loop.status(fresh) == "training"
    with loop.db.reader() as s:
        assert s.scalars(select(Decision.id)).all() == []
