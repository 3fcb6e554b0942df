"""Retrieval for decomposition: the library skills nearest to a subtask.

A subtask comes as a spec, as text, or both (text that parses as an instruction of the task
language yields a spec too). Two stages, so that a query costs about the same at any
library size:

1. **Candidates** from the indexes: with a spec, the skill with the same spec hash and the
   ``CANDIDATES`` skills sharing the most atoms with the subtask (``skill_features``: atoms
   of the last stage weigh 3, other atoms 2); with text only, the best full-text matches of
   its content words (all of them, or any of them when that finds too few).
2. **Scoring** of those candidates in Python:
   - *structure*: weighted overlap of atoms (``pred(args)``); an atom weighs 2 in the last
     stage (what the skill achieves), 1 in an earlier stage, 0.5 as a constraint; two atoms
     with the same key match in proportion to their parameters' closeness (relative
     difference of lengths, equality of regions). 70 % of the score, plus 15 % each for the
     overlap of predicates and of objects (partial credit when atoms differ);
   - *text*: Dice overlap of content words (synonyms such as grab/grasp and cube/block are
     folded, ``skills.features.words``) of the subtask's text (or its canonical
     instruction) and the skill's instruction and wording;
   - combined: ``0.8 * structure + 0.2 * text`` with a spec, ``text`` alone without.

Retired and failed skills are left out unless ``status`` asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from skills.errors import SkillError
from skills.features import atom_key, content_words, words
from skills.library import default_scene, parse_skill_spec
from skills.schemas import Neighbour
from skills.search import load_skills, query_words, search_ids
from skills.status import parse_status
from storage.enums import SkillStatus
from storage.models import Skill, SkillFeature
from tasks import (
    PREDICATES,
    InstructionError,
    TaskSpec,
    TaskSpecError,
    canonical_instruction,
    parse_instruction,
)
from tasks.scene import SceneLike

CANDIDATES = 100
"""Skills scored per query, from the feature index."""
TEXT_CANDIDATES = 50
"""Skills scored per text-only query, from full-text search."""
DEFAULT_STATUSES = (SkillStatus.PROPOSED, SkillStatus.TRAINING, SkillStatus.LEARNED)
STRUCTURE_WEIGHT = 0.8
FINAL, EARLIER, CONSTRAINT = 2.0, 1.0, 0.5


def nearest_skills(
    session: Session,
    *,
    spec: TaskSpec | Mapping[str, Any] | str | None = None,
    text: str | None = None,
    k: int = 5,
    status: SkillStatus | str | Sequence[SkillStatus | str] | None = None,
    scene: SceneLike | None = None,
    scope: Sequence[int | None] | None = None,
) -> list[Neighbour]:
    """The ``k`` library skills nearest to a subtask, best first (see the module docstring).

    Give ``spec`` (validated against ``scene``), ``text`` (the planner's wording), or both.
    ``scope``: only the skills of these experiments (``None`` in it: the shared library of
    seeded primitives and imports); default: every skill.
    """
    if spec is None and not text:
        raise SkillError("give the subtask as a spec, as text, or both")
    if not 1 <= k <= 100:
        raise SkillError(f"k must be between 1 and 100, got {k}")
    names = scene if scene is not None else default_scene()
    parsed = parse_skill_spec(spec, names) if spec is not None else _try_parse(text or "", names)
    given = [status] if isinstance(status, str) else list(status or DEFAULT_STATUSES)
    statuses = {parse_status(s).value for s in given}

    within = _scope_filter(scope)
    ids: dict[int, None] = {}  # ordered set
    if parsed is not None:
        exact = select(Skill.id).where(Skill.spec_hash == parsed.spec_hash(), within)
        ids.update(dict.fromkeys(session.scalars(exact.order_by(Skill.id).limit(CANDIDATES))))
        ids.update(dict.fromkeys(_feature_candidates(session, parsed, within)))
    else:
        ids.update(dict.fromkeys(_text_candidates(session, text or "", k)))
    if not ids:
        return []

    # Score on the few columns needed; only the k winners are loaded in full.
    rows = session.execute(
        select(
            Skill.id,
            Skill.spec,
            Skill.instruction,
            Skill.wording,
            Skill.status,
            Skill.experiment_id,
        ).where(Skill.id.in_(list(ids)))
    )
    query_text = text or (canonical_instruction(parsed) if parsed is not None else "")
    query_atoms = _weighted_atoms(parsed.model_dump(exclude_none=True)) if parsed else {}
    query_words = words(query_text)
    scored: list[tuple[float, float, float, int]] = []
    for skill_id, skill_spec, instruction, wording, skill_status, owner in rows:
        if skill_status not in statuses or (scope is not None and owner not in set(scope)):
            continue
        text_score = _dice(query_words, words(f"{instruction} {wording or ''}"))
        if parsed is not None:
            structure = _structure(query_atoms, _weighted_atoms(skill_spec))
            score = STRUCTURE_WEIGHT * structure + (1 - STRUCTURE_WEIGHT) * text_score
        else:
            structure, score = 0.0, text_score
        scored.append((score, structure, text_score, skill_id))
    scored.sort(key=lambda t: (-t[0], t[3]))
    best = scored[:k]
    full = load_skills(session, ids=[t[3] for t in best])
    return [Neighbour(skill=full[i], score=sc, structure=st, text=tx) for sc, st, tx, i in best]


def _try_parse(text: str, scene: SceneLike) -> TaskSpec | None:
    """The spec of ``text`` if it reads as an instruction of the task language."""
    try:
        return parse_instruction(text, scene)
    except (InstructionError, TaskSpecError):
        return None


def _text_candidates(session: Session, text: str, k: int) -> list[int]:
    """Best full-text matches of the content words: all words, else any word."""
    query = " ".join(content_words(text))
    if not query_words(query):
        return []
    hits = search_ids(session, query=query, limit=TEXT_CANDIDATES, all_words=True)
    if len(hits) < k:
        hits += search_ids(session, query=query, limit=TEXT_CANDIDATES, all_words=False)
    return [i for i, _ in hits]


def _scope_filter(scope: Sequence[int | None] | None) -> ColumnElement[bool]:
    """Skills of the experiments in ``scope`` (``None`` in it: the shared library)."""
    if scope is None:
        return true()
    owners = [e for e in scope if e is not None]
    shared = Skill.experiment_id.is_(None) if None in scope else false()
    return or_(Skill.experiment_id.in_(owners), shared) if owners else shared


def _feature_candidates(session: Session, spec: TaskSpec, within: ColumnElement[bool]) -> list[int]:
    """Ids of the skills (in scope) sharing the most (weighted) atoms with ``spec``."""
    final = {f"final:{atom_key(a)}" for a in spec.stages[-1].all}
    anywhere = {f"atom:{atom_key(a)}" for a in spec.atoms()}
    weight = case((SkillFeature.feature.in_(sorted(final)), 3), else_=2)
    total = func.sum(weight)
    query = (
        select(SkillFeature.skill_id)
        .join(Skill, Skill.id == SkillFeature.skill_id)
        .where(SkillFeature.feature.in_(sorted(final | anywhere)), within)
        .group_by(SkillFeature.skill_id)
        .order_by(total.desc(), SkillFeature.skill_id)
        .limit(CANDIDATES)
    )
    return list(session.scalars(query))


AtomData = dict[str, Any]
"""An atom as stored (``{"pred": "on", "args": ["red", "blue"], "margin": 0.02}``)."""
WeightedAtoms = dict[str, tuple[float, AtomData]]


def _key(atom: AtomData) -> str:
    return f"{atom['pred']}({','.join(atom['args'])})"


def _weighted_atoms(spec: Mapping[str, Any]) -> WeightedAtoms:
    """Atom key -> (weight, atom) of a spec in its stored (dict) form."""
    out: WeightedAtoms = {}
    stages = spec["stages"]
    located = [
        (FINAL if i == len(stages) - 1 else EARLIER, a)
        for i, stage in enumerate(stages)
        for a in stage["all"]
    ]
    located += [(CONSTRAINT, a) for a in spec.get("constraints", [])]
    for weight, atom in located:
        key = _key(atom)
        if key not in out or out[key][0] < weight:
            out[key] = (weight, atom)
    return out


def _params_match(a: AtomData, b: AtomData) -> float:
    """1 for equal parameters, less as lengths differ (relative), 0 for another region."""
    pred = PREDICATES[a["pred"]]
    if not pred.params:
        return 1.0
    pa = pred.resolve({n: a[n] for n in pred.params if n in a})
    pb = pred.resolve({n: b[n] for n in pred.params if n in b})
    score = 1.0
    for name in pred.params:
        x, y = pa.get(name), pb.get(name)
        if isinstance(x, float | int) and isinstance(y, float | int):
            score *= 1.0 - min(1.0, abs(x - y) / max(abs(x), abs(y), 1e-3))
        elif x != y:
            score = 0.0
    return score


def _structure(query: WeightedAtoms, skill: WeightedAtoms) -> float:
    """Similarity in [0, 1] of two specs' weighted atoms, predicates and objects."""
    matched = union = 0.0
    for key in query.keys() | skill.keys():
        wq, aq = query.get(key, (0.0, None))
        ws, as_ = skill.get(key, (0.0, None))
        union += max(wq, ws)
        if aq is not None and as_ is not None:
            matched += min(wq, ws) * _params_match(aq, as_)
    atoms = matched / union if union else 0.0
    preds = _jaccard({a["pred"] for _, a in query.values()}, {a["pred"] for _, a in skill.values()})
    objs = _jaccard(
        {o for _, a in query.values() for o in a["args"]},
        {o for _, a in skill.values() for o in a["args"]},
    )
    return 0.7 * atoms + 0.15 * preds + 0.15 * objs


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0
