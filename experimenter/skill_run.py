"""Running a skill as the library says it is executed, for people to watch and measure.

``experimenter skills run`` and ``skills evaluate`` (``commands_skills``). How a skill runs
is the library's own statement of it:

- a *learned* skill is the policy of the experiment that trained it (its learner
  checkpoint, ``<data dir>/experiments/<id>/learner``) under the skill's instruction,
  deterministic actions, for the learner's episode length; success is the task's at the
  last step, as the loop's evaluations measure it (``Learner.evaluate``);
- a *primitive* is its scripted controller, preceded by the lead-in its precondition needs
  (``controllers.skill_exec``);
- a *composite* is its components in order, each until its own success
  (``graph.recipes.composite_parts``), learned components acting through their
  experiment's policy.

A run of scripted or composite parts is a ``Chain`` in a ``BlocksEnv``; success is the
skill's own spec, a few steps after the chain finished (a toppled stack fails). Bad input
(an unknown id, a learned skill without a checkpoint that trained it) is a
``SkillRunRefused`` raised before anything runs or is stored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import skills
from controllers.layout import SceneConfig
from controllers.skill_exec import PartSpec
from experimenter.graph.recipes import composite_parts
from experimenter.learner_store import LearnerStore, learner_dir
from settings import LearnerConfig
from skills.stats import wilson_interval
from storage.enums import SkillKind, SkillStatus
from tasks import TaskSpecError, as_task

if TYPE_CHECKING:  # torch only once a policy is loaded
    from controllers.learner import Learner
    from storage import Database

FRESH_SEED = 10**8
"""First seed of fresh starts: the loop's evaluations use 10^6 + 1,000 an iteration and
collection draws its own, so seeds from here on are starts no policy was judged or trained on
(as in the benchmarks)."""
FRESH_SPAN = 10**9
"""Default seeds are drawn from ``FRESH_SEED`` up to ``FRESH_SEED + FRESH_SPAN``."""
PART_STEPS = 400
"""Control steps allowed per scripted part of a chain: more than a primitive with its
longest lead-in (reach, grasp, move above, place) can take before it times out itself."""
VIDEO_SUFFIXES = (".gif", ".mp4")


class SkillRunRefused(ValueError):
    """The skill cannot be run or evaluated as asked; one line saying why. Nothing ran."""


def fresh_seed() -> int:
    """A seed for fresh starts (episode ``i`` uses ``seed + i``)."""
    return FRESH_SEED + secrets.randbelow(FRESH_SPAN)


@dataclass
class Execution:
    """How one skill runs: its parts (a chain), or its experiment's policy alone."""

    skill: skills.SkillPublic
    spec: dict[str, Any]
    how: str
    """One line for people: what executes the skill."""
    scene: SceneConfig
    parts: tuple[PartSpec, ...] | None = None
    """The chain's parts; None: the policy alone under ``task_id``."""
    learner: Learner | None = None
    task_id: int | None = None

    @property
    def env_steps(self) -> int:
        """The experiment's env steps at its checkpoint (0 without a policy)."""
        return self.learner.env_steps if self.learner is not None else 0

    def close(self) -> None:
        if self.learner is not None:
            self.learner.close()


@dataclass(frozen=True)
class RunReport:
    """How the episodes of a run went."""

    episodes: int
    successes: int
    mean_return: float
    seed: int
    """Episode ``i`` started from ``reset(seed=seed + i)``."""
    video: Path | None

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes

    @property
    def interval(self) -> tuple[float, float]:
        """The Wilson 95 % interval of the success rate."""
        return wilson_interval(self.successes, self.episodes)


def check_video_path(path: Path) -> None:
    """Refuse a video file the renderer cannot write, before anything runs."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise SkillRunRefused(
            f"cannot write a video to {path}: use a file ending in {' or '.join(VIDEO_SUFFIXES)}"
        )


def prepare(
    db: Database, *, home: Path, skill_id: int, device: str = "cpu", evaluate: bool = False
) -> Execution:
    """How skill ``skill_id`` runs, its policy loaded if it needs one.

    Raises ``UnknownSkill`` or ``SkillRunRefused`` (with ``evaluate``: also for a retired
    skill, whose figures no longer matter to anyone)."""
    with db.reader() as s:
        skill = skills.get_skill(s, skill_id=skill_id)
        spec = skills.skill_specs(s, skill_ids=[skill_id])[skill_id]
        if evaluate and skill.status == SkillStatus.RETIRED:
            raise SkillRunRefused(
                f"skill {skill_id} is retired: evaluations are for skills in use "
                f"(`experimenter skills run {skill_id}` still shows it)"
            )
        if skill.kind == SkillKind.PRIMITIVE:
            if skill.primitive is None:
                raise SkillRunRefused(f"primitive skill {skill_id} names no scripted controller")
            args = dict(skill.primitive_args or {})
            part = PartSpec("primitive", spec, skill.primitive, args)
            how = f"scripted primitive {skill.primitive} {args}"
            return Execution(skill, spec, how, SceneConfig(), parts=(part,))
        if skill.kind == SkillKind.COMPOSITE:
            return _composite(s, skill, spec, home=home, device=device)
        learner = _policy(skill, home=home, device=device)
        try:
            task_id = _task_of(learner, spec)
            if task_id is None:
                raise SkillRunRefused(
                    f"skill {skill_id} was never trained by experiment {skill.experiment_id}: "
                    f"its learner checkpoint has no policy for {skill.instruction!r}"
                )
        except BaseException:
            learner.close()
            raise
        how = (
            f"the policy of experiment {skill.experiment_id} ({learner.env_steps} env steps) "
            "under its instruction, deterministic actions"
        )
        return Execution(skill, spec, how, learner.scene, learner=learner, task_id=task_id)


def _composite(
    s: Any, skill: skills.SkillPublic, spec: dict[str, Any], *, home: Path, device: str
) -> Execution:
    """A composite as its components' parts; the experiment's policy only if one needs it."""
    parts = composite_parts(s, skill_id=skill.id, task_ids={})
    if parts is not None:
        how = f"its {len(parts)} part(s) in order, scripted"
        return Execution(skill, spec, how, SceneConfig(), parts=tuple(parts))
    learner = _policy(skill, home=home, device=device) if skill.experiment_id is not None else None
    if learner is not None:
        own = skills.list_skills(
            s, kind=SkillKind.LEARNED, experiment_id=skill.experiment_id, limit=10_000
        )
        specs = skills.skill_specs(s, skill_ids=[k.id for k in own])
        known = {k.id: _task_of(learner, specs[k.id]) for k in own}
        task_ids = {sid: tid for sid, tid in known.items() if tid is not None}
        parts = composite_parts(s, skill_id=skill.id, task_ids=task_ids)
    if parts is None:
        if learner is not None:
            learner.close()
        where = (
            f"experiment {skill.experiment_id}'s checkpoint"
            if skill.experiment_id is not None
            else "the shared library (no experiment trains it)"
        )
        raise SkillRunRefused(
            f"composite skill {skill.id} cannot run: a component is a learned skill with no "
            f"policy in {where}, or components nest deeper than 4"
        )
    assert learner is not None  # parts were found only with the policy
    how = (
        f"its {len(parts)} part(s) in order, learned ones by the policy of experiment "
        f"{skill.experiment_id} ({learner.env_steps} env steps), deterministic actions"
    )
    return Execution(skill, spec, how, learner.scene, parts=tuple(parts), learner=learner)


def _policy(skill: skills.SkillPublic, *, home: Path, device: str) -> Learner:
    """The policy of the skill's experiment, from its newest checkpoint (acting only)."""
    if skill.experiment_id is None:
        raise SkillRunRefused(
            f"skill {skill.id} is a learned skill of the shared library (imported): no "
            "experiment has trained a policy for it here"
        )
    root = learner_dir(home, skill.experiment_id)
    current = LearnerStore(root, LearnerConfig()).current
    if current is None or not (current / "learner.pt").exists():
        raise SkillRunRefused(
            f"experiment {skill.experiment_id} of skill {skill.id} has no learner checkpoint "
            f"in {root} (is --data-dir the experiment's data directory?)"
        )
    from controllers.learner import Learner  # torch only now

    try:
        return Learner.load_policy(current, device=device)
    except (OSError, RuntimeError, KeyError, ValueError) as e:
        raise SkillRunRefused(f"cannot load the learner checkpoint {current}: {e}") from None


def _task_of(learner: Learner, spec: dict[str, Any]) -> int | None:
    """The learner's task for ``spec``, or None when it never trained on it."""
    try:
        return learner.tasks.id_of(as_task(spec, learner.layout))
    except (KeyError, TaskSpecError):
        return None


def run(
    execution: Execution,
    *,
    episodes: int,
    seed: int,
    video: Path | None = None,
    camera: str = "front",
    size: int = 256,
) -> RunReport:
    """Run ``episodes`` episodes from the starts of seeds ``seed``, ``seed + 1``, ...; with
    ``video``, the first episode is rendered from ``camera`` to that GIF or MP4 file."""
    if episodes < 1:
        raise SkillRunRefused(f"episodes must be at least 1, got {episodes}")
    if video is not None:
        check_video_path(video)
    if execution.parts is None:
        successes, mean_return, frames, fps = _run_policy(
            execution, episodes=episodes, seed=seed, film=video is not None, camera=camera,
            size=size,
        )  # fmt: skip
    else:
        successes, mean_return, frames, fps = _run_chain(
            execution, episodes=episodes, seed=seed, film=video is not None, camera=camera,
            size=size,
        )  # fmt: skip
    written = None
    if video is not None:
        from controllers.render import save_video

        written = save_video(frames, video, fps=fps)
    return RunReport(episodes, successes, mean_return, seed, written)


def _run_policy(
    ex: Execution, *, episodes: int, seed: int, film: bool, camera: str, size: int
) -> tuple[int, float, list[np.ndarray], int]:
    """The policy alone: measured as the loop measures it; the first start filmed."""
    from controllers.env import BlocksEnv
    from controllers.render import Camera

    learner, task_id = ex.learner, ex.task_id
    assert learner is not None and task_id is not None
    result = learner.evaluate(task_id, episodes, seed=seed)
    frames: list[np.ndarray] = []
    fps = 0
    if film:
        steps = learner.cfg.episode_steps
        env = BlocksEnv(ex.spec, scene=learner.scene, max_episode_steps=steps)
        fps = round(env.metadata["render_fps"])
        cam = Camera(env.physics.model, camera, size, size)
        try:
            obs, _ = env.reset(seed=seed)
            frames.append(cam.render(env.data))
            for _ in range(steps):
                action = learner.act(obs[None], np.array([task_id]), deterministic=True)[0]
                obs, *_ = env.step(action)
                frames.append(cam.render(env.data))
        finally:
            cam.close()
            env.close()
    return result.successes, result.mean_return, frames, fps


def _run_chain(
    ex: Execution, *, episodes: int, seed: int, film: bool, camera: str, size: int
) -> tuple[int, float, list[np.ndarray], int]:
    """The parts in a chain, a fresh one each episode; the first episode filmed."""
    from controllers.chain import run_chain
    from controllers.env import BlocksEnv
    from controllers.render import Camera
    from controllers.skill_exec import build_run

    parts = ex.parts
    assert parts is not None
    learner = ex.learner
    policy_timeout = learner.cfg.episode_steps if learner is not None else 100

    def policy(obs: np.ndarray, task_id: int) -> np.ndarray:
        assert learner is not None  # policy parts exist only with the experiment's policy
        return learner.act(obs[None], np.array([task_id]), deterministic=True)[0]

    max_steps = sum(PART_STEPS if p.kind == "primitive" else policy_timeout for p in parts)
    env = BlocksEnv(ex.spec, scene=ex.scene, max_episode_steps=max_steps + 10)
    successes, total = 0, 0.0
    frames: list[np.ndarray] = []
    try:
        for i in range(episodes):
            cam = Camera(env.physics.model, camera, size, size) if film and i == 0 else None
            chain = build_run(
                parts, env.layout, policy=policy if learner is not None else None,
                policy_timeout=policy_timeout,
            )  # fmt: skip
            try:
                result = run_chain(env, chain, seed=seed + i, max_steps=max_steps, camera=cam)
            finally:
                if cam is not None:
                    cam.close()
            successes += result.success
            total += float(result.rewards.sum())
            if cam is not None:
                frames = result.frames
    finally:
        env.close()
    return successes, total / episodes, frames, round(env.metadata["render_fps"])
