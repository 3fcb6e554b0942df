"""The language-conditioned actor-critic: one SAC policy learns every task from all data.

Imports torch and MuJoCo; ``controllers`` itself, ``controllers.compile`` and the task language
(``tasks``) stay free of both.
"""

from controllers.learner.learner import Learner, resolve_device, train_tasks
from controllers.learner.replay import ReplayBuffer, Source
from controllers.learner.results import CollectStats, EpisodeRecord, EvalResult
from settings import LearnerConfig

__all__ = [
    "CollectStats",
    "EpisodeRecord",
    "EvalResult",
    "Learner",
    "LearnerConfig",
    "ReplayBuffer",
    "Source",
    "resolve_device",
    "train_tasks",
]
