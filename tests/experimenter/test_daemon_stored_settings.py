"""An experiment stored by an older version continues with its own settings, typed."""

from __future__ import annotations

import copy

from stored_configs import BUDGETS_BY_RUN, STORED_BY_RUN, STORED_FIRST

from experimenter.daemon import open_experiment
from settings import LearnerConfig, LoopSettings
from storage import Database, runs


def test_an_experiment_stored_before_the_learner_was_typed_continues_with_its_settings(
    sqlite_db: Database,
) -> None:
    with sqlite_db.session() as s:
        for name, config, budgets in (
            ("by-run", STORED_BY_RUN, BUDGETS_BY_RUN),
            ("first", STORED_FIRST, {"env_steps": None, "hours": 2.5, "usd": None}),
        ):
            runs.create_experiment(
                s, name=name, planner_backend="offline", config=copy.deepcopy(config),
                budgets=budgets,
            )  # fmt: skip
    # Continued with a raised env-step budget and nothing else given (as `experimenter run
    # --experiment by-run --max-env-steps 400000` does).
    exp_id, stored = open_experiment(
        sqlite_db, name="by-run", settings=LoopSettings(max_env_steps=400_000), backend="offline"
    )
    assert stored.learner == LearnerConfig(
        hidden=(128, 128), bc_weight=0.5, demo_fraction=0.5, critic_layer_norm=True,
        actor_average=0.001, bc_normalize=True, success_weight=0.5,
    )  # fmt: skip
    assert stored.goal is not None and stored.goal.text == "stack the red block on the blue block"
    with sqlite_db.reader() as s:
        exp = runs.get_experiment(s, experiment_id=exp_id)
        assert exp.budgets == {"env_steps": 400_000, "hours": None, "usd": 2.0}
        assert LoopSettings.model_validate(exp.config) == stored
        assert exp.config["learner"]["hidden"] == [128, 128]
    # The first daemon's record: the learner's own defaults where it says nothing.
    _, first = open_experiment(sqlite_db, name="first", settings=LoopSettings(), backend="offline")
    assert first.learner == LearnerConfig(hidden=(64, 64), seed=3)
    assert first.budgets() == {"env_steps": None, "hours": 2.5, "usd": None}
