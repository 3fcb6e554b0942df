"""Executors side by side: env steps/s collected in process and by Ray with 1 and 2 workers,
the overhead and bytes of a Ray round, and the driver-side costs a cluster would meet.

Every arm runs the same learner (the experimenter's default networks, 8 arena copies, 100
steps an episode) with the policy acting (no random warm-up), on the same number of rounds,
a new policy version before every call (as after each training step in the loop). One
torch thread per process. Then the driver's own costs per round: storing a round in the
replay, writing its episode rows to SQLite, and the learner's updates/s, from which
benchmarks/README.md projects what a cluster would reach.

    python benchmarks/executor.py [--calls 6] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from controllers.learner import Learner, LearnerConfig, Source
from experimenter.executor import CollectJob, Executor, InProcessExecutor
from experimenter.ray_executor import RayExecutor
from storage import episodes, open_database

CONFIG = LearnerConfig(seed=0, random_steps=0, num_envs=8, episode_steps=100)
"""LearnerConfig's defaults but for the warm-up: the policy acts from the first step."""


def fresh() -> tuple[Learner, int]:
    # One thread steps the arena, as in a Ray worker holding one CPU: per core, like for like.
    lr = Learner(CONFIG, arena_threads=1)
    task = lr.add_task("stack the red block on the blue block")
    lr.set_weights({task: 1.0})
    return lr, task


def arm(executor: Executor, calls: int) -> dict[str, Any]:
    """``calls`` collection calls of ``executor.width`` rounds each, a new policy version
    before each (one update, not timed): env steps/s and seconds per round."""
    lr, task = fresh()
    round_steps = CONFIG.num_envs * CONFIG.episode_steps
    jobs = [CollectJob(1, task, round_steps, None, 0.0, "policy")] * executor.width
    executor.collect(lr, jobs)  # workers started and warm (imports, first weights)
    lr.update(1)
    seconds = 0.0
    for _ in range(calls):
        start = time.perf_counter()
        executor.collect(lr, jobs)
        seconds += time.perf_counter() - start
        lr.update(1)
    rounds = calls * executor.width
    return {
        "env_steps": rounds * round_steps,
        "seconds": seconds,
        "steps_per_s": rounds * round_steps / seconds,
        "s_per_round": seconds / rounds,
    }


def driver_costs(rounds: int) -> dict[str, float]:
    """Seconds per round the driver alone spends: storing a played round in the replay,
    writing its rows (SQLite, one transaction per round as the collect node does); and the
    learner's updates/s at its default batch."""
    lr, _ = fresh()
    played = lr.play_round(*lr.draw_round(lr.collect_weights()), rng=lr.rng)
    start = time.perf_counter()
    for _ in range(rounds):
        lr.store_round(played, Source.POLICY)
    store = (time.perf_counter() - start) / rounds
    with tempfile.TemporaryDirectory() as home:
        db = open_database(home=Path(home))
        start = time.perf_counter()
        for r in range(rounds):
            with db.session() as s:
                for _ in range(CONFIG.num_envs):
                    episodes.record_episode(
                        s, steps=CONFIG.episode_steps, total_return=1.0, success=False,
                        purpose="collect:policy", env_step=r, worker="bench/worker",
                    )  # fmt: skip
        rows = (time.perf_counter() - start) / rounds
        db.dispose()
    lr.update(10)
    start = time.perf_counter()
    lr.update(100)
    updates_per_s = 100 / (time.perf_counter() - start)
    return {"store_s_per_round": store, "rows_s_per_round": rows, "updates_per_s": updates_per_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=6, help="timed collection calls per arm")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results: dict[str, Any] = {"inprocess": arm(InProcessExecutor(), args.calls)}
    policy_bytes = round_bytes = 0
    for workers in (1, 2):
        executor = RayExecutor(workers=workers, init={"num_cpus": 2})
        try:
            results[f"ray-{workers}"] = arm(executor, args.calls)
            t = executor.traffic
            policy_bytes = t.weights_out // (args.calls + 1)  # one version per call
            rounds = (args.calls + 1) * workers
            round_bytes = t.episodes_back // rounds
            results[f"ray-{workers}"]["driver_store_s_per_round"] = t.store_s / rounds
        finally:
            executor.close()
    base = results["inprocess"]
    for workers in (1, 2):
        r = results[f"ray-{workers}"]
        r["ratio_per_core"] = r["steps_per_s"] / workers / base["steps_per_s"]
        r["overhead_ms_per_round"] = 1000 * (r["s_per_round"] * workers - base["s_per_round"])
    results["bytes"] = {"weights_out_per_version": policy_bytes, "episodes_back_per_round":
                        round_bytes}  # fmt: skip
    results["driver"] = driver_costs(rounds=20)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'arm':<10} {'env steps/s':>12} {'s/round':>8} {'per core vs in-process':>23}")
    print(
        f"{'inprocess':<10} {base['steps_per_s']:>12.0f} {base['s_per_round']:>8.3f} {1.0:>23.2f}"
    )
    for workers in (1, 2):
        r = results[f"ray-{workers}"]
        print(f"{'ray-' + str(workers):<10} {r['steps_per_s']:>12.0f} {r['s_per_round']:>8.3f} "
              f"{r['ratio_per_core']:>23.2f}")  # fmt: skip
    r1 = results["ray-1"]
    print(f"Ray overhead per round (1 worker, vs in process): {r1['overhead_ms_per_round']:.0f} ms")
    b = results["bytes"]
    print(f"bytes per round: weights out {b['weights_out_per_version'] / 1e6:.2f} MB per version, "
          f"episodes back {b['episodes_back_per_round'] / 1e3:.0f} kB")  # fmt: skip
    d = results["driver"]
    store, rows = 1000 * d["store_s_per_round"], 1000 * d["rows_s_per_round"]
    print(f"driver per round: replay store {store:.1f} ms, rows (SQLite) {rows:.1f} ms; "
          f"learner {d['updates_per_s']:.0f} updates/s")  # fmt: skip


if __name__ == "__main__":
    main()
