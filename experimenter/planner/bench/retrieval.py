"""What the loop's retrieval makes of a decomposition: each subtask looked up in the library.

In the loop, ``decompose`` hands each subtask (its spec and the model's words) to
``skills.nearest_skills``, and the skill found is what the subtask trains on or runs. The
benchmark does the same against each item's library, loaded into a throw-away SQLite
database (one experiment per item, so that items never see each other's skills), and counts
how much of the reference the retrieved skills cover, in order:

- **top-1**: the longest common subsequence of the subtasks' best matches and the reference,
  as a share of the reference;
- **top-3**: the same, a subtask matching a reference step when that step's skill is among
  its three best matches.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import skills
from experimenter.planner.answers import Decomposition
from experimenter.planner.bench.labelled import DecomposeItem
from experimenter.planner.bench.scoring import common_subsequence, reference_hashes
from storage import Database, runs
from storage.enums import DecidedBy

TOP_K = 3


@dataclass(frozen=True)
class RetrievalScore:
    top1: float
    top3: float


class Library:
    """The libraries of the decompose items, searchable as the loop searches its own."""

    def __init__(self, items: list[DecomposeItem]):
        self._folder = tempfile.TemporaryDirectory(prefix="planner-bench-")
        self.db = Database(f"sqlite:///{Path(self._folder.name) / 'library.db'}")
        self.db.upgrade()
        self.scope: dict[str, int] = {}
        with self.db.session() as s:
            for item in items:
                exp = runs.create_experiment(s, name=item.id, planner_backend="bench")
                self.scope[item.id] = exp.id
                for k in item.input.library:
                    skills.add_skill(
                        s, spec=k.spec, scene=item.input.objects, wording=k.instruction,
                        status=k.status, decided_by=DecidedBy.NUMBERS, experiment_id=exp.id,
                        reason="planner benchmark library",
                    )  # fmt: skip

    def close(self) -> None:
        self.db.dispose()
        self._folder.cleanup()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def best(self, item: DecomposeItem, answer: Decomposition) -> list[list[str]]:
        """Spec hashes of the ``TOP_K`` library skills nearest to each subtask, best first."""
        out = []
        with self.db.reader() as s:
            for sub in answer.subtasks:
                found = skills.nearest_skills(
                    s, spec=sub.spec, text=sub.instruction, k=TOP_K,
                    scene=item.input.objects, scope=[self.scope[item.id]],
                )  # fmt: skip
                out.append([n.skill.spec_hash for n in found])
        return out

    def score(self, item: DecomposeItem, answer: Decomposition | None) -> RetrievalScore:
        """Top-1 and top-3 coverage of the reference (0 without an answer of its own)."""
        if answer is None:
            return RetrievalScore(0.0, 0.0)
        ref = reference_hashes(item)
        found = self.best(item, answer)
        top1 = common_subsequence(found, ref, lambda hits, r: bool(hits) and hits[0] == r)
        top3 = common_subsequence(found, ref, lambda hits, r: r in hits)
        return RetrievalScore(top1 / len(ref), top3 / len(ref))
