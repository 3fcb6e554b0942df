"""Offscreen rendering: frames from named cameras, episode videos and a filmstrip."""

import imageio.v3 as iio
import numpy as np
import pytest

from controllers.chain import Chain, run_chain
from controllers.env import BlocksEnv
from controllers.layout import SceneConfig
from controllers.primitives import stack_chain
from controllers.render import Camera, filmstrip, save_video, scene_png


def test_cameras_render_the_scene_at_the_chosen_resolution():
    env = BlocksEnv()
    env.reset(seed=0)
    for name, size in (("front", 128), ("side", 96)):
        cam = Camera(env.physics.model, name, size, size)
        frame = cam.render(env.data)
        assert frame.shape == (size, size, 3) and frame.dtype == np.uint8
        # The red cube is in view: some pixels are strongly red.
        red = (frame[..., 0] > 150) & (frame[..., 1] < 80) & (frame[..., 2] < 80)
        assert red.sum() > 3
        cam.close()
    with pytest.raises(ValueError, match="unknown camera"):
        Camera(env.physics.model, "ceiling")
    with pytest.raises(ValueError, match="resolution"):
        Camera(env.physics.model, "front", 4000, 4000)


def test_the_planners_scene_picture_is_the_same_png_for_the_same_start():
    """The scene shown to the planner (and kept in its benchmark set) is a 256-px PNG that a
    rerun renders byte for byte the same: the response cache keys on it."""
    png = scene_png(SceneConfig())
    frame = iio.imread(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and frame.shape == (256, 256, 3)
    assert scene_png(SceneConfig()) == png


def test_episode_to_gif_mp4_and_filmstrip(tmp_path):
    env = BlocksEnv()
    cam = Camera(env.physics.model, "front", 96, 96)
    result = run_chain(env, Chain(stack_chain(env.layout)), seed=0, camera=cam)
    assert result.success and len(result.frames) == result.steps + 1
    gif = save_video(result.frames, tmp_path / "stack.gif")
    mp4 = save_video(result.frames, tmp_path / "stack.mp4")
    strip = filmstrip(result.frames, tmp_path / "strip.png", count=6)
    # Pillow merges identical consecutive frames (the settled end), so count loosely.
    assert len(result.frames) // 2 < iio.imread(gif).shape[0] <= len(result.frames)
    assert mp4.stat().st_size > 1000
    assert iio.imread(strip).shape == (96, 96 * 6, 3)
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        save_video(result.frames, tmp_path / "x.avi")
