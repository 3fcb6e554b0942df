"""``experimenter decisions ...``: the planner's recorded decisions."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliSubCommand

from experimenter.commands_run import ExperimentOption


class DecisionsExport(ExperimentOption):
    """Write the planner's valid answers, oldest first, to the decisions file the replay
    backend answers from (--planner replay with EXPERIMENTER_PLANNER_REPLAY_FILE=FILE)."""

    experiment: str | None = Field(  # type: ignore[assignment]
        None, description="Only this experiment's decisions (default: every experiment's)."
    )
    out: Path = Field(
        Path("decisions.jsonl"), description="The file to write (JSON lines; replaced)."
    )

    def cli_cmd(self) -> None:
        from experimenter.planner import export_decisions, write_decisions_file

        db = self.open()
        try:
            exp_id = self.experiment_id(db) if self.experiment is not None else None
            answers = export_decisions(db, experiment_id=exp_id)
        finally:
            db.dispose()
        write_decisions_file(self.out, answers)
        whose = f"experiment {self.experiment}" if self.experiment is not None else "all"
        print(
            f"wrote {len(answers)} answers ({whose}) to {self.out}; replay them with "
            f"EXPERIMENTER_PLANNER_REPLAY_FILE={self.out} experimenter run --planner replay"
        )


class Decisions(BaseModel):
    """The planner's decisions (every call, its prompt, answer and cost, is recorded)."""

    export: CliSubCommand[DecisionsExport]

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)
