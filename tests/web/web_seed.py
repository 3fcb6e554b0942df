"""A realistic experimenter database, built through the real storage and skills functions.

Three experiments (running, paused, finished); skills in every status and kind with
evaluation histories; planner decisions of every outcome with their images (learning curves
drawn by the planner's own function, a scene picture); proposals with decompositions, two of
them waiting for review; metric series; an evaluation rollout with a GIF; episodes collected
by Ray workers and in process; a handled command.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image, ImageDraw
from stored_configs import STORED_BY_RUN

import skills
from settings import LoopSettings
from skills.plots import Curve, learning_curves_png
from storage import Database, artifacts, decisions, episodes, metrics, proposals, runs
from storage.commands import claim_command, enqueue_command, finish_command


@dataclass
class Seeded:
    """Ids of what the seed made, for the tests to look up."""

    running: int = 0
    paused: int = 0
    finished: int = 0
    skill: dict[str, int] = field(default_factory=dict)
    waiting: list[int] = field(default_factory=list)
    decided: int = 0
    decision: dict[str, int] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    video: str = ""


def _spec(*stages: list[tuple[str, list[str]]]) -> dict:
    return {"stages": [{"all": [{"pred": p, "args": a} for p, a in st]} for st in stages]}


def scene_png() -> bytes:
    """A small top view of the table: three coloured cubes."""
    im = Image.new("RGB", (256, 256), (222, 214, 196))
    d = ImageDraw.Draw(im)
    cubes = {(60, 90): (200, 40, 40), (150, 150): (40, 160, 60), (190, 60): (40, 70, 200)}
    for (x, y), colour in cubes.items():
        d.rectangle([x, y, x + 34, y + 34], fill=colour, outline=(30, 30, 30))
    d.rectangle([110, 20, 140, 40], outline=(60, 60, 60), width=3)  # the gripper
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def rollout_gif(frames: int = 8) -> bytes:
    """A tiny animation: the red cube moving onto the blue one."""
    images = []
    for i in range(frames):
        im = Image.new("RGB", (160, 120), (230, 226, 215))
        d = ImageDraw.Draw(im)
        d.rectangle([100, 80, 124, 104], fill=(40, 70, 200))
        x = 20 + i * 10
        y = 80 - min(i, frames // 2) * 6 + max(0, i - frames // 2) * 2
        d.rectangle([x, y, x + 24, y + 24], fill=(200, 40, 40))
        images.append(im)
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=120, loop=0)
    return buf.getvalue()


REACH = _spec([("reach", ["red"])])
GRASP = _spec([("grasped", ["red"])])
LIFT = {"stages": [{"all": [{"pred": "lifted", "args": ["red"], "height": 0.1}]}]}
ABOVE = _spec([("grasped", ["red"])], [("above", ["red", "blue"])])
STACK = _spec([("on", ["red", "blue"])])
NEAR = {"stages": [{"all": [{"pred": "near", "args": ["green", "blue"], "distance": 0.08}]}]}
LEFT = _spec([("left_of", ["green", "red"])])
STACK3 = _spec([("on", ["red", "blue"])], [("on", ["green", "red"])])
BEHIND = _spec([("behind", ["blue", "green"])])
RELEASE_G = _spec([("grasped", ["green"])], [("on_table", ["green"]), ("released", ["green"])])


RAY_WORKERS = ("5e1f0a2b3c4d/9a8b7c6d5e4f", "7d3c2b1a0f9e/1f2e3d4c5b6a")
"""Ray workers' names (``node/actor`` ids) as the executor records them."""


def seed(db: Database) -> Seeded:
    """Fill ``db`` (migrated, empty) with a realistic history; returns the ids."""
    assert db.artifacts is not None
    out = Seeded()
    with db.session() as s:
        run = runs.create_experiment(
            s, name="stack-red-on-blue", planner_backend="gemini",
            goal="stack the red block on the blue block", goal_spec=STACK,
            budgets={"env_steps": 2_000_000, "hours": 24, "usd": 5.0},  # as the daemon writes them
            config={**STORED_BY_RUN, "review": True, "max_env_steps": 2_000_000,
                    "max_hours": 24, "max_usd": 5.0},  # as experimenter run stored them
        )  # fmt: skip
        ablation = LoopSettings(max_env_steps=500_000, seed_skills="none")
        paused = runs.create_experiment(
            s, name="push-ablation", planner_backend="offline", budgets=ablation.budgets(),
            config=ablation.model_dump(mode="json"),
        )  # fmt: skip
        done = runs.create_experiment(s, name="reach-warmup", planner_backend="offline")
        out.running, out.paused, out.finished = run.id, paused.id, done.id
        runs.set_experiment_status(s, experiment_id=paused.id, status="paused")
        runs.set_experiment_status(s, experiment_id=done.id, status="finished")
        runs.set_experiment_status(s, experiment_id=run.id, status="running")
        runs.heartbeat(s, experiment_id=run.id, env_steps=640_000, wall_seconds=5_400, dollars=0.41)
        runs.heartbeat(s, experiment_id=paused.id, env_steps=120_000, dollars=0.0)
        iteration_ids = []
        for n in range(1, 7):
            it = runs.start_iteration(s, experiment_id=run.id)
            iteration_ids.append(it.id)
            if n < 6:
                runs.finish_iteration(
                    s, iteration_id=it.id, env_steps=n * 100_000,
                    summary={"node": "evaluate", "line": f"iteration {n}: {n} learned, 3 training"},
                )  # fmt: skip
            else:
                it.summary = {"node": "collect"}
        for step in range(0, 200):
            metrics.record_metrics(
                s, experiment_id=run.id, step=step * 3_200,
                values={"critic_loss": 2.0 / (1 + step / 20), "alpha": 0.2 * 0.99**step,
                        "return": min(1.0, step / 150)},
            )  # fmt: skip

        # Decisions with the images the planner was shown.
        curves = [
            Curve("4: lift the red block", [50_000, 100_000, 150_000], [0.1, 0.45, 0.7]),
            Curve("7: hold the red block above the blue block", [100_000, 150_000], [0.05, 0.2]),
        ]
        png_curves = artifacts.save_artifact(
            s, store=db.artifacts, data=learning_curves_png(curves, threshold=0.8),
            media_type="image/png", name="learning_curves.png",
        )  # fmt: skip
        png_scene = artifacts.save_artifact(
            s, store=db.artifacts, data=scene_png(), media_type="image/png", name="scene.png"
        )
        out.images = [png_curves.sha256, png_scene.sha256]
        analyze = decisions.record_decision(
            s, kind="analyze", backend="gemini", model="gemini-2.5-flash",
            prompt="You are running a robot-learning experiment. Judge each skill in training:\n"
            "- 4: lift the red block (success 10%, 45%, 70%)\n- 7: hold the red block above ...",
            response='{"skills": [{"skill_id": 4, "verdict": "improving"}]}',
            parsed={"skills": [{"skill_id": 4, "verdict": "improving", "reason": "rising"}]},
            valid=True, tokens_in=1132, tokens_out=160, dollars=0.0007, latency_s=2.31,
            images=out.images, experiment_id=run.id, iteration_id=iteration_ids[-1],
        )  # fmt: skip
        propose = decisions.record_decision(
            s, kind="propose", backend="gemini", model="gemini-2.5-flash",
            prompt="Propose up to 3 new tasks for the robot. Library: reach, grasp, lift red ...",
            response='{"tasks": [...]}', parsed={"tasks": [{"wording": "stack red on blue"}]},
            valid=True, tokens_in=2824, tokens_out=240, dollars=0.0015, latency_s=3.9,
            images=[png_scene.sha256], experiment_id=run.id, iteration_id=iteration_ids[-1],
        )  # fmt: skip
        decompose = decisions.record_decision(
            s, kind="decompose", backend="gemini", model="gemini-2.5-flash",
            prompt="Decompose: stack the red block on the blue block", response="{...}",
            parsed={"subtasks": 3}, valid=True, tokens_in=2492, tokens_out=320, dollars=0.0016,
            latency_s=4.2, experiment_id=run.id,
        )  # fmt: skip
        invalid = decisions.record_decision(
            s, kind="propose", backend="gemini", model="gemini-2.5-flash",
            prompt="Propose up to 3 new tasks ...", response="Sure! Here are some tasks: ...",
            valid=False, tokens_in=2800, tokens_out=90, dollars=0.001, latency_s=2.0,
            experiment_id=run.id,
        )  # fmt: skip
        failed = decisions.record_decision(
            s, kind="analyze", backend="gemini", model="gemini-2.5-flash",
            prompt="Judge each skill in training ...", valid=False,
            error="429 RESOURCE_EXHAUSTED after 3 retries; the offline rules answered instead",
            latency_s=7.5, experiment_id=run.id,
        )  # fmt: skip
        cached = decisions.record_decision(
            s, kind="analyze", backend="gemini", model="gemini-2.5-flash",
            prompt="Judge each skill in training ...", response="{}", parsed={"skills": []},
            valid=True, cache_hit=True, experiment_id=run.id,
        )  # fmt: skip
        out.decision = {
            "analyze": analyze.id, "propose": propose.id, "decompose": decompose.id,
            "invalid": invalid.id, "error": failed.id, "cached": cached.id,
        }  # fmt: skip

        # The library: primitives (learned), learned skills, training, failed, retired, ...
        k = out.skill
        k["reach"] = skills.add_skill(
            s, spec=REACH, kind="primitive", primitive="reach", primitive_args={"obj": "red"},
            status="learned", decided_by="person", actor="seed", reason="scripted primitive",
        ).id  # fmt: skip
        k["grasp"] = skills.add_skill(
            s, spec=GRASP, kind="primitive", primitive="grasp", primitive_args={"obj": "red"},
            status="learned", decided_by="person", actor="seed", reason="scripted primitive",
        ).id  # fmt: skip
        accepted = proposals.record_task(
            s, spec=STACK, spec_hash=None, instruction="put the red block on the blue block",
            wording="stack red on blue", reason="the goal; grasping and lifting are learned",
            status="accepted", decision_id=propose.id, experiment_id=run.id,
        )  # fmt: skip
        out.decided = accepted.id
        for name, spec, wording in [
            ("lift", LIFT, "pick the red cube up"),
            ("above", ABOVE, "hold red over blue"),
            ("stack", STACK, "stack red on blue"),
            ("near", NEAR, "move green next to blue"),
            ("left", LEFT, "green to the left of red"),
        ]:
            k[name] = skills.add_skill(
                s, spec=spec, wording=wording, experiment_id=run.id, task_id=accepted.id,
                decision_id=propose.id, reason="proposed for the goal",
            ).id  # fmt: skip
        k["stack3"] = skills.add_skill(
            s, spec=STACK3, wording="a tower of three", experiment_id=run.id, status="proposed"
        ).id
        k["behind"] = skills.add_skill(s, spec=BEHIND, experiment_id=done.id).id
        k["release"] = skills.add_skill(s, spec=RELEASE_G, experiment_id=done.id).id
        k["composite"] = skills.add_skill(
            s, spec=_spec([("grasped", ["red"])], [("lifted", ["red"])]), kind="composite",
            components=[k["grasp"], k["lift"]], experiment_id=run.id, parent_id=k["stack"],
        ).id  # fmt: skip
        for name in ("lift", "above", "stack", "near", "left", "behind", "release"):
            skills.set_status(
                s, skill_id=k[name], status="training", decided_by="planner",
                reason="accepted proposal", decision_id=propose.id,
            )  # fmt: skip
        curves_by_skill = {
            "reach": [0.9, 0.95, 1.0],
            "grasp": [0.8, 0.9, 0.95],
            "lift": [0.1, 0.45, 0.7, 0.85],
            "above": [0.05, 0.2, 0.35],
            "stack": [0.0, 0.05, 0.1],
            "near": [0.2, 0.5, 0.9, 0.95],
            "left": [0.1, 0.1, 0.05, 0.1],
            "behind": [0.3, 0.7, 0.9],
            "release": [0.0, 0.0, 0.05],
        }
        for name, rates in curves_by_skill.items():
            exp_id = done.id if name in ("behind", "release") else run.id
            for i, r in enumerate(rates):
                skills.record_evaluation(
                    s, skill_id=k[name], episodes=20, successes=round(r * 20),
                    env_steps=(i + 1) * 50_000, experiment_id=exp_id, mean_return=r * 0.9,
                )  # fmt: skip
        skills.set_status(
            s, skill_id=k["near"], status="learned", decided_by="numbers",
            reason="95% over 20 episodes passes the 80% threshold",
        )  # fmt: skip
        skills.set_status(
            s, skill_id=k["left"], status="failed", decided_by="planner",
            reason="stalled at 10% for 150k steps", decision_id=analyze.id,
        )  # fmt: skip
        skills.set_status(s, skill_id=k["behind"], status="learned", decided_by="numbers",
                          reason="90% passes 80%")  # fmt: skip
        skills.set_status(s, skill_id=k["behind"], status="retired", decided_by="person",
                          actor="ana", reason="superseded by a finer spec")  # fmt: skip
        skills.set_status(s, skill_id=k["release"], status="failed", decided_by="planner",
                          reason="no progress")  # fmt: skip

        proposals.record_decomposition(
            s, task_id=accepted.id,
            steps=[
                {"spec": GRASP, "instruction": "grasp the red block", "skill_id": k["grasp"],
                 "matched_existing": True, "score": 0.97},
                {"spec": ABOVE, "instruction": "hold the red block above the blue block",
                 "skill_id": k["above"], "matched_existing": False},
                {"spec": STACK, "instruction": "put the red block on the blue block",
                 "skill_id": k["stack"], "matched_existing": False},
            ],
        )  # fmt: skip
        proposals.record_task(
            s, spec=LEFT, spec_hash=None, instruction="put the green block left of the red block",
            reason="spatial relations next", status="duplicate",
            verdict="the library has it already: skill left", experiment_id=run.id,
        )  # fmt: skip
        proposals.record_task(
            s, spec=None, spec_hash=None, instruction=None, wording="juggle the blocks",
            reason="fun", status="invalid", verdict="unknown predicate 'juggle'",
            experiment_id=run.id, decision_id=invalid.id,
        )  # fmt: skip
        for spec, instruction, wording, reason in [
            (STACK3, "put the red block on the blue block, then put the green block on the "
             "red block", "build a tower of three", "stacking two is improving; next rung"),
            (BEHIND, "put the blue block behind the green block", "blue behind green",
             "spatial relations are learned quickly"),
        ]:  # fmt: skip
            task = proposals.record_task(
                s, spec=spec, spec_hash=None, instruction=instruction, wording=wording,
                reason=reason, decision_id=propose.id, experiment_id=run.id,
                iteration_id=iteration_ids[-1],
            )  # fmt: skip
            out.waiting.append(task.id)
        proposals.record_decomposition(
            s, task_id=out.waiting[0],
            steps=[
                {"spec": STACK, "instruction": "put the red block on the blue block",
                 "skill_id": k["stack"], "matched_existing": True, "score": 1.0},
                {"spec": _spec([("on", ["green", "red"])]),
                 "instruction": "put the green block on the red block"},
            ],
        )  # fmt: skip

        video = artifacts.save_artifact(
            s, store=db.artifacts, data=rollout_gif(), media_type="image/gif", name="lift.gif"
        )
        out.video = video.sha256
        episodes.record_episode(
            s, steps=60, total_return=41.0, success=True, purpose="evaluate", seed=3,
            skill_id=k["lift"], video_sha256=video.sha256, experiment_id=run.id,
        )  # fmt: skip
        # Collection rounds: two Ray workers, on two nodes, took turns for the running
        # experiment; the paused one collected in process.
        for worker, first, each in ((RAY_WORKERS[0], 0, 100), (RAY_WORKERS[1], 80_000, 50)):
            for env_step in range(first, 500_000, 160_000):
                for _ in range(8):
                    episodes.record_episode(
                        s, steps=each, total_return=1.0, success=False, experiment_id=run.id,
                        env_step=env_step, worker=worker,
                    )  # fmt: skip
        for _ in range(10):
            episodes.record_episode(
                s, steps=100, total_return=0.0, success=False, experiment_id=paused.id,
                env_step=0, worker="inprocess",
            )  # fmt: skip
        enqueue_command(
            s, kind="goal", payload={"goal": "stack the red block on the blue block"},
            experiment_id=run.id, created_by="cli",
        )  # fmt: skip
        enqueue_command(s, kind="pause", experiment_id=paused.id, created_by="dashboard")
    for daemon in ("daemon-3", "daemon-7"):
        with db.session() as s:
            cmd = claim_command(s, claimed_by=daemon)
            assert cmd is not None
            finish_command(s, command_id=cmd.id, result={"ok": True})
    return out
