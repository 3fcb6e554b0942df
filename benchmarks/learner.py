"""Our learner side by side with stable-baselines3 SAC on the same arena and dense reward.

Parts (``--part``, default all):

- ``speed``: gradient updates per second, ours vs SB3, same network sizes, batch size,
  thread count and replay contents (``updates_per_s_ratio``; goal >= 3);
- ``sample``: env steps until >= 90% evaluated success on "reach the red block" and "lift
  the red block", ours vs SB3, one update per env step for both (goal: ours fewer);
- ``multitask``: reaching the red, the green and the blue block learned together with
  relabelling vs each learned alone: total env steps until all three reach 90% (goal:
  together >= 2x fewer); the together arm also runs with FiLM conditioning;
- ``stack``: "stack the red block on the blue block" with scripted-chain episodes mixed into
  the replay and a behaviour-cloning term; the learning curve and the best success.

Success is evaluated the same way for both learners: deterministic actions, fixed seeds, the
task's own success predicate at the last step of the episode. Prints tables, saves learning
curves as PNG under ``--out``, and with ``--json`` prints a final JSON line.

Usage: ``python benchmarks/learner.py [--part speed] [--threads 2] [--json]``
(needs the ``bench`` extra: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from controllers.chain import Chain
from controllers.compile import compile_task
from controllers.env import BlocksEnv, BlocksVecEnv
from controllers.layout import ObsLayout
from controllers.learner import Learner, LearnerConfig
from controllers.primitives import Grasp, Lift, Primitive, Reach, stack_chain
from tasks import as_task

HIDDEN = (256, 256)
BATCH = 256
GAMMA = 0.95
RANDOM_STEPS = 2_000
EVAL_EPISODES = 20
EVAL_SEED = 1_000_000


@dataclass
class Curve:
    label: str
    steps: list[int] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def first_reaching(self, level: float) -> int | None:
        for s, v in zip(self.steps, self.success, strict=True):
            if v >= level:
                return s
        return None


OURS: dict[str, object] = {}
"""Learner options every run of ours gets (set from the command line, e.g. precision)."""


def our_config(episode_steps: int, seed: int, **kw) -> LearnerConfig:
    kw.setdefault("hidden", HIDDEN)
    kw = {**OURS, **kw}
    return LearnerConfig(
        batch_size=BATCH,
        gamma=GAMMA,
        episode_steps=episode_steps,
        random_steps=RANDOM_STEPS,
        seed=seed,
        **kw,
    )


# --- speed --------------------------------------------------------------------------------


MATMUL_OPS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"})


def time_split(run: Callable[[], None], updates: int) -> dict[str, float]:
    """Milliseconds per update of ``run()`` (``updates`` updates) under torch's profiler,
    split into matrix products, other tensor operators, and the rest (Python, optimisers'
    bookkeeping, autograd's engine). The profiler slows everything a little; the shares
    are what it is for."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)
    aten = sum(e.self_cpu_time_total for e in events if e.key.startswith("aten::"))
    ms = 1e-3 / updates  # profiler times are microseconds
    return {
        "matmul_ms": matmul * ms,
        "other_ops_ms": (aten - matmul) * ms,
        "rest_ms": (total - aten) * ms,
    }


def speed(updates: int, seed: int, hidden: tuple[int, ...], rounds: int = 5) -> dict[str, float]:
    """Updates per second of both learners on the same amount of replayed data.

    The two are timed in alternating rounds of ``updates / rounds`` updates and each rate
    is the median of its rounds, so that a slow spell of this shared machine hits both
    (single back-to-back timings moved by up to 30 %).
    """
    from stable_baselines3 import SAC

    task = "lift the red block"
    ours = Learner(our_config(50, seed, **{"hidden": hidden}))
    ours.set_weights({ours.add_task(task): 1.0})
    ours.collect(5_000)
    ours.update(50)  # warm-up

    env = BlocksEnv(task=task, max_episode_steps=50)
    sb3 = SAC(
        "MlpPolicy",
        env,
        batch_size=BATCH,
        gamma=GAMMA,
        learning_starts=5_000,
        policy_kwargs={"net_arch": list(hidden)},
        ent_coef="auto_0.1",
        device="cpu",
        seed=seed,
        verbose=0,
    )
    sb3.learn(5_000)  # fills the replay with the same amount of data, no updates yet
    sb3.train(gradient_steps=50, batch_size=BATCH)

    per_round = max(1, updates // rounds)

    def run_ours() -> None:
        ours.update(per_round)

    def run_sb3() -> None:
        sb3.train(gradient_steps=per_round, batch_size=BATCH)

    arms = {"ours": run_ours, "sb3": run_sb3}
    rates: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(rounds):
        for name, run in arms.items():
            t = time.perf_counter()
            run()
            rates[name].append(per_round / (time.perf_counter() - t))
    ours_rate = float(np.median(rates["ours"]))
    sb3_rate = float(np.median(rates["sb3"]))
    res = {
        "ours_updates_per_s": ours_rate,
        "sb3_updates_per_s": sb3_rate,
        "updates_per_s_ratio": ours_rate / sb3_rate,
    }
    for name, run in arms.items():
        for key, v in time_split(run, per_round).items():
            res[f"{name}_{key}"] = v
    # The ceiling: our ratio had our matrix products cost nothing.
    sb3_total = res["sb3_matmul_ms"] + res["sb3_other_ops_ms"] + res["sb3_rest_ms"]
    res["ratio_without_our_matmul"] = sb3_total / (res["ours_other_ops_ms"] + res["ours_rest_ms"])
    return res


# --- sample efficiency -----------------------------------------------------------------------


def evaluate_sb3(model, task: str, episode_steps: int) -> float:
    venv = BlocksVecEnv(EVAL_EPISODES, max_episode_steps=episode_steps)
    compiled = compile_task(as_task(task, venv.layout), venv.layout)
    obs, _ = venv.reset(seed=[EVAL_SEED + i for i in range(EVAL_EPISODES)])
    final = obs
    for t in range(episode_steps):
        action, _ = model.predict(obs, deterministic=True)
        obs, _, _, _, info = venv.step(action)
        final = info["final_obs"] if t == episode_steps - 1 else obs
    venv.close()
    return float(compiled.success(final).mean())


def sb3_curve(task: str, episode_steps: int, budget: int, every: int, seed: int) -> Curve:
    from stable_baselines3 import SAC

    env = BlocksEnv(task=task, max_episode_steps=episode_steps)
    model = SAC(
        "MlpPolicy",
        env,
        batch_size=BATCH,
        gamma=GAMMA,
        learning_starts=RANDOM_STEPS,
        policy_kwargs={"net_arch": list(HIDDEN)},
        ent_coef="auto_0.1",
        device="cpu",
        seed=seed,
        verbose=0,
    )
    curve, t0 = Curve(f"SB3 SAC: {task}"), time.perf_counter()
    while model.num_timesteps < budget:
        model.learn(every, reset_num_timesteps=False)
        curve.steps.append(model.num_timesteps)
        curve.success.append(evaluate_sb3(model, task, episode_steps))
        print(f"  sb3 {task!r} {model.num_timesteps}: {curve.success[-1]:.2f}", flush=True)
        if curve.success[-1] >= 0.9:
            break
    curve.seconds = time.perf_counter() - t0
    return curve


def our_curve(
    tasks: list[str],
    episode_steps: int,
    budget: int,
    every: int,
    seed: int,
    utd: float = 1.0,
    label: str = "ours",
    chain: Callable[[ObsLayout], list[Primitive]] | None = None,
    chain_fraction: float = 0.0,
    chain_noise: float = 0.1,
    **cfg,
) -> list[Curve]:
    """Evaluated success of ``tasks`` learned together, every ``every`` env steps.

    With ``chain``, a ``chain_fraction`` of the collection rounds runs that scripted chain
    (actions perturbed by ``chain_noise``) instead of the policy; its env steps count.
    """
    learner = Learner(our_config(episode_steps, seed, **cfg))
    ids = [learner.add_task(t) for t in tasks]
    learner.set_weights({i: 1.0 for i in ids})
    curves = [Curve(f"{label}: {t}") for t in tasks]
    t0, next_eval = time.perf_counter(), every
    chunk = learner.cfg.num_envs * episode_steps
    rng = np.random.default_rng(seed)
    while learner.env_steps < budget:
        if chain is not None and rng.random() < chain_fraction:
            stats = learner.collect(
                chunk, chain=lambda c=chain: Chain(c(learner.layout)), noise=chain_noise
            )
        else:
            stats = learner.collect(chunk)
        if learner.env_steps >= RANDOM_STEPS:
            learner.update(max(1, int(stats.env_steps * utd)))
        if learner.env_steps >= next_eval:
            next_eval += every
            results = [learner.evaluate(i, EVAL_EPISODES) for i in ids]
            for c, r in zip(curves, results, strict=True):
                c.steps.append(learner.env_steps)
                c.success.append(r.success_rate)
            print(
                f"  {label} {learner.env_steps}: "
                + " ".join(f"{r.success_rate:.2f}" for r in results),
                flush=True,
            )
            if all(r.success_rate >= 0.9 for r in results):
                break
    for c in curves:
        c.seconds = time.perf_counter() - t0
    learner.close()
    return curves


def plot(curves: list[Curve], path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for c in curves:
        ax.plot(c.steps, c.success, marker="o", ms=3, label=c.label)
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="env steps", ylabel="evaluated success", ylim=(-0.02, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def fmt(v: int | None, budget: int) -> str:
    return f"{v:,}" if v is not None else f"> {budget:,} (not reached)"


def lift_chain(layout: ObsLayout) -> list[Primitive]:
    """The scripted way to "lift the red block": reach, grasp, lift 12 cm (above the 10 cm
    the task asks, so that noise on the way up still ends above it)."""
    return [
        Reach(layout, obj="red"),
        Grasp(layout, obj="red"),
        Lift(layout, obj="red", height=0.12),
    ]


SAMPLE_TASKS = {
    "reach": ("reach the red block", 50, 2_000),
    "lift": ("lift the red block", 80, 4_000),
}


def sample(
    out: Path, seed: int, budgets: dict[str, int], who: str, tasks: list[str], utd: float
) -> dict[str, object]:
    """Env steps to 90 % for ours (pure RL and, for lift, with chain data) and SB3 SAC."""
    res: dict[str, object] = {}
    rows = []
    arms = {"ours": "ours", "chain": "ours + 30 % chain episodes", "sb3": "SB3 SAC"}
    for key in tasks:
        task, steps, every = SAMPLE_TASKS[key]
        budget = budgets[key]
        curves = []
        for name, label in arms.items():
            if who not in (name, "all") or (name == "chain" and key != "lift"):
                continue
            if name == "ours":
                c = our_curve([task], steps, budget, every, seed, utd=utd)[0]
            elif name == "chain":
                c = our_curve(
                    [task],
                    steps,
                    budget,
                    every,
                    seed,
                    utd=utd,
                    label=label,
                    chain=lift_chain,
                    chain_fraction=0.3,
                    bc_weight=0.5,
                )[0]
            else:
                c = sb3_curve(task, steps, budget, every, seed)
            curves.append(c)
            res[f"{name}: {task}"] = {
                "steps_to_90": c.first_reaching(0.9),
                "best": max(c.success, default=0.0),
                "seconds": c.seconds,
                "curve": list(zip(c.steps, c.success, strict=True)),
            }
            rows.append(
                [
                    task,
                    label,
                    fmt(c.first_reaching(0.9), budget),
                    f"{max(c.success, default=0.0):.0%}",
                    f"{c.seconds:.0f}",
                ]
            )
        plot(curves, out / f"sample_{key}_{who}.png", task)
    print("| task | learner | env steps to 90% | best success | wall s |")
    print("| --- | --- | ---: | ---: | ---: |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return res


def all_reached(curves: list[Curve], level: float = 0.9) -> int | None:
    """First evaluation at which every curve is at or above ``level``."""
    for i, step in enumerate(curves[0].steps):
        if all(c.success[i] >= level for c in curves):
            return step
    return None


def multitask(out: Path, seed: int, budget: int, arm: str, utd: float) -> dict[str, object]:
    tasks = ["reach the red block", "reach the green block", "reach the blue block"]
    steps, every = 50, 2_000
    res: dict[str, object] = {}
    rows = []
    for conditioning in ("concat", "film", "objects"):
        if arm not in ("all", f"together_{conditioning}"):
            continue
        together = our_curve(
            tasks,
            steps,
            budget,
            every,
            seed,
            utd=utd,
            label=f"together/{conditioning}",
            conditioning=conditioning,
        )
        reached = all_reached(together)
        res[f"together_{conditioning}"] = reached
        res[f"together_{conditioning}_seconds"] = together[0].seconds
        rows.append(
            (
                f"together, relabelled ({conditioning})",
                fmt(reached, budget),
                f"{together[0].seconds:.0f}",
            )
        )
        plot(
            together,
            out / f"multitask_together_{conditioning}.png",
            f"three reach tasks together ({conditioning})",
        )
    if arm in ("all", "separately"):
        total: int | None = 0
        alone_curves, secs = [], 0.0
        for t in tasks:
            c = our_curve([t], steps, budget, every, seed, utd=utd, label="alone")[0]
            alone_curves.append(c)
            secs += c.seconds
            r = c.first_reaching(0.9)
            total = None if (r is None or total is None) else total + r
        res["separately"] = total
        res["separately_seconds"] = secs
        rows.append(("separately (sum of three runs)", fmt(total, 3 * budget), f"{secs:.0f}"))
        plot(alone_curves, out / "multitask_separately.png", "each reach task alone")
    print("| three tasks (reach red, green, blue) | env steps until all >= 90% | wall s |")
    print("| --- | ---: | ---: |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for conditioning in ("objects", "concat", "film"):
        together = res.get(f"together_{conditioning}")
        if together and res.get("separately"):
            ratio = res["separately"] / together  # type: ignore[operator]
            res[f"separate_over_together_{conditioning}"] = ratio
            print(f"separately / together ({conditioning}) = {ratio:.2f} (goal >= 2)")
    return res


def stack(
    out: Path, seed: int, budget: int, chain_fraction: float, chain_noise: float
) -> dict[str, object]:
    task = "stack the red block on the blue block"
    learner = Learner(our_config(100, seed, bc_weight=0.5))
    tid = learner.add_task(task)
    for helper in (
        "reach the red block",
        "grasp the red block",
        "lift the red block",
        "hold the red block above the blue block",
    ):
        learner.add_task(helper)
    learner.set_weights({tid: 1.0})
    curve, t0 = Curve("ours + chain data: " + task), time.perf_counter()
    chunk = learner.cfg.num_envs * 100
    next_eval, every = 10_000, 10_000
    rng = np.random.default_rng(seed)
    while learner.env_steps < budget:
        if rng.random() < chain_fraction:
            learner.collect(
                chunk, chain=lambda: Chain(stack_chain(learner.layout)), noise=chain_noise
            )
        else:
            learner.collect(chunk)
        if learner.env_steps >= RANDOM_STEPS:
            learner.update(chunk // 2)
        if learner.env_steps >= next_eval:
            next_eval += every
            r = learner.evaluate(tid, EVAL_EPISODES)
            curve.steps.append(learner.env_steps)
            curve.success.append(r.success_rate)
            print(
                f"  stack {learner.env_steps}: {r.success_rate:.2f} "
                f"({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    curve.seconds = time.perf_counter() - t0
    plot([curve], out / "stack_with_chain_data.png", task)
    best = max(curve.success) if curve.success else 0.0
    print("| stack red on blue, chain data mixed in | env steps | best success | wall s |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| chain episodes {chain_fraction:.0%}, action noise {chain_noise}, BC weight 0.5 | "
        f"{learner.env_steps:,} | {best:.0%} | {curve.seconds:.0f} |"
    )
    return {
        "env_steps": learner.env_steps,
        "best_success": best,
        "seconds": curve.seconds,
        "curve": list(zip(curve.steps, curve.success, strict=True)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--part", choices=["speed", "sample", "multitask", "stack", "all"], default="all"
    )
    p.add_argument("--threads", type=int, default=2, help="torch threads for both learners")
    p.add_argument("--updates", type=int, default=500, help="updates timed in --part speed")
    p.add_argument("--reach-budget", type=int, default=40_000)
    p.add_argument("--lift-budget", type=int, default=150_000)
    p.add_argument("--multitask-budget", type=int, default=60_000)
    p.add_argument("--stack-budget", type=int, default=200_000)
    p.add_argument("--chain-fraction", type=float, default=0.3)
    p.add_argument(
        "--chain-noise",
        type=float,
        default=0.1,
        help="std of the Gaussian noise on chain actions (0.1: the stack chain still "
        "succeeds about 95 %% of the time; 0.3: about 20-35 %%)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--arm",
        default="all",
        choices=["all", "together_concat", "together_film", "together_objects", "separately"],
        help="--part multitask: run one arm only (several processes in parallel)",
    )
    p.add_argument(
        "--learner",
        choices=["ours", "chain", "sb3", "all"],
        default="all",
        help="--part sample: run one arm only (several processes in parallel)",
    )
    p.add_argument(
        "--tasks",
        nargs="+",
        choices=list(SAMPLE_TASKS),
        default=list(SAMPLE_TASKS),
        help="--part sample: which tasks",
    )
    p.add_argument(
        "--utd",
        type=float,
        default=1.0,
        help="our updates per env step in --part sample and multitask (SB3 keeps 1)",
    )
    p.add_argument(
        "--widths",
        type=int,
        nargs="+",
        default=[256, 64],
        help="--part speed: hidden widths to time (two layers each)",
    )
    p.add_argument(
        "--precision",
        choices=["float32", "bfloat16"],
        default="float32",
        help="our matrix products (SB3 stays float32)",
    )
    p.add_argument(
        "--obs-std-floor",
        type=float,
        default=LearnerConfig.obs_std_floor,
        help="our smallest observation standard deviation (LearnerConfig.obs_std_floor)",
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    OURS["precision"] = args.precision
    OURS["obs_std_floor"] = args.obs_std_floor
    res: dict[str, object] = {"threads": args.threads}
    if args.part in ("speed", "all"):
        print(
            "| hidden | threads | ours (precision) | ours updates/s | SB3 SAC updates/s | "
            "ratio (goal >= 3) |"
        )
        print("| --- | ---: | --- | ---: | ---: | ---: |")
        splits = []
        for i, w in enumerate(args.widths):
            s = speed(args.updates, args.seed, (w, w))
            print(
                f"| {w}x{w} | {args.threads} | {args.precision} | "
                f"{s['ours_updates_per_s']:.0f} | {s['sb3_updates_per_s']:.0f} | "
                f"{s['updates_per_s_ratio']:.2f} |",
                flush=True,
            )
            splits.append((w, s))
            res[f"speed_{w}"] = s
            if i == 0:
                res["updates_per_s_ratio"] = s["updates_per_s_ratio"]
        print("\nWhere an update's time goes (ms per update, under the profiler):\n")
        print(
            "| hidden | learner | matrix products | other operators | Python and the rest | "
            "ratio if our matrix products took no time |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for w, s in splits:
            for name in ("ours", "sb3"):
                ceiling = f"{s['ratio_without_our_matmul']:.2f}" if name == "ours" else ""
                print(
                    f"| {w}x{w} | {name} | {s[name + '_matmul_ms']:.2f} | "
                    f"{s[name + '_other_ops_ms']:.2f} | {s[name + '_rest_ms']:.2f} | {ceiling} |"
                )
    if args.part in ("sample", "all"):
        res["steps_to_90"] = sample(
            args.out,
            args.seed,
            {"reach": args.reach_budget, "lift": args.lift_budget},
            args.learner,
            args.tasks,
            args.utd,
        )
    if args.part in ("multitask", "all"):
        res["multitask"] = multitask(args.out, args.seed, args.multitask_budget, args.arm, args.utd)
    if args.part in ("stack", "all"):
        res["stack"] = stack(
            args.out, args.seed, args.stack_budget, args.chain_fraction, args.chain_noise
        )
    if args.json:
        print(json.dumps(res, default=float))


if __name__ == "__main__":
    main()
