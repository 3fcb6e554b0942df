"""An experiment's collected episodes as flat NumPy arrays and a JSON description.

The transitions come from the learner's replay (a copy read without loading the learner's
networks, ``replay_copy``), placed episode by episode from the ``episodes`` table
(``placement``); the replay stores no reward, so each task's reward and success are
computed here from the next observations by its compiled spec, as the learner relabels
them. ``ARRAYS`` describes every array; README.md ("Datasets") shows how to load them.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import skills
from controllers.arena import ACTION_NAMES
from controllers.compile import CompiledTask, compile_task
from controllers.env import ENV_ID
from controllers.layout import ObsLayout, SceneConfig, observation_names
from controllers.learner.replay import ReplayBuffer
from experimenter.dataset.files import FORMAT, FORMAT_VERSION, check_out, write_dataset
from experimenter.dataset.placement import SOURCES, DatasetError, PlacedEpisode, place_episodes
from experimenter.dataset.replay_copy import read_replay
from experimenter.learner_store import learner_dir
from settings import LoopSettings
from storage import Database, episodes, runs
from tasks import TaskSpec, as_task, canonical_instruction

ARRAYS = {
    "observations": "(N, obs_dim) float32: the observation a step acted on",
    "actions": "(N, 4) float32 in [-1, 1]: the action executed (after noise and clipping)",
    "next_observations": "(N, obs_dim) float32: the observation after the step",
    "rewards": "(N, T) float32 in [0, 1]: task column c's reward at next_observations",
    "successes": "(N, T) bool: task column c holds at next_observations",
    "terminals": "(N,) bool: always False (episodes end by their time limit alone)",
    "timeouts": "(N,) bool: True at each episode's last step (the time limit)",
    "episode_index": "(N,) int64: the step's episode, 0 .. E-1 (rows of the episode_* arrays)",
    "step_index": "(N,) int64: the step's index within its episode, from 0",
    "episode_starts": "(E,) int64: each episode's first row in the per-step arrays",
    "episode_lengths": "(E,) int64: each episode's steps",
    "episode_sources": "(E,) str: who collected it: " + ", ".join(SOURCES),
    "episode_tasks": "(E,) int64: the task column it was collected for, -1 if not exported",
    "episode_skill_ids": "(E,) int64: the skill it was collected for, -1 if deleted since",
    "episode_ids": "(E,) int64: its id in the experimenter's episodes table",
    "episode_env_steps": "(E,) int64: the experiment's env steps when its round began",
}
"""Every array of ``dataset.npz`` and what it holds (N steps, E episodes, T tasks)."""


@dataclass(frozen=True)
class DatasetTask:
    """One reward column: a task and the experiment's skills that are it (none when the
    experiment collected nothing for it)."""

    spec: TaskSpec
    compiled: CompiledTask
    skill_ids: tuple[int, ...]


@dataclass(frozen=True)
class ExportReport:
    out: Path
    episodes: int
    transitions: int
    tasks: int
    skipped: dict[str, int]
    """Episodes of the experiment not exported, by reason (``metadata.json``'s ``counts``)."""


def export_dataset(
    db: Database,
    *,
    home: Path,
    experiment_id: int,
    out: Path,
    sources: Sequence[str] = SOURCES,
    tasks: Sequence[TaskSpec] = (),
    force: bool = False,
) -> ExportReport:
    """Write experiment ``experiment_id``'s collected episodes by ``sources`` (some of
    ``SOURCES``) to the folder ``out``, with one reward column per task of ``tasks``
    (default: each task the exported episodes were collected for). Every check comes before
    anything is written, and the folder appears whole or not at all; ``DatasetError`` says
    what was wrong."""
    out = Path(os.path.abspath(out))  # "." and "a/.." name the folder they stand for
    check_out(out, force=force)
    with db.reader() as s:
        exp = runs.get_experiment(s, experiment_id=experiment_id)
        name, goal, settings = exp.name, exp.goal, LoopSettings.model_validate(exp.config)
    cfg = settings.learner
    replay = read_replay(learner_dir(home, experiment_id), experiment=name)
    layout = SceneConfig().layout()  # the daemon's scene is always the default one
    if replay.obs_dim != layout.dim:
        raise DatasetError(
            f"experiment {name!r}'s replay holds {replay.obs_dim}-entry observations, not the "
            f"default scene's {layout.dim}: it was not written by `experimenter run`"
        )
    with db.reader() as s:
        rows = episodes.collected_episodes(s, experiment_id=experiment_id)
        ids = sorted({r.skill_id for r in rows if r.skill_id is not None})
        specs = {k: as_task(v, layout) for k, v in skills.skill_specs(s, skill_ids=ids).items()}
    placement = place_episodes(rows, replay, num_envs=cfg.num_envs, episode_steps=cfg.episode_steps)
    chosen = [e for e in placement.episodes if e.source in sources]
    skipped = {
        "overwritten": placement.overwritten,
        "not_saved": placement.not_saved,
        "unplaced": placement.unplaced,
        "other_sources": len(placement.episodes) - len(chosen),
    }
    if not chosen:
        why = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in skipped.items())
        raise DatasetError(
            f"experiment {name!r} has no episode to export from {', '.join(sources)}: "
            f"{len(rows)} collected, {why}"
        )
    if not tasks:
        collected_for = {e.row.skill_id for e in chosen if e.row.skill_id is not None}
        tasks = [specs[k] for k in sorted(collected_for & specs.keys())]
    columns = _columns(tasks, specs, layout)
    arrays = _arrays(chosen, replay, columns)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "experiment": {"id": experiment_id, "name": name, "goal": goal},
        "env": {
            "id": ENV_ID,
            "gymnasium_make": f'gymnasium.make("controllers.env:{ENV_ID}", task=INSTRUCTION, '
            f"max_episode_steps={cfg.episode_steps})",
            "scene": dataclasses.asdict(layout.scene),
            "episode_steps": cfg.episode_steps,
        },
        "observation": {"dim": layout.dim, "names": observation_names(layout)},
        "action": {"dim": len(ACTION_NAMES), "low": -1.0, "high": 1.0, "names": ACTION_NAMES},
        "tasks": [
            {
                "column": c,
                "instruction": canonical_instruction(t.spec),
                "spec": t.spec.model_dump(mode="json", exclude_none=True),
                "spec_hash": t.spec.spec_hash(),
                "skill_ids": list(t.skill_ids),
            }
            for c, t in enumerate(columns)
        ],
        "reward": "rewards[:, c] is task c's dense reward in [0, 1] at the next observation "
        "(1 exactly where the task holds), successes[:, c] whether it holds there; an "
        "episode achieved task c if successes[last step, c]. The experimenter's episodes "
        "table records the sum of the collecting task's rewards as the episode's return.",
        "sources": list(sources),
        "collection": {
            "num_envs": cfg.num_envs,
            "episode_steps": cfg.episode_steps,
            "random_steps": cfg.random_steps,
            "replay_capacity": replay.capacity,
            "replay_added": replay.added,
            "replay_size": replay.size,
        },
        "counts": {
            "episodes": len(chosen),
            "transitions": len(arrays["observations"]),
            "by_source": dict(Counter(e.source for e in chosen)),
            "collected": len(rows),
            "skipped": skipped,
        },
        "complete": skipped["overwritten"] + skipped["not_saved"] + skipped["unplaced"] == 0,
        "arrays": ARRAYS,
    }
    if skipped["overwritten"]:
        meta["note"] = (
            f"the replay keeps the newest {replay.capacity} transitions: "
            f"{skipped['overwritten']} older episodes were overwritten and are not here"
        )
    write_dataset(out, arrays, meta, force=force)
    return ExportReport(out, len(chosen), len(arrays["observations"]), len(columns), skipped)


def _columns(
    tasks: Sequence[TaskSpec], specs: dict[int, TaskSpec], layout: ObsLayout
) -> list[DatasetTask]:
    """The reward columns, each task once, with the experiment's skills that are it."""
    seen: set[str] = set()
    out = []
    for spec in tasks:
        key = spec.spec_hash()
        if key in seen:
            raise DatasetError(f"--task {canonical_instruction(spec)!r} is given twice")
        seen.add(key)
        same = tuple(k for k, other in sorted(specs.items()) if other.spec_hash() == key)
        out.append(DatasetTask(spec, compile_task(spec, layout), same))
    return out


def _arrays(
    chosen: list[PlacedEpisode], replay: ReplayBuffer, columns: list[DatasetTask]
) -> dict[str, np.ndarray]:
    """The arrays ``ARRAYS`` describes, in episode order."""
    positions = np.concatenate([e.positions for e in chosen])
    lengths = np.array([len(e.positions) for e in chosen], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    next_obs = replay.next_obs[positions]
    rewards = np.empty((len(positions), len(columns)), dtype=np.float32)
    successes = np.empty((len(positions), len(columns)), dtype=bool)
    for c, task in enumerate(columns):
        rewards[:, c], successes[:, c] = task.compiled.evaluate(next_obs)
    column_of = {k: c for c, t in enumerate(columns) for k in t.skill_ids}
    skill_ids = [-1 if e.row.skill_id is None else e.row.skill_id for e in chosen]
    episode_index = np.repeat(np.arange(len(chosen), dtype=np.int64), lengths)
    return {
        "observations": replay.obs[positions],
        "actions": replay.action[positions],
        "next_observations": next_obs,
        "rewards": rewards,
        "successes": successes,
        "terminals": np.zeros(len(positions), dtype=bool),
        "timeouts": replay.timeout[positions],
        "episode_index": episode_index,
        "step_index": np.arange(len(positions), dtype=np.int64) - starts[episode_index],
        "episode_starts": starts,
        "episode_lengths": lengths,
        # Fixed-width text, not objects: it loads without allow_pickle.
        "episode_sources": np.array([e.source for e in chosen], dtype=np.str_),
        "episode_tasks": np.array([column_of.get(k, -1) for k in skill_ids], dtype=np.int64),
        "episode_skill_ids": np.array(skill_ids, dtype=np.int64),
        "episode_ids": np.array([e.row.id for e in chosen], dtype=np.int64),
        "episode_env_steps": np.array([e.row.env_step for e in chosen], dtype=np.int64),
    }
