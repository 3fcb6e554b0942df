"""``experimenter run | status | proposals | approve | reject | pause | resume | stop``.

``run`` drives one experiment in the foreground (progress bars, a summary line per
iteration); the others talk to a running daemon through the commands table, so they work
from any shell (and the dashboard does the same).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field
from pydantic_settings import CliPositionalArg

from experimenter.commands_db import DatabaseOptions
from experimenter.flags import flag
from experimenter.planner_option import chosen_planner, planner_option
from experimenter.tables import table
from settings import ExecutorSettings, LearnerConfig, LoopSettings

if TYPE_CHECKING:
    from experimenter.planner import PlannerSettings


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

    # A flag named like a field of LoopSettings or LearnerConfig is that field (flag()), and
    # sets it; the others are the command's own.
    planner: str | None = planner_option()
    goal: str | None = Field(
        None, description='Goal task, e.g. "stack the red block on the blue block" (default: '
        "open-ended).",
    )  # fmt: skip
    seed_skills: Literal["primitives", "none"] = flag(LoopSettings, "seed_skills")
    review: bool = flag(LoopSettings, "review")
    max_env_steps: int | None = flag(LoopSettings, "max_env_steps")
    max_hours: float | None = flag(LoopSettings, "max_hours")
    max_usd: float | None = flag(LoopSettings, "max_usd")
    max_training: int = flag(LoopSettings, "max_training")
    collect_steps: int = flag(LoopSettings, "collect_steps")
    updates_per_step: float = flag(LoopSettings, "updates_per_step")
    eval_episodes: int = flag(LoopSettings, "eval_episodes")
    threshold: float = flag(LoopSettings, "threshold")
    goal_threshold: float | None = flag(LoopSettings, "goal_threshold")
    video_every: int = flag(LoopSettings, "video_every")
    hidden: list[int] = flag(LearnerConfig, "hidden")
    batch_size: int = flag(LearnerConfig, "batch_size")
    episode_steps: int = flag(LearnerConfig, "episode_steps")
    num_envs: int = flag(LearnerConfig, "num_envs")
    random_steps: int = flag(LearnerConfig, "random_steps")
    device: str = flag(LearnerConfig, "device")
    seed: int = flag(LearnerConfig, "seed")
    # The experimenter's learner learns from the chains it collects: imitation of the chains
    # that achieved a task (its weight kept against Q by TD3+BC's normalisation), half of
    # each batch drawn from them, layer-normalised critics, an averaged actor acting
    # deterministically, and half the reward paid for success alone (benchmarks/README.md:
    # stacking at 300k env steps went from 2 % on 200 fresh starts to 94-98 % on three
    # seeds with them). The bare learner (LearnerConfig, experimenter train) keeps pure RL.
    bc_weight: float = flag(LearnerConfig, "bc_weight", default=0.5)
    bc_normalize: bool = flag(LearnerConfig, "bc_normalize", default=True)
    demo_fraction: float = flag(LearnerConfig, "demo_fraction", default=0.5)
    critic_layer_norm: bool = flag(LearnerConfig, "critic_layer_norm", default=True)
    actor_average: float = flag(LearnerConfig, "actor_average", default=0.001)
    success_weight: float = flag(LearnerConfig, "success_weight", default=0.5)
    executor: Literal["inprocess", "ray"] = flag(ExecutorSettings, "executor")
    ray_address: str | None = flag(ExecutorSettings, "ray_address")
    workers: int = flag(ExecutorSettings, "workers")
    threads: int = Field(1, ge=1, description="torch CPU threads.")
    progress: bool = Field(True, description="Show progress bars.")
    tensorboard: str | None = Field(
        None, description="TensorBoard event files (losses, success rates, planner calls and "
        "dollars) go to DIR/<experiment name>; off: none (default: <data "
        "dir>/experiments/<id>/tensorboard).",
    )  # fmt: skip

    def events(self) -> Path | bool:
        """Where the daemon writes TensorBoard events: a folder, True (the experiment's
        own), or False (``--tensorboard off``)."""
        if self.tensorboard is None:
            return True
        if self.tensorboard.strip().lower() in ("off", "none", "no", "false", "0"):
            return False
        if not self.tensorboard.strip():
            raise ValueError("--tensorboard: give a folder, or off")
        return Path(self.tensorboard).expanduser()

    def cli_cmd(self) -> None:
        from experimenter.daemon import Daemon
        from experimenter.lock import ExperimentLocked

        # Every option is checked before the database is opened: a bad one is refused with
        # nothing stored (an experiment row would keep the bad value for every later run).
        settings, planner_settings = self.checked()
        events = self.events()
        db = self.open()
        try:
            daemon = Daemon(
                db, home=self.data().home, name=self.experiment,
                settings=settings, planner_settings=planner_settings,
                progress=self.progress, on_summary=lambda line: print(line, flush=True),
                threads=self.threads, tensorboard=events,
                executor=ExecutorSettings.model_validate(self.model_dump(include=EXECUTOR_FLAGS)),
            )  # fmt: skip
            goal = daemon.settings.goal
            folder = daemon.events_folder
            print(
                f"experiment {daemon.experiment_id} ({self.experiment}): planner "
                f"{planner_settings.backend}, goal {goal.text if goal else 'none (open-ended)'}"
                + (f"; TensorBoard: {folder}" if folder is not None else "")
                + "; Ctrl-C stops safely",
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

    def checked(self) -> tuple[LoopSettings, PlannerSettings]:
        """The loop's and the planner's settings, every value checked (``ValueError``, or
        pydantic's ``ValidationError``, on the first bad one); touches no database."""
        from controllers.layout import SceneConfig
        from controllers.learner import resolve_device
        from tasks import Goal

        # The goal is read here, once: the daemon, the loop and the planner get it as read.
        goal = Goal.read(self.goal, SceneConfig().layout()) if self.goal else None
        settings = LoopSettings(
            goal=goal,
            learner=LearnerConfig.model_validate(self.model_dump(include=LEARNER_FLAGS)),
            **self.model_dump(include=LOOP_FLAGS),
        )
        # A GPU this machine lacks is refused here, not at the daemon's first training step.
        resolve_device(settings.learner.device)
        # Built once now, as the daemon will build it (with the dollar budget), so that an
        # unknown name or a missing key or price is refused here.
        return settings, chosen_planner(self.planner, max_dollars=settings.max_usd)


LOOP_FLAGS = Run.model_fields.keys() & LoopSettings.model_fields.keys() - {"goal"}
"""The flags of ``run`` that set a field of the loop's settings (the goal is read first)."""
LEARNER_FLAGS = Run.model_fields.keys() & LearnerConfig.model_fields.keys()
EXECUTOR_FLAGS = Run.model_fields.keys() & ExecutorSettings.model_fields.keys()
"""The flags of ``run`` that set a field of the learner's settings."""


def _age(when: datetime | None) -> str:
    if when is None:
        return "-"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"{(datetime.now(UTC) - when).total_seconds():.0f} s"


class Status(DatabaseOptions):
    """Where each experiment stands: status (stale when its daemon stopped beating), node,
    iteration, skills, proposals waiting for review, budgets, heartbeat, and the workers
    that collected its episodes."""

    json_: bool = Field(False, alias="json", description="Print JSON instead of a table.")

    def cli_cmd(self) -> None:
        from experimenter.status import experiment_status, worker_lines

        db = self.open()
        try:
            rows = experiment_status(db, home=self.data().home)
        finally:
            db.dispose()
        if self.json_:
            print(json.dumps({"experiments": rows}, indent=2, default=str))
            return
        if not rows:
            print("no experiments yet; start one with: experimenter run")
            return
        headers = ["id", "name", "status", "daemon", "node", "iter", "skills", "proposals"]
        headers += ["env steps", "$", "heartbeat", "goal"]
        print(
            table(
                headers,
                [
                    [
                        r["id"],
                        r["name"],
                        "stale" if r["stale"] else r["status"],
                        "running" if r["daemon"] else "-",
                        r["node"] or "-",
                        r["iterations"],
                        " ".join(f"{k}:{v}" for k, v in r["skills"].items() if v),
                        r["proposals_waiting"] or "-",
                        r["env_steps"],
                        f"{r['dollars']:.4f}",
                        _age(r["heartbeat_at"]),
                        r["goal"] or "-",
                    ]
                    for r in rows
                ],
            )
        )
        for r in rows:
            for line in worker_lines(r):
                print(line)
        for r in rows:
            if r["stale"]:
                print(f"experiment {r['id']} ({r['name']}): {r['state']}")
        for r in rows:
            for k in r["training"] if r["status"] in ("running", "paused") else []:
                if k["success"] is None:
                    continue
                print(
                    f"experiment {r['id']} trains skill {k['id']} ({k['instruction']}): "
                    f"{k['success']:.0%}, 95 % lower bound {k['lower_bound'] or 0:.0%}"
                )
        if any(r["proposals_waiting"] for r in rows):
            print("proposals wait for review: experimenter proposals")


class Proposals(ExperimentOption):
    """List the proposals waiting for review (experimenter approve|reject ID decides)."""

    experiment: str | None = Field(  # type: ignore[assignment]
        None, description="Only this experiment's proposals (default: every experiment's)."
    )
    json_: bool = Field(False, alias="json", description="Print JSON instead of a table.")

    def cli_cmd(self) -> None:
        from storage import proposals, runs

        db = self.open()
        try:
            exp_id = self.experiment_id(db) if self.experiment is not None else None
            with db.reader() as s:
                names = {e.id: e.name for e in runs.list_experiments(s)}
                rows = [
                    {
                        "id": t.id, "experiment": names.get(t.experiment_id or 0),
                        "iteration": number, "instruction": t.instruction,
                        "wording": t.wording, "reason": t.reason, "proposed_by": t.proposed_by,
                        "created_at": t.created_at,
                    }
                    for t, number in proposals.waiting_proposals(s, experiment_id=exp_id)
                ]  # fmt: skip
        finally:
            db.dispose()
        if self.json_:
            print(json.dumps({"proposals": rows}, indent=2, default=str))
            return
        if not rows:
            print("no proposals wait for review")
            return
        print(
            table(
                ["id", "experiment", "iter", "instruction", "wording", "reason"],
                [
                    [
                        r["id"],
                        r["experiment"],
                        r["iteration"] or "-",
                        r["instruction"] or "-",
                        r["wording"] or "-",
                        r["reason"] or "-",
                    ]
                    for r in rows
                ],
                stretch=-1,
            )
        )
        print("decide with: experimenter approve ID  |  experimenter reject ID --reason WHY")


class _Send(ExperimentOption):
    KIND: ClassVar[str] = ""

    def _send(self, payload: dict[str, Any]) -> None:
        from storage import commands

        db = self.open()
        try:
            exp = self.experiment_id(db)
            with db.session() as s:
                if "task_id" in payload:
                    self._check_waiting(s, exp, int(payload["task_id"]))
                cmd = commands.enqueue_command(
                    s, kind=self.KIND, payload=payload, experiment_id=exp, created_by="cli"
                )
                cid = cmd.id
        finally:
            db.dispose()
        print(f"queued {self.KIND} (command {cid}) for experiment {self.experiment}")

    def _check_waiting(self, s: Any, experiment_id: int, task_id: int) -> None:
        """Refuse a review of a task that does not exist, belongs to another experiment, is
        not awaiting review, or has a review queued already."""
        from storage import commands, proposals, runs

        try:
            task = proposals.get_task(s, task_id=task_id)
        except LookupError:
            raise ValueError(
                f"no task with id {task_id}; the proposals waiting for review are listed by "
                "experimenter proposals"
            ) from None
        if task.experiment_id != experiment_id:
            owner = (
                runs.get_experiment(s, experiment_id=task.experiment_id).name
                if task.experiment_id is not None
                else None
            )
            where = f"experiment {owner!r}" if owner else "no experiment"
            hint = f"; add --experiment {owner}" if owner else ""
            raise ValueError(f"task {task_id} belongs to {where}, not {self.experiment!r}{hint}")
        if task.status != "proposed":
            raise ValueError(
                f"task {task_id} is {task.status}, not awaiting review; the proposals waiting "
                "are listed by experimenter proposals"
            )
        for cmd in commands.list_commands(
            s, status="pending", kinds=("approve", "reject"), limit=1000
        ):
            if (cmd.payload or {}).get("task_id") == task_id:
                raise ValueError(
                    f"task {task_id} has a {cmd.kind} queued already (command {cmd.id})"
                )


class Approve(_Send):
    """Approve a proposed task (review mode): its skills start training."""

    KIND: ClassVar[str] = "approve"
    task_id: CliPositionalArg[int]
    reason: str = Field("", description="Why (kept with the decision).")

    def cli_cmd(self) -> None:
        self._send({"task_id": self.task_id, "reason": self.reason})


class Reject(_Send):
    """Reject a proposed task (review mode)."""

    KIND: ClassVar[str] = "reject"
    task_id: CliPositionalArg[int]
    reason: str = Field("", description="Why (shown to the planner in its next proposal).")

    def cli_cmd(self) -> None:
        self._send({"task_id": self.task_id, "reason": self.reason})


class Pause(_Send):
    """Pause the experiment's daemon after its current node."""

    KIND: ClassVar[str] = "pause"

    def cli_cmd(self) -> None:
        self._send({})


class Resume(_Send):
    """Resume a paused daemon."""

    KIND: ClassVar[str] = "resume"

    def cli_cmd(self) -> None:
        self._send({})


class Stop(_Send):
    """Stop the daemon at its next safe point (it checkpoints and exits 0)."""

    KIND: ClassVar[str] = "stop"

    def cli_cmd(self) -> None:
        self._send({})
