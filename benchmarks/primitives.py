"""Success rate of the scripted stacking chain (reach, grasp, lift, move_above, place_on,
release) over many random initial states, judged by the task language's own success of
"stack the red block on the blue block" after the scene settles.

Usage: ``python benchmarks/primitives.py [--seeds 200] [--blocks 3] [--json]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import numpy as np

from controllers.chain import Chain, run_chain
from controllers.env import BlocksEnv
from controllers.layout import SceneConfig
from controllers.primitives import stack_chain


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=200, help="random initial states (seeds 0..N-1)")
    p.add_argument("--blocks", type=int, default=3, help="cubes on the table")
    p.add_argument("--json", action="store_true", help="print a final JSON line")
    args = p.parse_args()

    env = BlocksEnv(
        task="stack the red block on the blue block", scene=SceneConfig.blocks(args.blocks)
    )
    t0 = time.perf_counter()
    ok, steps, failed_at = 0, [], collections.Counter()
    failures = []
    for seed in range(args.seeds):
        r = run_chain(env, Chain(stack_chain(env.layout)), seed=seed)
        ok += r.success
        steps.append(r.steps)
        if not r.success:
            failed_at[r.failed or "toppled after release"] += 1
            failures.append(seed)
    rate = ok / args.seeds
    res = {
        "seeds": args.seeds,
        "blocks": args.blocks,
        "success_rate": rate,
        "mean_steps": float(np.mean(steps)),
        "max_steps": int(np.max(steps)),
        "seconds": time.perf_counter() - t0,
        "failed_at": dict(failed_at),
        "failed_seeds": failures,
    }
    print("| scene | seeds | stacked | success rate | mean steps | max steps |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {args.blocks} blocks | {args.seeds} | {ok} | {rate:.1%} | "
        f"{res['mean_steps']:.1f} | {res['max_steps']} |"
    )
    if failed_at:
        print("failures by primitive:", dict(failed_at), "seeds:", failures[:20])
    if args.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
