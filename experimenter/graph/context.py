"""What the nodes work with besides the state: live objects, never checkpointed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from controllers.layout import ObsLayout, SceneConfig
from experimenter.events import EventLog
from experimenter.planner import DatabaseRecorder, Image, Planner
from settings import LoopSettings
from storage import Database
from tasks import Goal, TaskSpec

if TYPE_CHECKING:
    from tqdm import tqdm

    from experimenter.executor import Executor
    from experimenter.learner_store import LearnerStore


class StopRequested(Exception):
    """Raised at a safe point inside a long node when the daemon was asked to stop."""


def _no_bar(**_: Any) -> Any:
    from tqdm import tqdm

    return tqdm(disable=True)


@dataclass
class Context:
    """The experiment's database, planner, learner and executor, and the daemon's hooks."""

    db: Database
    experiment_id: int
    settings: LoopSettings
    planner: Planner
    recorder: DatabaseRecorder
    learners: LearnerStore
    executor: Executor
    scene: SceneConfig = field(default_factory=SceneConfig)
    should_stop: Callable[[], bool] = lambda: False
    """Polled at safe points of long nodes (between chunks of collection and training)."""
    progress: Callable[..., tqdm] = _no_bar
    """Makes a progress bar (``tqdm`` keyword arguments)."""
    events: EventLog = field(default_factory=EventLog)
    """TensorBoard scalars: each node hands it what it recorded, once that committed."""
    wall_base: float = 0.0
    """Wall seconds used by earlier daemon runs (from the checkpointed state)."""
    started: float = field(default_factory=time.monotonic)

    @cached_property
    def layout(self) -> ObsLayout:
        return self.scene.layout()

    @property
    def goal(self) -> TaskSpec | None:
        """The goal's canonical spec, as read where the goal was given; None: open-ended.
        Its words are ``settings.goal.text``."""
        return self.settings.goal.spec if self.settings.goal is not None else None

    def set_goal(self, goal: Goal) -> None:
        """Steer towards ``goal`` from the next node on (a goal command): proposals, the
        goal's own training and the stop test all read it from the settings."""
        self.settings = self.settings.model_copy(update={"goal": goal})

    def wall_seconds(self) -> float:
        return self.wall_base + time.monotonic() - self.started

    def check_stop(self) -> None:
        if self.should_stop():
            raise StopRequested("stop requested")

    @cached_property
    def scene_image(self) -> Image:
        """The arena at a fixed start, rendered at 256 px (Gemini's cheapest size fits it)."""
        from controllers.render import scene_png

        return Image(name="scene.png", png=scene_png(self.scene))
