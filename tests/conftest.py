"""Test-wide settings: headless rendering and a deterministic, quiet environment."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

# Database fixtures (SQLite and a real PostgreSQL) for the storage and skills tests.
pytest_plugins = ["db_fixtures"]
