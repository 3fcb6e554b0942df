"""Episodes and the learner checkpoints that hold their data.

Keyword-only functions inside the caller's transaction. An episode row is metadata (steps,
return, success, the skill and the round it was collected in); its transitions live in the
learner's replay, saved in checkpoint folders that ``checkpoints`` rows name (their
artifact a manifest). Episode rows, the learner's env steps and its replay agree: rows of
rounds a crash lost are discarded before they are collected again.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from storage.models import Checkpoint, Episode


def record_episode(
    session: Session,
    *,
    steps: int,
    total_return: float,
    success: bool,
    purpose: str = "collect",
    seed: int | None = None,
    skill_id: int | None = None,
    data_sha256: str | None = None,
    video_sha256: str | None = None,
    experiment_id: int | None = None,
    iteration_id: int | None = None,
    env_step: int | None = None,
    worker: str | None = None,
) -> Episode:
    """One episode's metadata; its arrays and video are artifacts. ``env_step``: for a
    collected episode, the learner's env steps when its collection round began; ``worker``:
    who collected it."""
    episode = Episode(
        steps=steps, total_return=total_return, success=success, purpose=purpose, seed=seed,
        skill_id=skill_id, data_sha256=data_sha256, video_sha256=video_sha256,
        experiment_id=experiment_id, iteration_id=iteration_id, env_step=env_step,
        worker=worker,
    )  # fmt: skip
    session.add(episode)
    session.flush()
    return episode


def discard_collected_episodes(session: Session, *, experiment_id: int, from_env_step: int) -> int:
    """Delete the experiment's collected episodes whose round began at or after
    ``from_env_step`` (rows of data the learner lost in a crash, about to be collected
    again); returns how many. Rows without ``env_step`` are kept."""
    result = session.execute(
        delete(Episode)
        .where(
            Episode.experiment_id == experiment_id,
            Episode.purpose.like("collect%"),
            Episode.env_step >= from_env_step,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def collected_steps(
    session: Session,
    *,
    experiment_id: int,
    skill_id: int | None = None,
    from_env_step: int | None = None,
) -> int:
    """Env steps in the experiment's collected episodes (equal to the learner's env steps
    and its replay's transitions when nothing was lost or recorded twice); with
    ``skill_id``, only those collected for that skill, and with ``from_env_step``, only
    rounds that began there or later."""
    query = select(func.coalesce(func.sum(Episode.steps), 0)).where(
        Episode.experiment_id == experiment_id, Episode.purpose.like("collect%")
    )
    if skill_id is not None:
        query = query.where(Episode.skill_id == skill_id)
    if from_env_step is not None:
        query = query.where(Episode.env_step >= from_env_step)
    return int(session.scalar(query) or 0)


def collected_successes(
    session: Session, *, experiment_id: int, skill_id: int, from_env_step: int = 0
) -> tuple[int, int]:
    """``(successful, all)`` episodes collected for ``skill_id`` in rounds that began at
    ``from_env_step`` or later, by its policy and by its chain alike."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(case((Episode.success, 1), else_=0)), 0)).where(
            Episode.experiment_id == experiment_id,
            Episode.purpose.like("collect%"),
            Episode.skill_id == skill_id,
            Episode.env_step >= from_env_step,
        )
    ).one()
    return int(row[1]), int(row[0])


class CollectedEpisode(NamedTuple):
    """One collected episode's row, as an export places it in the learner's replay."""

    id: int
    env_step: int | None
    """The learner's env steps when its round began; None for rows written before."""
    skill_id: int | None
    label: str
    """How it was collected (``collect:<label>``): policy, chain or demo; empty for rows
    written before labels."""
    steps: int
    total_return: float
    success: bool


def collected_episodes(session: Session, *, experiment_id: int) -> list[CollectedEpisode]:
    """The experiment's collected episodes in the order their transitions were stored: by
    round (``env_step``), then by id, which is arena copy order within a round."""
    rows = session.execute(
        select(
            Episode.id, Episode.env_step, Episode.skill_id, Episode.purpose, Episode.steps,
            Episode.total_return, Episode.success,
        )
        .where(Episode.experiment_id == experiment_id, Episode.purpose.like("collect%"))
        .order_by(Episode.env_step, Episode.id)
    ).all()  # fmt: skip
    return [
        CollectedEpisode(i, e, s, p.partition(":")[2], n, float(r), bool(ok))
        for i, e, s, p, n, r, ok in rows
    ]


class WorkerShare(NamedTuple):
    """What one worker collected; ``worker`` is ``inprocess`` (the default executor) or a
    Ray worker's ``node/actor`` ids (``experimenter.executor``)."""

    worker: str
    episodes: int
    env_steps: int
    last_env_step: int

    # Split here, beside the query, so that the CLI and the dashboard (which may not import
    # the executors) read the name the same way.
    @property
    def node(self) -> str:
        """The Ray node's id; ``local`` for a worker without one (the driver's process)."""
        node, sep, _ = self.worker.partition("/")
        return node if sep else "local"

    @property
    def actor(self) -> str | None:
        """The Ray actor's id; ``None`` for a worker without one."""
        _, sep, actor = self.worker.partition("/")
        return actor if sep else None


def worker_shares(session: Session, *, experiment_id: int) -> list[WorkerShare]:
    """Per worker that collected for the experiment: its episodes and env steps, and the
    experiment's env steps at its newest round; most recent first."""
    rows = session.execute(
        select(
            Episode.worker,
            func.count(),
            func.coalesce(func.sum(Episode.steps), 0),
            func.max(Episode.env_step),
        )
        .where(
            Episode.experiment_id == experiment_id,
            Episode.purpose.like("collect%"),
            Episode.worker.is_not(None),
        )
        .group_by(Episode.worker)
        # Workers of one round tie on their newest round: by name, for a stable listing.
        .order_by(func.max(Episode.env_step).desc(), Episode.worker)
    ).all()
    return [WorkerShare(str(w), int(n), int(steps), int(last or 0)) for w, n, steps, last in rows]


def count_episodes(session: Session, *, experiment_id: int, purpose: str | None = None) -> int:
    """How many episodes an experiment recorded (of one purpose if given)."""
    query = select(func.count(Episode.id)).where(Episode.experiment_id == experiment_id)
    if purpose is not None:
        query = query.where(Episode.purpose == purpose)
    return int(session.scalar(query) or 0)


def latest_episode(
    session: Session, *, skill_id: int, purpose: str | None = None, with_video: bool = False
) -> Episode | None:
    """A skill's newest episode (of this purpose; with a video if asked), or ``None``."""
    query = select(Episode).where(Episode.skill_id == skill_id)
    if purpose is not None:
        query = query.where(Episode.purpose == purpose)
    if with_video:
        query = query.where(Episode.video_sha256.is_not(None))
    return session.scalar(query.order_by(Episode.id.desc()).limit(1))


def record_checkpoint(
    session: Session,
    *,
    experiment_id: int,
    artifact_sha256: str,
    env_steps: int,
    kind: str = "learner",
    iteration_id: int | None = None,
) -> Checkpoint:
    """A saved state (its bytes an artifact)."""
    cp = Checkpoint(
        experiment_id=experiment_id, artifact_sha256=artifact_sha256, env_steps=env_steps,
        kind=kind, iteration_id=iteration_id,
    )  # fmt: skip
    session.add(cp)
    session.flush()
    return cp


def latest_checkpoint(
    session: Session, *, experiment_id: int, kind: str = "learner"
) -> Checkpoint | None:
    """The newest checkpoint of this kind, or ``None``."""
    return session.scalar(
        select(Checkpoint)
        .where(Checkpoint.experiment_id == experiment_id, Checkpoint.kind == kind)
        .order_by(Checkpoint.id.desc())
        .limit(1)
    )
