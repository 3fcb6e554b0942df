"""Settings that more than one package reads, each declared once.

- ``LearnerConfig``: the learner's hyper-parameters (``controllers.learner`` trains with them).
- ``LoopSettings``: what an experiment stores as its configuration: the loop's settings, its
  ``Budgets`` and its ``LearnerConfig``; the daemon writes it, the loop reads it, the
  dashboard shows it, and ``experimenter run``'s flags are built from it.
- ``ExecutorSettings``: where arenas step (in process, or Ray workers); not stored.
- ``DataSettings``: where the data lives (``EXPERIMENTER_HOME``, ``EXPERIMENTER_DB_URL``),
  resolved once for every command and the dashboard; ``ServeSettings`` adds where the
  dashboard listens and its token.

The package imports only pydantic and the task language, so the arena, the daemon and the
dashboard can all read it. Values enter where a person gives them (a command's flags, the
environment) and travel typed from there.
"""

from settings.data import DataSettings, ServeSettings
from settings.executor import ExecutorSettings
from settings.learner import LearnerConfig
from settings.loop import MAX_TRAINING, Budgets, LoopSettings

__all__ = [
    "MAX_TRAINING",
    "Budgets",
    "DataSettings",
    "ExecutorSettings",
    "LearnerConfig",
    "LoopSettings",
    "ServeSettings",
]
