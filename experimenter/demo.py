"""The arena demo: scripted primitive chains stack red on blue; a video shows one episode.

This is the main job until the experimenter's daemon exists: it exercises the real
physics, the task language (success is the spec's), the primitives and the renderer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from controllers.chain import Chain, run_chain
from controllers.env import BlocksEnv
from controllers.layout import SceneConfig
from controllers.primitives import stack_chain

log = logging.getLogger(__name__)


@dataclass
class DemoReport:
    episodes: int
    successes: int
    mean_steps: float
    seconds: float
    video: Path | None
    filmstrip: Path | None

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes


def run_demo(
    *,
    episodes: int,
    seed: int,
    blocks: int,
    out_dir: Path,
    video: bool,
) -> DemoReport:
    """Stack red on blue with the primitive chain from ``episodes`` random starts."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    env = BlocksEnv(task="stack the red block on the blue block", scene=SceneConfig.blocks(blocks))
    log.info("task: %s (spec hash %s)", env.instruction, env.spec_task.spec_hash())
    t0 = time.perf_counter()
    steps, successes = [], 0
    video_path = strip_path = None
    for i in range(episodes):
        camera = None
        if video and i == 0:
            from controllers.render import Camera  # GL only when a video is wanted

            camera = Camera(env.physics.model, "front", 256, 256)
        result = run_chain(env, Chain(stack_chain(env.layout)), seed=seed + i, camera=camera)
        successes += result.success
        steps.append(result.steps)
        log.info(
            "episode %d/%d seed %d: %s in %d steps%s",
            i + 1,
            episodes,
            seed + i,
            "stacked" if result.success else "failed",
            result.steps,
            f" ({result.failed} timed out)" if result.failed else "",
        )
        if camera is not None:
            from controllers.render import filmstrip, save_video

            video_path = save_video(result.frames, out_dir / "stack.gif")
            strip_path = filmstrip(result.frames, out_dir / "stack_filmstrip.png")
            camera.close()
    return DemoReport(
        episodes=episodes,
        successes=successes,
        mean_steps=float(np.mean(steps)),
        seconds=time.perf_counter() - t0,
        video=video_path,
        filmstrip=strip_path,
    )
