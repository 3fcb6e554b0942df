"""The planner: the experimenter's three questions, asked of a model through one ``Planner``.

    from experimenter.planner import Planner, PlannerSettings, AnalyzeInput

    planner = Planner.from_settings(PlannerSettings(), recorder=DatabaseRecorder(db, exp_id))
    progress = planner.analyze(AnalyzeInput(skills=[...]), images=[curves, scene]).value
    review = vet_proposals(planner.propose(ProposeInput(...)).value, scene=layout, known=...)

Backends (``gemini``, ``openai``, ``offline``, ``replay``) are registered in
``planner.backends``; the answers are the Pydantic models of ``planner.answers``, and how
a question is asked (cache, budgets, retries, repair, fallback) is ``planner.asking``.
"""

from experimenter.planner.answers import (
    Decomposition,
    Progress,
    Proposals,
    ProposedTask,
    SkillJudgement,
    Subtask,
)
from experimenter.planner.asking import Answer, Planner, PlannerStopped, RetryPolicy
from experimenter.planner.backends import BACKENDS, make_backend, register
from experimenter.planner.budget import Budget, BudgetExhausted
from experimenter.planner.config import ModelPrice, PlannerSettings
from experimenter.planner.inputs import (
    AnalyzeInput,
    BudgetLine,
    CurvePoint,
    DecomposeInput,
    Image,
    LibrarySkill,
    ProposeInput,
    Rejection,
    SkillProgress,
)
from experimenter.planner.proposals import AcceptedTask, RejectedTask, Review, vet_proposals
from experimenter.planner.record import (
    DatabaseRecorder,
    DecisionRecord,
    MemoryRecorder,
    export_decisions,
    read_decisions_file,
    write_decisions_file,
)

__all__ = [
    "BACKENDS",
    "AcceptedTask",
    "AnalyzeInput",
    "Answer",
    "Budget",
    "BudgetExhausted",
    "BudgetLine",
    "CurvePoint",
    "DatabaseRecorder",
    "DecisionRecord",
    "DecomposeInput",
    "Decomposition",
    "Image",
    "LibrarySkill",
    "MemoryRecorder",
    "ModelPrice",
    "Planner",
    "PlannerSettings",
    "PlannerStopped",
    "Progress",
    "Proposals",
    "ProposeInput",
    "ProposedTask",
    "RejectedTask",
    "Rejection",
    "RetryPolicy",
    "Review",
    "SkillJudgement",
    "SkillProgress",
    "Subtask",
    "export_decisions",
    "make_backend",
    "read_decisions_file",
    "register",
    "vet_proposals",
    "write_decisions_file",
]
