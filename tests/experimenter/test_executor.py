"""The in-process executor reports every episode it collected for a job, as the learner
stored it: the job's skill and label, and the return and success of the job's task."""

from __future__ import annotations

from replay_reading import replayed_episodes

from controllers.learner import Learner, LearnerConfig
from controllers.skill_exec import PartSpec
from experimenter.executor import CollectJob, InProcessExecutor

GRASP = {"stages": [{"all": [{"pred": "grasped", "args": ["red"]}]}]}
LIFT = {"stages": [{"all": [{"pred": "lifted", "args": ["red"]}]}]}


def test_collected_episodes_are_reported_for_the_jobs_skill_and_task() -> None:
    learner = Learner(
        LearnerConfig(hidden=(32, 32), batch_size=16, episode_steps=30, num_envs=2,
                      random_steps=60, buffer_capacity=2_000, buffer_chunk=64)
    )  # fmt: skip
    reach = learner.add_task("reach the red block")
    lift = learner.add_task(LIFT)
    learner.set_weights({reach: 1.0, lift: 1.0})  # both active, as in the loop
    executor = InProcessExecutor(policy_timeout=30)
    # A chain measured against lift while reach is active too.
    chain = (
        PartSpec("primitive", GRASP, "grasp", {"obj": "red"}),
        PartSpec("policy", LIFT, task_id=lift),
    )
    for job in [
        CollectJob(7, reach, 120, None, 0.0, "policy"),
        CollectJob(8, lift, 60, chain, 0.1, "chain"),
    ]:
        start = learner.replay.added
        [episodes] = executor.collect(learner, [job])
        assert {(e.skill_id, e.label, e.steps) for e in episodes} == {(job.skill_id, job.label, 30)}
        got = [(e.total_return, e.success) for e in episodes]
        assert got == replayed_episodes(learner, start, job.task_id)
    assert learner.env_steps == 180 and len(episodes) == 2
