"""Smoke test: the library benchmark runs end to end at a tiny scale on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "library.py"


@pytest.mark.slow
def test_library_benchmark_runs_and_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--skills", "300", "--evaluations", "900", "--queries", "5",
         "--json"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("300 skills, 900 evaluations")
    figures = json.loads(lines[-1])
    assert set(figures) == {"sqlite", "postgresql"}
    for backend in figures.values():
        assert set(backend) == {
            "list_p95_ms", "search_p95_ms", "nearest_p95_ms", "detail_p95_ms",
            "insert_skills_per_s", "insert_evaluations_per_s",
        }  # fmt: skip
        assert all(v > 0 for v in backend.values())
