"""The experiment's roster: which skills the loop trains and which it may call on.

The seeded primitives of the shared library, the skills in training, the learned ones kept
against forgetting, the failed ones due for a retry, and a proposal's skills put into
training when it is accepted (or left out when it is rejected). Plain functions over a
session and the library's keyword-only API (no SQL here), shared by the nodes, the routers
and the daemon (which applies a person's approvals from the commands table).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

import skills
from controllers.layout import ObsLayout
from controllers.skill_exec import seed_primitives
from storage import proposals
from storage.enums import DecidedBy, SkillKind, SkillStatus, TaskStatus


def seed_library(session: Session, *, layout: ObsLayout) -> int:
    """Add the scripted primitives to the shared library (no experiment: a controller is the
    same for every experiment) as learned primitive skills; returns how many were new."""
    added = 0
    for p in seed_primitives(layout):
        before = skills.find_skill(session, spec=p.spec, scene=layout.object_names)
        if before is not None:
            continue
        skills.add_skill(
            session, spec=p.spec, kind=SkillKind.PRIMITIVE, scene=layout.object_names,
            wording=p.wording, primitive=p.primitive, primitive_args=p.args,
            status=SkillStatus.LEARNED, decided_by=DecidedBy.NUMBERS,
            reason="scripted primitive (seed library)",
        )  # fmt: skip
        added += 1
    return added


def training_skills(session: Session, *, experiment_id: int) -> list[skills.SkillPublic]:
    """Skills this experiment is training."""
    return skills.list_skills(
        session, status=SkillStatus.TRAINING, experiment_id=experiment_id, limit=10_000
    )


def learned_policy_skills(session: Session, *, experiment_id: int) -> list[skills.SkillPublic]:
    """Learned (not scripted) skills this experiment has learned: trained against forgetting."""
    return skills.list_skills(
        session,
        status=SkillStatus.LEARNED,
        kind=SkillKind.LEARNED,
        experiment_id=experiment_id,
        limit=10_000,
    )


def retry_tag(iteration: int) -> str:
    """How a retry's reason begins (a rerun of the iteration's ``plan`` recognises its own)."""
    return f"iteration {iteration}: retry"


def retries_due(
    session: Session,
    *,
    experiment_id: int,
    retries: int,
    limit: int,
    iteration: int,
    stuck: bool = False,
) -> list[tuple[int, str]]:
    """Failed skills of the experiment to train again, oldest failure first, with why.

    A skill is retried when it has been retried fewer than ``retries`` times and the
    experiment has learned at least one other skill since it last failed: what it builds
    on has grown, so the same training may now succeed (a failed rung is not the end of the
    road). With ``stuck`` (nothing else can train: every open rung failed), it is retried
    without waiting for that, since nothing else will grow the library: an open-ended run
    whose every next rung failed would otherwise end there. At most ``limit``.
    """
    if limit <= 0 or retries <= 0:
        return []
    failed = skills.list_skills(
        session,
        status=SkillStatus.FAILED,
        kind=SkillKind.LEARNED,
        experiment_id=experiment_id,
        limit=10_000,
    )
    if not failed:
        return []
    learned = learned_policy_skills(session, experiment_id=experiment_id)
    histories = skills.status_histories(
        session, skill_ids=[k.id for k in failed] + [k.id for k in learned]
    )
    promotions = sorted(
        (h.created_at, k.instruction)
        for k in learned
        for h in histories[k.id]
        if h.to_status == SkillStatus.LEARNED
    )
    due: list[tuple[Any, int, str]] = []
    for k in failed:
        history = histories[k.id]
        done = sum(
            1
            for h in history
            if h.from_status == SkillStatus.FAILED and h.to_status == SkillStatus.TRAINING
        )
        failed_at = max(h.created_at for h in history if h.to_status == SkillStatus.FAILED)
        since = [name for when, name in promotions if when > failed_at]
        if done >= retries or not (since or stuck):
            continue
        if since:
            shown = ", ".join(repr(n) for n in since[:3]) + (" ..." if len(since) > 3 else "")
            cause = f"{len(since)} skill(s) learned since it failed ({shown})"
        else:
            cause = "nothing else can train (every open rung has failed)"
        due.append((failed_at, k.id, f"{retry_tag(iteration)} {done + 1} of {retries}: {cause}"))
    return [(sid, why) for _, sid, why in sorted(due)[:limit]]


def accept_task(
    session: Session,
    *,
    task_id: int,
    decided_by: DecidedBy,
    reason: str,
    actor: str | None = None,
) -> list[int]:
    """Accept a decomposed proposal: the task's own skill and the new skills of its
    decomposition start training. Returns their ids.

    The task itself is always trained (the policy learns the task; its decomposition steers
    the data), whatever subtasks the planner listed.
    """
    task = proposals.get_task(session, task_id=task_id)
    if task.status == TaskStatus.ACCEPTED:
        return []
    proposals.set_task_status(session, task_id=task_id, status=TaskStatus.ACCEPTED, verdict=reason)
    started = []
    steps = proposals.decomposition_steps(session, task_ids=[task_id])[task_id]
    ids = [st.skill_id for st in steps]
    if task.spec is not None:
        own = skills.find_skill(session, spec=task.spec, experiment_id=task.experiment_id)
        ids.insert(0, own.id if own is not None else None)
    for sid in dict.fromkeys(i for i in ids if i is not None):
        skill = skills.get_skill(session, skill_id=sid)
        if skill.status == SkillStatus.PROPOSED:
            skills.set_status(
                session, skill_id=sid, status=SkillStatus.TRAINING, decided_by=decided_by,
                actor=actor, reason=reason, decision_id=task.decision_id,
            )  # fmt: skip
            started.append(sid)
    return started


def reject_task(session: Session, *, task_id: int, reason: str) -> None:
    """Refuse a proposal (its skills stay proposed and are not trained)."""
    proposals.set_task_status(session, task_id=task_id, status=TaskStatus.REJECTED, verdict=reason)
