"""The skill status state machine.

    proposed -> training -> learned | failed
    failed   -> training   (a retry, once what the skill builds on has grown)
    learned  -> retired

Anything else is refused with the transitions allowed from the current status.
"""

from __future__ import annotations

from skills.errors import TransitionRefused, choice_error
from storage.enums import DecidedBy, SkillKind, SkillStatus

TRANSITIONS: dict[SkillStatus, tuple[SkillStatus, ...]] = {
    SkillStatus.PROPOSED: (SkillStatus.TRAINING,),
    SkillStatus.TRAINING: (SkillStatus.LEARNED, SkillStatus.FAILED),
    SkillStatus.LEARNED: (SkillStatus.RETIRED,),
    SkillStatus.FAILED: (SkillStatus.TRAINING,),
    SkillStatus.RETIRED: (),
}
"""Status -> the statuses it may change to."""


def parse_status(value: str | SkillStatus) -> SkillStatus:
    """``value`` as a ``SkillStatus``; an unknown one is a ``SkillError`` listing the allowed."""
    try:
        return SkillStatus(value)
    except ValueError:
        raise choice_error("status", value, [s.value for s in SkillStatus]) from None


def parse_kind(value: str | SkillKind) -> SkillKind:
    """``value`` as a ``SkillKind``, or a ``SkillError`` listing the kinds."""
    try:
        return SkillKind(value)
    except ValueError:
        raise choice_error("kind", value, [k.value for k in SkillKind]) from None


def parse_decided_by(value: str | DecidedBy) -> DecidedBy:
    """``value`` as a ``DecidedBy``, or a ``SkillError`` listing who may decide."""
    try:
        return DecidedBy(value)
    except ValueError:
        raise choice_error("decider", value, [d.value for d in DecidedBy]) from None


def check_transition(skill_id: int, current: SkillStatus, target: SkillStatus) -> None:
    """Raise ``TransitionRefused`` unless ``current -> target`` is allowed."""
    allowed = TRANSITIONS[current]
    if target in allowed:
        return
    options = ", ".join(f"{current.value} -> {s.value}" for s in allowed) or "none (final)"
    raise TransitionRefused(
        f"skill {skill_id} cannot go from {current.value} to {target.value}; "
        f"allowed from {current.value}: {options}"
    )
