"""Test-wide settings: headless rendering and a deterministic, quiet environment."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
