"""Every table, on one ``Base.metadata`` (what the Alembic migrations describe)."""

from storage.models.base import Base
from storage.models.experiments import Checkpoint, Command, Experiment, Iteration, Metric
from storage.models.records import Artifact, Decision, DecisionImage, Episode
from storage.models.skills import (
    Evaluation,
    Skill,
    SkillComponent,
    SkillFeature,
    SkillStatusChange,
)
from storage.models.tasks import DecompositionStep, Task

__all__ = [
    "Artifact",
    "Base",
    "Checkpoint",
    "Command",
    "Decision",
    "DecisionImage",
    "DecompositionStep",
    "Episode",
    "Evaluation",
    "Experiment",
    "Iteration",
    "Metric",
    "Skill",
    "SkillComponent",
    "SkillFeature",
    "SkillStatusChange",
    "Task",
]
