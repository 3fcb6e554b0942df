"""``experimenter dataset ...``: an experiment's data for other learners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliSubCommand

from experimenter.commands_run import ExperimentOption

Source = Literal["policy", "random", "chain", "demo"]


class DatasetExport(ExperimentOption):
    """Write the experiment's collected episodes (observations, actions, per-task rewards and
    successes) as NumPy arrays in one .npz file plus metadata.json, loadable with numpy
    alone; the layout is in README.md ("Datasets")."""

    experiment: str = Field("main", description="The experiment whose episodes to export.")
    out: Path = Field(description="Folder to write (created; must be new or empty).")
    source: list[Source] = Field(
        default_factory=list,
        description="Only episodes collected by (repeatable): policy, random (the policy's "
        "warm-up), chain (a decomposition), demo (scripted primitives); default: all.",
    )
    # A spec given as JSON reaches the command as the object the CLI parsed it into.
    task: list[str | dict[str, Any]] = Field(
        default_factory=list,
        description="A reward column per task (instruction or spec JSON; repeatable), "
        "e.g. --task 'lift the red block'; default: each task the episodes were collected for.",
    )
    force: bool = Field(False, description="Replace a dataset written to --out before.")

    def cli_cmd(self) -> None:
        from controllers.layout import SceneConfig
        from experimenter.dataset import SOURCES, export_dataset
        from tasks import TaskSpecError, as_task

        # Read at the edge, before the database is opened: a bad task writes nothing.
        layout = SceneConfig().layout()
        tasks = []
        for text in self.task:
            try:
                tasks.append(as_task(text, layout))
            except TaskSpecError as e:
                shown = text if isinstance(text, str) else json.dumps(text)
                raise ValueError(f"--task {shown!r}: {'; '.join(e.problems)}") from None
            except ValueError as e:  # an instruction not understood: the phrases it knows
                raise ValueError(f"--task: {e}") from None
        db = self.open()
        try:
            report = export_dataset(
                db, home=self.data().home, experiment_id=self.experiment_id(db), out=self.out,
                sources=self.source or SOURCES, tasks=tasks, force=self.force,
            )  # fmt: skip
        finally:
            db.dispose()
        left = {k.replace("_", " "): v for k, v in report.skipped.items() if v}
        print(
            f"wrote {report.episodes} episodes ({report.transitions} steps, {report.tasks} "
            f"task(s)) of experiment {self.experiment} to {report.out}"
            + (f"; not exported: {', '.join(f'{v} {k}' for k, v in left.items())}" if left else "")
        )


class Dataset(BaseModel):
    """Datasets of an experiment's collected episodes, for other learners."""

    export: CliSubCommand[DatasetExport]

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)
