"""A model that errs the way real vision-language models and their endpoints do, served as
Gemini's generateContent for the real google-genai SDK (``planner_fakes.serve``).

It reads each prompt to tell the three questions apart, and over a run makes every mistake
of issue 13 in turn: proposals that repeat the library, name an object not in the scene,
put a block on itself or use an invented predicate; a two-stage task; a decomposition that
leaves the task itself out, or uses an invented predicate (valid after the repair re-ask);
an over-optimistic "learned" for every skill plus a verdict on a skill that does not exist;
and, on the wire, 429, 503, a truncated JSON body, an HTML page, and a call that never
answers. Whatever it answers is kept, so that a test can compare it with what was stored.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from planner_fakes import Reply, Seen, gemini_error, gemini_ok, hang, html_page, truncated


def _spec(*atoms: tuple[str, ...], **params: float) -> dict[str, Any]:
    return {"stages": [{"all": [{"pred": a[0], "args": list(a[1:]), **params} for a in atoms]}]}


REACH_RED = _spec(("reach", "red"))
TWO_STAGES = {
    "stages": [
        {"all": [{"pred": "grasped", "args": ["green"]}]},
        {"all": [{"pred": "lifted", "args": ["green"]}]},
    ]
}
PROPOSALS: list[list[tuple[str, dict[str, Any]]]] = [
    [
        ("touch the red cube", REACH_RED),
        ("put red on red", _spec(("on", "red", "red"))),
        ("reach the purple block", _spec(("reach", "purple"))),
    ],
    [
        ("reach the red block again", REACH_RED),  # a duplicate of the first
        ("pick up green, then lift it", TWO_STAGES),  # two stages
    ],
    [("fly the blue block", _spec(("fly", "blue")))],  # nothing usable: the rules propose
    [("reach the blue block", _spec(("reach", "blue")))],
]
FAULTS: dict[int, Reply] = {
    2: gemini_error(429, "RESOURCE_EXHAUSTED"),
    4: gemini_error(503, "UNAVAILABLE"),
    6: truncated(gemini_ok({"proposals": []})),
    8: html_page(),
    10: hang(),
}
"""Request number (from 1) -> what the wire does instead of answering."""


@dataclass
class FallibleModel:
    asked: Counter[str] = field(default_factory=Counter)
    answers: list[tuple[str, Any]] = field(default_factory=list)
    """(question kind, answer) for every answer given, repairs included."""
    requests: int = 0

    def __call__(self, seen: Seen) -> Reply:
        self.requests += 1
        if (fault := FAULTS.get(self.requests)) is not None:
            return fault
        text = seen.body["contents"][0]["parts"][-1]["text"]
        repair = "Your previous answer was:" in text
        kind = (
            "analyze" if "Judge every skill" in text
            else "decompose" if "Break this task into ordered subtasks" in text
            else "propose"
        )  # fmt: skip
        n = self.asked[kind]  # answers given to this question so far, repairs included
        self.asked[kind] += 1
        answer = getattr(self, kind)(text, n, repair)
        self.answers.append((kind, answer))
        return gemini_ok(answer)

    def propose(self, text: str, n: int, repair: bool) -> Any:
        items = PROPOSALS[min(n, len(PROPOSALS) - 1)]
        return {"proposals": [{"rationale": "next", "instruction": w, "spec": s} for w, s in items]}

    def decompose(self, text: str, n: int, repair: bool) -> Any:
        task = json.loads(text.split("\nSpec: ", 1)[1].split("\n", 1)[0])
        if n == 0:  # leaves the task out: reach "decomposed" into grasp and lift
            steps = [("grasp the red block", _spec(("grasped", "red"))),
                     ("lift it", _spec(("lifted", "red")))]  # fmt: skip
        elif n == 1 and not repair:  # an invented predicate
            steps = [("teleport it", _spec(("teleport", "red")))]
        else:
            steps = [("do the task", task)]
        return {
            "rationale": "in order",
            "subtasks": [{"instruction": w, "spec": s} for w, s in steps],
        }

    def analyze(self, text: str, n: int, repair: bool) -> Any:
        ids = [int(i) for i in re.findall(r"^- (\d+): ", text, flags=re.M)]
        judged = [
            {"skill_id": i, "reason": "looks great", "verdict": "learned", "confidence": 0.9}
            for i in ids
        ]  # over-optimistic, whatever the curve
        judged.append(
            {"skill_id": 999, "reason": "also done", "verdict": "learned", "confidence": 0.5}
        )
        return {"judgements": judged, "summary": "all learned"}
