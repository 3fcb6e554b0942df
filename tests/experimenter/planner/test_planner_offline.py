"""The offline backend: a sensible curriculum, sound verdicts, staged decompositions, fast."""

from __future__ import annotations

from typing import Any

from planner_helpers import OBJECTS, STACK, curve, spec

from experimenter.planner import (
    AnalyzeInput,
    CurvePoint,
    DecomposeInput,
    LibrarySkill,
    Planner,
    ProposeInput,
    Rejection,
    SkillProgress,
)
from experimenter.planner.backends.offline import OfflineBackend
from tasks import validate

STACK3 = spec(
    [("on", "red", "blue"), ("released", "red")], [("on", "green", "red"), ("released", "green")]
)
RELATIONS = {"above", "near", "left_of", "right_of", "in_front_of", "behind"}


def difficulty(s: dict[str, Any]) -> tuple[str, int]:
    """(moved object, level) by a reading of the spec independent of the curriculum code."""
    stages = s["stages"]
    preds = {a["pred"] for st in stages for a in st["all"]}
    first = stages[0]["all"][0]["args"][0]
    if len(stages) > 1:
        return first, 5
    if "on" in preds:
        return first, 4
    if preds & RELATIONS:
        return first, 3
    return first, {"reach": 0, "grasped": 1, "lifted": 2}[preds.pop()]


def run_curriculum(goal: dict[str, Any] | None, count: int, rounds: int) -> list[list[str]]:
    """Rounds of proposals, every proposal then trained and learned; checks each round."""
    planner = Planner(OfflineBackend())
    library: list[LibrarySkill] = []
    history = []
    for _ in range(rounds):
        inp = ProposeInput(objects=OBJECTS, library=library, goal=goal, count=count)
        proposals = planner.propose(inp).value.proposals
        if not proposals:
            break
        known = {validate(s.spec, OBJECTS).spec_hash() for s in library}
        learned_level: dict[str, int] = {}
        for s in library:
            obj, lvl = difficulty(s.spec)
            learned_level[obj] = max(lvl, learned_level.get(obj, -1))
        for p in proposals:
            parsed = validate(p.spec, OBJECTS)  # valid
            assert parsed.spec_hash() not in known, f"{p.instruction} is not new"
            obj, lvl = difficulty(p.spec)
            assert lvl <= learned_level.get(obj, -1) + 1 or lvl == 5, (
                f"{p.instruction} (level {lvl}) is more than one step above what is learned"
            )
            assert "not a vision-language model" in p.rationale
        library += [
            LibrarySkill(instruction=p.instruction, spec=p.spec, status="learned")
            for p in proposals
        ]
        history.append([p.instruction for p in proposals])
    return history


def test_proposals_climb_the_ladder_one_step_at_a_time() -> None:
    history = run_curriculum(goal=None, count=3, rounds=40)
    assert history[0] == ["reach the red block", "reach the green block", "reach the blue block"]
    flat = [i for r in history for i in r]
    assert flat.index("grasp the red block") < flat.index("lift the red block")
    assert flat.index("lift the red block") < flat.index("put the red block left of the blue block")
    assert flat.index("hold the red block above the blue block") < flat.index(
        "stack the red block on the blue block"
    )
    assert (
        "stack the red block on the blue block, then stack the green block on the red block" in flat
    )
    assert len(flat) == len(set(flat))  # nothing proposed twice


def test_an_open_ended_run_climbs_to_stacking_before_the_side_relations() -> None:
    flat = [i for r in run_curriculum(goal=None, count=2, rounds=40) for i in r]
    first_stack = flat.index("stack the red block on the blue block")
    sides = [i for i, w in enumerate(flat) if " near " in w or " left of " in w]
    towers = [i for i, w in enumerate(flat) if ", then " in w]
    assert sides and towers and first_stack < min(sides) and max(sides) < min(towers)
    assert first_stack < 20  # reach, grasp, lift three blocks; hold above six pairs


def test_a_goal_steers_the_proposals_and_is_proposed_when_within_reach() -> None:
    goal = STACK3
    history = run_curriculum(goal=goal, count=2, rounds=12)
    flat = [i for r in history for i in r]
    goal_words = (
        "stack the red block on the blue block, then stack the green block on the red block"
    )
    assert goal_words in flat
    before_goal = flat[: flat.index(goal_words)]
    # Only what the goal needs: nothing about moving blue, no side relations.
    assert not [i for i in before_goal if "left of" in i or "near" in i or "lift the blue" in i]
    assert len(before_goal) == 10  # reach, grasp, lift red and green; above and stack twice


def test_a_goal_directed_run_spends_no_slot_off_the_goals_path_until_it_is_blocked() -> None:
    planner = Planner(OfflineBackend())

    def words(library: list[LibrarySkill]) -> list[str]:
        inp = ProposeInput(objects=OBJECTS, library=library, goal=STACK, count=2)
        return [p.instruction for p in planner.propose(inp).value.proposals]

    reach = LibrarySkill(instruction="reach the red block", spec=spec([("reach", "red")]),
                         status="training")  # fmt: skip
    # Reaching red is the only open step towards stacking red: the second slot stays free
    # (it would otherwise go to reaching green or blue).
    assert words([]) == ["reach the red block"]
    assert words([reach]) == []
    grasp = LibrarySkill(instruction="grasp the red block", spec=spec([("grasped", "red")]),
                         status="training")  # fmt: skip
    learned = reach.model_copy(update={"status": "learned"})
    assert words([learned, grasp]) == []
    # Grasping red failed: the path is blocked, so the goal trains itself, on its
    # decomposition's data, and another rung grows the library (a failed rung is retried
    # once something new is learned).
    failed = grasp.model_copy(update={"status": "failed"})
    assert words([learned, failed]) == [
        "stack the red block on the blue block", "reach the green block"
    ]  # fmt: skip
    # The goal training while its path is blocked: other rungs keep growing the library.
    goal = LibrarySkill(instruction="stack the red block on the blue block", spec=STACK,
                        status="training")  # fmt: skip
    assert words([learned, failed, goal]) == ["reach the green block", "reach the blue block"]
    # Everything the goal needs learned: the goal alone, nothing beside it.
    path = [
        LibrarySkill(instruction=w, spec=spec([atom]), status="learned")
        for w, atom in [
            ("reach the red block", ("reach", "red")), ("grasp the red block", ("grasped", "red")),
            ("lift the red block", ("lifted", "red")),
            ("hold the red block above the blue block", ("above", "red", "blue")),
        ]
    ]  # fmt: skip
    assert words(path) == ["stack the red block on the blue block"]
    assert words([*path, goal]) == []


def test_rejected_proposals_are_not_repeated() -> None:
    planner = Planner(OfflineBackend())
    inp = ProposeInput(
        objects=OBJECTS, rejections=[Rejection(instruction="reach the red block", reason="no")]
    )
    words = [p.instruction for p in planner.propose(inp).value.proposals]
    assert "reach the red block" not in words and "reach the green block" in words


def test_verdicts_follow_level_and_slope() -> None:
    inp = AnalyzeInput(
        skills=[
            curve(1, "reach", [0.5, 0.85, 0.9]),
            curve(2, "lift", [0.0, 0.1, 0.3, 0.5]),
            curve(3, "stack", [0.2, 0.21, 0.2, 0.19, 0.2]),
            curve(4, "above", [0.1]),
        ]
    )
    value = Planner(OfflineBackend()).analyze(inp).value.by_skill()
    assert [value[i].verdict for i in range(1, 5)] == [
        "learned", "improving", "stalled", "improving",
    ]  # fmt: skip
    assert "level 20%" in value[3].reason and value[4].confidence < value[3].confidence


def test_a_slow_steady_climb_is_not_stalled() -> None:
    # "stack the green block on the red block" in a tower run (10-episode evaluations every
    # 2,400 env steps): failed as stalled at 31k env steps, "rise -6 % over the last 4
    # evaluations", though it had climbed from 0 to 40-50 %.
    rates = [0.0, 0.0, 0.1, 0.0, 0.0, 0.1, 0.3, 0.1, 0.3, 0.5, 0.4, 0.5, 0.4]
    points = [CurvePoint(env_steps=2_400 * (i + 1), success_rate=r) for i, r in enumerate(rates)]
    inp = AnalyzeInput(skills=[SkillProgress(skill_id=1, instruction="stack", points=points)])
    judged = Planner(OfflineBackend()).analyze(inp).value.by_skill()[1]
    assert judged.verdict == "improving", judged.reason
    # Flat for the whole later half: stalled.
    flat = [0.0, 0.1, 0.3, 0.4, 0.3, 0.4, 0.3, 0.4, 0.3, 0.3, 0.4, 0.3, 0.3]
    points = [CurvePoint(env_steps=2_400 * (i + 1), success_rate=r) for i, r in enumerate(flat)]
    inp = AnalyzeInput(skills=[SkillProgress(skill_id=1, instruction="stack", points=points)])
    assert Planner(OfflineBackend()).analyze(inp).value.by_skill()[1].verdict == "stalled"


def test_a_skill_with_its_own_bar_is_judged_against_it() -> None:
    # The goal at 85-86 % with --goal-threshold 0.9 is not learned (the run's 80 % would
    # say it is); another skill at the same numbers is.
    goal = curve(1, "stack", [0.6, 0.85, 0.86]).model_copy(update={"threshold": 0.9})
    inp = AnalyzeInput(skills=[goal, curve(2, "lift", [0.6, 0.85, 0.86])], threshold=0.8)
    value = Planner(OfflineBackend()).analyze(inp).value.by_skill()
    assert value[1].verdict == "improving"
    assert value[2].verdict == "learned"


def test_decomposition_follows_the_stages_with_lead_in_steps() -> None:
    planner = Planner(OfflineBackend())
    answer = planner.decompose(
        DecomposeInput(objects=OBJECTS, task=STACK3, instruction="build a tower")
    ).value
    assert [s.instruction for s in answer.subtasks] == [
        "grasp the red block",
        "hold the red block above the blue block",
        "stack the red block on the blue block",
        "grasp the green block",
        "hold the green block above the red block",
        "stack the green block on the red block",
    ]
    short = planner.decompose(
        DecomposeInput(objects=OBJECTS, task=STACK3, instruction="tower", max_subtasks=2)
    ).value
    assert [s.instruction for s in short.subtasks] == [
        "stack the red block on the blue block",
        "stack the green block on the red block",
    ]


def test_holding_above_starts_from_the_lifted_block() -> None:
    # The composite collects the "above" skill's data from where "lift" ends: the block in
    # the air, so that its policy only has to carry it across.
    above = spec([("above", "red", "blue")])
    answer = (
        Planner(OfflineBackend())
        .decompose(DecomposeInput(objects=OBJECTS, task=above, instruction="hold it above"))
        .value
    )
    assert [s.instruction for s in answer.subtasks] == [
        "lift the red block",
        "hold the red block above the blue block",
    ]
