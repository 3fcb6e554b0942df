"""``storage`` and ``skills`` load neither MuJoCo nor torch (the dashboard imports them)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_storage_and_skills_loads_no_physics_or_torch() -> None:
    code = (
        "import sys, storage, skills, skills.retrieval, storage.pgserver\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('mujoco', 'torch'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
