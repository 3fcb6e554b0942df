"""Structural features of a spec (for filters and retrieval) and the words of a text.

Features are short strings stored in ``skill_features``:

| feature | meaning |
| --- | --- |
| ``obj:red`` | the spec mentions the red block |
| ``pred:on`` | the spec uses the predicate ``on`` |
| ``atom:on(red,blue)`` | the atom appears in some stage or constraint (parameters ignored) |
| ``final:on(red,blue)`` | the atom is in the last stage: what the skill ends with |
"""

from __future__ import annotations

import itertools
import re

from tasks import Atom, TaskSpec


def atom_key(atom: Atom) -> str:
    """``on(red,blue)``: predicate and arguments, parameters left out."""
    return f"{atom.pred}({','.join(atom.args)})"


def spec_features(spec: TaskSpec) -> set[str]:
    """The features of ``spec`` (see the module docstring)."""
    out: set[str] = set()
    for atom in spec.atoms():
        out.add(f"pred:{atom.pred}")
        out.add(f"atom:{atom_key(atom)}")
        out.update(f"obj:{o}" for o in atom.args)
    out.update(f"final:{atom_key(a)}" for a in spec.stages[-1].all)
    return out


STOPWORDS = frozenset(
    {"a", "an", "the", "block", "blocks", "cube", "cubes", "of", "to", "and", "then", "it"}
    | {"its", "by", "at", "with", "in", "into", "from", "please", "robot", "up", "down"}
)
SYNONYMS = {
    "grab": "grasp",
    "grip": "grasp",
    "pick": "lift",
    "raise": "lift",
    "stacking": "stack",
    "stacked": "stack",
    "drop": "release",
    "let": "release",
    "top": "on",
    "onto": "on",
    "over": "above",
    "beside": "near",
    "next": "near",
    "close": "near",
}


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, lower-cased, synonyms mapped to the task
    language's words (grab -> grasp, onto -> on), in order."""
    out = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        word = SYNONYMS.get(word, word)
        if word not in STOPWORDS and len(word) > 1:
            out.append(word)
    return out


def words(text: str) -> set[str]:
    """Content words of ``text`` (plural s dropped) and their bigrams (``red>blue``). Bigrams
    keep the order: "stack red on blue" and "stack blue on red" share their words but not
    their bigrams."""
    seq = [w.removesuffix("s") if len(w) > 3 else w for w in content_words(text)]
    return set(seq) | {f"{a}>{b}" for a, b in itertools.pairwise(seq)}
