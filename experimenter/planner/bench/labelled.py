"""The labelled set the planner is scored on: its items, as Pydantic models, and reading it.

A set is a folder: ``set.json`` (every item, with the question exactly as the loop would ask
it and what it is scored against) and the PNGs it names (the learning curves of each
*analyze* item, the scene shown with *analyze* and *propose*). The committed set,
``benchmarks/planner_set/``, is built from real runs by ``benchmarks/planner_set/build.py``,
whose docstring states how each label and reference was made.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from experimenter.planner.answers import Verdict
from experimenter.planner.inputs import AnalyzeInput, DecomposeInput, Image, ProposeInput

SET_FILE = "set.json"
DEFAULT_SET = Path(__file__).resolve().parents[3] / "benchmarks" / "planner_set"
"""The set kept in the repository (found from a checkout or an editable install)."""


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Unique in the set, e.g. 'open3b-skill7-62400'.")
    source: str = Field(description="Where it comes from: run, skill or task, env step.")


class AnalyzeItem(_Item):
    """One skill's learning curve cut at an evaluation, labelled by what came next."""

    input: AnalyzeInput = Field(description="The question: one skill, its curve up to the cut.")
    curves: str = Field(description="PNG of the curve (the loop's picture), in the set folder.")
    label: Verdict = Field(description="What continued training showed.")
    why: str = Field(description="The numbers behind the label.")

    @model_validator(mode="after")
    def _one_skill(self) -> AnalyzeItem:
        if len(self.input.skills) != 1:
            raise ValueError(f"an analyze item asks about one skill, not {len(self.input.skills)}")
        return self

    @property
    def skill_id(self) -> int:
        return self.input.skills[0].skill_id


class ProposeItem(_Item):
    """A situation of a run in which the planner was asked for new tasks."""

    input: ProposeInput
    known: dict[str, str] = Field(
        description="Spec hash -> instruction of every skill the experiment had (its own, any "
        "status, and the shared library's): a proposal repeating one is not new."
    )


class DecomposeItem(_Item):
    """A task of a run, with the subtasks known to achieve it."""

    input: DecomposeInput = Field(
        description="The question; its library is also what the subtasks are retrieved from."
    )
    reference: list[dict[str, Any]] = Field(
        min_length=1, description="Subtask specs, in order, that achieve the task."
    )


class LabelledSet(BaseModel):
    """A labelled set and the folder its pictures are in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["experimenter-planner-set"] = "experimenter-planner-set"
    version: Literal[1] = 1
    built: str = Field(description="How the set was built: the runs read and the rules.")
    scene: str = Field(description="PNG of the scene, shown with analyze and propose.")
    analyze: list[AnalyzeItem]
    propose: list[ProposeItem]
    decompose: list[DecomposeItem]
    folder: Path = Field(default=Path("."), exclude=True)

    def image(self, name: str) -> Image:
        """The PNG ``name`` of the set folder."""
        path = self.folder / name
        try:
            return Image(name=Path(name).name, png=path.read_bytes())
        except OSError as e:
            raise ValueError(f"the labelled set names {name}, which cannot be read: {e}") from None

    @cached_property
    def scene_image(self) -> Image:
        return self.image(self.scene)

    def size(self) -> dict[str, int]:
        return {
            "analyze": len(self.analyze),
            "propose": len(self.propose),
            "decompose": len(self.decompose),
        }


def load_set(folder: Path | None = None) -> LabelledSet:
    """The labelled set in ``folder`` (default: the repository's). ``ValueError`` saying what
    is wrong when there is none or it does not read."""
    folder = DEFAULT_SET if folder is None else Path(folder)
    path = folder / SET_FILE
    if not path.is_file():
        hint = (
            "give --set DIR" if folder != DEFAULT_SET
            else "it is kept in the repository's benchmarks/planner_set; give --set DIR"
        )  # fmt: skip
        raise ValueError(f"no labelled set at {folder} (no {SET_FILE}); {hint}")
    try:
        found = LabelledSet.model_validate_json(path.read_bytes())
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ValueError(
            f"{path} is not a labelled set ({e.error_count()} problems; first at {where}: "
            f"{first['msg']}); rebuild it with benchmarks/planner_set/build.py"
        ) from None
    return found.model_copy(update={"folder": folder})


def write_set(found: LabelledSet, folder: Path) -> Path:
    """``set.json`` of ``found`` in ``folder`` (the pictures are written by the builder): one
    item a line, so that a rebuilt set's diff shows which items changed."""
    data = found.model_dump(mode="json", exclude_none=True)
    lists = ("analyze", "propose", "decompose")
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in data.items() if k not in lists]
    for k in lists:
        items = [json.dumps(item, separators=(",", ":")) for item in data[k]]
        lines.append(f" {json.dumps(k)}: [\n  " + ",\n  ".join(items) + "\n ],")
    text = "{\n" + "\n".join(lines).rstrip(",") + "\n}\n"
    path = Path(folder) / SET_FILE
    path.write_text(text, encoding="utf-8")
    return path
