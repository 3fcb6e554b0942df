"""A learner checkpoint as a ``checkpoints`` row: its manifest is a small JSON artifact
(folder, env steps, updates); the networks and replay stay in the folder itself."""

from __future__ import annotations

import json
from pathlib import Path

from storage import Database, artifacts, episodes


def record_learner_checkpoint(
    db: Database,
    *,
    experiment_id: int,
    iteration_id: int | None,
    folder: Path,
    env_steps: int,
    updates: int,
) -> int | None:
    """Register a saved learner; returns the row id (None without an artifact store)."""
    if db.artifacts is None:
        return None
    manifest = {"folder": str(Path(folder).resolve()), "env_steps": env_steps, "updates": updates}
    with db.session() as s:
        artifact = artifacts.save_artifact(
            s, store=db.artifacts, data=json.dumps(manifest, sort_keys=True).encode(),
            media_type="application/json", name="learner-checkpoint.json",
        )  # fmt: skip
        row = episodes.record_checkpoint(
            s, experiment_id=experiment_id, artifact_sha256=artifact.sha256,
            env_steps=env_steps, kind="learner", iteration_id=iteration_id,
        )  # fmt: skip
        return row.id
