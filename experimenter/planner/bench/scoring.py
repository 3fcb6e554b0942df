"""How one answer of each question is scored against its item of the labelled set.

- *analyze*: the verdict against the label (what continued training showed);
- *propose*: each proposal vetted as the loop vets it (``vet_proposals``: valid in the task
  language, not a duplicate of the library), and, with a goal, whether it is a step towards
  the goal: every atom of its spec (predicate and cubes, parameters aside) is an atom of the
  goal or of a rung of the task ladder that the goal needs (``curriculum.goal_rungs``: reach,
  grasp and lift the cubes it moves, hold one above the other, stack);
- *decompose*: the subtasks against the reference, in order: the longest common subsequence
  of the two lists, two subtasks being the same when their canonical specs are
  (``match``, an F1 of its share of the answer and of the reference); and what the loop's
  retrieval makes of them (``planner.bench.retrieval``).

An answer that is not the backend's own (the planner fell back to the offline rules: an
invalid answer after the repair, a backend down) scores nothing: it is counted wrong, never
credited with the rules' answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from experimenter.planner import curriculum
from experimenter.planner.answers import Decomposition, Proposals, Verdict
from experimenter.planner.bench.labelled import DecomposeItem, ProposeItem
from experimenter.planner.proposals import vet_proposals
from skills.features import atom_key
from storage.enums import TaskStatus
from tasks import TaskSpec

T = TypeVar("T")


@dataclass(frozen=True)
class ProposalScore:
    """Counts of one *propose* answer's proposals."""

    proposed: int
    valid: int
    """Specs that validate in the task language for the scene."""
    new: int
    """Valid and not a duplicate of the library (nor of another proposal of the answer)."""
    toward_goal: int | None
    """Valid, new and a step towards the goal (None: the situation has no goal)."""
    problems: tuple[str, ...] = ()
    """Why proposals were rejected (the validator's or the duplicate check's words)."""


def verdict_correct(verdict: Verdict | None, label: Verdict) -> bool:
    """Whether an *analyze* verdict (None: no verdict of the backend's own) is the label."""
    return verdict == label


def goal_path_atoms(goal: TaskSpec, objects: Sequence[str]) -> frozenset[str]:
    """The atoms (``on(red,blue)``) of the goal and of every ladder rung the goal needs."""
    rungs = curriculum.ladder(tuple(objects))
    goal_data = goal.model_dump(mode="json", exclude_none=True)
    needed = curriculum.goal_rungs(goal_data, rungs)
    atoms = {atom_key(a) for a in goal.atoms()}
    for rung in rungs:
        if rung.key in needed:
            atoms |= {atom_key(a) for a in TaskSpec.model_validate(rung.spec).atoms()}
    return frozenset(atoms)


def score_proposals(item: ProposeItem, answer: Proposals | None) -> ProposalScore:
    """The proposals of ``answer`` vetted against ``item``; without an answer of the
    backend's own (None), the tasks the question asked for are counted as proposed and
    invalid."""
    goal = item.input.goal
    if answer is None:  # the tasks asked for, none of them the backend's own
        return ProposalScore(item.input.count, 0, 0, 0 if goal is not None else None)
    review = vet_proposals(answer, scene=item.input.objects, known=item.known)
    invalid = sum(r.status == TaskStatus.INVALID for r in review.rejected)
    problems = tuple(f"{r.wording!r}: {r.reason}" for r in review.rejected)
    toward: int | None = None
    if goal is not None:
        path = goal_path_atoms(goal, item.input.objects)
        toward = sum(all(atom_key(x) in path for x in a.spec.atoms()) for a in review.accepted)
    proposed = len(answer.proposals)
    return ProposalScore(proposed, proposed - invalid, len(review.accepted), toward, problems)


def _spec_hash(spec: TaskSpec | dict[str, Any]) -> str:
    parsed = spec if isinstance(spec, TaskSpec) else TaskSpec.model_validate(spec)
    return parsed.canonical().spec_hash()


def common_subsequence(
    answer: Sequence[T], reference: Sequence[str], same: Callable[[T, str], bool]
) -> int:
    """Length of the longest common subsequence, ``same(a, r)`` deciding a match."""
    row = [0] * (len(reference) + 1)
    for a in answer:
        prev_diag = 0
        for j, r in enumerate(reference, start=1):
            keep = row[j]
            row[j] = prev_diag + 1 if same(a, r) else max(row[j], row[j - 1])
            prev_diag = keep
    return row[-1]


def reference_hashes(item: DecomposeItem) -> list[str]:
    return [_spec_hash(s) for s in item.reference]


def decomposition_match(item: DecomposeItem, answer: Decomposition | None) -> float:
    """F1 of the subtasks in common with the reference, in order (0 without an own answer):
    2 L / (answer's subtasks + reference's), L the longest common subsequence."""
    if answer is None:
        return 0.0
    given = [_spec_hash(s.spec) for s in answer.subtasks]
    ref = reference_hashes(item)
    common = common_subsequence(given, ref, lambda a, r: a == r)
    return 2 * common / (len(given) + len(ref))
