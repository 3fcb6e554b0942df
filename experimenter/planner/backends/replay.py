"""The replay backend: answers recorded earlier, for reproducible demos and tests.

An answer is matched first by its exact prompt (same kind, same prompt text), else it is the
next unused recorded answer of that kind in recorded order, so that a run whose prompts
differ slightly (a budget line, a timestamp) still replays its decisions in sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from experimenter.planner.backends.base import PermanentError, Reply, Request
from experimenter.planner.record import RecordedAnswer, prompt_digest, read_decisions_file


@dataclass
class ReplayBackend:
    answers: list[RecordedAnswer]
    name: str = "replay"
    model: str = "recorded"
    remote: bool = False
    _used: set[int] = field(default_factory=set)

    @classmethod
    def from_file(cls, path: Path) -> ReplayBackend:
        return cls(answers=read_decisions_file(path))

    def ask(self, request: Request) -> Reply:
        digest = prompt_digest(request.prompt)
        same_kind = [
            i for i, a in enumerate(self.answers) if a.kind == request.kind and i not in self._used
        ]
        exact = [i for i in same_kind if self.answers[i].prompt_sha256 == digest]
        if not same_kind:
            total = sum(a.kind == request.kind for a in self.answers)
            raise PermanentError(
                f"the replay file has no unused {request.kind!r} answer left ({total} recorded); "
                "record a longer run or switch to the offline backend"
            )
        chosen = (exact or same_kind)[0]
        self._used.add(chosen)
        answer = self.answers[chosen]
        return Reply(text=answer.response, model=f"{answer.backend}/{answer.model}")
