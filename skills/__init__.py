"""The skill library: what the experimenter learns and people query.

Keyword-only functions over a SQLAlchemy session (``storage.Database.session()`` to write,
``.reader()`` to read); results are frozen pydantic views (``skills.schemas``), stable as
JSON. Importing this package loads neither MuJoCo, torch nor the arena: the task language
comes from ``tasks``.

    with db.session() as s:
        skill = add_skill(s, spec=spec, wording="stack red on blue", decided_by="planner")
        set_status(s, skill_id=skill.id, status="training", decided_by="planner", reason="...")
        record_evaluation(s, skill_id=skill.id, episodes=20, successes=17, env_steps=40_000)
    with db.reader() as s:
        list_skills(s, status="learned", objects="red")
        search_skills(s, query="stack red")
        nearest_skills(s, spec=subtask, k=3)
"""

from skills.detail import lineage, skill_detail, status_histories
from skills.errors import SkillError, TransitionRefused, UnknownSkill
from skills.library import (
    add_skill,
    add_skills,
    evaluated_in,
    find_primitive,
    find_skill,
    get_skill,
    record_evaluation,
    record_evaluations,
    set_status,
    skill_specs,
)
from skills.queries import count_skills, list_skills, status_counts
from skills.retrieval import nearest_skills
from skills.schemas import (
    EvaluationCreate,
    EvaluationPublic,
    Lineage,
    Neighbour,
    SearchHit,
    SkillDetail,
    SkillPublic,
    StatusChangePublic,
)
from skills.search import search_skills
from skills.status import TRANSITIONS
from skills.transfer import (
    ImportReport,
    LibraryFile,
    export_library,
    import_library,
    read_library_file,
)
from storage.enums import DecidedBy, SkillKind, SkillStatus

__all__ = [
    "TRANSITIONS",
    "DecidedBy",
    "EvaluationCreate",
    "EvaluationPublic",
    "ImportReport",
    "LibraryFile",
    "Lineage",
    "Neighbour",
    "SearchHit",
    "SkillDetail",
    "SkillError",
    "SkillKind",
    "SkillPublic",
    "SkillStatus",
    "StatusChangePublic",
    "TransitionRefused",
    "UnknownSkill",
    "add_skill",
    "add_skills",
    "count_skills",
    "evaluated_in",
    "export_library",
    "find_primitive",
    "find_skill",
    "get_skill",
    "import_library",
    "lineage",
    "list_skills",
    "nearest_skills",
    "read_library_file",
    "record_evaluation",
    "record_evaluations",
    "search_skills",
    "set_status",
    "skill_detail",
    "skill_specs",
    "status_counts",
    "status_histories",
]
