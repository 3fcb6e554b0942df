"""Test-wide settings: headless rendering and a deterministic, quiet environment."""

import os

# One torch (OpenMP) thread in the tests and the processes they start, set before torch is
# imported: the tests' networks are tiny, and two threads on a 2-core machine already busy
# (a training run, a second pytest) made each update ~7x slower than one.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from controllers.layout import ObsLayout, SceneConfig

os.environ.setdefault("MUJOCO_GL", "egl")

# Database fixtures (SQLite and a real PostgreSQL) for the storage and skills tests.
pytest_plugins = ["db_fixtures"]


@pytest.fixture
def layout() -> ObsLayout:
    """The default three-block scene's observation layout (also a scene for the language)."""
    return SceneConfig().layout()
