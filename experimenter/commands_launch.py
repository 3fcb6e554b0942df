"""``experimenter launch``: many experiments at once (seeds x goals x planner backends) on a
Ray cluster, each a normal ``experimenter run`` daemon against one shared database and
artifact store.

Every combination becomes one Ray task that runs ``python -m experimenter run ...`` as a
child process in its own process group: the daemon keeps its own signal handling, so
``experimenter stop``, ``status``, the dashboard and running the same command again work as
for any run. The launcher checks every option first (the goals read, the planners built and
the options after ``--`` parsed as ``run`` parses them), so that bad input stores nothing and
starts nothing; then it migrates the database once (the daemons never race to create it),
starts or joins the cluster and submits the tasks.

A task returns its child's exit status and last lines. Ctrl-C (or SIGTERM) in the launcher
cancels the tasks (``ray.cancel``): a waiting one never starts, a running one forwards SIGINT
to its daemon, which stops at its next safe point, and waits for it. A cancelled task's
``ray.get`` raises ``TaskCancelledError`` whatever it returned, so tasks also post when they
start and how they ended on a small actor, the board, which the launcher reads.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator
from pydantic_settings import CliPositionalArg

from experimenter.commands_db import DatabaseOptions

if TYPE_CHECKING:
    from experimenter.commands_run import Run

TAIL_LINES = 20
"""Lines of a daemon's output a task keeps and returns."""
SHOWN_LINES = 10
"""Of those, how many the launcher prints when an experiment failed."""
POST_WAIT_S = 10.0
"""How long the launcher waits for the post of how a daemon ended, once its task was
cancelled or lost."""
NOT_STARTED_S = 2.0
"""As long, for a task that never posted that its daemon started."""
OWNED = ("experiment", "seed", "goal", "planner", "data-dir", "db-url")
"""``run`` options the launcher sets itself, refused after ``--``."""
FORWARDED = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "MUJOCO_GL")
"""Variables (besides ``EXPERIMENTER_*``) handed to every daemon, wherever its node is."""
_ADDRESS = re.compile(r"auto|(ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}")


@dataclass(frozen=True)
class Planned:
    """One experiment to launch: its name and the ``experimenter run`` options it gets."""

    name: str
    args: list[str]
    join_cluster: bool = False
    """Its daemon collects in Ray actors (``--executor ray``) without a cluster of its own:
    the task adds the launcher's cluster as ``--ray-address``."""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ended:
    """How an experiment's daemon ended: its exit status and its last lines."""

    name: str
    returncode: int
    tail: list[str]
    node: str = ""


@dataclass(frozen=True)
class Started:
    name: str
    node: str
    pid: int


class Board:
    """A Ray actor where tasks post that they started and how they ended."""

    def __init__(self) -> None:
        self._notes: list[Started | Ended] = []

    def post(self, note: Started | Ended) -> None:
        self._notes.append(note)

    def take(self) -> list[Started | Ended]:
        notes, self._notes = self._notes, []
        return notes


def run_experiment(planned: Planned, board: Any, stream: bool) -> Ended:
    """The body of one experiment's Ray task: its daemon as a child process, waited for.

    An interrupt (``ray.cancel``) is forwarded once to the daemon as SIGINT, and the task
    goes on waiting for it to stop at its safe point."""
    import ray

    # ray.cancel interrupts a running task with _thread.interrupt_main(), which does nothing
    # while SIGINT is ignored, as it is in some of Ray's worker processes: the cancel was
    # lost and the daemon ran on. Python's own handler makes every cancel arrive.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    node = ray.util.get_node_ip_address()
    args = list(planned.args)
    if planned.join_cluster:
        args += ["--ray-address", ray.get_runtime_context().gcs_address]
    env = {**os.environ, **planned.env, "PYTHONUNBUFFERED": "1"}
    env.setdefault("MUJOCO_GL", "egl")
    # Ray's workers block SIGINT, and a child inherits the mask: unblocked for the child
    # only. Its own process group: the only SIGINT it gets is the one forwarded here.
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "experimenter", "run", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", env=env, process_group=0,
        )  # fmt: skip
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip())
            if stream:
                print(f"[{planned.name}] {line.rstrip()}", flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    forwarded = False

    def shielded(call: Any) -> Any:
        """``call()`` until it returns; an interrupt meanwhile stops the daemon (once)."""
        nonlocal forwarded
        while True:
            try:
                return call()
            except KeyboardInterrupt:
                if not forwarded and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                forwarded = True

    def post(note: Started | Ended) -> None:
        # Not waited for: a task blocked in ray.get lends its CPUs to the next task, which
        # would start a daemon more than the cluster has room for. The board is for the
        # launcher's lines; a daemon goes on without it.
        with contextlib.suppress(ray.exceptions.RayError):
            shielded(lambda: board.post.remote(note))

    post(Started(planned.name, node, proc.pid))

    def wait() -> int:
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue

    returncode = shielded(wait)
    shielded(lambda: reader.join(timeout=10))
    ended = Ended(planned.name, returncode, list(tail), node)
    post(ended)
    return ended


class Launch(DatabaseOptions):
    """Launch experiments at once on a Ray cluster, one per seed x goal x planner, each an
    `experimenter run` daemon on the shared database; Ctrl-C stops them all safely."""

    seeds: list[int] = Field(
        [0], description="Learner seeds, one experiment each: --seeds 0 --seeds 1, or "
        "--seeds 0,1,2.",
    )  # fmt: skip
    goal: list[str] = Field(
        [], description='Goal task, repeatable: --goal "reach the red block" --goal "lift the '
        'red block" (default: one open-ended experiment per seed).',
    )  # fmt: skip
    planner: list[str] = Field(
        ["offline"], description="Planner backend, repeatable: offline, gemini, openai or "
        "replay.",
    )  # fmt: skip
    name_prefix: str = Field(
        "launch", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Experiments are named PREFIX-GOAL-PLANNER-seedS (GOAL: the goal's "
        "words, or open-ended).",
    )  # fmt: skip
    ray_address: str | None = Field(
        None, description="Ray cluster to join: auto (the one `ray start` made on this "
        "machine), HOST:PORT or ray://HOST:PORT; none starts a local one on this machine's "
        "cores.",
    )  # fmt: skip
    cpus_per_experiment: float = Field(
        1, gt=0, description="CPUs Ray reserves for each daemon (its task); Ray workers of "
        "--executor ray take one each on top.",
    )  # fmt: skip
    gpus_per_experiment: float = Field(
        0, ge=0, description="GPUs Ray reserves for each daemon; Ray hides the GPUs from a "
        "task that reserves none, so --device cuda needs some.",
    )  # fmt: skip
    stream: bool = Field(
        False, description="Print every daemon's output, each line prefixed with its "
        "experiment (default: a line when each starts and ends).",
    )  # fmt: skip
    run_args: CliPositionalArg[list[str]] = Field(
        [], description="After --: options of experimenter run given to every experiment "
        "unchanged, e.g. -- --max-env-steps 20000 --hidden 32 --hidden 32.",
    )  # fmt: skip

    @field_validator("ray_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("none", "null", ""):
            return None
        if not _ADDRESS.fullmatch(value.strip()):
            raise ValueError(
                f"--ray-address must be auto, HOST:PORT, ray://HOST:PORT or none, got {value!r}"
            )
        return value.strip()

    # --- checks ---------------------------------------------------------------------------

    def planned(self) -> list[Planned]:
        """Every experiment to launch, each option checked (``ValueError`` on the first bad
        one, saying what was wrong); touches no database and starts nothing."""
        from controllers.layout import SceneConfig
        from tasks import Goal

        seeds = [str(seed) for seed in self.seeds]
        for what, given in (("--seeds", seeds), ("--planner", self.planner)):
            twice = sorted({str(v) for v in given if given.count(v) > 1})
            if twice:
                raise ValueError(f"{what} {', '.join(twice)} given more than once")
        if not self.seeds:
            raise ValueError("--seeds: give at least one seed, e.g. --seeds 0 --seeds 1")
        self._check_run_args()
        goals: dict[str, str | None] = {}  # slug -> goal as given
        scene = SceneConfig().layout()
        for text in self.goal:
            try:
                goal = Goal.read(text, scene)
            except ValueError as e:
                raise ValueError(f"--goal {text!r}: {e}") from None
            slug = _slug(goal.instruction)
            if slug in goals:
                raise ValueError(
                    f"--goal {goals[slug]!r} and --goal {text!r} make the same experiment "
                    f"names (...-{slug}-...)"
                )
            goals[slug] = text
        if not goals:
            goals["open-ended"] = None
        data = self.data()
        where = ["--data-dir", str(data.home.expanduser().absolute())]
        if data.db_url is not None:
            where += ["--db-url", data.db_url]
        env = {
            k: v for k, v in os.environ.items() if k.startswith("EXPERIMENTER_") or k in FORWARDED
        }
        out: list[Planned] = []
        checked: set[tuple[str, str]] = set()
        for seed in self.seeds:
            for slug, goal_text in goals.items():
                for planner in self.planner:
                    name = f"{self.name_prefix}-{slug}-{planner}-seed{seed}"
                    args = ["--experiment", name, "--seed", str(seed)]
                    if goal_text is not None:
                        args += ["--goal", goal_text]
                    # Progress bars are for terminals: off, unless the options after -- say.
                    args += ["--planner", planner, *where, "--no-progress", *self.run_args]
                    run = _run_options(args)
                    if (slug, planner) not in checked:  # the seed changes nothing checked
                        self._check(run, planner)
                        checked.add((slug, planner))
                    if len(name) > 200:
                        raise ValueError(f"experiment name {name!r} is over 200 characters")
                    join = run.executor == "ray" and run.ray_address is None
                    out.append(Planned(name, args, join_cluster=join, env=env))
        return out

    def _check_run_args(self) -> None:
        """The options after ``--``: options of ``run``, none of those the launcher sets."""
        if self.run_args and not self.run_args[0].startswith("-"):
            raise ValueError(
                f"unexpected {self.run_args[0]!r}: several seeds are --seeds 0 --seeds 1 (or "
                "--seeds 0,1), and the options for every run follow --, e.g. -- "
                "--max-env-steps 20000"
            )
        for arg in self.run_args:
            if arg in ("-h", "--help"):
                raise ValueError("the options after -- are experimenter run's: see "
                                 "experimenter run --help")  # fmt: skip
            name = arg[2:].split("=", 1)[0].replace("_", "-") if arg.startswith("--") else ""
            if name == "experiment":
                raise ValueError(
                    "--experiment after --: the launcher names each experiment (--name-prefix)"
                )
            if name in OWNED:
                own = "seeds" if name == "seed" else name
                raise ValueError(
                    f"{arg.split('=', 1)[0]} after --: the launcher sets it for each "
                    f"experiment; use launch's own --{own}"
                )

    def _check(self, run: Run, planner: str) -> None:
        """``run``'s settings checked as ``run`` checks them, on the machine its daemon will
        run on: a GPU only where the cluster is this machine, and Ray's GPUs reserved."""
        from pydantic import ValidationError

        if run.device != "cpu" and self.gpus_per_experiment == 0:
            raise ValueError(
                f"--device {run.device} after -- needs --gpus-per-experiment: Ray hides the "
                "GPUs from a task that reserves none"
            )
        if self.ray_address is not None and run.device != "cpu":
            run = run.model_copy(update={"device": "auto"})  # the nodes' GPUs, not ours
        try:
            run.checked()
        except ValidationError as e:
            raise ValueError(_problems(e)) from None
        except ValueError as e:
            if str(e).startswith("device"):
                raise
            raise ValueError(f"--planner {planner}: {e}") from None

    def _check_cluster(self) -> int | None:
        """The cores of the local cluster to start (None: one is joined), refused when an
        experiment would not fit on it."""
        if self.ray_address is not None:
            return None
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = os.cpu_count() or 1
        if self.cpus_per_experiment > cores:
            raise ValueError(
                f"--cpus-per-experiment {self.cpus_per_experiment:g} is more than the {cores} "
                "cores of the local cluster (no --ray-address); no experiment could start"
            )
        if self.gpus_per_experiment > 0:
            import torch

            gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
            if self.gpus_per_experiment > gpus:
                raise ValueError(
                    f"--gpus-per-experiment {self.gpus_per_experiment:g} is more than the "
                    f"{gpus} GPUs of this machine (the local cluster, no --ray-address)"
                )
        return cores

    # --- the launch -----------------------------------------------------------------------

    def cli_cmd(self) -> None:
        experiments = self.planned()
        cores = self._check_cluster()
        try:
            import ray
        except ImportError:  # the optional extra
            raise ValueError(
                "experimenter launch needs Ray: pip install 'experimenter[ray]' (or pip "
                "install ray)"
            ) from None
        # Migrated once, here: the daemons never race to create the schema.
        self.open().dispose()
        if cores is not None:
            ray.init(
                address="local", num_cpus=cores, include_dashboard=False,
                log_to_driver=self.stream, _system_config={"worker_niceness": 0},
            )  # fmt: skip
        else:
            ray.init(address=self.ray_address, log_to_driver=self.stream)
        try:
            failed = _Launcher(self, ray, experiments).run()
        finally:
            ray.shutdown()
        if failed:
            raise SystemExit(1)


class _Launcher:
    """Submits the tasks, prints a line as each starts and ends, stops them on Ctrl-C."""

    def __init__(self, options: Launch, ray: Any, experiments: list[Planned]) -> None:
        self.ray = ray
        self.experiments = experiments
        self.board = ray.remote(num_cpus=0)(Board).remote()
        self.task = ray.remote(run_experiment)
        self.resources = {
            "num_cpus": options.cpus_per_experiment,
            "num_gpus": options.gpus_per_experiment,
        }
        self.stream = options.stream
        self.started: dict[str, Started] = {}
        self.ended: dict[str, Ended] = {}
        self.settling: dict[str, tuple[float, BaseException]] = {}
        """Tasks whose ``ray.get`` raised: since when, and what (see ``_settle``)."""
        self.failed: set[str] = set()
        self.unstarted: set[str] = set()
        self.stopping: str | None = None
        self.signals = 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only noted: the loop answers (a print here could land inside another print).
        self.stopping = self.stopping or signal.Signals(signum).name
        self.signals += 1

    def run(self) -> list[str]:
        """Launch every experiment and wait for all; the names of those that failed."""
        cpus = self.ray.cluster_resources().get("CPU", 0)
        n = len(self.experiments)
        print(f"launching {n} experiment{'s' if n != 1 else ''} on a Ray cluster with "
              f"{cpus:g} CPUs; Ctrl-C stops them all safely", flush=True)  # fmt: skip
        pending = {
            self.task.options(name=p.name, max_retries=0, **self.resources).remote(
                p, self.board, self.stream
            ): p
            for p in self.experiments
        }
        sigs = (signal.SIGINT, signal.SIGTERM)
        old = {sig: signal.signal(sig, self._on_signal) for sig in sigs}
        answered = 0  # signals
        try:
            while pending or self.settling:
                if self.stopping and not answered:
                    print(f"{self.stopping}: stopping {len(pending)} experiments at their "
                          "next safe point", flush=True)  # fmt: skip
                    for ref in pending:
                        # Not recursive: the task's posts to the board must go through.
                        self.ray.cancel(ref, recursive=False)
                elif self.signals > answered:
                    print("still waiting for the daemons to stop at a safe point", flush=True)
                answered = self.signals
                ready: list[Any] = []
                if pending:
                    ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=0.5)
                else:
                    time.sleep(0.1)
                self._read_board()
                for ref in ready:
                    self._finish(ref, pending.pop(ref).name)
                self._settle()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
        failed = [p.name for p in self.experiments if p.name in self.failed]
        ok = len(self.experiments) - len(failed) - len(self.unstarted)
        summary = f"{ok} of {len(self.experiments)} experiments exited 0"
        if self.unstarted:
            summary += f", {len(self.unstarted)} never started"
        if failed:
            summary += f"; failed: {', '.join(failed)}"
        print(summary, flush=True)
        return failed

    def _read_board(self) -> None:
        try:
            notes = self.ray.get(self.board.take.remote())
        except self.ray.exceptions.RayError:
            return
        for note in notes:
            if isinstance(note, Started) and note.name not in self.started:
                self.started[note.name] = note
                print(f"{note.name}: started on {note.node} (pid {note.pid})", flush=True)
            elif isinstance(note, Ended):
                self.ended[note.name] = note

    def _finish(self, ref: Any, name: str) -> None:
        """The task of ``name`` is done: how its daemon ended, or why that is not known."""
        from ray.exceptions import RayError

        try:
            self._ended(self.ray.get(ref))
        except RayError as e:
            # Cancelled (whatever it returned) or lost: what it posted may still be coming.
            self.settling[name] = (time.monotonic(), e)

    def _settle(self) -> None:
        """Each task whose ``ray.get`` raised, once its post of how its daemon ended came (a
        task does not wait for its posts), or once none can be expected any more."""
        from ray.exceptions import TaskCancelledError

        now = time.monotonic()
        for name, (since, error) in list(self.settling.items()):
            if name in self.ended:
                self._ended(self.ended[name])
            elif now - since < (POST_WAIT_S if name in self.started else NOT_STARTED_S):
                continue
            elif isinstance(error, TaskCancelledError) and name not in self.started:
                print(f"{name}: not started (stopped)", flush=True)
                self.unstarted.add(name)
            elif isinstance(error, TaskCancelledError):
                print(f"{name}: stopped; how its daemon ended was not reported", flush=True)
                self.failed.add(name)
            else:
                lines = str(error).strip().splitlines()
                cause = f": {lines[-1]}" if lines else ""
                print(f"{name}: lost ({type(error).__name__}{cause})", file=sys.stderr,
                      flush=True)  # fmt: skip
                self.failed.add(name)
            del self.settling[name]

    def _ended(self, ended: Ended) -> None:
        last = next((line for line in reversed(ended.tail) if line.strip()), "")
        print(f"{ended.name}: exit {ended.returncode}{f' ({last})' if last else ''}", flush=True)
        if ended.returncode != 0:
            self.failed.add(ended.name)
            if not self.stream:
                for line in ended.tail[-SHOWN_LINES:]:
                    print(f"  {ended.name} | {line}", file=sys.stderr, flush=True)


def _slug(text: str) -> str:
    """``text`` as a piece of an experiment's name: lower-case words joined by hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].rstrip("-") or "goal"


def _run_options(args: list[str]) -> Run:
    """``args`` read as ``experimenter run`` reads its command line (``ValueError`` saying
    what was wrong)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from experimenter.cli import Main  # at call time: cli imports this module

    try:
        main = Main(_cli_parse_args=["run", *args], _cli_exit_on_error=False)  # type: ignore[call-arg]
    except SettingsError as e:
        raise ValueError(f"the options after --: {_settings_error(e)}") from None
    except ValidationError as e:
        raise ValueError(_problems(e)) from None
    assert main.run is not None
    return main.run


def _settings_error(e: Exception) -> str:
    text = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    return re.sub(r"^error parsing CLI:\s*", "", text)


def _problems(e: Any) -> str:
    """pydantic's errors about ``run``'s options as one line, each named by its flag."""
    from experimenter.cli import _problem

    problems = []
    for err in e.errors():
        loc = [str(x) for x in err["loc"] if x != "run"]
        if loc:
            loc[0] = "--" + loc[0].replace("_", "-")
        problems.append(_problem({**err, "loc": loc}))
    return "the options after --: " + "; ".join(problems)
