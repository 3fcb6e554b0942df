"""Builds the planner benchmark's labelled set (``set.json`` and its PNGs) from real runs.

    python benchmarks/planner_set/build.py --runs /path/to/runs [--out benchmarks/planner_set]

Each run's ``experimenter.db`` is read through a read-only SQLite connection (``mode=ro``: a
daemon may still be writing it; nothing is ever written there), up to the env step given in
``RUNS``, so that building again from the same runs gives the same set. The runs are the
ones behind benchmarks/README.md's "Stacking with the experimenter" (offline planner, the
learner of ``experimenter run``, evaluations of 10 episodes every 2,400 env steps, 50 when
one reaches the bar).

**analyze** (``label`` from what continued training showed). A skill's evaluations, oldest
first, are split into training segments where two evaluations lie more than ``GAP`` env
steps apart (a failed skill retried later: it was not trained in between). A cut at
evaluation *i* shows the curve up to *i* (the earlier segments too, as the loop shows it)
and needs ``MIN_SHOWN`` evaluations; its label reads the evaluations after *i* in its
segment. An evaluation *confirms* the bar when the Wilson 95 % lower bound of its success
reaches the bar (the loop's promotion test; the bar is the run's threshold, the goal's own
for the goal's skill):

- *learned*: an evaluation from *i* to *i* + ``LEARNED_WITHIN`` confirms the bar, and the
  success rates from *i* to it average at least the bar less ``LEVEL_TOLERANCE``;
- *improving*: otherwise, a later evaluation of the segment confirms the bar (however late:
  more of the same training did help), or ``WINDOW`` evaluations follow and the mean of the
  last ``RECENT`` of them is at least ``MIN_GAIN`` above the mean of the ``RECENT``
  evaluations up to *i*;
- *stalled*: ``WINDOW`` evaluations follow and neither holds;
- no label (the cut is not used): fewer follow and none confirms.

``PER_LABEL`` cuts of each label are kept, spread over the runs and skills: the candidates
of each (run, skill) in the order middle, quarters, eighths, ..., taken in turn across the
(run, skill) groups; a curve already kept (two runs with the same seed share their first
skills' curves) is skipped.

**propose**: the situations of the runs' *propose* decisions, rebuilt from the records at
the decision's time: the experiment's skills with their status then (from the status
history) and newest success rate, the shared primitives when the run had them, the
rejected proposals, the goal, and the count the decision asked for. One situation per
distinct library, ``PROPOSE_PER_RUN`` per run spread over its time, a question already kept
(the same prompt from another run) skipped. ``known`` (what a
proposal must not repeat) is every skill the experiment had then.

**decompose**: tasks the runs trained (one per spec, ``DECOMPOSE_KINDS`` of each kind, in the
order the runs proposed them), asked against the scene's 36 scripted primitives (the library
``--seed-skills primitives`` seeds). The ``reference`` is the scripted chain that achieves
the task (``controllers.primitives.stack_chain``: reach, grasp, lift, hold above, place on,
release; its first steps for the easier rungs; a chain per stage), as the primitives' specs.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controllers.layout import SceneConfig
from controllers.primitives import stack_chain
from controllers.render import scene_png
from controllers.skill_exec import seed_primitives
from experimenter.planner import (
    AnalyzeInput,
    BudgetLine,
    CurvePoint,
    DecomposeInput,
    LibrarySkill,
    ProposeInput,
    Rejection,
    SkillProgress,
)
from experimenter.planner.answers import Verdict
from experimenter.planner.bench import (
    AnalyzeItem,
    DecomposeItem,
    LabelledSet,
    ProposeItem,
    write_set,
)
from experimenter.planner.plots import curves_image
from experimenter.planner.questions import question
from skills.stats import wilson_lower
from tasks import TaskSpec, canonical_instruction


@dataclass(frozen=True)
class Run:
    name: str
    db: str
    """The database, relative to ``--runs``."""
    until: int
    """Env steps read (what the run had reached when the set was built)."""


RUNS = (
    Run("empty1m", "empty1m/experimenter-seed0-data/experimenter.db", 1_000_800),
    Run("empty1m-s1", "empty1m-s1/experimenter-seed1-data/experimenter.db", 720_000),
    Run("tower1m", "tower1m/experimenter-seed0-data/experimenter.db", 1_000_800),
    Run("open3b", "open3b/experimenter.db", 1_000_800),
    Run("open4", "open4/experimenter.db", 760_800),
)

GAP = 10_000
MIN_SHOWN = 3
LEARNED_WITHIN = 5
LEVEL_TOLERANCE = 0.05
WINDOW = 20
RECENT = 5
MIN_GAIN = 0.1
PER_LABEL = 12
PROPOSE_PER_RUN = 4
DECOMPOSE_KINDS = {"reach": 1, "grasp": 2, "lift": 2, "above": 3, "stack": 3, "tower": 1}
SCENE = SceneConfig()
OBJECTS = list(SCENE.layout().object_names)


# --- reading a run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    env_steps: int
    successes: int
    episodes: int
    at: str
    """When it was recorded (the database's timestamp)."""

    @property
    def rate(self) -> float:
        return self.successes / self.episodes

    def confirms(self, bar: float) -> bool:
        return wilson_lower(self.successes, self.episodes) >= bar

    def point(self) -> CurvePoint:
        return CurvePoint(
            env_steps=self.env_steps, success_rate=self.rate, episodes=self.episodes,
            lower_bound=wilson_lower(self.successes, self.episodes),
        )  # fmt: skip


@dataclass(frozen=True)
class SkillRow:
    id: int
    spec: dict[str, Any]
    spec_hash: str
    instruction: str
    kind: str
    own: bool
    success_rate: float | None


class RunRecords:
    """What the builder reads of one run, through a read-only connection."""

    def __init__(self, run: Run, root: Path):
        path = root / run.db
        if not path.is_file():
            raise SystemExit(f"build.py: no database {path}; give --runs (the runs' folder)")
        self.run = run
        # mode=ro: never a write, not even a journal mode change, to a database a live
        # daemon may be writing.
        self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        exp = self.con.execute(
            "SELECT id, goal, goal_spec, config FROM experiments ORDER BY id LIMIT 1"
        ).fetchone()
        self.experiment_id: int = exp[0]
        self.goal_text: str | None = exp[1]
        goal = json.loads(exp[2]) if exp[2] else None  # JSON null for an open-ended run
        self.goal = TaskSpec.model_validate(goal).canonical() if goal else None
        self.config: dict[str, Any] = json.loads(exp[3])
        last = self.con.execute(
            "SELECT max(created_at) FROM evaluations WHERE experiment_id = ? AND env_steps <= ?",
            (self.experiment_id, run.until),
        ).fetchone()[0]
        self.until_time: str = last

    def threshold(self) -> float:
        return float(self.config["threshold"])

    def bar(self, spec_hash: str) -> float:
        goal_bar = self.config.get("goal_threshold")
        if self.goal is not None and spec_hash == self.goal.spec_hash() and goal_bar is not None:
            return float(goal_bar)
        return self.threshold()

    def skills(self) -> list[SkillRow]:
        rows = self.con.execute(
            "SELECT id, spec, spec_hash, instruction, kind, experiment_id, success_rate "
            "FROM skills WHERE experiment_id = ? OR experiment_id IS NULL ORDER BY id",
            (self.experiment_id,),
        )
        return [
            SkillRow(i, json.loads(spec), h, words, kind, exp is not None, rate)
            for i, spec, h, words, kind, exp, rate in rows
        ]

    def evaluations(self, skill_id: int) -> list[Evaluation]:
        rows = self.con.execute(
            "SELECT env_steps, successes, episodes, created_at FROM evaluations "
            "WHERE skill_id = ? AND experiment_id = ? AND env_steps <= ? ORDER BY env_steps, id",
            (skill_id, self.experiment_id, self.run.until),
        )
        return [Evaluation(*r) for r in rows]

    def statuses_at(self, when: str) -> dict[int, str]:
        """Each skill's status at ``when`` (skills created later are absent)."""
        rows = self.con.execute(
            "SELECT skill_id, to_status FROM skill_status_history WHERE created_at <= ? "
            "ORDER BY created_at, id",
            (when,),
        )
        return dict(rows.fetchall())

    def success_at(self, skill_id: int, when: str) -> float | None:
        row = self.con.execute(
            "SELECT success_rate FROM evaluations WHERE skill_id = ? AND experiment_id = ? "
            "AND created_at <= ? ORDER BY created_at DESC, id DESC LIMIT 1",
            (skill_id, self.experiment_id, when),
        ).fetchone()
        return None if row is None else float(row[0])

    def propose_decisions(self) -> list[tuple[int, str, str]]:
        """``(id, created_at, prompt)`` of the propose decisions, oldest first."""
        rows = self.con.execute(
            "SELECT id, created_at, prompt FROM decisions WHERE kind = 'propose' "
            "AND experiment_id = ? AND created_at <= ? ORDER BY id",
            (self.experiment_id, self.until_time),
        )
        return rows.fetchall()

    def rejections_at(self, when: str) -> list[Rejection]:
        """The newest ten refused proposals at ``when``, oldest first (as the loop quotes)."""
        rows = self.con.execute(
            "SELECT wording, instruction, verdict FROM tasks WHERE experiment_id = ? "
            "AND status IN ('rejected', 'invalid', 'duplicate') AND created_at <= ? "
            "ORDER BY id DESC LIMIT 10",
            (self.experiment_id, when),
        ).fetchall()
        return [Rejection(instruction=w or i or "", reason=v or "") for w, i, v in rows[::-1]]

    def tasks(self) -> list[tuple[int, dict[str, Any], str]]:
        """``(id, spec, instruction)`` of the accepted tasks, oldest first."""
        rows = self.con.execute(
            "SELECT id, spec, instruction FROM tasks WHERE experiment_id = ? "
            "AND status = 'accepted' AND spec IS NOT NULL AND created_at <= ? ORDER BY id",
            (self.experiment_id, self.until_time),
        )
        return [(i, json.loads(spec), words) for i, spec, words in rows]


# --- analyze ---------------------------------------------------------------------------------


def segments(evals: Sequence[Evaluation]) -> list[int]:
    """The segment number of each evaluation (a new one after a gap of more than GAP)."""
    out, seg = [], 0
    for i, e in enumerate(evals):
        if i and e.env_steps - evals[i - 1].env_steps > GAP:
            seg += 1
        out.append(seg)
    return out


def label(
    evals: Sequence[Evaluation], i: int, bar: float, seg: Sequence[int]
) -> tuple[Verdict, str] | None:
    """The label of the cut at evaluation ``i`` and its numbers (None: cannot be told)."""
    after = [e for j, e in enumerate(evals) if j > i and seg[j] == seg[i]]
    soon = [evals[i], *after[:LEARNED_WITHIN]]
    for k, e in enumerate(soon):
        if e.confirms(bar):
            level = sum(x.rate for x in soon[: k + 1]) / (k + 1)
            confirm = f"{e.successes}/{e.episodes} at {e.env_steps} confirms {bar:.0%}"
            if level >= bar - LEVEL_TOLERANCE:
                return "learned", f"{confirm}; {level:.0%} on average until then"
            break
    # Reaching the bar later in the same stretch of training, however late, means more of
    # the same training did help: never stalled.
    confirmed = next((e for e in after if e.confirms(bar)), None)
    if confirmed is not None:
        return "improving", (
            f"{confirmed.successes}/{confirmed.episodes} at {confirmed.env_steps} confirms "
            f"{bar:.0%}, {confirmed.env_steps - evals[i].env_steps} env steps later"
        )
    window = after[:WINDOW]
    if len(window) < WINDOW:
        return None
    before = [e.rate for e in evals[max(0, i - RECENT + 1) : i + 1]]
    later = [e.rate for e in window[-RECENT:]]
    gain = sum(later) / len(later) - sum(before) / len(before)
    numbers = (
        f"mean of the last {RECENT} evaluations {sum(before) / len(before):.0%} at the cut, "
        f"{sum(later) / len(later):.0%} {window[-1].env_steps - evals[i].env_steps} env steps "
        f"later; never {bar:.0%} with 95 % confidence"
    )
    return ("improving" if gain >= MIN_GAIN else "stalled"), numbers


@dataclass(frozen=True)
class Cut:
    records: RunRecords
    skill: SkillRow
    evals: tuple[Evaluation, ...]
    index: int
    label: Verdict
    why: str

    @property
    def key(self) -> tuple[str, tuple[tuple[int, int, int], ...]]:
        shown = self.evals[: self.index + 1]
        return self.skill.instruction, tuple((e.env_steps, e.successes, e.episodes) for e in shown)


def spread(n: int) -> list[int]:
    """0..n-1 in the order middle, quarters, eighths, ... (then whatever is left)."""
    order: list[int] = []
    parts = 2
    while len(order) < n and parts <= 2 * n:
        for k in range(1, parts, 2):
            j = min(n - 1, k * n // parts)
            if j not in order:
                order.append(j)
        parts *= 2
    return order + [j for j in range(n) if j not in order]


def cuts(records: RunRecords) -> Iterator[list[Cut]]:
    """The labelled cuts of each of the run's own skills."""
    for skill in records.skills():
        if not skill.own:
            continue
        evals = records.evaluations(skill.id)
        seg = segments(evals)
        bar = records.bar(skill.spec_hash)
        found = []
        for i in range(MIN_SHOWN - 1, len(evals)):
            labelled = label(evals, i, bar, seg)
            if labelled is not None:
                found.append(Cut(records, skill, tuple(evals), i, *labelled))
        yield found


def pick_cuts(all_runs: Sequence[RunRecords]) -> list[Cut]:
    # (verdict, instruction) -> each run's cuts of that skill, in spread order
    per_skill: dict[tuple[Verdict, str], list[list[Cut]]] = defaultdict(list)
    instructions: dict[str, None] = {}  # in the order the runs trained them
    for records in all_runs:
        for found in cuts(records):
            for verdict in ("learned", "improving", "stalled"):
                mine = [c for c in found if c.label == verdict]
                if mine:
                    instructions.setdefault(mine[0].skill.instruction)
                    per_skill[verdict, mine[0].skill.instruction].append(
                        [mine[j] for j in spread(len(mine))]
                    )
    # One queue per skill (its runs' cuts taken in turn), the skills then taken in turn: the
    # kept cuts cover as many skills as there are, before a second cut of any.
    groups: dict[Verdict, list[list[Cut]]] = defaultdict(list)
    for (verdict, _), lists in sorted(
        per_skill.items(), key=lambda kv: list(instructions).index(kv[0][1])
    ):
        queue = [q[k] for k in range(max(map(len, lists))) for q in lists if k < len(q)]
        groups[verdict].append(queue)
    chosen: list[Cut] = []
    seen: set[Any] = set()
    for verdict in ("learned", "improving", "stalled"):
        queues = [list(g) for g in groups[verdict]]
        taken = 0
        while taken < PER_LABEL and any(queues):
            for q in queues:
                while q and q[0].key in seen:
                    q.pop(0)
                if q and taken < PER_LABEL:
                    c = q.pop(0)
                    seen.add(c.key)
                    chosen.append(c)
                    taken += 1
    return chosen


def analyze_item(cut: Cut, out: Path) -> AnalyzeItem:
    r, skill = cut.records, cut.skill
    at = cut.evals[cut.index].env_steps
    bar, threshold = r.bar(skill.spec_hash), r.threshold()
    progress = SkillProgress(
        skill_id=skill.id, instruction=skill.instruction,
        points=[e.point() for e in cut.evals[: cut.index + 1]],
        threshold=bar if bar != threshold else None,
    )  # fmt: skip
    inp = AnalyzeInput(
        skills=[progress],
        budgets=[BudgetLine(name="env steps", used=at, limit=r.config.get("max_env_steps"))],
        threshold=threshold,
    )
    item_id = f"{r.run.name}-skill{skill.id}-{at}"
    png = f"curves/{item_id}.png"
    # The loop's picture: curves_image of the skills judged, with the run's threshold.
    (out / png).write_bytes(curves_image(inp.skills, threshold=threshold).png)
    return AnalyzeItem(
        id=item_id, source=f"{r.run.name}: skill {skill.id} ({skill.instruction}), cut at "
        f"{at} env steps", input=inp, curves=png, label=cut.label, why=cut.why,
    )  # fmt: skip


# --- propose ---------------------------------------------------------------------------------

COUNT = re.compile(r"Propose (\d+) new task")


def situations(records: RunRecords) -> list[ProposeItem]:
    """One situation per distinct library at the run's propose decisions."""
    skills = records.skills()
    found: list[ProposeItem] = []
    states: set[Any] = set()
    for decision_id, when, prompt in records.propose_decisions():
        status = records.statuses_at(when)
        own = [k for k in skills if k.own and k.id in status]
        count = int(m.group(1)) if (m := COUNT.search(prompt)) else 3
        state = (tuple(sorted((k.spec_hash, status[k.id]) for k in own)), count)
        if state in states:
            continue
        states.add(state)
        rates = {k.id: records.success_at(k.id, when) for k in own}
        listed = sorted(
            (k for k in own if status[k.id] != "proposed"),
            key=lambda k: (status[k.id] != "learned", -(rates[k.id] or 0.0), k.id),
        )
        shared = [k for k in skills if not k.own and k.kind == "primitive"]
        library = [
            LibrarySkill(
                skill_id=k.id,
                instruction=k.instruction,
                spec=k.spec,
                spec_hash=k.spec_hash,
                status=status.get(k.id, "learned") if k.own else "learned",
                success_rate=rates.get(k.id) if k.own else k.success_rate,
            )
            for k in [*listed, *shared][:60]  # the loop's PROMPT_LIBRARY
        ]
        inp = ProposeInput(
            objects=OBJECTS, library=library, rejections=records.rejections_at(when),
            goal=records.goal, goal_instruction=records.goal_text, count=count,
        )  # fmt: skip
        known = {k.spec_hash: k.instruction for k in [*shared, *own]}
        learned = sum(status[k.id] == "learned" for k in own)
        found.append(
            ProposeItem(
                id=f"{records.run.name}-decision{decision_id}",
                source=f"{records.run.name}: propose decision {decision_id} ({len(own)} own "
                f"skills, {learned} learned; {len(shared)} primitives; goal: "
                f"{records.goal_text or 'none'})",
                input=inp,
                known=known,
            )
        )
    return found


def pick_situations(all_runs: Sequence[RunRecords]) -> list[ProposeItem]:
    chosen: list[ProposeItem] = []
    seen: set[str] = set()  # the questions kept: the same prompt twice adds nothing
    for records in all_runs:
        found = [i for i in situations(records) if question(i.input).prompt not in seen]
        n, m = len(found), min(PROPOSE_PER_RUN, len(found))
        for i in sorted({round(k * (n - 1) / max(1, m - 1)) for k in range(m)}):
            seen.add(question(found[i].input).prompt)
            chosen.append(found[i])
    return chosen


# --- decompose -------------------------------------------------------------------------------


def primitives_library() -> tuple[list[LibrarySkill], dict[tuple[str, str], dict[str, Any]]]:
    """The scene's seeded primitives as a library, and each one's spec by (name, args)."""
    library, specs = [], {}
    for i, p in enumerate(seed_primitives(SCENE.layout()), start=1):
        spec = TaskSpec.model_validate(p.spec).canonical()
        library.append(
            LibrarySkill(
                skill_id=i,
                instruction=canonical_instruction(spec),
                spec=p.spec,
                spec_hash=spec.spec_hash(),
                status="learned",
            )
        )
        specs[(p.primitive, json.dumps(p.args, sort_keys=True))] = p.spec
    return library, specs


CHAIN_STEPS = {"reach": 1, "grasped": 2, "lifted": 3, "above": 4, "on": 6}
"""How much of the stacking chain achieves a stage, by its main predicate."""


def reference(task: dict[str, Any], specs: dict[tuple[str, str], dict[str, Any]]) -> list[Any]:
    """The scripted chain's steps for each stage of ``task``, as primitive specs."""
    steps: list[dict[str, Any]] = []
    for stage in task["stages"]:
        main = next(a for a in stage["all"] if a["pred"] != "released")
        top = main["args"][0]
        bottom = main["args"][1] if len(main["args"]) > 1 else next(o for o in OBJECTS if o != top)
        args = {
            "reach": {"obj": top}, "grasp": {"obj": top}, "lift": {"obj": top},
            "move_above": {"obj": bottom, "held": top}, "place_on": {"obj": bottom, "held": top},
            "release": {"held": top},
        }  # fmt: skip
        chain = stack_chain(SCENE.layout(), top=top, bottom=bottom)[: CHAIN_STEPS[main["pred"]]]
        steps += [specs[(p.name, json.dumps(args[p.name], sort_keys=True))] for p in chain]
    return steps


def kind_of(task: dict[str, Any]) -> str:
    if len(task["stages"]) > 1:
        return "tower"
    preds = {a["pred"] for a in task["stages"][0]["all"]}
    for pred, kind in (("on", "stack"), ("above", "above"), ("lifted", "lift"),
                       ("grasped", "grasp"), ("reach", "reach")):  # fmt: skip
        if pred in preds:
            return kind
    return "other"


def pick_tasks(all_runs: Sequence[RunRecords]) -> list[DecomposeItem]:
    library, specs = primitives_library()
    wanted = dict(DECOMPOSE_KINDS)
    chosen: list[DecomposeItem] = []
    seen: set[str] = set()
    for records in all_runs:
        for task_id, spec, instruction in records.tasks():
            parsed = TaskSpec.model_validate(spec).canonical()
            kind = kind_of(spec)
            if parsed.spec_hash() in seen or wanted.get(kind, 0) <= 0:
                continue
            seen.add(parsed.spec_hash())
            wanted[kind] -= 1
            ref = reference(parsed.model_dump(mode="json", exclude_none=True), specs)
            inp = DecomposeInput(
                objects=OBJECTS, task=parsed.model_dump(mode="json", exclude_none=True),
                instruction=instruction, library=library, max_subtasks=max(6, len(ref)),
            )  # fmt: skip
            chosen.append(
                DecomposeItem(
                    id=f"{records.run.name}-task{task_id}",
                    source=f"{records.run.name}: task {task_id} ({instruction})",
                    input=inp,
                    reference=ref,
                )
            )
    return chosen


# --- the set ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="the runs' folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    all_runs = [RunRecords(r, args.runs) for r in RUNS]
    (args.out / "curves").mkdir(parents=True, exist_ok=True)
    for old in (args.out / "curves").glob("*.png"):
        old.unlink()
    analyze = [analyze_item(c, args.out) for c in pick_cuts(all_runs)]
    (args.out / "scene.png").write_bytes(scene_png(SCENE))
    built = (
        "runs: "
        + ", ".join(f"{r.name} (to {r.until} env steps)" for r in RUNS)
        + f"; analyze: gap {GAP}, shown >= {MIN_SHOWN}, learned within {LEARNED_WITHIN} "
        f"evaluations at the bar less {LEVEL_TOLERANCE}, window {WINDOW}, recent {RECENT}, "
        f"gain {MIN_GAIN}, {PER_LABEL} per label; propose: {PROPOSE_PER_RUN} per run; "
        f"decompose: {DECOMPOSE_KINDS}, reference: the scripted stacking chain"
    )
    labelled = LabelledSet(
        built=built, scene="scene.png", analyze=analyze,
        propose=pick_situations(all_runs), decompose=pick_tasks(all_runs),
    )  # fmt: skip
    path = write_set(labelled, args.out)
    counts = {v: sum(a.label == v for a in analyze) for v in ("learned", "improving", "stalled")}
    print(f"wrote {path}: {labelled.size()}; analyze labels {counts}")


if __name__ == "__main__":
    main()
