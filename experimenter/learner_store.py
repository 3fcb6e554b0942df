"""The learner's checkpoint on disk, safe against a crash at any moment.

Two folders (``a`` and ``b``) take turns: a save goes to the folder that is *not* current,
then ``slots.json`` is replaced atomically to name it current. A crash during a save leaves
the current folder untouched, so the newest complete checkpoint always loads. The replay is
saved incrementally into each folder: every chunk written since that folder's last save is
rewritten (``ReplayBuffer.mark_changed_since``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from controllers.learner import Learner, LearnerConfig

log = logging.getLogger(__name__)

SLOTS = ("a", "b")


class LearnerStore:
    """Loads the experiment's learner once and saves it in alternating folders."""

    def __init__(self, root: Path, config: LearnerConfig) -> None:
        self.root = Path(root)
        self.config = config
        self._learner: Learner | None = None

    def _meta(self) -> dict[str, Any]:
        path = self.root / "slots.json"
        if not path.exists():
            return {"current": None, "added": {s: 0 for s in SLOTS}}
        meta: dict[str, Any] = json.loads(path.read_text())
        return meta

    @property
    def current(self) -> Path | None:
        """Folder of the newest complete checkpoint, or None before the first save."""
        cur = self._meta()["current"]
        return self.root / cur if cur else None

    @property
    def loaded(self) -> bool:
        return self._learner is not None

    def get(self) -> Learner:
        """The learner: loaded from the newest checkpoint once, else new from the config."""
        if self._learner is None:
            cur = self.current
            if cur is not None:
                self._learner = Learner.load(cur, device=self.config.device)
                log.info(
                    "learner resumed from %s at %d env steps, %d updates",
                    cur,
                    self._learner.env_steps,
                    self._learner.updates,
                )
            else:
                self._learner = Learner(self.config)
        return self._learner

    def save(self) -> Path:
        """Save the learner into the other folder, then make it current; returns the folder."""
        learner = self.get()
        meta = self._meta()
        slot = "b" if meta["current"] == "a" else "a"
        added = int(meta["added"].get(slot, 0))
        learner.replay.mark_changed_since(min(added, learner.replay.added))
        folder = learner.save(self.root / slot)
        meta = {"current": slot, "added": {**meta["added"], slot: learner.replay.added}}
        tmp = self.root / "slots.json.tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(meta))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "slots.json")
        return folder

    def close(self) -> None:
        if self._learner is not None:
            self._learner.close()
            self._learner = None
