"""TensorBoard event files of an experiment: what the loop records, for people's own tools.

The nodes write their figures to the database; right after each write commits they hand the
same values to the Context's ``EventLog``, which appends them as TensorBoard scalars
(tensorboardX, imported on first use). So the event files hold nothing the database does not:

- ``train/<figure>`` (``critic_loss``, ``actor_loss``, ``alpha``, ``q``, ...) and every other
  ``metrics`` row (``analyze/agreement``), at the learner's env steps;
- ``success/<skill id> <instruction>`` and ``return/<skill id> <instruction>`` of each
  evaluation, at its env steps;
- ``planner/calls``, ``planner/tokens``, ``planner/dollars``: the experiment's planner totals
  after each recorded decision (the budgets' ledger), at the env steps reached then.

Event files are only ever appended to (each daemon run opens a file of its own, named to the
nanosecond: tensorboardX would truncate a file of the same name), so a crash never damages
what was written; a record torn by a crash is skipped by TensorBoard's reader. A crash
between a database commit and its event write loses that one point from the event files; a
node rerun after a crash may record a point again at the same step (the database then holds
it twice too), which TensorBoard draws as two points at one step. A failure to write (a full
disk) is logged once and ends the event log, never the run: the database is the record.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FOLDER = "tensorboard"
"""The event files' folder in an experiment's own (``<data dir>/experiments/<id>/``)."""


def events_folder(home: Path, experiment_id: int, name: str, parent: Path | None) -> Path:
    """Where an experiment's event files go: ``parent/<name>`` when a folder was given (one
    run per experiment under ``tensorboard --logdir parent``), else
    ``<home>/experiments/<id>/tensorboard``."""
    if parent is None:
        return Path(home) / "experiments" / str(experiment_id) / FOLDER
    return Path(parent) / (re.sub(r"[^\w.-]+", "_", name).strip("._") or str(experiment_id))


def tag(*parts: object) -> str:
    """A TensorBoard tag: the parts joined by ``/``, each cut to letters, digits, ``_``,
    ``-`` and ``.`` (``success``, 3, "reach the red block" -> ``success/3_reach_the_red_block``)."""
    return "/".join(re.sub(r"[^\w.-]+", "_", str(p)).strip("_") or "_" for p in parts)


def metric_tag(name: str) -> str:
    """A ``metrics`` row's series name as a tag: ``train_critic_loss`` -> ``train/critic_loss``."""
    group, _, rest = name.partition("_")
    return tag(group, rest) if rest else tag(name)


def skill_tag(kind: str, skill_id: int, instruction: str) -> str:
    """``success/3_reach_the_red_block``: a skill's series, found by id or by its words."""
    return f"{kind}/{tag(f'{skill_id} {instruction}')}"


@dataclass
class EventLog:
    """Appends scalars to the event files in ``folder``; does nothing without one."""

    folder: Path | None = None
    step: int = 0
    """The newest env step written (or reached when the run resumed): planner totals, which
    have no step of their own, are written at it."""
    _writer: Any = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def scalars(self, values: Mapping[str, float], *, step: int | None = None) -> None:
        """One point per tag at ``step`` (default: the newest step written), flushed."""
        if self.folder is None or not values:
            return
        if step is not None:
            self.step = max(self.step, int(step))
        at = self.step if step is None else int(step)
        try:
            if self._writer is None:
                from tensorboardX import SummaryWriter

                self.folder.mkdir(parents=True, exist_ok=True)
                # tensorboardX names a file by the second and the host, and truncates a file
                # of that name: nanoseconds and the process keep each run's file its own.
                self._writer = SummaryWriter(
                    logdir=str(self.folder), flush_secs=30,
                    filename_suffix=f".{time.time_ns()}.{os.getpid()}",
                )  # fmt: skip
            for name, value in values.items():
                self._writer.add_scalar(name, float(value), global_step=at)
            self._writer.flush()
        except Exception as e:  # the event log must never end the run
            log.warning("TensorBoard events to %s stopped: %s", self.folder, e)
            self.close()
            self.folder = None

    def metrics(self, values: Mapping[str, float], *, step: int) -> None:
        """``metrics`` rows as written to the database (``train_x`` -> ``train/x``)."""
        self.scalars({metric_tag(k): v for k, v in values.items()}, step=step)

    def evaluation(
        self, *, skill_id: int, instruction: str, success_rate: float, mean_return: float, step: int
    ) -> None:
        """One evaluation of a skill, as the ``evaluations`` table holds it."""
        self.scalars(
            {
                skill_tag("success", skill_id, instruction): success_rate,
                skill_tag("return", skill_id, instruction): mean_return,
            },
            step=step,
        )

    def planner(self, *, calls: int, tokens: int, dollars: float) -> None:
        """The experiment's planner totals after a decision was recorded."""
        self.scalars({"planner/calls": calls, "planner/tokens": tokens, "planner/dollars": dollars})

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except Exception as e:
                log.debug("closing the TensorBoard writer: %s", e)
