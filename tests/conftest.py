"""Test-wide settings: headless rendering and a deterministic, quiet environment."""

import os

import pytest

from controllers.layout import ObsLayout, SceneConfig

os.environ.setdefault("MUJOCO_GL", "egl")

# Database fixtures (SQLite and a real PostgreSQL) for the storage and skills tests.
pytest_plugins = ["db_fixtures"]


@pytest.fixture
def layout() -> ObsLayout:
    """The default three-block scene's observation layout (also a scene for the language)."""
    return SceneConfig().layout()
