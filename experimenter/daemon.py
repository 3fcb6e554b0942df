"""``experimenter run``: the long-running daemon that drives one experiment's loop.

- **One per experiment**: an OS lock (``experimenter.lock``); a second daemon refuses.
- **Resumable**: LangGraph checkpoints the loop's state after every node (SQLite file
  ``<data dir>/graph-checkpoints.sqlite``, or PostgreSQL schema ``langgraph`` when the
  database is PostgreSQL), keyed by experiment; the learner saves itself at the end of
  collect and train (``learner_store``); nodes redo nothing on a rerun (see ``graph.nodes``).
  After ``kill -9`` the next run continues from the last completed node.
- **Graceful**: SIGINT / SIGTERM stop at the next safe point (between nodes, or between
  chunks of collection and training); the learner is saved and the process exits 0.
- **Steerable** through the commands table: ``pause``, ``resume``, ``stop``, and in review
  mode ``approve`` / ``reject`` of a task (which resume the LangGraph interrupt).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from experimenter.planner import (
    BudgetExhausted,
    DatabaseRecorder,
    Planner,
    PlannerSettings,
    PlannerStopped,
)
from settings import ExecutorSettings, LoopSettings
from storage import Database, commands, proposals, runs
from storage.enums import CommandKind, DecidedBy, ExperimentStatus, TaskStatus

if TYPE_CHECKING:
    from experimenter.graph.context import Context

log = logging.getLogger(__name__)

GRAPH_DB = "graph-checkpoints.sqlite"
"""LangGraph's checkpoint file in the data directory (SQLite deployments)."""
POLL_S = 1.0
"""Seconds between looks at the commands table while paused or waiting for a review."""
HEARTBEAT_S = 10.0
CONTROL = (CommandKind.PAUSE, CommandKind.RESUME, CommandKind.STOP, CommandKind.GOAL)
REVIEW = (CommandKind.APPROVE, CommandKind.REJECT)


@dataclass
class RunReport:
    experiment_id: int
    name: str
    status: str
    """finished, stopped (by a command or a signal), or waiting (paused when it exited)."""
    reason: str
    iterations: int
    env_steps: int
    summaries: list[str] = field(default_factory=list)


@contextmanager
def checkpointer(db: Database, home: Path) -> Iterator[Any]:
    """LangGraph's checkpointer next to the experiment's database."""
    if db.dialect == "postgresql":
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as c:
            # Its own schema: LangGraph's tables would clash with ours (``checkpoints``).
            c.execute("CREATE SCHEMA IF NOT EXISTS langgraph")
        with psycopg.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row,
            options="-c search_path=langgraph",
        ) as conn:  # fmt: skip
            saver = PostgresSaver(conn)
            saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    home.mkdir(parents=True, exist_ok=True)
    lite = sqlite3.connect(home / GRAPH_DB, check_same_thread=False, timeout=30)
    lite.execute("PRAGMA journal_mode=WAL")
    try:
        yield SqliteSaver(lite)
    finally:
        lite.close()


def open_experiment(
    db: Database, *, name: str, settings: LoopSettings, backend: str
) -> tuple[int, LoopSettings]:
    """The experiment named ``name``: created with ``settings``, or resumed with its stored
    settings (budgets given now replace the stored ones)."""
    with db.session() as s:
        exp = runs.find_experiment(s, name=name)
        if exp is None:
            goal = settings.goal
            exp = runs.create_experiment(
                s, name=name, planner_backend=backend, config=settings.model_dump(mode="json"),
                goal=goal.text if goal else None, budgets=settings.budgets(),
                goal_spec=goal.spec.model_dump(mode="json", exclude_none=True) if goal else None,
            )  # fmt: skip
            return exp.id, settings
        stored = LoopSettings.model_validate(exp.config)
        asked, kept = settings.goal, stored.goal
        if asked is not None and (kept is None or asked.text != kept.text):
            raise ValueError(
                f"experiment {name!r} has goal {kept.text if kept else None!r}, not "
                f"{asked.text!r}; start another one with --experiment NEW_NAME"
            )
        stored = stored.with_budgets_of(settings)
        runs.update_experiment(
            s, experiment_id=exp.id, budgets=stored.budgets(),
            config=stored.model_dump(mode="json"),
        )  # fmt: skip
        return exp.id, stored


class Daemon:
    """Runs one experiment's graph until it finishes, is stopped, or is signalled."""

    def __init__(
        self,
        db: Database,
        *,
        home: Path,
        name: str,
        settings: LoopSettings,
        planner_settings: PlannerSettings,
        progress: bool = True,
        on_summary: Callable[[str], None] | None = None,
        threads: int = 1,
        executor: ExecutorSettings | None = None,
        tensorboard: Path | bool = True,
    ) -> None:
        self.db, self.home, self.name = db, Path(home), name
        self.planner_settings = planner_settings
        self.experiment_id, self.settings = open_experiment(
            db, name=name, settings=settings, backend=planner_settings.backend
        )
        self.progress = progress
        self.on_summary = on_summary or (lambda line: None)
        self.threads = threads
        self.executor_settings = executor or ExecutorSettings()
        self.tensorboard = tensorboard
        """TensorBoard events: True in ``<home>/experiments/<id>/tensorboard``, a folder in
        its subfolder named after the experiment, False none (``experimenter.events``)."""
        self.signalled: str | None = None
        self.stop_command = False
        self.me = f"{socket.gethostname()}:{os.getpid()}"
        self._last_poll = 0.0
        self.context: Context | None = None
        """The loop's live context while the graph runs (a goal command steers it)."""

    @property
    def events_folder(self) -> Path | None:
        """The folder of this experiment's TensorBoard event files (None: not written)."""
        from experimenter.events import events_folder

        if self.tensorboard is False:
            return None
        given = self.tensorboard if isinstance(self.tensorboard, Path) else None
        return events_folder(self.home, self.experiment_id, self.name, given)

    # --- stop requests ------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.signalled = signal.Signals(signum).name
        log.warning("%s received: stopping at the next safe point", self.signalled)

    def should_stop(self) -> bool:
        """A signal, or a stop command (looked for at most once a second)."""
        if self.signalled or self.stop_command:
            return True
        now = time.monotonic()
        if now - self._last_poll >= POLL_S:
            self._last_poll = now
            self._control()
        return self.stop_command

    def _control(self, kinds: tuple[str, ...] = CONTROL) -> list[str]:
        """Apply pending commands of ``kinds``; returns their kinds in order."""
        seen: list[str] = []
        while True:
            with self.db.session() as s:
                cmd = commands.claim_command(
                    s, claimed_by=self.me, experiment_id=self.experiment_id, kinds=kinds
                )
                if cmd is None:
                    return seen
                result, error = self._apply(s, cmd.kind, dict(cmd.payload))
                commands.finish_command(s, command_id=cmd.id, result=result, error=error)
            seen.append(cmd.kind)

    def _apply(
        self, s: Any, kind: str, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        from experimenter.graph.roster import accept_task, reject_task

        if kind == CommandKind.STOP:
            self.stop_command = True
            return {"stopping": True}, None
        if kind == CommandKind.PAUSE:
            runs.set_experiment_status(
                s, experiment_id=self.experiment_id, status=ExperimentStatus.PAUSED
            )
            return {"paused": True}, None
        if kind == CommandKind.RESUME:
            runs.set_experiment_status(
                s, experiment_id=self.experiment_id, status=ExperimentStatus.RUNNING
            )
            return {"resumed": True}, None
        if kind == CommandKind.GOAL:
            return self._set_goal(s, payload)
        task_id = int(payload.get("task_id", -1))
        try:
            task = proposals.get_task(s, task_id=task_id)
        except LookupError as e:
            return {}, str(e)
        if task.experiment_id != self.experiment_id or task.status != TaskStatus.PROPOSED:
            return {}, f"task {task_id} is not awaiting review (status {task.status})"
        who = str(payload.get("actor") or "person")
        note = str(payload.get("reason") or "")
        if kind == CommandKind.APPROVE:
            started = accept_task(
                s, task_id=task_id, decided_by=DecidedBy.PERSON, actor=who,
                reason=f"approved by {who}" + (f": {note}" if note else ""),
            )  # fmt: skip
            return {"task_id": task_id, "training": started}, None
        reject_task(s, task_id=task_id, reason=f"rejected by {who}" + (f": {note}" if note else ""))
        return {"task_id": task_id}, None

    def _set_goal(self, s: Any, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """A new goal from the dashboard, as it was read there (the command carries it):
        proposals, the goal's training and the stop test follow it from the next node."""
        from skills import SkillError
        from skills.goals import goal_from_payload

        try:
            goal = goal_from_payload(payload)
        except SkillError as e:
            return {}, str(e)
        self.settings = self.settings.model_copy(update={"goal": goal})
        if self.context is not None:
            self.context.set_goal(goal)
        runs.update_experiment(
            s, experiment_id=self.experiment_id, config=self.settings.model_dump(mode="json"),
            goal=goal.text, goal_spec=goal.spec.model_dump(mode="json", exclude_none=True),
        )  # fmt: skip
        return {"goal": goal.text}, None

    def _paused(self) -> bool:
        with self.db.reader() as s:
            experiment = runs.get_experiment(s, experiment_id=self.experiment_id)
            return experiment.status == ExperimentStatus.PAUSED

    def _wait_while_paused(self) -> None:
        if self._paused():
            log.info("paused; waiting for resume or stop")
        while self._paused() and not self.should_stop():
            time.sleep(POLL_S)

    # --- the run --------------------------------------------------------------------------

    def _heartbeat(self, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_S):
            try:
                with self.db.session() as s:
                    runs.heartbeat(s, experiment_id=self.experiment_id)
            except (SQLAlchemyError, OSError) as e:  # a missed heartbeat must not end the run
                log.warning("heartbeat failed: %s", e)

    def _bar(self, **kwargs: Any) -> Any:
        from tqdm import tqdm

        return tqdm(
            leave=False, dynamic_ncols=True, disable=not self.progress, mininterval=0.5, **kwargs
        )

    def run(self) -> RunReport:
        """Run until finished, stopped or signalled; always leaves a resumable checkpoint."""
        from experimenter.lock import ExperimentLock

        with ExperimentLock(self.db, self.home, self.experiment_id):
            # Signals can only be caught on the main thread (a daemon in a thread is stopped
            # by a stop command instead).
            main = threading.current_thread() is threading.main_thread()
            sigs = (signal.SIGINT, signal.SIGTERM) if main else ()
            old = {sig: signal.signal(sig, self._on_signal) for sig in sigs}
            done = threading.Event()
            beat = threading.Thread(target=self._heartbeat, args=(done,), daemon=True)
            beat.start()
            try:
                return self._run()
            except Exception as e:
                from experimenter.learner_store import disk_full

                if disk_full(e) is None:
                    raise
                raise self._disk_full(e) from None
            finally:
                done.set()
                for sig, handler in old.items():
                    signal.signal(sig, handler)

    def _disk_full(self, e: BaseException) -> Exception:
        """A write failed for lack of room: the experiment is marked failed (when the database
        still takes a row) and the caller gets ``DiskFull`` with one line to show. What was
        stored stays as it was; the same command continues once there is room."""
        from experimenter.learner_store import DiskFull, disk_full_line

        line = disk_full_line(e, default=self.home)
        try:
            with self.db.session() as s:
                runs.set_experiment_status(
                    s, experiment_id=self.experiment_id, status=ExperimentStatus.FAILED, reason=line
                )
        except Exception as again:  # the database is on the full disk too
            log.debug("could not mark experiment %d failed: %s", self.experiment_id, again)
        log.debug("disk full", exc_info=e)
        return DiskFull(line)

    def _run(self) -> RunReport:
        import torch
        from langgraph.types import Command

        from experimenter.events import EventLog
        from experimenter.executor import make_executor
        from experimenter.graph.context import Context, StopRequested
        from experimenter.graph.graph import build_graph, thread_config
        from experimenter.graph.roster import seed_library
        from experimenter.graph.routers import stop_reason
        from experimenter.graph.state import LoopState
        from experimenter.learner_store import LearnerStore, learner_dir

        torch.set_num_threads(self.threads)
        exp_id = self.experiment_id
        events = EventLog(self.events_folder)
        recorder = DatabaseRecorder(self.db, exp_id)

        def planner_events(_decision: Any) -> None:
            """The planner's totals once a decision committed, from the same ledger."""
            if not events.enabled:
                return
            try:
                spend = recorder.usage()
            except (SQLAlchemyError, OSError) as e:  # the decision itself is stored
                log.warning("planner totals for TensorBoard not read: %s", e)
                return
            events.planner(calls=spend.calls, tokens=spend.tokens, dollars=spend.dollars)

        recorder.on_recorded = planner_events
        planner_settings = self.planner_settings
        if planner_settings.cache_dir is None:
            planner_settings = planner_settings.model_copy(
                update={"cache_dir": self.home / "planner-cache"}
            )
        if self.settings.max_usd is not None:
            planner_settings = planner_settings.model_copy(
                update={"max_dollars": self.settings.max_usd}
            )
        # should_stop: a signal ends a planner call in flight too, not only the nodes.
        planner = Planner.from_settings(
            planner_settings, recorder=recorder, should_stop=self.should_stop
        )
        config = self.settings.learner
        store = LearnerStore(learner_dir(self.home, exp_id), config)
        summaries: list[str] = []
        executor = make_executor(self.executor_settings, policy_timeout=config.episode_steps)
        with (
            checkpointer(self.db, self.home) as saver,
            contextlib.closing(executor),
            contextlib.closing(events),
        ):
            ctx = Context(
                db=self.db, experiment_id=exp_id, settings=self.settings, planner=planner,
                recorder=recorder, learners=store, executor=executor,
                should_stop=self.should_stop, progress=self._bar, events=events,
            )  # fmt: skip
            self.context = ctx
            if self.settings.seed_skills == "primitives":
                with self.db.session() as s:
                    seed_library(s, layout=ctx.layout)
            graph = build_graph(ctx, saver)
            cfg = thread_config(exp_id)
            snapshot = graph.get_state(cfg)
            inp: Any = None
            if not snapshot.values:
                inp = LoopState(experiment_id=exp_id)
            else:
                values = LoopState(**snapshot.values)
                ctx.wall_base = values.wall_seconds
                events.step = values.env_steps
                # Calls, tokens and dollars come back from the decisions rows (Planner).
                planner.budget.dollars = max(planner.budget.dollars, values.dollars)
                if not snapshot.next:
                    prior = values.stop_reason or "finished"
                    again = replace(values, stop_reason=None)
                    if "budget spent" not in prior or stop_reason(ctx, again) is not None:
                        return self._report(ExperimentStatus.FINISHED, prior, values)
                    # Finished on a budget that has been raised since: carry on.
                    graph.update_state(cfg, {"stop_reason": None}, as_node="evaluate")
            reason = ""
            try:
                while True:
                    self._wait_while_paused()
                    if self.should_stop():
                        break
                    for update in graph.stream(inp, cfg, stream_mode="updates"):
                        if "evaluate" in update:
                            line = update["evaluate"].get("summary", "")
                            summaries.append(line)
                            self.on_summary(line)
                        if self.should_stop():
                            break
                        self._wait_while_paused()
                        if self.should_stop():
                            break
                    inp = None
                    snapshot = graph.get_state(cfg)
                    if self.should_stop() or not snapshot.next:
                        break
                    if snapshot.interrupts:
                        self._await_review()
                        if self.should_stop():
                            break
                        inp = Command(resume="reviewed")
            except (StopRequested, PlannerStopped):
                pass
            except BudgetExhausted as e:
                reason = str(e)
                graph.update_state(cfg, {"stop_reason": reason}, as_node="evaluate")
                graph.invoke(None, cfg)  # the router sees the reason and runs finish
            finally:
                steps = None
                if store.loaded:
                    ctx.learners.save()  # the chunk boundary reached: nothing half-done
                    steps = store.get().env_steps
                store.close()
            values = LoopState(**graph.get_state(cfg).values)
        if values.stop_reason:
            return self._report(ExperimentStatus.FINISHED, values.stop_reason, values, summaries)
        why = f"signal {self.signalled}" if self.signalled else "stop command"
        with self.db.session() as s:
            runs.set_experiment_status(
                s, experiment_id=exp_id, status=ExperimentStatus.STOPPED, reason=reason or why
            )
            runs.heartbeat(
                s, experiment_id=exp_id, env_steps=steps, wall_seconds=ctx.wall_seconds()
            )
        return self._report(ExperimentStatus.STOPPED, reason or why, values, summaries)

    def _await_review(self) -> None:
        log.info("proposals await review: experimenter approve|reject TASK_ID")
        while not self.should_stop():
            self._control(CONTROL + REVIEW)
            with self.db.reader() as s:
                waiting = proposals.list_tasks(
                    s, experiment_id=self.experiment_id, status=TaskStatus.PROPOSED, limit=10_000
                )
            if not waiting:
                return
            time.sleep(POLL_S)

    def _report(
        self, status: str, reason: str, values: Any, summaries: list[str] | None = None
    ) -> RunReport:
        with self.db.reader() as s:
            iterations = runs.count_iterations(s, experiment_id=self.experiment_id)
        return RunReport(
            self.experiment_id, self.name, status, reason, iterations, values.env_steps,
            summaries or [],
        )  # fmt: skip
