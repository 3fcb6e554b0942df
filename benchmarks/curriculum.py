"""Does the experimenter's curriculum beat training the goal directly? Three arms, one goal.

Goal: "stack the red block on the blue block". Every arm uses the same learner
(``LearnerConfig`` from the flags), the same env-step budget and the same evaluation
(deterministic actions, fixed seeds, the goal's own success at the last step):

- ``experimenter``: the daemon with the offline planner (``experimenter run --goal ...``,
  scripted primitives seeded in the library); the goal's skill is evaluated by the loop
  once it trains;
- ``direct``: the goal task alone, the policy collecting its own data;
- ``scripted``: the goal task alone, with the scripted data the experimenter's primitives
  produce (``chain_fraction`` of the rounds run the scripted stacking chain, with the
  loop's action noise): what the experimenter adds beyond that data is its curriculum;
- ``uniform``: the policy collecting for tasks drawn uniformly from the task grammar (every
  rung of the offline planner's ladder, the goal included), trained on all of them.

Reports env steps and wall time until the goal first reaches ``--target`` success, the
learning curves (``curriculum.png``), and for the experimenter the fraction of wall time
spent planning (monitor, analyze, propose and decompose nodes; goal < 5 %).

Usage: ``python benchmarks/curriculum.py [--env-steps 300000] [--arms experimenter direct]
[--json]``; a short check: ``--env-steps 4000 --hidden 64 64 --eval-every 2000``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from controllers.learner import Learner, LearnerConfig
from controllers.tasks import as_task
from experimenter.graph.settings import LoopSettings

GOAL = "stack the red block on the blue block"
PLANNING = ("monitor", "analyze", "propose", "decompose")
"""Nodes that ask the planner or prepare its questions (plan only sets training weights, and
loads the learner on first use, so it counts with learning; review waits for a person)."""


@dataclass
class Arm:
    name: str
    curve: list[tuple[int, float]] = field(default_factory=list)
    """(env steps, goal success rate) at each evaluation."""
    seconds: float = 0.0
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    planning_fraction: float | None = None
    note: str = ""
    node_seconds: dict[str, float] = field(default_factory=dict)
    """Experimenter only: wall seconds per graph node."""


def _mark(arm: Arm, steps: int, rate: float, target: float, t0: float) -> None:
    arm.curve.append((steps, rate))
    if arm.steps_to_target is None and rate >= target:
        arm.steps_to_target, arm.seconds_to_target = steps, time.perf_counter() - t0


def run_policy_arm(
    name: str,
    tasks: Sequence[str | dict],
    cfg: LearnerConfig,
    a: argparse.Namespace,
    scripted: float = 0.0,
):
    """``direct`` and ``uniform``: the policy collects for the tasks (uniform weights).

    ``scripted``: that fraction of the collection rounds runs the scripted stacking chain
    (the primitives the experimenter's library is seeded with, its action noise) instead,
    so that the goal trained directly sees the scripted data the experimenter collects.
    """
    from controllers.primitives import Chain, stack_chain

    arm = Arm(name)
    learner = Learner(cfg)
    ids = [learner.add_task(t) for t in tasks]
    goal = learner.add_task(GOAL)
    learner.set_weights(dict.fromkeys(ids, 1.0))
    rng = random.Random(cfg.seed)
    noise = LoopSettings().noise
    t0 = time.perf_counter()
    next_eval = a.eval_every
    while learner.env_steps < a.env_steps:
        chunk = cfg.num_envs * cfg.episode_steps
        if scripted and rng.random() < scripted:
            chain = lambda: Chain(stack_chain(learner.layout))  # noqa: E731
            stats = learner.collect(chunk, chain=chain, noise=noise)
        else:
            stats = learner.collect(chunk)
        if learner.env_steps >= cfg.random_steps // 2:
            learner.update(max(1, int(stats.env_steps * a.updates_per_step)))
        if learner.env_steps >= next_eval:
            next_eval += a.eval_every
            r = learner.evaluate(goal, a.eval_episodes)
            _mark(arm, learner.env_steps, r.success_rate, a.target, t0)
            if arm.steps_to_target is not None:
                break
    arm.seconds = time.perf_counter() - t0
    learner.close()
    return arm


def grammar_tasks() -> list[dict]:
    """Every rung of the offline planner's ladder for three cubes (the goal among them)."""
    from experimenter.planner.curriculum import ladder

    return [r.spec for r in ladder(("red", "green", "blue"))]


def run_experimenter_arm(cfg: LearnerConfig, a: argparse.Namespace, home: Path) -> Arm:
    """The daemon in this process, offline planner, the goal given; curve from the DB."""
    import skills
    from experimenter.daemon import Daemon
    from experimenter.planner import PlannerSettings
    from experimenter.status import graph_position
    from storage import open_database

    arm = Arm("experimenter")
    db = open_database(home=home)
    settings = LoopSettings(
        goal=GOAL, max_env_steps=a.env_steps, collect_steps=a.eval_every,
        updates_per_step=a.updates_per_step, eval_episodes=a.eval_episodes,
        threshold=a.target, learner={**cfg.to_dict(), "hidden": list(cfg.hidden)},
    )  # fmt: skip
    daemon = Daemon(
        db, home=home, name="curriculum", settings=settings,
        planner_settings=PlannerSettings(backend="offline"), progress=False, threads=a.threads,
    )  # fmt: skip
    t0 = time.perf_counter()
    report = daemon.run()
    arm.seconds = time.perf_counter() - t0
    goal_spec = as_task(GOAL, ("red", "green", "blue"))
    with db.reader() as s:
        found = skills.find_skill(s, spec=goal_spec, experiment_id=daemon.experiment_id)
        evals = (
            list(
                reversed(skills.skill_detail(s, skill_id=found.id, evaluations=10_000).evaluations)
            )
            if found is not None
            else []
        )
    # Wall time to the target is not recorded per evaluation: scale by env steps.
    for e in evals:
        arm.curve.append((e.env_steps, e.success_rate))
        if arm.steps_to_target is None and e.success_rate >= a.target:
            arm.steps_to_target = e.env_steps
            arm.seconds_to_target = arm.seconds * e.env_steps / max(1, report.env_steps)
    seconds = graph_position(db, home, daemon.experiment_id).get("node_seconds", {})
    arm.node_seconds = {k: round(v, 2) for k, v in seconds.items()}
    total = sum(seconds.values())
    if total:
        arm.planning_fraction = sum(seconds.get(n, 0.0) for n in PLANNING) / total
    arm.note = report.reason
    db.dispose()
    return arm


def plot(arms: list[Arm], path: Path, target: float) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for arm in arms:
        if arm.curve:
            xs, ys = zip(*arm.curve, strict=True)
            ax.plot(xs, ys, marker="o", ms=3, label=arm.name)
    ax.axhline(target, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"success: {GOAL}")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env-steps", type=int, default=300_000, help="Budget of every arm.")
    p.add_argument("--arms", nargs="+", default=["experimenter", "direct", "scripted", "uniform"])
    p.add_argument("--eval-every", type=int, default=4_000)
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--target", type=float, default=0.8)
    p.add_argument("--updates-per-step", type=float, default=0.5)
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    p.add_argument("--episode-steps", type=int, default=100)
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--random-steps", type=int, default=2_000)
    p.add_argument(
        "--bc-weight", type=float, default=0.0,
        help="Behaviour cloning on chain data (same for every arm; only the experimenter "
        "collects chains)",
    )  # fmt: skip
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/curriculum"))
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = LearnerConfig(
        hidden=tuple(a.hidden), episode_steps=a.episode_steps, num_envs=a.num_envs,
        random_steps=a.random_steps, device=a.device, bc_weight=a.bc_weight,
    )  # fmt: skip
    arms: list[Arm] = []
    for name in a.arms:
        print(f"--- {name} ---", flush=True)
        if name == "experimenter":
            with tempfile.TemporaryDirectory(prefix="curriculum-") as home:
                arms.append(run_experimenter_arm(cfg, a, Path(home)))
        elif name == "direct":
            arms.append(run_policy_arm("direct", [GOAL], cfg, a))
        elif name == "scripted":
            fraction = LoopSettings().chain_fraction
            arms.append(run_policy_arm("scripted", [GOAL], cfg, a, scripted=fraction))
        elif name == "uniform":
            arms.append(run_policy_arm("uniform", grammar_tasks(), cfg, a))
        else:
            raise SystemExit(f"unknown arm {name!r}; use experimenter, direct, scripted, uniform")
    png = plot(arms, a.out / "curriculum.png", a.target)
    print(f"{'arm':<13} {'best':>5} {'steps to target':>16} {'s to target':>12} {'wall s':>8} "
          f"{'planning':>9}")  # fmt: skip
    for arm in arms:
        best = max((r for _, r in arm.curve), default=0.0)
        frac = f"{arm.planning_fraction:.1%}" if arm.planning_fraction is not None else "-"
        to_s = f"{arm.seconds_to_target:.0f}" if arm.seconds_to_target is not None else "-"
        print(f"{arm.name:<13} {best:>5.0%} {arm.steps_to_target or '-':>16} {to_s:>12} "
              f"{arm.seconds:>8.0f} {frac:>9}")  # fmt: skip
    print(f"learning curves: {png}")
    if a.json:
        print(
            json.dumps({"goal": GOAL, "env_steps": a.env_steps, "arms": [asdict(x) for x in arms]})
        )


if __name__ == "__main__":
    main()
