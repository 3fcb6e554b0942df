"""``experimenter run | status | approve | reject | pause | resume | stop``: the daemon.

``run`` drives one experiment in the foreground (progress bars, a summary line per
iteration); the others talk to a running daemon through the commands table, so they work
from any shell (and the dashboard does the same).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import CliPositionalArg

from experimenter.commands_db import DatabaseOptions
from experimenter.config import Settings
from experimenter.tables import table


class ExperimentOption(DatabaseOptions):
    experiment: str = Field("main", description="Experiment name (created on first run).")

    def experiment_id(self, db: Any) -> int:
        from storage import runs

        with db.reader() as s:
            exp = runs.find_experiment(s, name=self.experiment)
            if exp is None:
                with db.reader() as s2:
                    names = [e.name for e in runs.list_experiments(s2)]
                raise ValueError(
                    f"no experiment named {self.experiment!r}; known: {', '.join(names) or 'none'}"
                )
            return exp.id


class Run(ExperimentOption):
    """Run the experimenter (foreground) until its goal is learned or a budget is spent."""

    planner: str = Field(
        "offline", description="Planner backend: offline (rules, no network), gemini, openai "
        "or replay (EXPERIMENTER_PLANNER_* configure them).",
    )  # fmt: skip
    goal: str | None = Field(
        None, description='Goal task, e.g. "stack the red block on the blue block" (default: '
        "open-ended).",
    )  # fmt: skip
    seed_skills: Literal["primitives", "none"] = Field(
        "primitives", description="Start the library with the scripted primitives, or empty."
    )
    review: bool = Field(False, description="Proposals wait for experimenter approve|reject.")
    max_env_steps: int | None = Field(None, ge=1, description="Env step budget.")
    max_hours: float | None = Field(None, gt=0, description="Wall-time budget in hours.")
    max_usd: float | None = Field(None, ge=0, description="Planner budget in US dollars.")
    max_training: int = Field(2, ge=1, description="Skills trained at once (K).")
    collect_steps: int = Field(2_000, ge=1, description="Env steps collected per iteration.")
    updates_per_step: float = Field(0.5, gt=0, description="Gradient updates per env step.")
    eval_episodes: int = Field(10, ge=1, description="Evaluation episodes per skill.")
    threshold: float = Field(0.8, ge=0, le=1, description="Success rate of a learned skill.")
    video_every: int = Field(5, ge=0, description="Evaluation video every N iterations (0: none).")
    hidden: list[int] = Field([256, 256], description="Hidden layer sizes of the learner.")
    batch_size: int = Field(256, ge=1, description="Transitions per gradient update.")
    episode_steps: int = Field(100, ge=1, description="Control steps per episode.")
    num_envs: int = Field(8, ge=1, description="Arena copies stepped together.")
    random_steps: int = Field(2_000, ge=0, description="Random-action env steps at the start.")
    device: str = Field("cpu", description="Torch device: cpu, cuda or auto.")
    seed: int = Field(0, description="Seed of the learner's random number generators.")
    threads: int = Field(1, ge=1, description="torch CPU threads.")
    progress: bool = Field(True, description="Show progress bars.")

    def cli_cmd(self) -> None:
        from experimenter.daemon import Daemon
        from experimenter.graph.settings import LoopSettings
        from experimenter.lock import ExperimentLocked
        from experimenter.planner import PlannerSettings

        settings = LoopSettings(
            goal=self.goal, seed_skills=self.seed_skills, review=self.review,
            max_training=self.max_training, collect_steps=self.collect_steps,
            updates_per_step=self.updates_per_step, eval_episodes=self.eval_episodes,
            threshold=self.threshold, video_every=self.video_every,
            max_env_steps=self.max_env_steps,
            max_hours=self.max_hours, max_usd=self.max_usd,
            learner={
                "hidden": list(self.hidden), "batch_size": self.batch_size,
                "episode_steps": self.episode_steps, "num_envs": self.num_envs,
                "random_steps": self.random_steps, "device": self.device, "seed": self.seed,
            },
        )  # fmt: skip
        # A bad learner option (a GPU this machine lacks) is refused before any experiment
        # is recorded, not at the daemon's first training step.
        from controllers.learner import LearnerConfig, resolve_device

        resolve_device(LearnerConfig(**settings.learner).device)
        db = self.open()
        try:
            daemon = Daemon(
                db, home=self.data_dir or Settings().home, name=self.experiment,
                settings=settings, planner_settings=PlannerSettings(backend=self.planner),
                progress=self.progress, on_summary=lambda line: print(line, flush=True),
                threads=self.threads,
            )  # fmt: skip
            print(
                f"experiment {daemon.experiment_id} ({self.experiment}): planner {self.planner}, "
                f"goal {daemon.settings.goal or 'none (open-ended)'}; Ctrl-C stops safely",
                flush=True,
            )
            try:
                report = daemon.run()
            except ExperimentLocked as e:
                print(f"experimenter: {e}", file=sys.stderr)
                raise SystemExit(3) from None
        finally:
            db.dispose()
        print(
            f"{report.status}: {report.reason}; {report.iterations} iterations, "
            f"{report.env_steps} env steps. Run the same command again to continue.",
            flush=True,
        )


def _age(when: datetime | None) -> str:
    if when is None:
        return "-"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{(datetime.now(UTC) - when).total_seconds():.0f} s"


class Status(DatabaseOptions):
    """Where each experiment stands: node, iteration, skills, budgets, heartbeat."""

    json_: bool = Field(False, alias="json", description="Print JSON instead of a table.")

    def cli_cmd(self) -> None:
        from experimenter.status import experiment_status

        db = self.open()
        try:
            rows = experiment_status(db, home=self.data_dir or Settings().home)
        finally:
            db.dispose()
        if self.json_:
            print(json.dumps({"experiments": rows}, indent=2, default=str))
            return
        if not rows:
            print("no experiments yet; start one with: experimenter run")
            return
        print(
            table(
                [
                    "id",
                    "name",
                    "status",
                    "daemon",
                    "node",
                    "iter",
                    "skills",
                    "env steps",
                    "$",
                    "heartbeat",
                    "goal",
                ],
                [
                    [
                        r["id"],
                        r["name"],
                        r["status"],
                        "running" if r["daemon"] else "-",
                        r["node"] or "-",
                        r["iterations"],
                        " ".join(f"{k}:{v}" for k, v in r["skills"].items() if v),
                        r["env_steps"],
                        f"{r['dollars']:.4f}",
                        _age(r["heartbeat_at"]),
                        r["goal"] or "-",
                    ]
                    for r in rows
                ],
            )
        )


class _Send(ExperimentOption):
    kind: str = ""

    def _send(self, payload: dict[str, Any]) -> None:
        from storage import commands

        db = self.open()
        try:
            exp = self.experiment_id(db)
            with db.session() as s:
                cmd = commands.enqueue_command(
                    s, kind=self.kind, payload=payload, experiment_id=exp, created_by="cli"
                )
                cid = cmd.id
        finally:
            db.dispose()
        print(f"queued {self.kind} (command {cid}) for experiment {self.experiment}")


class Approve(_Send):
    """Approve a proposed task (review mode): its skills start training."""

    task_id: CliPositionalArg[int]
    reason: str = Field("", description="Why (kept with the decision).")
    kind: str = Field("approve", exclude=True)

    def cli_cmd(self) -> None:
        self._send({"task_id": self.task_id, "reason": self.reason})


class Reject(_Send):
    """Reject a proposed task (review mode)."""

    task_id: CliPositionalArg[int]
    reason: str = Field("", description="Why (shown to the planner in its next proposal).")
    kind: str = Field("reject", exclude=True)

    def cli_cmd(self) -> None:
        self._send({"task_id": self.task_id, "reason": self.reason})


class Pause(_Send):
    """Pause the experiment's daemon after its current node."""

    kind: str = Field("pause", exclude=True)

    def cli_cmd(self) -> None:
        self._send({})


class Resume(_Send):
    """Resume a paused daemon."""

    kind: str = Field("resume", exclude=True)

    def cli_cmd(self) -> None:
        self._send({})


class Stop(_Send):
    """Stop the daemon at its next safe point (it checkpoints and exits 0)."""

    kind: str = Field("stop", exclude=True)

    def cli_cmd(self) -> None:
        self._send({})
