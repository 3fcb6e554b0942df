"""Experiment configurations as older versions of the experimenter stored them
(``experiments.config`` and ``experiments.budgets``): what must still load."""

from __future__ import annotations

from typing import Any

# What `experimenter run --goal "stack the red block on the blue block" --max-env-steps 300000
# --max-usd 2 --hidden 128 --hidden 128` stored as experiments.config (and .budgets) before
# the learner's part was typed: its learner part holds the flags only.
STORED_BY_RUN: dict[str, Any] = {
    "goal": {
        "text": "stack the red block on the blue block",
        "spec": {
            "stages": [
                {
                    "all": [
                        {"pred": "on", "args": ["red", "blue"]},
                        {"pred": "released", "args": ["red"]},
                    ]
                }
            ],
            "constraints": [],
        },
    },
    "seed_skills": "primitives", "review": False, "max_training": 2, "collect_steps": 2000,
    "updates_per_step": 0.5, "chain_fraction": 0.5, "noise": 0.1, "eval_episodes": 10,
    "confirm_episodes": 50, "threshold": 0.8, "goal_threshold": None, "patience_steps": 30000,
    "retries": 1, "forgetting_weight": 0.2, "video_every": 5, "max_env_steps": 300000,
    "max_hours": None, "max_usd": 2.0,
    "learner": {
        "hidden": [128, 128], "batch_size": 256, "episode_steps": 100, "num_envs": 8,
        "random_steps": 2000, "device": "cpu", "seed": 0, "bc_weight": 0.5, "demo_fraction": 0.5,
        "critic_layer_norm": True, "actor_average": 0.001, "bc_normalize": True,
        "success_weight": 0.5,
    },
}  # fmt: skip
BUDGETS_BY_RUN = {"env_steps": 300000, "hours": None, "usd": 2.0}

# What the first daemon stored (commit d192430): the goal as text, no goal threshold, retries or
# confirmation episodes, a learner part without the settings for chains; and a key no version
# of the experimenter has.
STORED_FIRST: dict[str, Any] = {
    "goal": "reach the red block", "seed_skills": "none", "review": False, "max_training": 3,
    "collect_steps": 2000, "updates_per_step": 0.5, "chain_fraction": 0.5, "noise": 0.1,
    "eval_episodes": 10, "threshold": 0.7, "patience_steps": 30000, "forgetting_weight": 0.2,
    "max_env_steps": None, "max_hours": 2.5, "max_usd": None,
    "learner": {
        "hidden": [64, 64], "batch_size": 256, "episode_steps": 100, "num_envs": 8,
        "random_steps": 2000, "device": "cpu", "seed": 3,
    },
    "a_key_no_version_has": 1,
}  # fmt: skip
