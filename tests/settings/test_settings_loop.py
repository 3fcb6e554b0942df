"""An experiment's stored configuration: what older versions wrote still loads, typed."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError
from stored_configs import BUDGETS_BY_RUN, STORED_BY_RUN, STORED_FIRST

from settings import Budgets, LearnerConfig, LoopSettings
from tasks import Goal


def test_the_configuration_experimenter_run_stored_loads_with_its_learner_typed() -> None:
    settings = LoopSettings.model_validate(copy.deepcopy(STORED_BY_RUN))
    assert settings.goal == Goal.read(
        "stack the red block on the blue block", ("red", "green", "blue")
    )
    assert settings.learner == LearnerConfig(
        hidden=(128, 128), bc_weight=0.5, demo_fraction=0.5, critic_layer_norm=True,
        actor_average=0.001, bc_normalize=True, success_weight=0.5,
    )  # fmt: skip
    assert settings.budgets() == BUDGETS_BY_RUN
    assert (settings.max_env_steps, settings.max_hours, settings.max_usd) == (300000, None, 2.0)
    assert settings.threshold_of(is_goal=True) == 0.8
    # Stored again (as a resumed run does), it reads back the same.
    again = LoopSettings.model_validate(settings.model_dump(mode="json"))
    assert again == settings


def test_a_first_daemons_record_loads_with_the_learners_own_defaults() -> None:
    """A field the record lacks takes LearnerConfig's default (pure RL), as the daemon read
    it then, never experimenter run's newer defaults: a resumed experiment trains on as it did."""
    settings = LoopSettings.model_validate(STORED_FIRST)
    assert settings.goal is not None and settings.goal.text == "reach the red block"
    assert settings.learner == LearnerConfig(hidden=(64, 64), seed=3)
    assert settings.learner.bc_weight == 0.0 and not settings.learner.critic_layer_norm
    assert (settings.seed_skills, settings.max_training, settings.threshold) == ("none", 3, 0.7)
    assert settings.budgets() == {"env_steps": None, "hours": 2.5, "usd": None}


def test_a_bad_learner_part_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="bc_weight must be >= 0, got -1"):
        LoopSettings.model_validate({"learner": {"bc_weight": -1}})


def test_budgets_given_again_replace_the_stored_ones_and_unset_ones_are_kept() -> None:
    stored = LoopSettings.model_validate(STORED_BY_RUN)
    raised = stored.with_budgets_of(Budgets(max_env_steps=500_000, max_hours=4.0))
    assert raised.budgets() == {"env_steps": 500_000, "hours": 4.0, "usd": 2.0}
    assert raised.model_copy(update={"max_env_steps": 300000, "max_hours": None}) == stored
    assert stored.with_budgets_of(Budgets()) == stored
