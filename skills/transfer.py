"""Export and import of a library as JSON, so that one experiment's skills seed another.

The file (``LibraryFile``)::

    {"format": "experimenter-skill-library", "version": 1, "exported_at": "...",
     "skills": [{"key": "fe2ecb4b9facd088", "spec": {...}, "kind": "learned",
                 "status": "learned", "wording": "...", "components": [], "parent": null, ...}]}

Skills refer to each other (``components``, ``parent``) by ``key``, which the export sets to
the spec hash; ids are not portable between databases. Import is all or nothing: the whole
file is checked first (structure, every spec, every reference) and one ``SkillError`` lists
every problem; skills already in the library (same spec) are kept as they are.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from skills.errors import SkillError
from skills.library import add_skill, default_scene, parse_skill_spec
from skills.queries import filtered
from storage.enums import DecidedBy, SkillKind, SkillStatus
from storage.models import Skill, SkillComponent
from storage.types import utcnow
from tasks.scene import SceneLike


class SkillEntry(BaseModel):
    """One skill of a library file."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, description="Label other entries use to refer to it.")
    spec: dict[str, Any]
    instruction: str | None = Field(None, description="Informative; recomputed on import.")
    wording: str | None = None
    description: str = ""
    kind: SkillKind = SkillKind.LEARNED
    status: SkillStatus = SkillStatus.PROPOSED
    primitive: str | None = None
    primitive_args: dict[str, Any] | None = None
    components: list[str] = Field(default_factory=list, description="Keys, in order.")
    parent: str | None = Field(None, description="Key of the skill it was decomposed from.")
    success_rate: float | None = Field(None, description="Informative: newest success rate.")
    best_success_rate: float | None = None


class LibraryFile(BaseModel):
    """A whole exported library."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["experimenter-skill-library"] = "experimenter-skill-library"
    version: Literal[1] = 1
    exported_at: datetime | None = None
    skills: list[SkillEntry]


class ImportReport(BaseModel):
    """What an import did."""

    added: int = Field(description="Skills new to the library.")
    existing: int = Field(description="Skills the library already had (left unchanged).")
    ids: dict[str, int] = Field(description="File key -> skill id in this library.")


def export_library(
    session: Session,
    *,
    status: SkillStatus | str | Sequence[SkillStatus | str] | None = None,
    kind: SkillKind | str | Sequence[SkillKind | str] | None = None,
) -> LibraryFile:
    """The library (or the skills of these statuses/kinds) as a ``LibraryFile``.

    A component or parent outside the selection is exported too, so the file stands alone.
    """
    rows = list(
        session.scalars(filtered(select(Skill), status=status, kind=kind).order_by(Skill.id))
    )
    by_id = {r.id: r for r in rows}
    comps: dict[int, list[int]] = {}
    pending = list(by_id)
    while pending:  # close over components and parents
        links = session.execute(
            select(SkillComponent.composite_id, SkillComponent.component_id)
            .where(SkillComponent.composite_id.in_(pending))
            .order_by(SkillComponent.composite_id, SkillComponent.position)
        ).all()
        for composite, component in links:
            comps.setdefault(composite, []).append(component)
        needed = {c for _, c in links} | {
            by_id[i].parent_id for i in pending if by_id[i].parent_id is not None
        }
        new = sorted(i for i in needed if i is not None and i not in by_id)
        for row in session.scalars(select(Skill).where(Skill.id.in_(new))):
            by_id[row.id] = row
        pending = new
    # A spec held by several experiments (each learns its own) is one key per skill.
    hashes = Counter(r.spec_hash for r in by_id.values())

    def key(r: Skill) -> str:
        return r.spec_hash if hashes[r.spec_hash] == 1 else f"{r.spec_hash}.{r.id}"

    entries = [
        SkillEntry(
            key=key(r),
            spec=r.spec,
            instruction=r.instruction,
            wording=r.wording,
            description=r.description,
            kind=SkillKind(r.kind),
            status=SkillStatus(r.status),
            primitive=r.primitive,
            primitive_args=r.primitive_args,
            components=[key(by_id[c]) for c in comps.get(r.id, [])],
            parent=key(by_id[r.parent_id]) if r.parent_id is not None else None,
            success_rate=r.success_rate,
            best_success_rate=r.best_success_rate,
        )
        for r in sorted(by_id.values(), key=lambda r: r.id)
    ]
    return LibraryFile(exported_at=utcnow(), skills=entries)


def read_library_file(data: str | bytes) -> LibraryFile:
    """Parse a library file; malformed JSON or structure is a ``SkillError`` naming each problem."""
    try:
        raw = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SkillError(f"the library file is not valid JSON: {e}") from None
    try:
        return LibraryFile.model_validate(raw)
    except ValidationError as e:
        problems = [
            f"{'.'.join(str(x) for x in err['loc']) or '(top level)'}: {err['msg']}"
            for err in e.errors()
        ]
        raise SkillError(
            f"the library file is malformed ({len(problems)} problem(s)):\n"
            + "\n".join(f"- {p}" for p in problems)
        ) from None


def import_library(
    session: Session,
    *,
    library: LibraryFile,
    scene: SceneLike | None = None,
    actor: str | None = None,
    source: str = "a library file",
) -> ImportReport:
    """Add the file's skills (dependencies first); all or nothing.

    Every problem (invalid spec, unknown reference, duplicate key, cycle) is collected and
    raised as one ``SkillError`` before anything is written.
    """
    names = scene if scene is not None else default_scene()
    problems: list[str] = []
    keys = [e.key for e in library.skills]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"key {key!r} is used by more than one skill")
    for n, entry in enumerate(library.skills, start=1):
        where = f"skill {n} (key {entry.key!r})"
        try:
            parse_skill_spec(entry.spec, names)
        except SkillError as e:
            problems.append(f"{where}: {e}".replace("\n", "\n  "))
        for ref in [*entry.components, *([entry.parent] if entry.parent else [])]:
            if ref not in keys:
                problems.append(f"{where}: refers to key {ref!r}, which is not in the file")
    order = _dependency_order(library.skills, problems)
    if problems:
        raise SkillError(
            f"nothing imported: {len(problems)} problem(s) in {source}:\n"
            + "\n".join(f"- {p}" for p in problems)
        )
    ids: dict[str, int] = {}
    added = 0
    with session.begin_nested():  # any failure below undoes the partial import
        for entry in order:
            # Imports join the shared library (no experiment), deduplicated there.
            before = session.scalar(
                select(Skill.id).where(
                    Skill.spec_hash == _hash(entry, names), Skill.experiment_id.is_(None)
                )
            )
            skill = add_skill(
                session,
                spec=entry.spec,
                kind=entry.kind,
                scene=names,
                wording=entry.wording,
                description=entry.description,
                primitive=entry.primitive,
                primitive_args=entry.primitive_args,
                components=[ids[c] for c in entry.components],
                status=entry.status,
                decided_by=DecidedBy.PERSON,
                actor=actor,
                reason=f"imported from {source}",
                parent_id=ids[entry.parent] if entry.parent else None,
            )
            ids[entry.key] = skill.id
            added += before is None
    return ImportReport(added=added, existing=len(order) - added, ids=ids)


def _hash(entry: SkillEntry, scene: SceneLike) -> str:
    return parse_skill_spec(entry.spec, scene).spec_hash()


def _dependency_order(entries: Sequence[SkillEntry], problems: list[str]) -> list[SkillEntry]:
    """Entries with every component and parent before the skills that use them."""
    by_key = {e.key: e for e in entries}
    order: list[SkillEntry] = []
    state: dict[str, str] = {}

    def visit(key: str, path: tuple[str, ...]) -> None:
        if state.get(key) == "done" or key not in by_key:
            return
        if state.get(key) == "active":
            problems.append(f"skills refer to each other in a cycle: {' -> '.join((*path, key))}")
            return
        state[key] = "active"
        entry = by_key[key]
        for dep in [*entry.components, *([entry.parent] if entry.parent else [])]:
            visit(dep, (*path, key))
        state[key] = "done"
        order.append(entry)

    for entry in entries:
        visit(entry.key, ())
    return order
