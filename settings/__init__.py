"""Settings that more than one package reads, each declared once.

- ``LearnerConfig``: the learner's hyper-parameters (``controllers.learner`` trains with them,
  an experiment stores them, the dashboard shows them).

The package imports only pydantic and the task language, so the arena, the daemon and the
dashboard can all read it. Values enter where a person gives them (a command's flags, the
environment) and travel typed from there.
"""

from settings.learner import LearnerConfig

__all__ = ["LearnerConfig"]
