"""The ``--planner`` option of ``run`` and ``planner bench``: which backend answers, read where
the option enters and checked at once.

Both commands take the backend the same way (``--planner``, else
``EXPERIMENTER_PLANNER_BACKEND``, else offline; every other setting from
``EXPERIMENTER_PLANNER_*``), so that a backend that can run an experiment can be scored, and
a mistake (an unknown name, a missing key or price) is refused in the same words by both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

if TYPE_CHECKING:
    from experimenter.planner import PlannerSettings

PLANNER_HELP = (
    "Planner backend: offline (rules, no network), gemini, openai or replay (default: "
    "EXPERIMENTER_PLANNER_BACKEND, else offline; EXPERIMENTER_PLANNER_* configure them)."
)


def planner_option() -> Any:
    """The ``--planner`` field of a command (None: the environment's, else offline)."""
    return Field(None, description=PLANNER_HELP)


def chosen_planner(backend: str | None, *, max_dollars: float | None = None) -> PlannerSettings:
    """The planner's settings with ``backend`` (None: ``EXPERIMENTER_PLANNER_BACKEND``, else
    offline), checked: the backend is built once now, with ``max_dollars`` as its dollar
    budget when given, so that an unknown name, a missing key or a missing price raises
    ``ValueError`` here rather than at the first question."""
    from experimenter.planner import Planner, PlannerSettings

    given = {"backend": backend} if backend is not None else {}
    settings = PlannerSettings(**given)  # type: ignore[arg-type]
    trial: dict[str, Any] = {"cache_dir": None}
    if max_dollars is not None:
        trial["max_dollars"] = max_dollars
    Planner.from_settings(settings.model_copy(update=trial))
    return settings
