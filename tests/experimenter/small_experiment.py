"""An experiment as the daemon leaves it, made in seconds: a learned skill whose experiment's
learner was trained a little and saved by its store, and a skill it never trained. Shared by
the tests of the commands that act through an experiment's policy (``skills run``,
``skills evaluate``, ``skills export-policy``)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

import skills as lib
from controllers.layout import SceneConfig
from experimenter.learner_store import LearnerStore, learner_dir
from settings import LearnerConfig
from storage import Database, runs
from tasks import as_task

LAYOUT = SceneConfig().layout()
SMALL = LearnerConfig(
    hidden=(32, 32), batch_size=32, episode_steps=20, num_envs=2, random_steps=40,
    buffer_capacity=2_000, buffer_chunk=500,
)  # fmt: skip
"""A learner small enough to train and save in seconds (learning is not what these test)."""


class SmallExperiment(NamedTuple):
    experiment_id: int
    reach: int
    """"reach the red block", in training by the experiment."""
    untrained: int
    """"lift the blue block", the experiment's but never trained."""


class Trained(NamedTuple):
    env_steps: int
    obs: np.ndarray
    """Observations from the replay..."""
    actions: np.ndarray
    """...and the saved learner's deterministic actions for them, conditioned on reach."""


def add_small_experiment(db: Database) -> SmallExperiment:
    with db.session() as s:
        exp = runs.create_experiment(s, name="e", planner_backend="offline").id
        reach = lib.add_skill(
            s, spec=as_task("reach the red block", LAYOUT), experiment_id=exp, status="training"
        ).id
        untrained = lib.add_skill(
            s, spec=as_task("lift the blue block", LAYOUT), experiment_id=exp
        ).id
    return SmallExperiment(exp, reach, untrained)


def train_a_little(db: Database, home: Path, made: SmallExperiment) -> Trained:
    """Train the experiment's learner on reach for one short round and save it where the
    daemon keeps it."""
    from controllers.learner import Learner

    with db.reader() as s:
        spec = lib.skill_specs(s, skill_ids=[made.reach])[made.reach]
    store = LearnerStore(learner_dir(home, made.experiment_id), SMALL)
    learner: Learner = store.get()
    task = learner.add_task(spec)
    learner.set_weights({task: 1.0})
    learner.collect(80)
    learner.update(10)
    store.save()
    obs = learner.replay.obs[: len(learner.replay)].copy()
    actions = learner.act(obs, np.full(len(obs), task), deterministic=True)
    steps = learner.env_steps
    store.close()
    return Trained(steps, obs, actions)
