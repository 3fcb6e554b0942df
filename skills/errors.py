"""Errors of the skill library; each message names the problem and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable


class SkillError(ValueError):
    """Bad input to the library (unknown status, invalid spec, ...); nothing was changed."""


class UnknownSkill(SkillError, LookupError):
    """No skill with this id."""

    def __init__(self, skill_id: int):
        self.skill_id = skill_id
        super().__init__(f"no skill with id {skill_id}; `experimenter skills list` shows the ids")


class TransitionRefused(SkillError):
    """A status change the state machine does not allow."""


def choice_error(what: str, value: object, allowed: Iterable[str]) -> SkillError:
    """``unknown status 'done'; allowed: proposed, training, ...``."""
    return SkillError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
