"""The Ray executor on a real local Ray cluster: workers collect and evaluate what the
in-process executor would, a worker killed mid-collect is replaced with nothing lost or
doubled, and a two-node cluster collects on both nodes."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from controllers.learner import Learner, LearnerConfig
from experimenter.executor import CollectJob
from experimenter.ray_executor import RayExecutor

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


def small(**changes: object) -> LearnerConfig:
    base = dict(
        hidden=(32, 32), batch_size=16, episode_steps=30, num_envs=4, random_steps=10_000,
        buffer_capacity=20_000, buffer_chunk=512, actor_average=0.01, seed=3,
    )  # fmt: skip
    return LearnerConfig(**{**base, **changes})  # type: ignore[arg-type]


def learner(**changes: object) -> tuple[Learner, int]:
    lr = Learner(small(**changes))
    reach = lr.add_task("reach the red block")
    lr.set_weights({reach: 1.0})
    return lr, reach


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One real local cluster for the module (``local_mode`` no longer exists in Ray)."""
    # "local": a cluster of the test's own, even while another runs on the machine.
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
        _system_config={"worker_niceness": 0},
    )  # fmt: skip
    yield
    ray.shutdown()


def jobs(task: int, rounds: int, round_steps: int) -> list[CollectJob]:
    return [CollectJob(7, task, round_steps, None, 0.0, "policy") for _ in range(rounds)]


def test_workers_collect_every_round_once_and_evaluate_as_the_driver_would(
    local_ray: None,
) -> None:
    lr, reach = learner()
    executor = RayExecutor(workers=2)
    try:
        out = executor.collect(lr, jobs(reach, 4, 120))
        assert [len(o) for o in out] == [4, 4, 4, 4]  # one episode per arena copy
        workers = {e.worker for o in out for e in o}
        assert len(workers) == 2 and "inprocess" not in workers
        assert lr.env_steps == len(lr.replay) == 480
        assert sorted(w.env_steps for w in executor.worker_infos()) == [240, 240]

        lr.update(30)  # new weights: the workers act with them
        ray_eval = executor.evaluate(lr, reach, episodes=9, seed=1000)
        assert ray_eval == lr.evaluate(reach, 9, seed=1000)
        assert executor.traffic.weights_out > 0 and executor.traffic.episodes_back > 0
    finally:
        executor.close()


def test_a_worker_killed_mid_collect_is_replaced_and_nothing_is_lost_or_doubled(
    local_ray: None,
) -> None:
    """The rounds' seeds and random actions are the driver's: the replay after a worker died
    mid-collect holds exactly what an undisturbed collection stores, once."""
    calm, reach = learner(episode_steps=60)
    faulty, _ = learner(episode_steps=60)
    round_steps, rounds = 240, 24
    executor = RayExecutor(workers=2)
    try:
        expected = executor.collect(calm, jobs(reach, rounds, round_steps))
        victim = executor.worker_infos()[0]

        def kill_soon() -> None:
            time.sleep(1.0)
            os.kill(victim.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        got = executor.collect(faulty, jobs(reach, rounds, round_steps))
        killer.join()
        assert executor.replaced == 1
        assert victim.name not in {w.name for w in executor.worker_infos()}
    finally:
        executor.close()
    assert len(faulty.replay) == faulty.env_steps == rounds * round_steps
    n = len(calm.replay)
    for name in ("obs", "action", "next_obs"):
        assert np.array_equal(getattr(faulty.replay, name)[:n], getattr(calm.replay, name)[:n])
    strip = [[(e.total_return, e.success) for e in o] for o in expected]
    assert [[(e.total_return, e.success) for e in o] for o in got] == strip
