"""``collect``, ``train`` and ``evaluate``: the learner's half of an iteration, each run up
to the targets ``plan`` fixed, with a fake executor and learner."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from node_fakes import Loop, spec
from sqlalchemy import select
from sqlalchemy.orm import Session

import skills
from experimenter.graph.context import StopRequested
from experimenter.graph.nodes import collect, evaluate, train
from experimenter.graph.roster import seed_library
from storage import metrics, proposals, runs
from storage.models import Episode

REACH = spec(("reach", "red"))
REACH_BLUE = spec(("reach", "blue"))
GRASP = spec(("grasped", "red"))
LIFT = spec(("lifted", "red"))


def episode_rows(loop: Loop) -> list[tuple[int | None, str, int | None, bool]]:
    """``(skill, purpose, env step, success)`` of the experiment's episode rows, in order."""
    with loop.db.reader() as s:
        rows = s.scalars(
            select(Episode)
            .where(Episode.experiment_id == loop.ctx.experiment_id)
            .order_by(Episode.id)
        )
        return [(e.skill_id, e.purpose, e.env_step, e.success) for e in rows]


def finish_current(s: Session, loop: Loop) -> None:
    it = runs.current_iteration(s, experiment_id=loop.ctx.experiment_id)
    assert it is not None
    runs.finish_iteration(s, iteration_id=it.id, env_steps=0)


def collecting(loop: Loop, *skill_ids: int, target: int) -> dict[str, object]:
    """The state ``plan`` leaves for collecting ``skill_ids`` up to ``target`` env steps."""
    return {
        "weights": {str(k): 1.0 for k in skill_ids},
        "collecting": list(skill_ids),
        "collect_target": target,
    }


# --- collect ------------------------------------------------------------------------------


def test_collect_shares_the_rounds_between_the_skills_and_records_every_episode(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(success={"reach the red block": 0.5})
    red, blue = loop.skill(REACH, "training"), loop.skill(REACH_BLUE, "training")
    state = loop.iteration(**collecting(loop, red, blue, target=3200))

    update = collect(loop.ctx, state)

    # 8 rounds of 4 episodes of 100 steps; the policy alone (neither has a decomposition).
    assert loop.learner.env_steps == 3200 == update["env_steps"]
    assert {(j.label, j.parts, j.noise, j.steps) for j in loop.executor.jobs} == {
        ("policy", None, 0.0, 400)
    }
    rounds = Counter(j.skill_id for j in loop.executor.jobs)
    assert set(rounds) == {red, blue} and max(rounds.values()) <= 5
    rows = episode_rows(loop)
    assert len(rows) == 32 and {p for _, p, _, _ in rows} == {"collect:policy"}
    assert Counter(k for k, _, _, _ in rows) == {k: 4 * n for k, n in rounds.items()}
    assert {e for _, _, e, _ in rows} == set(range(0, 3200, 400))  # the round's first step
    assert sum(ok for k, _, _, ok in rows if k == red) == 2 * rounds[red]
    assert not any(ok for k, _, _, ok in rows if k == blue)
    # Both tasks are weighted in the learner; it is saved once, at the target.
    assert set(loop.learner.weights.values()) == {1.0} and len(loop.learner.weights) == 2
    assert loop.store.saved == [(3200, 0)]
    assert update["learner_checkpoint_id"] is not None


def test_a_decomposed_skill_collects_along_its_chain_and_a_scripted_demonstration(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(chain_fraction=0.5, noise=0.1)
    with loop.db.session() as s:
        seed_library(s, layout=loop.ctx.layout)
        grasp = skills.find_skill(s, spec=GRASP)
        assert grasp is not None
        task = proposals.record_task(
            s, spec=LIFT, spec_hash=None, instruction="lift the red block",
            experiment_id=loop.ctx.experiment_id,
        )  # fmt: skip
        lift = skills.add_skill(s, spec=LIFT, experiment_id=loop.ctx.experiment_id, task_id=task.id)
        skills.set_status(s, skill_id=lift.id, status="training", decided_by="planner", reason="")
        proposals.record_decomposition(s, task_id=task.id, steps=[
            {"spec": GRASP, "skill_id": grasp.id, "instruction": grasp.instruction},
            {"spec": LIFT, "skill_id": lift.id, "instruction": lift.instruction},
        ])  # fmt: skip

    collect(loop.ctx, loop.iteration(**collecting(loop, lift.id, target=4000)))

    jobs = {j.label: j for j in loop.executor.jobs}
    assert set(jobs) == {"chain", "demo", "policy"}
    chain, demo = jobs["chain"].parts, jobs["demo"].parts
    assert chain is not None and demo is not None
    # The chain: the grasp primitive, then the policy on the skill's own step; the demo
    # scripts the own step too, by the primitive that achieves its atom.
    assert [(p.kind, p.primitive) for p in chain] == [("primitive", "grasp"), ("policy", None)]
    assert [(p.kind, p.primitive) for p in demo] == [("primitive", "grasp"), ("primitive", "lift")]
    assert jobs["chain"].noise == jobs["demo"].noise == 0.1 and jobs["policy"].noise == 0.0
    purposes = Counter(p for _, p, _, _ in episode_rows(loop))
    assert set(purposes) == {"collect:chain", "collect:demo", "collect:policy"}
    assert purposes["collect:policy"] >= purposes["collect:chain"]  # half the data: the policy


def test_collect_redoes_what_the_learner_lost_and_never_saves_it_ahead_of_the_database(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    red = loop.skill(REACH, "training")
    loop.store.saved.append((400, 0))  # the last checkpoint: one round in
    state = loop.iteration(**collecting(loop, red, target=1600))
    loop.collected(red, 0, 400, 800)  # one round the checkpoint holds, two it lacks

    loop.executor.fail_on_round = 1
    with pytest.raises(RuntimeError, match="the arena crashed"):
        collect(loop.ctx, state)
    # The stale rows went; the round that failed is neither recorded nor saved.
    assert [e for _, _, e, _ in episode_rows(loop)] == [0] + [400] * 4
    assert loop.store.drops == 1 and loop.store.saved == [(400, 0)]
    assert loop.learner.env_steps == 400  # reloaded from the last checkpoint

    loop.executor.fail_on_round = None
    collect(loop.ctx, state)  # the daemon's restart: the same node again
    assert [e for _, _, e, _ in episode_rows(loop)] == [0] + [400] * 4 + [800] * 4 + [1200] * 4
    assert loop.store.saved[-1] == (1600, 0)

    before = len(loop.executor.jobs)
    collect(loop.ctx, state)  # at the target already: nothing collected, saved again
    assert len(loop.executor.jobs) == before and loop.store.saved[-1] == (1600, 0)


# --- train --------------------------------------------------------------------------------


def test_train_runs_to_its_target_records_the_figures_and_stops_between_chunks(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    red = loop.skill(REACH, "training")
    loop.learner.env_steps, loop.learner.updates = 2000, 100
    state = loop.iteration(weights={str(red): 1.0}, update_target=700)

    update = train(loop.ctx, state)

    assert loop.learner.updates == 700 and loop.store.saved == [(2000, 700)]
    assert update["env_steps"] == 2000
    with loop.db.reader() as s:
        names = metrics.metric_names(s, experiment_id=loop.ctx.experiment_id)
        points = metrics.metric_points(
            s, experiment_id=loop.ctx.experiment_id, name="train_critic_loss"
        )
    assert {"train_critic_loss", "train_alpha"} <= set(names)
    assert points == [(2000, 1.0 / 700)]  # the newest chunk's figures, at the env steps

    # A stop request is honoured between chunks of 250 updates, and nothing is saved.
    chunks = iter([False, True])
    loop.ctx.should_stop = lambda: next(chunks)
    with pytest.raises(StopRequested):
        train(loop.ctx, loop.iteration(weights={str(red): 1.0}, update_target=1500))
    assert loop.learner.updates == 950 and loop.store.saved == [(2000, 700)]


# --- evaluate -----------------------------------------------------------------------------


def test_evaluate_measures_each_skill_on_fresh_starts_and_confirms_one_at_its_bar(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(
        success={"reach the red block": 1.0, "reach the blue block": 0.3},
        eval_episodes=10, confirm_episodes=50, threshold=0.8,
    )  # fmt: skip
    red, blue = loop.skill(REACH, "training"), loop.skill(REACH_BLUE, "training")
    loop.learner.env_steps = 4000
    with loop.db.session() as s:
        for _ in range(2):
            runs.start_iteration(s, experiment_id=loop.ctx.experiment_id)  # numbers 1 and 2
            finish_current(s, loop)
    state = loop.iteration()  # iteration 3

    update = evaluate(loop.ctx, state)

    seed = 1_000_000 + 3 * 1_000
    assert loop.executor.evaluations == [
        ("reach the red block", 10, seed),
        ("reach the red block", 40, seed + 10),  # at the bar: 50 starts in all
        ("reach the blue block", 10, seed),
    ]
    with loop.db.reader() as s:
        measured = {k: skills.skill_detail(s, skill_id=k).evaluations[0] for k in (red, blue)}
        newest = runs.list_iterations(s, experiment_id=loop.ctx.experiment_id)[0]
        closed = newest.finished_at is not None, newest.summary["line"]
    assert (measured[red].episodes, measured[red].successes) == (50, 50)
    assert (measured[blue].episodes, measured[blue].successes) == (10, 3)
    assert {m.env_steps for m in measured.values()} == {4000}
    line = (
        f"iteration 3: 0 learned, 2 training, 4000 env steps, $0.0000; "
        f"skill {red} 100%, skill {blue} 30%"
    )
    assert update == {"iteration_id": None, "summary": line, "env_steps": 4000}
    assert closed == (True, line)
    assert loop.executor.rollouts == []  # videos every 5 iterations


def test_evaluate_keeps_what_was_measured_and_films_every_few_iterations(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(success={"reach the red block": 0.5}, video_every=1)
    red = loop.skill(REACH, "training")
    state = loop.iteration()

    evaluate(loop.ctx, state)
    evaluate(loop.ctx, state)  # a rerun of the same iteration measures nothing again

    assert loop.executor.evaluations == [("reach the red block", 10, 1_001_000)]
    assert loop.executor.rollouts == [("reach the red block", 1_000_000)]  # filmed once
    with loop.db.reader() as s:
        assert len(skills.skill_detail(s, skill_id=red).evaluations) == 1
        videos = [
            e.video_sha256 for e in s.scalars(select(Episode).where(Episode.purpose == "evaluate"))
        ]
    assert len(videos) == 1 and loop.db.artifacts is not None
    assert videos[0] is not None and loop.db.artifacts.get(videos[0]).startswith(b"GIF89a")
