"""Where each collected episode's transitions are in the learner's replay.

The replay stores collection rounds one after another. A round of ``n`` arena copies and
``H`` steps that began at env step ``E`` (its rows' ``env_step``) holds transitions
``E .. E + nH - 1``, counted from the replay's first (``ReplayBuffer.added`` counts them
all): copy ``i``'s step ``t`` is transition ``E + t n + i`` (``Learner._store_step``), and
copy order is the rows' id order within the round. The ring buffer keeps the newest
``size`` transitions, transition ``k`` at position ``k % capacity``.

Every placed episode is checked against what the replay says of it (the time-limit flag at
its last step only, each observation the previous step's next observation, one source), so
a row placed on the wrong transitions is an error, never a mislabelled episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np

from controllers.learner.replay import ReplayBuffer, Source
from storage.episodes import CollectedEpisode

SOURCES = ("policy", "random", "chain", "demo")
"""Who collected an episode: the policy, its uniformly random warm-up, a chain (a skill's
decomposition, learned parts acting by the policy) or a demonstration (a chain of scripted
primitives). Replays written before the warm-up was marked store it as ``policy``."""


class DatasetError(ValueError):
    """The export cannot be made as asked; ``str()`` is the one line to show people."""


@dataclass(frozen=True)
class PlacedEpisode:
    row: CollectedEpisode
    positions: np.ndarray
    """``(steps,)``: the replay positions of its transitions, in step order."""
    source: str
    """One of ``SOURCES``."""


@dataclass
class Placement:
    """The collected episodes whose transitions the replay holds whole, and why the others
    are missing."""

    episodes: list[PlacedEpisode] = field(default_factory=list)
    overwritten: int = 0
    """Rows whose round the ring buffer has overwritten, wholly or in part."""
    not_saved: int = 0
    """Rows of rounds past the replay's saved transitions: collected since the learner was
    last saved (its daemon runs), or by a daemon that crashed before saving them."""
    unplaced: int = 0
    """Rows without a round (``env_step``, not recorded by older versions), or in a round
    whose rows do not make one of ``num_envs`` episodes of ``episode_steps`` steps."""


def place_episodes(
    rows: Sequence[CollectedEpisode], replay: ReplayBuffer, *, num_envs: int, episode_steps: int
) -> Placement:
    """Each row's transitions in ``replay`` (rows as ``collected_episodes`` orders them)."""
    out = Placement()
    first = replay.added - replay.size  # the oldest transition the ring buffer still holds
    steps = np.arange(episode_steps)
    for env_step, group in groupby(rows, key=lambda r: r.env_step):
        members = list(group)
        if env_step is None or len(members) != num_envs:
            out.unplaced += len(members)
            continue
        if any(r.steps != episode_steps for r in members):
            out.unplaced += len(members)
            continue
        if env_step + num_envs * episode_steps > replay.added:
            out.not_saved += len(members)
            continue
        if env_step < first:
            out.overwritten += len(members)
            continue
        for copy, row in enumerate(members):
            positions = (env_step + steps * num_envs + copy) % replay.capacity
            out.episodes.append(PlacedEpisode(row, positions, _source(row, replay, positions)))
    return out


def _source(row: CollectedEpisode, replay: ReplayBuffer, positions: np.ndarray) -> str:
    """Who collected the episode (the row's label, the replay's source for the warm-up),
    after checking that ``positions`` hold it."""
    codes = np.unique(replay.source[positions])
    timeout = replay.timeout[positions]
    chained = bool(np.array_equal(replay.obs[positions[1:]], replay.next_obs[positions[:-1]]))
    if len(codes) != 1 or not timeout[-1] or timeout[:-1].any() or not chained:
        raise DatasetError(
            f"episode {row.id} (round at env step {row.env_step}) does not match the replay's "
            "transitions there: the replay and the episodes table disagree; export another "
            "experiment, or report this"
        )
    stored = Source(int(codes[0]))
    if row.label in ("chain", "demo") and stored == Source.CHAIN:
        return row.label
    if row.label in ("policy", "") and stored in (Source.POLICY, Source.RANDOM):
        return "random" if stored == Source.RANDOM else "policy"
    if row.label == "" and stored == Source.CHAIN:
        return "chain"
    raise DatasetError(
        f"episode {row.id} was collected as {row.label or 'unlabelled'} but the replay stores "
        f"its transitions as {stored.name.lower()}: the replay and the episodes table disagree"
    )
