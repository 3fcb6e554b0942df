"""Offscreen rendering of the arena from named cameras, and episodes as GIF/MP4/filmstrip.

MuJoCo picks its OpenGL backend from ``MUJOCO_GL`` when it is first imported; we default it
to ``egl`` (headless, no display, works without a GPU through Mesa). ``osmesa`` works too
after ``apt-get install libosmesa6``. Set the variable before importing this module to
override.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from collections.abc import Sequence
from pathlib import Path

import imageio.v3 as iio
import mujoco
import numpy as np

from controllers.arena import Physics
from controllers.layout import SceneConfig

CAMERAS = ("front", "side")
"""Named cameras of the scene; ``front`` looks along +y at the table."""


class Camera:
    """Renders RGB frames of any ``MjData`` of one model from a named camera."""

    def __init__(
        self, model: mujoco.MjModel, camera: str = "front", width: int = 256, height: int = 256
    ) -> None:
        if camera not in CAMERAS:
            raise ValueError(f"unknown camera {camera!r}; this scene has {list(CAMERAS)}")
        max_w, max_h = model.vis.global_.offwidth, model.vis.global_.offheight
        if not (16 <= width <= max_w and 16 <= height <= max_h):
            raise ValueError(
                f"resolution {width}x{height} not supported; width 16..{max_w}, height 16..{max_h}"
            )
        self.camera = camera
        self._renderer = mujoco.Renderer(model, height=height, width=width)

    def render(self, data: mujoco.MjData) -> np.ndarray:
        """One frame, ``uint8`` array of shape (height, width, 3)."""
        self._renderer.update_scene(data, camera=self.camera)
        return self._renderer.render().copy()

    def close(self) -> None:
        self._renderer.close()


def scene_png(scene: SceneConfig, *, size: int = 256, seed: int = 0) -> bytes:
    """The arena at the start of episode seed ``seed``, from the front camera, as PNG: the
    scene picture the planner is shown (256 px fits Gemini's cheapest image size)."""
    import io

    from PIL import Image as PILImage

    physics = Physics(scene)
    data = physics.make_data()
    physics.reset(data, np.random.default_rng(seed))
    camera = Camera(physics.model, "front", size, size)
    try:
        frame = camera.render(data)
    finally:
        camera.close()
    buf = io.BytesIO()
    PILImage.fromarray(frame).save(buf, format="PNG")
    return buf.getvalue()


def save_video(frames: Sequence[np.ndarray], path: str | Path, fps: int = 20) -> Path:
    """Write frames as ``.gif`` or ``.mp4`` (chosen by the suffix)."""
    path = Path(path)
    if not frames:
        raise ValueError("no frames to write")
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        iio.imwrite(path, np.stack(frames), duration=1000 / fps, loop=0)
    elif suffix == ".mp4":
        _write_mp4(frames, path, fps)
    else:
        raise ValueError(f"unsupported video format {suffix!r}; use .gif or .mp4")
    return path


def _write_mp4(frames: Sequence[np.ndarray], path: Path, fps: int) -> None:
    import imageio  # the v2 writer drives the ffmpeg binary shipped by imageio-ffmpeg

    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=8) as w:
        for f in frames:
            w.append_data(f)  # type: ignore[attr-defined]


def filmstrip(frames: Sequence[np.ndarray], path: str | Path, count: int = 8) -> Path:
    """A PNG of ``count`` evenly spaced frames side by side (first and last included)."""
    if not frames:
        raise ValueError("no frames for a filmstrip")
    idx = np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in idx], axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, strip)
    return path
