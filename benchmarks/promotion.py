"""Do promoted skills hold? Every skill an experiment promoted, re-measured on fresh starts.

A skill is promoted when the Wilson 95 % lower bound of its success rate, over
``confirm_episodes`` episodes from starts it was never judged on, reaches the threshold
(``experimenter.graph.nodes.analyze``). This script takes an experiment's newest learner
checkpoint and runs every promoted learned skill's policy (deterministic actions,
conditioned on its instruction) on ``--episodes`` episodes from seeds no evaluation uses
(from 10^8), and reports how many still reach the threshold (goal: at least 95 % of them).
Scripted primitives are left out: they are not learned.

Usage: ``python benchmarks/promotion.py --data-dir data --experiment quickstart [--episodes
200] [--json]``. Run it on a finished (or stopped) experiment: it reads the checkpoint the
daemon left.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import torch

import skills
from experimenter.learner_store import LearnerStore
from experimenter.skill_run import FRESH_SEED
from settings import LoopSettings
from skills.stats import wilson_interval
from storage import open_database, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--status", nargs="+", default=["learned"],
        help="Skills of these statuses (e.g. learned training: also a goal still training).",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    db = open_database(home=args.data_dir)
    with db.reader() as s:
        exp = runs.find_experiment(s, name=args.experiment)
        if exp is None:
            raise SystemExit(f"no experiment named {args.experiment!r} in {args.data_dir}")
        settings = LoopSettings.model_validate(exp.config)
        exp_id = exp.id
        promoted = skills.list_skills(
            s, status=args.status, kind="learned", experiment_id=exp_id, limit=10_000
        )
        specs = skills.skill_specs(s, skill_ids=[k.id for k in promoted])
    config = settings.learner
    store = LearnerStore(args.data_dir / "experiments" / str(exp_id) / "learner", config)
    learner = store.get()
    rows: list[dict[str, Any]] = []
    for k in promoted:
        task = learner.add_task(specs[k.id])
        res = learner.evaluate(task, args.episodes, seed=FRESH_SEED)
        low, high = wilson_interval(res.successes, res.episodes)
        rows.append({
            "skill": k.id, "instruction": k.instruction, "status": k.status,
            "at_promotion": k.success_rate,
            "bound_at_promotion": k.success_lower, "success": res.success_rate,
            "lower": low, "upper": high, "holds": res.success_rate >= settings.threshold,
        })  # fmt: skip
    store.close()
    judged = [r for r in rows if r["status"] == "learned"]  # promoted: the goal is theirs
    held = sum(r["holds"] for r in judged)
    summary = {
        "experiment": args.experiment, "env_steps": learner.env_steps,
        "threshold": settings.threshold, "episodes": args.episodes, "promoted": len(judged),
        "hold": held, "hold_fraction": held / len(judged) if judged else None, "skills": rows,
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{args.experiment}: {len(rows)} learned skills ({', '.join(args.status)}) at "
          f"{learner.env_steps} env "
          f"steps, re-measured on {args.episodes} fresh starts (threshold "
          f"{settings.threshold:.0%})")  # fmt: skip
    print(f"{'skill':>5}  {'status':>8}  {'newest (bound)':>15}  {'now [95 % CI]':>20}  holds  "
          "instruction")  # fmt: skip
    for r in rows:
        then = f"{r['at_promotion']:.0%} ({r['bound_at_promotion'] or 0:.0%})"
        now = f"{r['success']:.0%} [{r['lower']:.0%}, {r['upper']:.0%}]"
        print(f"{r['skill']:>5}  {r['status']:>8}  {then:>15}  {now:>20}  "
              f"{'yes' if r['holds'] else 'NO':>5}  "
              f"{r['instruction']}")  # fmt: skip
    if judged:
        print(f"{held} of {len(judged)} promoted skills hold ({held / len(judged):.0%}; goal "
              ">= 95 %)")  # fmt: skip


if __name__ == "__main__":
    main()
