"""The ``experimenter`` command line, generated from typed settings (pydantic-settings).

Each subcommand is a pydantic model: its fields are the flags, their descriptions the help.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, CliApp, CliSubCommand, SettingsConfigDict

from experimenter.commands_dataset import Dataset
from experimenter.commands_db import Db
from experimenter.commands_decisions import Decisions
from experimenter.commands_launch import Launch
from experimenter.commands_planner import PlannerCommands
from experimenter.commands_run import (
    Approve,
    Pause,
    Proposals,
    Reject,
    Resume,
    Run,
    Status,
    Stop,
)
from experimenter.commands_serve import Serve
from experimenter.commands_skills import Skills
from experimenter.config import Settings
from experimenter.flags import flag
from settings import DataSettings, LearnerConfig, LoopSettings

log = logging.getLogger("experimenter")


class Demo(BaseModel):
    """Stack the red block on the blue block with the scripted primitives; save a video."""

    episodes: int = Field(20, ge=1, description="Episodes (random starts) to run.")
    seed: int = Field(0, description="Seed of the first episode; episode i uses seed + i.")
    blocks: int = Field(3, ge=2, le=6, description="Cubes on the table (red, green, blue, ...).")
    out: Path | None = Field(None, description="Output folder (default: <data dir>/demo).")
    video: bool = Field(True, description="Render the first episode to a GIF and a filmstrip.")

    def cli_cmd(self) -> None:
        from experimenter.demo import run_demo  # MuJoCo only for commands that need it

        out = self.out or DataSettings().home / "demo"
        report = run_demo(
            episodes=self.episodes,
            seed=self.seed,
            blocks=self.blocks,
            out_dir=out,
            video=self.video,
        )
        print(
            f"stacked red on blue in {report.successes}/{report.episodes} episodes "
            f"({report.success_rate:.0%}), {report.mean_steps:.0f} control steps on average, "
            f"{report.seconds:.1f} s"
        )
        if report.video:
            print(f"video: {report.video}\nfilmstrip: {report.filmstrip}")


class Train(BaseModel):
    """Train the language-conditioned actor-critic on one or more tasks, without a planner."""

    # A spec JSON arrives parsed (pydantic-settings reads JSON values): an object, not a str.
    task: list[str | dict[str, Any]] = Field(
        description="Task instruction or spec JSON; repeat for several tasks trained together, "
        'e.g. --task "reach the red block" --task "lift the red block".',
    )
    steps: int = Field(50_000, ge=1, description="Env steps to collect (whole episodes).")
    out: Path | None = Field(None, description="Output folder (default: <data dir>/train).")
    resume: bool = Field(False, description="Continue from the checkpoint in the output folder.")
    # Flags named like a LearnerConfig field are that field (flag()): the bare learner keeps
    # its defaults, pure RL.
    seed: int = flag(LearnerConfig, "seed")
    hidden: list[int] = flag(LearnerConfig, "hidden")
    batch_size: int = flag(LearnerConfig, "batch_size")
    episode_steps: int = flag(LearnerConfig, "episode_steps")
    num_envs: int = flag(LearnerConfig, "num_envs")
    updates_per_step: float = flag(LoopSettings, "updates_per_step")
    bc_weight: float = flag(LearnerConfig, "bc_weight")
    conditioning: Literal["concat", "film", "objects"] = flag(LearnerConfig, "conditioning")
    n_step: int = flag(LearnerConfig, "n_step")
    precision: Literal["float32", "bfloat16"] = flag(LearnerConfig, "precision")
    eval_every: int = Field(5_000, ge=1, description="Evaluate every this many env steps.")
    eval_episodes: int = Field(20, ge=1, description="Episodes per evaluation (fixed seeds).")
    threads: int = Field(2, ge=1, description="torch CPU threads.")
    device: str = flag(LearnerConfig, "device")

    def cli_cmd(self) -> None:
        from experimenter.train import run_training

        config = LearnerConfig.model_validate(self.model_dump(include=LEARNER_FLAGS))
        report = run_training(
            tasks=self.task,
            env_steps=self.steps,
            out_dir=self.out or DataSettings().home / "train",
            config=config,
            eval_every=self.eval_every,
            eval_episodes=self.eval_episodes,
            updates_per_step=self.updates_per_step,
            threads=self.threads,
            resume=self.resume,
        )
        for r in report.final:
            print(f"{r.instruction}: {r.success_rate:.0%} success over {r.episodes} episodes")
        print(
            f"{report.env_steps} env steps, {report.updates} updates in {report.seconds:.0f} s\n"
            f"learning curve: {report.curve}\ncheckpoint: {report.checkpoint}"
        )


LEARNER_FLAGS = Train.model_fields.keys() & LearnerConfig.model_fields.keys()
"""The flags of ``train`` that set a field of the learner's settings."""


class Main(
    BaseSettings,
    cli_prog_name="experimenter",
    cli_kebab_case=True,
    cli_implicit_flags=True,
):
    """experimenter: an autonomous RL experimenter in a MuJoCo block arena."""

    model_config = SettingsConfigDict(extra="ignore")

    demo: CliSubCommand[Demo]
    train: CliSubCommand[Train]
    skills: CliSubCommand[Skills]
    db: CliSubCommand[Db]
    decisions: CliSubCommand[Decisions]
    planner: CliSubCommand[PlannerCommands]
    dataset: CliSubCommand[Dataset]
    serve: CliSubCommand[Serve]
    run: CliSubCommand[Run]
    launch: CliSubCommand[Launch]
    status: CliSubCommand[Status]
    proposals: CliSubCommand[Proposals]
    approve: CliSubCommand[Approve]
    reject: CliSubCommand[Reject]
    pause: CliSubCommand[Pause]
    resume: CliSubCommand[Resume]
    stop: CliSubCommand[Stop]

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)


def _problem(err: Any) -> str:
    """One of pydantic's errors in one line: where, what was wrong and the value given (a
    check's own sentence says both)."""
    where = ".".join(str(x) for x in err["loc"])
    error = (err.get("ctx") or {}).get("error")
    if err["type"] == "value_error" and error is not None:
        return f"{where}: {error}"
    given = err.get("input")
    shown = f" (got {given!r})" if isinstance(given, str | int | float | list) else ""
    return f"{where}: {err['msg']}{shown}"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    logging.basicConfig(
        level=Settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("OpenGL").setLevel(logging.WARNING)
    args = sys.argv[1:] if argv is None else argv
    try:
        CliApp.run(Main, cli_args=args)
    except ValidationError as e:
        for err in e.errors():
            print(f"experimenter: {_problem(err)}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"experimenter: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        # A full disk (no space, a quota, a file-size limit) is one line, not a traceback:
        # every save is atomic, so running the same command again once there is room is safe.
        from experimenter.learner_store import disk_full, disk_full_line

        if disk_full(e) is None:
            raise
        print(f"experimenter: {disk_full_line(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
