"""Where does a goal's policy fail? The steps of its decomposition, tracked over fresh starts.

Loads an experiment's newest learner checkpoint (as ``benchmarks/promotion.py`` does), runs
the goal's policy (deterministic actions, conditioned on the goal's instruction) for
``--episodes`` episodes from seeds no evaluation uses (from 10^8), and tracks every step of
the goal's decomposition by the offline rules (for stacking red on blue: grasp red, hold it
above blue, stack it): how many episodes ever reached each step, how many hold it at the
end, and where each failed episode stopped (the first step it never reached, or "lost it"
when it reached every step but does not succeed at the end). For a failed episode that
ends with an ``on`` atom's cubes resting one on the other, the horizontal offset of their
centres is listed against the predicate's tolerance (near misses).

Usage: ``python benchmarks/failures.py --data-dir DIR --experiment NAME [--goal TEXT]
[--episodes 200] [--json]`` (the goal defaults to the experiment's own).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch

from controllers.compile import compile_task
from controllers.env import BlocksVecEnv
from experimenter.learner_store import LearnerStore
from experimenter.planner.curriculum import decompose
from experimenter.skill_run import FRESH_SEED
from settings import LoopSettings
from storage import open_database, runs
from tasks import as_task, canonical_instruction
from tasks.geometry import ON_XY_FRACTION, ON_Z_TOL


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--experiment", required=True)
    p.add_argument("--goal", default=None, help="Task to examine (default: the experiment's goal).")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    db = open_database(home=a.data_dir)
    with db.reader() as s:
        exp = runs.find_experiment(s, name=a.experiment)
        if exp is None:
            raise SystemExit(f"no experiment named {a.experiment!r} in {a.data_dir}")
        settings = LoopSettings.model_validate(exp.config)
        exp_id = exp.id
    goal_text = a.goal or (settings.goal.text if settings.goal else None)
    if goal_text is None:
        raise SystemExit(f"experiment {a.experiment!r} has no goal: give one with --goal")
    store = LearnerStore(
        a.data_dir / "experiments" / str(exp_id) / "learner",
        settings.learner,
    )
    learner = store.get()
    layout = learner.layout
    goal = as_task(goal_text, layout)
    goal_json = goal.model_dump(mode="json", exclude_none=True)
    steps = [as_task(json.dumps(spec), layout) for spec in decompose(goal_json, max_subtasks=12)]
    names = [canonical_instruction(t) for t in steps]
    compiled = [compile_task(t, layout) for t in steps]
    final_check = compile_task(goal, layout)

    n = a.episodes
    task = learner.add_task(goal_json)
    env = BlocksVecEnv(n, scene=learner.scene, max_episode_steps=learner.cfg.episode_steps,
                       threads=a.threads)  # fmt: skip
    obs, _ = env.reset(seed=[FRESH_SEED + i for i in range(n)])
    ever = np.zeros((len(steps), n), dtype=bool)
    for t in range(learner.cfg.episode_steps):
        obs, *_, info = env.step(learner.act(obs, np.full(n, task), deterministic=True))
        last = info["final_obs"] if t == learner.cfg.episode_steps - 1 else obs
        for i, c in enumerate(compiled):
            ever[i] |= c.success(last)
    env.close()
    store.close()
    held = np.stack([c.success(last) for c in compiled])
    success = final_check.success(last)
    stops: Counter[str] = Counter()
    for e in np.flatnonzero(~success):
        missed = np.flatnonzero(~ever[:, e])
        stops[names[missed[0]] if len(missed) else "lost it (every step reached)"] += 1
    near: list[dict[str, Any]] = []
    for atom in (x for stage in goal.stages for x in stage.all):
        if atom.pred != "on":
            continue
        top, base = atom.args
        d = layout.obj_pos(last, top) - layout.obj_pos(last, base)
        resting = np.abs(d[:, 2] - layout.half_size(top) - layout.half_size(base)) <= ON_Z_TOL
        offset = np.hypot(d[:, 0], d[:, 1])
        tol = ON_XY_FRACTION * layout.half_size(base)
        miss = ~success & resting & (offset >= tol)
        near.append({
            "atom": f"on({top}, {base})", "tolerance_m": tol, "near_misses": int(miss.sum()),
            "offsets_m": sorted(round(float(x), 4) for x in offset[miss]),
        })  # fmt: skip
    report = {
        "experiment": a.experiment, "env_steps": learner.env_steps, "goal": goal_text,
        "episodes": n, "success": float(success.mean()),
        "steps": [
            {"step": name, "ever": float(ever[i].mean()), "at_end": float(held[i].mean())}
            for i, name in enumerate(names)
        ],
        "failures_stop_at": dict(stops.most_common()), "near_misses": near,
    }  # fmt: skip
    if a.json:
        print(json.dumps(report))
        return
    print(f"{a.experiment} at {learner.env_steps} env steps: {goal_text!r}, {success.mean():.0%} "
          f"of {n} fresh starts")  # fmt: skip
    width = max(len(x) for x in names)
    print(f"  {'step':<{width}}  {'ever':>5}  {'at end':>6}")
    for row in report["steps"]:
        print(f"  {row['step']:<{width}}  {row['ever']:>5.0%}  {row['at_end']:>6.0%}")
    print(f"failed episodes ({int((~success).sum())}) stop at:")
    for where, count in stops.most_common():
        print(f"  {count:>4}  {where}")
    for row in near:
        print(f"{row['atom']}: {row['near_misses']} failed episodes end resting on it off by "
              f">= {row['tolerance_m'] * 100:.1f} cm: "
              f"{', '.join(f'{x * 100:.1f}' for x in row['offsets_m'])} cm")  # fmt: skip


if __name__ == "__main__":
    main()
