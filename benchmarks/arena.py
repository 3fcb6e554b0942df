"""Arena throughput: raw MuJoCo physics vs our env step, single and batched, and rendering.

Everything runs in one process on the same model so the figures compare side by side:

- ``raw_mj_step_per_s``: ``mujoco.mj_step`` single steps of the arena model, called from Python;
- ``env_steps_per_s``: ``BlocksEnv.step`` (unwrapped) control steps per second;
- ``overhead_ratio``: env time per control step / raw time of its physics substeps, where
  the raw time is ``mj_step(nstep=substeps)`` timed from the *same* states and controls the
  env went through (so contacts and solver work are identical; goal <= 1.25);
- ``batched_N_threads_T``: env steps per second summed over the copies of ``BlocksVecEnv``;
- ``render_fps_S``: offscreen frames per second at S x S from the front camera.

Usage: ``python benchmarks/arena.py [--steps 2000] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np

from controllers.env import ENV_ID, BlocksEnv, BlocksVecEnv
from controllers.render import Camera


def raw_step_rate(env: BlocksEnv, steps: int) -> float:
    m, d = env.physics.model, mujoco.MjData(env.physics.model)
    mujoco.mj_copyData(d, m, env.data)
    t = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(m, d)
    return steps / (time.perf_counter() - t)


def env_and_overhead(steps: int, seed: int) -> tuple[float, float, float]:
    """Env steps/s, overhead ratio and the raw physics time per control step (us).

    Each env step is paired with a bare ``mj_step(nstep=substeps)`` from the very same
    state and controls, timed right next to it, so machine load affects both alike.
    """
    env = BlocksEnv(max_episode_steps=100)
    m = env.physics.model
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    state = np.empty(mujoco.mj_stateSize(m, spec))
    raw = mujoco.MjData(m)
    env.reset(seed=seed)
    t_env = t_raw = 0.0
    for i in range(steps):
        mujoco.mj_getState(m, env.data, state, spec)  # outside the timed regions
        mujoco.mj_setState(m, raw, state, spec)
        env.physics.apply(raw, np.clip(actions[i].astype(np.float64), -1, 1))
        t = time.perf_counter()
        mujoco.mj_step(m, raw, nstep=env.physics.substeps)
        t_raw += time.perf_counter() - t
        t = time.perf_counter()
        _, _, term, trunc, _ = env.step(actions[i])
        t_env += time.perf_counter() - t
        if term or trunc:
            env.reset()
    return steps / t_env, t_env / t_raw, t_raw / steps * 1e6


def batched_rate(n: int, threads: int, steps: int) -> float:
    venv = BlocksVecEnv(
        n, task="stack the red block on the blue block", threads=threads, max_episode_steps=100
    )
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(steps, n, 4)).astype(np.float32)
    t = time.perf_counter()
    for i in range(steps):
        venv.step(actions[i])
    rate = steps * n / (time.perf_counter() - t)
    venv.close()
    return rate


def render_fps(size: int, frames: int) -> float:
    env = BlocksEnv()
    env.reset(seed=0)
    cam = Camera(env.physics.model, "front", size, size)
    cam.render(env.data)  # warm up the GL context
    t = time.perf_counter()
    for _ in range(frames):
        cam.render(env.data)
    fps = frames / (time.perf_counter() - t)
    cam.close()
    return fps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=2000, help="control steps per measurement")
    p.add_argument("--json", action="store_true", help="print a final JSON line")
    args = p.parse_args()
    s = args.steps

    env = BlocksEnv()
    env.reset(seed=0)
    res: dict[str, float] = {"raw_mj_step_per_s": raw_step_rate(env, s * 10)}
    env_rate, ratio, raw_us = env_and_overhead(s, seed=1)
    res.update(env_steps_per_s=env_rate, overhead_ratio=ratio, raw_control_step_us=raw_us)
    res["gym_make_steps_per_s"] = _gym_make_rate(s)
    for n in (1, 8, 64):
        for threads in (1, 2):
            if n == 1 and threads == 2:
                continue
            steps = max(20, s // n)
            res[f"batched_{n}_threads_{threads}"] = batched_rate(n, threads, steps)
    for size in (128, 256):
        res[f"render_fps_{size}"] = render_fps(size, frames=max(20, s // 20))

    substeps = env.physics.substeps
    rows = [
        ("raw mj_step (single physics steps/s)", f"{res['raw_mj_step_per_s']:,.0f}"),
        (f"raw physics per control step ({substeps} substeps, us)", f"{raw_us:,.0f}"),
        ("BlocksEnv.step (control steps/s)", f"{env_rate:,.0f}"),
        (
            "gymnasium.make env, with checker wrappers (steps/s)",
            f"{res['gym_make_steps_per_s']:,.0f}",
        ),
        ("overhead ratio env / raw physics (goal <= 1.25)", f"{ratio:.3f}"),
    ]
    for n in (1, 8, 64):
        for threads in (1, 2):
            key = f"batched_{n}_threads_{threads}"
            if key in res:
                rows.append(
                    (f"BlocksVecEnv N={n}, {threads} thread(s) (env steps/s)", f"{res[key]:,.0f}")
                )
    rows += [
        (f"render {sz}x{sz} front camera (frames/s)", f"{res[f'render_fps_{sz}']:,.1f}")
        for sz in (128, 256)
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"| {'-' * width} | ----: |")
    for k, v in rows:
        print(f"| {k.ljust(width)} | {v} |")
    if args.json:
        print(json.dumps({k: round(v, 4) for k, v in res.items()}))


def _gym_make_rate(steps: int) -> float:
    import gymnasium

    env = gymnasium.make(ENV_ID, max_episode_steps=100)
    env.reset(seed=0)
    actions = np.random.default_rng(1).uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    t = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t)


if __name__ == "__main__":
    main()
