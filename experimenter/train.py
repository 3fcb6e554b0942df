"""``experimenter train``: the learner alone, for people who want just the RL part.

Trains one or more tasks (instructions or spec JSON) together with relabelling, shows a
progress bar, evaluates periodically, and writes a learning-curve PNG, a CSV of the
evaluations and a learner checkpoint (which ``--resume`` continues).
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import torch
from tqdm import tqdm

from controllers.learner import EvalResult, Learner, LearnerConfig

log = logging.getLogger(__name__)


@dataclass
class TrainReport:
    out_dir: Path
    env_steps: int
    updates: int
    seconds: float
    final: list[EvalResult]
    curve: Path
    checkpoint: Path


def plot_curves(history: list[tuple[int, list[EvalResult]]], path: Path) -> Path:
    """Success rate per task against env steps."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    if history:
        for i, first in enumerate(history[0][1]):
            xs = [s for s, _ in history]
            ys = [r[i].success_rate for _, r in history]
            ax.plot(xs, ys, marker="o", ms=3, label=first.instruction)
    ax.set_xlabel("env steps")
    ax.set_ylabel("success rate (deterministic policy)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def run_training(
    *,
    tasks: Sequence[str | dict[str, Any]],
    env_steps: int,
    out_dir: Path,
    config: LearnerConfig,
    eval_every: int,
    eval_episodes: int,
    updates_per_step: float,
    threads: int,
    resume: bool,
) -> TrainReport:
    """Train ``tasks`` for ``env_steps`` more env steps; everything goes under ``out_dir``."""
    if not tasks:
        raise ValueError("give at least one --task")
    if env_steps < 1:
        raise ValueError(f"--steps must be >= 1, got {env_steps}")
    torch.set_num_threads(threads)
    ckpt = out_dir / "checkpoint"
    if resume and (ckpt / "learner.pt").exists():
        learner = Learner.load(ckpt, device=config.device)
        log.info("resumed from %s at %d env steps", ckpt, learner.env_steps)
    else:
        learner = Learner(config)
    ids = [learner.add_task(t) for t in tasks]
    learner.set_weights({i: 1.0 for i in ids})
    history: list[tuple[int, list[EvalResult]]] = []
    start, t0 = learner.env_steps, time.perf_counter()
    next_eval = eval_every
    chunk = config.num_envs * config.episode_steps
    with tqdm(total=env_steps, unit="step", desc="training", dynamic_ncols=True) as bar:
        while learner.env_steps - start < env_steps:
            stats = learner.collect(chunk)
            metrics = {}
            if learner.env_steps >= config.random_steps // 2:
                metrics = learner.update(max(1, int(stats.env_steps * updates_per_step)))
            bar.update(stats.env_steps)
            done = learner.env_steps - start
            if done >= next_eval or done >= env_steps:
                next_eval += eval_every
                results = [learner.evaluate(i, eval_episodes) for i in ids]
                history.append((learner.env_steps, results))
                bar.set_postfix(
                    success=" ".join(f"{r.success_rate:.2f}" for r in results),
                    q=f"{metrics.get('q', 0.0):.2f}",
                )
                log.info(
                    "env steps %d: %s",
                    learner.env_steps,
                    "; ".join(f"{r.instruction}: {r.success_rate:.0%}" for r in results),
                )
    learner.save(ckpt)
    curve = plot_curves(history, out_dir / "learning_curve.png")
    with open(out_dir / "evaluations.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["env_steps", "task", "success_rate", "mean_return"])
        for steps, results in history:
            for r in results:
                w.writerow([steps, r.instruction, f"{r.success_rate:.4f}", f"{r.mean_return:.4f}"])
    learner.close()
    return TrainReport(
        out_dir=out_dir,
        env_steps=learner.env_steps,
        updates=learner.updates,
        seconds=time.perf_counter() - t0,
        final=history[-1][1] if history else [],
        curve=curve,
        checkpoint=ckpt,
    )
