"""A consistent copy of an experiment's saved replay, read while its daemon may run.

The learner's store saves into the folder that is not current, then names it current
(``experimenter.learner_store``); a folder is written again only after the other one became
current, and its replay's ``meta.json`` is written after its chunks. So a copy read from the
current folder is whole when, after reading, the same folder is still current and its
``meta.json`` unchanged; otherwise it is read again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from controllers.learner.replay import ReplayBuffer
from experimenter.dataset.placement import DatasetError
from experimenter.learner_store import LearnerStore
from settings import LearnerConfig

log = logging.getLogger(__name__)

ATTEMPTS = 3
"""Reads before giving up on a replay saved again and again while it was read."""


def read_replay(learner_root: Path, *, experiment: str) -> ReplayBuffer:
    """The replay of the learner checkpoint in ``learner_root``, as one save left it."""
    # The store only reads slots.json here; its config is not used.
    store = LearnerStore(learner_root, LearnerConfig())
    for attempt in range(1, ATTEMPTS + 1):
        before = _state(store)
        if before is None:
            raise DatasetError(
                f"experiment {experiment!r} has no saved learner in {learner_root}, so no "
                "replay to export: run it until it has collected (experimenter run)"
            )
        try:
            replay = ReplayBuffer.load(before[0] / "replay")
        except (OSError, ValueError, KeyError) as e:
            # A save in between can replace a chunk under the reader; a broken file stays.
            if attempt == ATTEMPTS:
                raise DatasetError(f"cannot read the replay in {before[0]}: {e}") from None
            continue
        if _state(store) == before:
            return replay
        log.info("the learner was saved while its replay was read; reading it again")
    raise DatasetError(
        f"experiment {experiment!r}'s learner was saved {ATTEMPTS} times while its replay was "
        f"read; pause it (experimenter pause --experiment {experiment}) and export again"
    )


def _state(store: LearnerStore) -> tuple[Path, str] | None:
    """The current folder and its replay's ``meta.json``, or None before the first save."""
    current = store.current
    if current is None:
        return None
    try:
        return current, (current / "replay" / "meta.json").read_text()
    except FileNotFoundError:
        return None
