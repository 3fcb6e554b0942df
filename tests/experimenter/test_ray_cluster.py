"""The Ray executor on a three-node cluster on one machine (``ray.cluster_utils.Cluster``):
its two workers collect on two nodes, and when a node holding one is lost mid-collect the
worker is replaced on the node left free, with every round stored once."""

from __future__ import annotations

import threading
import time

import pytest

from controllers.learner import Learner, LearnerConfig
from experimenter.executor import CollectJob
from experimenter.ray_executor import RayExecutor

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.slow


def test_workers_collect_on_two_nodes_and_a_lost_node_is_replaced() -> None:
    cluster = cluster_utils.Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "_system_config": {"worker_niceness": 0}},
    )
    nodes = [cluster.add_node(num_cpus=1), cluster.add_node(num_cpus=1)]
    ray.init(address=cluster.address, log_to_driver=False)
    executor = RayExecutor(workers=2)
    try:
        lr = Learner(
            LearnerConfig(hidden=(32, 32), batch_size=16, episode_steps=60, num_envs=4,
                          random_steps=100_000, buffer_capacity=20_000, buffer_chunk=512)
        )  # fmt: skip
        reach = lr.add_task("reach the red block")
        lr.set_weights({reach: 1.0})
        job = CollectJob(1, reach, 240, None, 0.0, "policy")
        executor.collect(lr, [job, job])
        before = executor.worker_infos()
        assert len({w.name.split("/")[0] for w in before}) == 2  # one worker per node

        # Lose a worker's node (not the head: it holds the cluster's state) mid-collect.
        lost = next(
            n for n in nodes if any(n.node_id.startswith(w.name.split("/")[0]) for w in before)
        )
        remover = threading.Thread(target=lambda: (time.sleep(1.0), cluster.remove_node(lost)))
        remover.start()
        out = executor.collect(lr, [job] * 24)
        remover.join()
        assert executor.replaced == 1
        after = executor.worker_infos()
        assert not any(lost.node_id.startswith(w.name.split("/")[0]) for w in after)
        assert [len(o) for o in out] == [4] * 24
        assert lr.env_steps == len(lr.replay) == 26 * 240  # every round stored, once
    finally:
        executor.close()
        ray.shutdown()
        cluster.shutdown()
