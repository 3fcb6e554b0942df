"""Does the experimenter's curriculum beat training the goal directly? Four arms, one goal.

Goal (``--goal``): "stack the red block on the blue block" by default; the tower of three
("stack the red block on the blue block, then stack the green block on the red block")
works too. Every arm uses the same learner (``LearnerConfig`` from the flags, its seed one
of ``--seeds``) and the same env-step budget:

- ``experimenter``: the daemon with the offline planner (``experimenter run --goal ...``,
  the library seeded as ``--seed-skills`` says); its curve is the loop's own evaluations of
  the goal's skill (from when it trains). The daemon ends when the goal is learned (its
  Wilson lower bound reaches ``--target``) or the budget is spent;
- ``direct``: the goal task alone, the policy collecting its own data;
- ``scripted``: the goal task alone, with the scripted data the experimenter's primitives
  produce (``chain_fraction`` of the rounds run the goal's stacking chains in order, with
  the loop's action noise): what the experimenter adds beyond that data is its curriculum;
- ``uniform``: the policy collecting for tasks drawn uniformly from the task grammar (every
  rung of the offline planner's ladder, and the goal), trained on all of them.

The policy arms train to the full budget (``--stop-at-target`` ends them at the first
evaluation at ``--target``); evaluation k of their curve runs ``--eval-episodes``
deterministic episodes from seed 10^6 + 1,000 k, as the loop's do. Final measure, the same
for every arm: the final learner (the experimenter's newest checkpoint) on
``--final-episodes`` deterministic episodes from seed 10^8 (``promotion.py``'s fresh
starts), with the Wilson 95 % interval.

Each finished (arm, seed) is written at once to ``OUT/<arm>-seed<S>.json``: the curve, env
steps and wall seconds to 80 % and 90 % success, the spread of the last five curve points,
the final measure, and for the experimenter the fraction of wall time spent planning
(monitor, analyze, propose and decompose nodes; goal < 5 %). Every run then prints the
table of all the records in ``OUT`` and draws their curves into ``OUT/curriculum.png``.

Usage, one arm per process with one torch thread each, in the background::

    for arm in experimenter direct scripted uniform; do
      nohup python benchmarks/curriculum.py --arms $arm --seeds 0 1 2 --threads 1 \\
        --bc-weight 0.5 > /tmp/curriculum-$arm.log 2>&1 &
    done
    python benchmarks/curriculum.py --report [--json]   # the table and the PNG, no training

A short check: ``--env-steps 4000 --hidden 64 64 --eval-every 2000 --final-episodes 20``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from pydantic import ValidationError

from controllers.layout import SceneConfig
from controllers.learner import Learner, LearnerConfig
from durable import atomic_write_bytes
from experimenter.skill_run import FRESH_SEED
from settings import LoopSettings
from skills.stats import wilson_interval
from tasks import TaskSpec, as_task

GOAL = "stack the red block on the blue block"
ARMS = ("experimenter", "direct", "scripted", "uniform")
COLOURS = dict(zip(ARMS, ("tab:red", "tab:blue", "tab:green", "tab:orange"), strict=True))
LEVELS = (0.8, 0.9)
"""Success levels whose first crossing is recorded (env steps and wall seconds)."""
EVAL_SEED, EVAL_STRIDE = 10**6, 1_000
"""Curve evaluation k starts from seed ``EVAL_SEED + EVAL_STRIDE * k`` (the loop's seeds)."""
PLANNING = ("monitor", "analyze", "propose", "decompose")
"""Nodes that ask the planner or prepare its questions (plan only sets training weights, and
loads the learner on first use, so it counts with learning; review waits for a person)."""


@dataclass
class Final:
    """The final learner on the goal: fresh starts, deterministic actions."""

    episodes: int
    successes: int
    success: float
    lower: float
    upper: float
    """Wilson 95 % interval of ``success``."""


@dataclass
class Run:
    """One arm trained with one learner seed."""

    arm: str
    seed: int
    goal: str
    budget: int
    """Env-step budget."""
    env_steps: int = 0
    """Env steps actually collected."""
    curve: list[tuple[int, float]] = field(default_factory=list)
    """(env steps, goal success rate) at each evaluation."""
    steps_to_80: int | None = None
    seconds_to_80: float | None = None
    steps_to_90: int | None = None
    seconds_to_90: float | None = None
    last_five: tuple[float, float] | None = None
    """(min, max) success over the last five curve points."""
    seconds: float = 0.0
    """Wall seconds of training and curve evaluations (the final measure not included)."""
    final: Final | None = None
    planning_fraction: float | None = None
    """Experimenter only: share of node wall time spent planning."""
    node_seconds: dict[str, float] = field(default_factory=dict)
    """Experimenter only: wall seconds per graph node."""
    note: str = ""
    learner: dict[str, Any] = field(default_factory=dict)
    """The ``LearnerConfig`` it trained with."""

    def mark(self, steps: int, rate: float, seconds: float) -> None:
        """A curve point, and the first crossing of each level."""
        self.curve.append((steps, rate))
        if self.steps_to_80 is None and rate >= 0.8:
            self.steps_to_80, self.seconds_to_80 = steps, round(seconds, 1)
        if self.steps_to_90 is None and rate >= 0.9:
            self.steps_to_90, self.seconds_to_90 = steps, round(seconds, 1)

    def close(self, seconds: float, env_steps: int) -> None:
        self.seconds, self.env_steps = round(seconds, 1), env_steps
        tail = [r for _, r in self.curve[-5:]]
        self.last_five = (min(tail), max(tail)) if tail else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        data = dict(data)
        data["curve"] = [tuple(p) for p in data["curve"]]
        if data["last_five"] is not None:
            data["last_five"] = tuple(data["last_five"])
        if data["final"] is not None:
            data["final"] = Final(**data["final"])
        return cls(**data)


# --- the goal -----------------------------------------------------------------------------


def goal_spec(goal: str) -> TaskSpec:
    return as_task(goal, SceneConfig().layout())


def stacking_stages(spec: TaskSpec) -> list[tuple[str, str]]:
    """(top, bottom) of every ``on`` atom of the goal's stages, in order."""
    return [(a.args[0], a.args[1]) for stage in spec.stages for a in stage.all if a.pred == "on"]


def grammar_tasks() -> list[dict]:
    """Every rung of the offline planner's ladder for the scene's cubes."""
    from experimenter.planner.curriculum import ladder

    return [r.spec for r in ladder(tuple(SceneConfig().layout().object_names))]


def final_measure(learner: Learner, task: int, episodes: int) -> Final:
    r = learner.evaluate(task, episodes, seed=FRESH_SEED)
    low, high = wilson_interval(r.successes, r.episodes)
    return Final(r.episodes, r.successes, r.success_rate, low, high)


# --- the arms -----------------------------------------------------------------------------


def run_policy_arm(
    run: Run,
    tasks: Sequence[str | dict],
    cfg: LearnerConfig,
    a: argparse.Namespace,
    chain_pairs: Sequence[tuple[str, str]] = (),
) -> Run:
    """``direct`` and ``uniform``: the policy collects for the tasks (uniform weights).

    ``scripted`` (``chain_pairs`` given): ``chain_fraction`` of the collection rounds run
    the scripted stacking chains of the goal, one after the other (the primitives the
    experimenter's library is seeded with, its action noise) instead, so that the goal
    trained directly sees the scripted data the experimenter collects.
    """
    from controllers.chain import Chain
    from controllers.primitives import stack_chain

    loop = LoopSettings()
    rng = random.Random(cfg.seed)
    resume = a.out / f"{run.arm}-seed{run.seed}-resume"
    spent, k, next_eval = 0.0, 0, a.eval_every
    if a.checkpoint_every and (resume / "state.json").exists():
        state = json.loads((resume / "state.json").read_text())
        if state["run"]["learner"] != run.learner or state["run"]["goal"] != run.goal:
            raise SystemExit(
                f"{resume} holds a run with another learner or goal; delete it to start afresh"
            )
        learner = Learner.load(resume / "learner")
        goal = 0  # the goal was the first task added
        run = Run.from_dict({**state["run"], "budget": run.budget})
        spent, k, next_eval = state["seconds"], state["k"], state["next_eval"]
        rng.setstate((state["rng"][0], tuple(state["rng"][1]), state["rng"][2]))
        print(f"  resumed {run.arm} seed {run.seed} at {learner.env_steps} env steps",
              file=sys.stderr, flush=True)  # fmt: skip
    else:
        learner = Learner(cfg)
        goal = learner.add_task(run.goal)
        ids = [learner.add_task(t) for t in tasks]
        learner.set_weights(dict.fromkeys([goal, *ids], 1.0))
    next_save = learner.env_steps + a.checkpoint_every

    def chain() -> Chain:
        return Chain(
            [p for top, bottom in chain_pairs for p in stack_chain(learner.layout, top, bottom)]
        )

    t0 = time.perf_counter() - spent
    while learner.env_steps < a.env_steps:
        chunk = cfg.num_envs * cfg.episode_steps
        if chain_pairs and rng.random() < loop.chain_fraction:
            stats = learner.collect(chunk, chain=chain, noise=loop.noise)
        else:
            stats = learner.collect(chunk)
        if learner.env_steps >= cfg.random_steps // 2:
            learner.update(max(1, int(stats.env_steps * a.updates_per_step)))
        if learner.env_steps >= next_eval:
            next_eval += a.eval_every
            k += 1
            r = learner.evaluate(goal, a.eval_episodes, seed=EVAL_SEED + EVAL_STRIDE * k)
            run.mark(learner.env_steps, r.success_rate, time.perf_counter() - t0)
            print(f"  {run.arm} seed {run.seed}: {learner.env_steps} env steps, "
                  f"{r.success_rate:.0%}", file=sys.stderr, flush=True)  # fmt: skip
            if a.stop_at_target and r.success_rate >= a.target:
                run.note = f"stopped at the target ({a.target:.0%})"
                break
        if a.checkpoint_every and learner.env_steps >= next_save:
            next_save += a.checkpoint_every
            save_resume(resume, learner, run, time.perf_counter() - t0, k, next_eval, rng)
    run.close(time.perf_counter() - t0, learner.env_steps)
    run.final = final_measure(learner, goal, a.final_episodes)
    learner.close()
    return run


def save_resume(
    folder: Path, learner: Learner, run: Run, seconds: float, k: int, next_eval: int,
    rng: random.Random,
) -> None:  # fmt: skip
    """A policy arm's checkpoint: the learner, then ``state.json`` (the curve so far, the
    counters, the chain coin's state), written last so it names a learner already saved."""
    learner.save(folder / "learner")
    state = {"run": asdict(run), "seconds": seconds, "k": k, "next_eval": next_eval,
             "rng": rng.getstate()}  # fmt: skip
    atomic_write_bytes(folder / "state.json", json.dumps(state).encode("utf-8"))


def run_experimenter_arm(run: Run, cfg: LearnerConfig, a: argparse.Namespace, home: Path) -> Run:
    """The daemon in this process, offline planner, the goal given; curve from the DB."""
    import skills
    from experimenter.daemon import Daemon
    from experimenter.learner_store import LearnerStore
    from experimenter.planner import PlannerSettings
    from experimenter.status import graph_position
    from storage import open_database

    db = open_database(home=home)
    settings = LoopSettings(
        goal=run.goal, seed_skills=a.seed_skills, max_env_steps=a.env_steps,
        collect_steps=a.eval_every, updates_per_step=a.updates_per_step,
        eval_episodes=a.eval_episodes, threshold=a.target, goal_threshold=a.goal_threshold,
        video_every=0,
        learner=cfg,
    )  # fmt: skip
    daemon = Daemon(
        db, home=home, name="curriculum", settings=settings,
        planner_settings=PlannerSettings(backend="offline"), progress=False, threads=a.threads,
        on_summary=lambda line: print(f"  experimenter seed {run.seed}: {line}",
                                      file=sys.stderr, flush=True),
    )  # fmt: skip
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    report = daemon.run()
    seconds = time.perf_counter() - t0
    with db.reader() as s:
        found = skills.find_skill(s, spec=goal_spec(run.goal), experiment_id=daemon.experiment_id)
        evals = (
            skills.skill_detail(s, skill_id=found.id, evaluations=10_000).evaluations
            if found is not None
            else []
        )
    for e in reversed(evals):  # oldest first
        when = e.created_at if e.created_at.tzinfo else e.created_at.replace(tzinfo=UTC)
        run.mark(e.env_steps, e.success_rate, (when - started).total_seconds())
    run.close(seconds, report.env_steps)
    node_seconds = graph_position(db, home, daemon.experiment_id).get("node_seconds", {})
    run.node_seconds = {k: round(v, 2) for k, v in node_seconds.items()}
    total = sum(node_seconds.values())
    if total:
        run.planning_fraction = sum(node_seconds.get(n, 0.0) for n in PLANNING) / total
    run.note = report.reason
    db.dispose()
    # The final learner: the newest checkpoint, loaded as benchmarks/promotion.py does.
    config = daemon.settings.learner
    store = LearnerStore(home / "experiments" / str(daemon.experiment_id) / "learner", config)
    learner = store.get()
    run.final = final_measure(learner, learner.add_task(run.goal), a.final_episodes)
    store.close()
    return run


LEARNER_FLAGS = (
    "hidden", "batch_size", "episode_steps", "num_envs", "random_steps", "bc_weight",
    "demo_fraction", "critic_layer_norm", "actor_average", "bc_normalize", "device",
)  # fmt: skip
"""LearnerConfig fields with a flag of their own (the others: --learner FIELD=VALUE)."""


def add_learner_flags(p: argparse.ArgumentParser) -> None:
    """A flag per ``LEARNER_FLAGS`` field: its name, its default and its description as help
    (LearnerConfig's: pure RL); LearnerConfig reads the values."""
    for name in LEARNER_FLAGS:
        info = LearnerConfig.model_fields[name]
        kwargs: dict[str, Any] = {"default": info.default, "help": info.description}
        if info.annotation is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif name == "hidden":
            kwargs.update(nargs="+", type=int)
        p.add_argument(f"--{name.replace('_', '-')}", **kwargs)


def _value(text: str) -> Any:
    """A ``--learner FIELD=VALUE`` value: JSON (0.98, true, null, [128, 128]) or text."""
    if text.lower() == "none":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def learner_config(a: argparse.Namespace, seed: int) -> LearnerConfig:
    """Every arm's learner: the learner flags, then ``--learner FIELD=VALUE`` pairs; an
    unknown field or a bad value is refused with what is allowed."""
    fields: dict[str, Any] = {name: getattr(a, name) for name in LEARNER_FLAGS}
    for pair in a.learner:
        key, sep, text = pair.partition("=")
        if not sep or key == "seed":
            raise SystemExit(f"--learner {pair!r}: expected FIELD=VALUE (the seeds: --seeds)")
        fields[key] = _value(text)
    try:
        return LearnerConfig.model_validate({**fields, "seed": seed})
    except ValidationError as e:
        problems = [str((err.get("ctx") or {}).get("error", err["msg"])) for err in e.errors()]
        raise SystemExit(f"--learner: {'; '.join(problems)}") from None


def run_arm(arm: str, seed: int, a: argparse.Namespace) -> Run:
    cfg = learner_config(a, seed)
    run = Run(arm, seed, a.goal, a.env_steps, learner=cfg.model_dump(mode="json"))
    if arm == "experimenter":
        if a.keep_data:
            home = a.out / f"experimenter-seed{seed}-data"
            shutil.rmtree(home, ignore_errors=True)  # a fresh experiment, never a resumed one
            return run_experimenter_arm(run, cfg, a, home)
        with tempfile.TemporaryDirectory(prefix="curriculum-") as tmp:
            return run_experimenter_arm(run, cfg, a, Path(tmp))
    if arm == "direct":
        return run_policy_arm(run, [], cfg, a)
    if arm == "scripted":
        return run_policy_arm(run, [], cfg, a, chain_pairs=stacking_stages(goal_spec(a.goal)))
    return run_policy_arm(run, grammar_tasks(), cfg, a)


# --- the records --------------------------------------------------------------------------


def save(run: Run, out: Path) -> Path:
    """``out/<arm>-seed<S>.json``, written whole or not at all (``durable.atomic_write_bytes``)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{run.arm}-seed{run.seed}.json"
    atomic_write_bytes(path, json.dumps(asdict(run), indent=1).encode("utf-8"))
    return path


def load(out: Path) -> list[Run]:
    runs = [Run.from_dict(json.loads(p.read_text())) for p in sorted(out.glob("*-seed*.json"))]
    order = {arm: i for i, arm in enumerate(ARMS)}
    return sorted(runs, key=lambda r: (r.goal, order.get(r.arm, len(ARMS)), r.arm, r.seed))


def _fmt(value: float | int | None, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def table(runs: list[Run]) -> str:
    lines: list[str] = []
    for goal in dict.fromkeys(r.goal for r in runs):
        group = [r for r in runs if r.goal == goal]
        lines += [f"goal: {goal}",
                  f"{'arm':<13} {'seed':>4} {'final [95 % CI]':>18} {'to 80 %':>8} "
                  f"{'to 90 %':>8} {'wall s':>7} {'last five':>10} {'planning':>8}"]  # fmt: skip
        for r in group:
            final = (
                f"{r.final.success:.0%} [{r.final.lower:.0%}, {r.final.upper:.0%}]"
                if r.final
                else "-"
            )
            spread = f"{r.last_five[0]:.0%}-{r.last_five[1]:.0%}" if r.last_five else "-"
            lines.append(
                f"{r.arm:<13} {r.seed:>4} {final:>18} {_fmt(r.steps_to_80):>8} "
                f"{_fmt(r.steps_to_90):>8} {r.seconds:>7.0f} {spread:>10} "
                f"{_fmt(r.planning_fraction, '.1%'):>8}"
            )
        lines.append(f"{'arm':<13} {'seeds':>5} {'mean final':>10} {'median to 80 %':>15}")
        for arm in dict.fromkeys(r.arm for r in group):
            mine = [r for r in group if r.arm == arm]
            finals = [r.final.success for r in mine if r.final]
            # A seed that never reached 80 % counts as never (infinitely many steps).
            median = statistics.median(
                r.steps_to_80 if r.steps_to_80 is not None else float("inf") for r in mine
            )
            reached = sum(r.steps_to_80 is not None for r in mine)
            to80 = f"{median:.0f}" if median != float("inf") else "never"
            mean = _fmt(statistics.fmean(finals) if finals else None, ".0%")
            lines.append(
                f"{arm:<13} {len(mine):>5} {mean:>10} {to80:>15} ({reached} of {len(mine)} reached)"
            )
        lines.append("")
    return "\n".join(lines)


def plot(runs: list[Run], path: Path) -> Path:
    """One panel per goal; one colour per arm, one line per seed; 80 % and 90 % dashed."""
    goals = list(dict.fromkeys(r.goal for r in runs)) or [GOAL]
    fig, axes = plt.subplots(len(goals), 1, figsize=(7.0, 4.0 * len(goals)), dpi=100, squeeze=False)
    for ax, goal in zip(axes[:, 0], goals, strict=True):
        labelled: set[str] = set()
        for r in runs:
            if r.goal != goal or not r.curve:
                continue
            xs, ys = zip(*r.curve, strict=True)
            label = r.arm if r.arm not in labelled else None
            labelled.add(r.arm)
            ax.plot(xs, ys, color=COLOURS.get(r.arm, "black"), marker="o", ms=2, lw=1,
                    alpha=0.8, label=label)  # fmt: skip
        for level in LEVELS:
            ax.axhline(level, color="grey", ls="--", lw=0.8)
        ax.set_title(goal, fontsize=9)
        ax.set_xlabel("env steps")
        ax.set_ylabel("goal success")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        if labelled:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# --- the command line ---------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--goal", default=GOAL, help="Goal instruction (or spec JSON).")
    p.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="Learner seeds.")
    p.add_argument("--env-steps", type=int, default=300_000, help="Budget of every arm.")
    p.add_argument(
        "--eval-every", type=int, default=2_000,
        help="Env steps between curve evaluations (the experimenter's --collect-steps).",
    )  # fmt: skip
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--final-episodes", type=int, default=200)
    p.add_argument(
        "--target", type=float, default=0.8,
        help="The experimenter's --threshold; with --stop-at-target, where the others stop.",
    )  # fmt: skip
    p.add_argument(
        "--goal-threshold", type=float, default=None,
        help="The experimenter's --goal-threshold: the bound its goal must reach to end the run "
        "(default: --target).",
    )  # fmt: skip
    p.add_argument(
        "--keep-data", action="store_true",
        help="Keep the experimenter's data folder in OUT (database, checkpoints) for a look.",
    )  # fmt: skip
    p.add_argument(
        "--stop-at-target", action="store_true",
        help="End a policy arm at its first evaluation at --target (default: full budget).",
    )  # fmt: skip
    p.add_argument(
        "--checkpoint-every", type=int, default=50_000, metavar="ENV_STEPS",
        help="A policy arm saves its learner and curve to OUT/<arm>-seed<S>-resume this often "
        "and resumes from there when run again (0: never; the experimenter arm always starts "
        "afresh).",
    )  # fmt: skip
    p.add_argument("--seed-skills", choices=["primitives", "none"], default="primitives")
    # The learner, the same for every arm (defaults: LearnerConfig's, pure RL; chains are
    # collected by the experimenter and scripted arms only).
    p.add_argument("--updates-per-step", type=float, default=0.5)
    add_learner_flags(p)
    p.add_argument(
        "--learner", action="append", default=[], metavar="FIELD=VALUE",
        help="Any other LearnerConfig field, e.g. --learner gamma=0.98 --learner n_step=3 "
        "(repeatable; every arm gets it).",
    )  # fmt: skip
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads.")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/curriculum"))
    p.add_argument("--report", action="store_true", help="No training: table and PNG of OUT.")
    p.add_argument(
        "--json", action="store_true",
        help="No training: print every record of OUT as JSON.",
    )  # fmt: skip
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    learner_config(a, 0)  # a bad learner setting is refused before anything trains

    if not (a.report or a.json):  # either only reads OUT: --json alone once started training
        spec = goal_spec(a.goal)  # an unknown goal is refused before anything trains
        if "scripted" in a.arms and not stacking_stages(spec):
            raise SystemExit(f"the scripted arm needs a stacking goal; {a.goal!r} has none")
        for seed in a.seeds:
            for arm in a.arms:
                print(f"--- {arm} seed {seed} ---", file=sys.stderr, flush=True)
                path = save(run_arm(arm, seed, a), a.out)
                # The record is whole: a policy arm's checkpoint has served its purpose.
                shutil.rmtree(a.out / f"{arm}-seed{seed}-resume", ignore_errors=True)
                print(f"wrote {path}", file=sys.stderr, flush=True)
    runs = load(a.out)
    if not runs:
        raise SystemExit(f"no records in {a.out}")
    png = plot(runs, a.out / "curriculum.png")
    if a.json:
        print(json.dumps({"runs": [asdict(r) for r in runs]}))
        return
    print(table(runs))
    print(f"learning curves: {png}")


if __name__ == "__main__":
    main()
