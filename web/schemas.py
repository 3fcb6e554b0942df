"""What the API hands out (and the pages render): pydantic models, one per thing shown.

Rows of the database are read through ``storage`` and ``skills`` and turned into these
inside the read transaction; the JSON under ``/api`` is exactly these models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from settings import Budgets, LoopSettings
from skills.schemas import SkillDetail, SkillPublic, SkillRef

T = TypeVar("T")


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class Page(BaseModel, Generic[T]):
    """A page of a list, newest first; ask for ``before=next_before`` for the next one."""

    items: list[T]
    next_before: int | None = Field(description="Cursor of the next page; null on the last.")


class IterationPublic(_View):
    """One pass of the experimenter's loop."""

    id: int
    number: int
    status: str
    env_steps: int
    summary: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    node: str | None = Field(None, description="Graph node last reported (summary['node']).")


class ExperimentSummary(BaseModel):
    """One experiment as the experiments page lists it."""

    id: int
    name: str
    status: str
    planner_backend: str
    goal: str | None
    skills: dict[str, int] = Field(description="Skills it introduced, by status.")
    env_steps_used: int
    wall_seconds_used: float
    dollars_used: float
    budgets: Budgets = Field(description="Its limits, from its configuration (none: no limit).")
    heartbeat_at: datetime | None
    alive: bool = Field(description="Heartbeat recent enough: a daemon is running it.")
    stale: bool = Field(
        description="Running or paused, but no heartbeat for longer than the dashboard's "
        "alive_seconds: the daemon crashed or was killed."
    )
    state: str = Field(
        description="The status as a person should read it: the stored status, or "
        "'stale (no heartbeat for 5 min; the daemon may have crashed: run the same command "
        "again to resume)'."
    )
    iteration: int | None = Field(description="Number of the current (newest) iteration.")
    node: str | None = Field(description="Where the graph is now, as last reported.")
    created_at: datetime
    finished_at: datetime | None
    stop_reason: str | None = Field(
        None, description="Why its daemon last ended (a budget, the goal, a signal, a full "
        "disk); null while it runs.",
    )  # fmt: skip


class BudgetUse(BaseModel):
    """One budget: used so far against its limit."""

    name: str
    used: float
    limit: float | None
    fraction: float | None = Field(description="used / limit, when there is a limit.")


class MetricSeries(BaseModel):
    """A named metric series of an experiment and its newest point."""

    name: str
    last_step: int | None
    last_value: float | None


class WorkerPublic(_View):
    """A worker that collected episodes for the experiment, and its share."""

    worker: str = Field(description="'inprocess', or a Ray worker's 'node/actor' ids.")
    node: str = Field(description="The Ray node's id; 'local' for the in-process executor.")
    actor: str | None = Field(description="The Ray actor's id; null for the in-process one.")
    episodes: int = Field(description="Episodes it collected.")
    env_steps: int = Field(description="Env steps in those episodes.")
    last_env_step: int = Field(
        description="The experiment's env steps when its newest round began."
    )


class CommandPublic(_View):
    """A command to the daemon and what became of it."""

    id: int
    experiment_id: int | None
    kind: str
    payload: dict[str, Any]
    status: str
    created_by: str
    created_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None


class ExperimentOverview(BaseModel):
    """Everything the experiment page shows."""

    experiment: ExperimentSummary
    config: LoopSettings | None = Field(
        description="Its configuration as stored, typed (null: a record the experimenter did "
        "not write)."
    )
    goal_spec: dict[str, Any] | None
    budgets: list[BudgetUse]
    iterations: list[IterationPublic] = Field(description="Newest first (a page).")
    training: list[SkillPublic] = Field(description="Skills in training, their curves plotted.")
    metrics: list[MetricSeries]
    commands: list[CommandPublic] = Field(description="Newest commands sent to it.")
    workers: list[WorkerPublic] = Field(
        description="Who collected its episodes, the most recent first."
    )
    curves_png: str = Field(description="URL of the learning-curve picture.")


class SkillRow(BaseModel):
    """A row of the library table: the skill and its recent success rates."""

    skill: SkillPublic
    recent: list[float] = Field(description="Newest evaluations' success rates, oldest first.")
    score: float | None = Field(None, description="Search relevance (when searching).")


class SkillTable(BaseModel):
    """One page of the library table (offset pages: sortable by any column)."""

    items: list[SkillRow]
    total: int = Field(description="Skills matching the filters (or the search, at most 1000).")
    offset: int
    limit: int
    next_offset: int | None


class VideoRef(BaseModel):
    """The newest evaluation rollout with a video or filmstrip."""

    episode_id: int
    sha256: str
    media_type: str
    url: str
    success: bool
    steps: int


class SkillPage(BaseModel):
    """Everything the skill page shows."""

    detail: SkillDetail
    video: VideoRef | None
    curve_png: str = Field(description="URL of the evaluation-history picture.")


class StepPublic(BaseModel):
    """Subtask ``position`` of a task and the library skill it became."""

    position: int
    instruction: str
    wording: str | None
    skill: SkillRef | None
    matched_existing: bool
    score: float | None


class TaskPublic(BaseModel):
    """A proposed task, its verdict and its decomposition."""

    id: int
    experiment_id: int | None
    iteration_id: int | None
    spec: dict[str, Any] | None
    instruction: str | None
    wording: str | None
    proposed_by: str
    reason: str
    decision_id: int | None
    status: str
    verdict: str
    created_at: datetime
    steps: list[StepPublic]
    pending_command: str | None = Field(
        None, description="A queued approve/reject the daemon has not taken yet."
    )


class DecisionPublic(_View):
    """One planner call: what was asked (text and images), the answer, what it cost."""

    id: int
    experiment_id: int | None
    iteration_id: int | None
    kind: str
    backend: str
    model: str
    prompt: str
    response: str | None
    parsed: dict[str, Any] | None
    valid: bool
    error: str | None
    tokens_in: int
    tokens_out: int
    dollars: float
    latency_s: float
    cache_hit: bool
    created_at: datetime
    images: list[str] = Field(default_factory=list, description="sha256 of each image shown.")


class ReviewQueue(BaseModel):
    """What waits for a person: proposals, and the commands not yet taken by a daemon."""

    proposals: list[TaskPublic]
    pending: list[CommandPublic]
    experiments: list[ExperimentSummary] = Field(description="Experiments that can be steered.")


class ErrorOut(BaseModel):
    """Every error the API answers, whatever its status: one line saying what was wrong and
    what is allowed (a bad parameter names it, says what it must be and what was given)."""

    detail: str = Field(description="What was wrong, and what to do instead.")


class ReasonIn(BaseModel):
    """Why a person approves or rejects a proposal."""

    reason: str = Field("", max_length=2000)


class GoalIn(BaseModel):
    """A goal: an instruction or a task spec as JSON."""

    goal: str = Field(min_length=1, max_length=4000)


class ControlIn(BaseModel):
    """Pause, resume or stop a daemon."""

    kind: Literal["pause", "resume", "stop"]
