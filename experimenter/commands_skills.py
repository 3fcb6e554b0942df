"""``experimenter skills ...``: query, search, export and import the skill library; run and
evaluate a skill as the library says it is executed (``experimenter.skill_run``).

Human output is a table; ``--json`` prints one JSON document whose shape is documented in
README.md ("The skill library") and in ``skills.schemas``. Bad input exits with status 2
and a message naming the problem and the allowed values; nothing stored is changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import CliApp, CliPositionalArg, CliSubCommand

from experimenter.commands_db import DatabaseOptions
from experimenter.tables import rate, table

STATUSES = "proposed, training, learned, failed, retired"


def _emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


class SkillsList(DatabaseOptions):
    """List skills, filtered, in id order (a page at a time)."""

    status: list[str] = Field(
        default_factory=list, description=f"Only these statuses (repeatable): {STATUSES}."
    )
    kind: list[str] = Field(
        default_factory=list, description="Only these kinds: primitive, learned, composite."
    )
    object: list[str] = Field(
        default_factory=list, description="Only skills whose spec mentions this object."
    )
    predicate: list[str] = Field(
        default_factory=list, description="Only skills whose spec uses this predicate."
    )
    min_success: float | None = Field(None, description="Newest success rate at least this.")
    experiment: int | None = Field(None, description="Only skills introduced by this experiment.")
    limit: int = Field(50, ge=1, le=1000, description="Skills per page.")
    after: int | None = Field(None, description="Start after this skill id (the next page).")
    json_: bool = Field(False, alias="json", description="Print JSON instead of a table.")

    def cli_cmd(self) -> None:
        from skills import count_skills, list_skills

        filters: dict[str, Any] = {
            "status": self.status or None,
            "kind": self.kind or None,
            "objects": self.object or None,
            "predicates": self.predicate or None,
            "min_success": self.min_success,
            "experiment_id": self.experiment,
        }
        db = self.open()
        try:
            with db.reader() as s:
                # One row more than the page tells whether there is a next page.
                rows = list_skills(s, limit=self.limit + 1, after_id=self.after, **filters)
                total = count_skills(s, **filters)
        finally:
            db.dispose()
        next_after = rows[self.limit - 1].id if len(rows) > self.limit else None
        rows = rows[: self.limit]
        if self.json_:
            _emit_json(
                {
                    "total": total,
                    "next_after": next_after,
                    "skills": [r.model_dump(mode="json") for r in rows],
                }
            )
            return
        if not rows:
            print("no skills match" if total or self.after else "the library is empty")
            return
        print(
            table(
                ["id", "status", "kind", "success", "evals", "instruction"],
                [
                    [r.id, r.status, r.kind, rate(r.success_rate), r.evaluations, r.instruction]
                    for r in rows
                ],
            )
        )
        footer = f"{len(rows)} of {total} skill(s)"
        if next_after is not None:
            footer += f"; next page: --after {next_after}"
        print(footer)


class SkillsShow(DatabaseOptions):
    """One skill: spec, instruction, status history, evaluation history, lineage."""

    id: CliPositionalArg[int] = Field(description="Skill id (see `skills list`).")
    evaluations: int = Field(20, description="Newest evaluations to show.")
    json_: bool = Field(False, alias="json", description="Print JSON instead of text.")

    def cli_cmd(self) -> None:
        from skills import skill_detail

        db = self.open()
        try:
            with db.reader() as s:
                detail = skill_detail(s, skill_id=self.id, evaluations=self.evaluations)
        finally:
            db.dispose()
        if self.json_:
            _emit_json(detail.model_dump(mode="json"))
            return
        k = detail.skill
        lines = [
            f"skill {k.id}: {k.instruction}",
            f"  status {k.status}, kind {k.kind}, {k.stages} stage(s), hash {k.spec_hash}",
        ]
        if k.wording:
            lines.append(f"  wording: {k.wording}")
        if k.description:
            lines.append(f"  description: {k.description}")
        if k.primitive:
            lines.append(f"  primitive: {k.primitive} {json.dumps(k.primitive_args or {})}")
        lines.append(
            f"  success: newest {rate(k.success_rate)}, best {rate(k.best_success_rate)}, "
            f"{k.evaluations} evaluation(s)"
        )
        lines += [f"  spec: {json.dumps(detail.spec)}", "", "status history:"]
        lines.append(
            table(
                ["when", "from", "to", "decided by", "reason"],
                [
                    [
                        h.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        h.from_status or "-",
                        h.to_status,
                        h.decided_by + (f" ({h.actor})" if h.actor else ""),
                        h.reason,
                    ]
                    for h in detail.history
                ],
            )
        )
        lines += ["", "evaluations (newest first):"]
        lines.append(
            table(
                ["when", "episodes", "success", "mean return", "env steps"],
                [
                    [
                        e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.episodes,
                        rate(e.success_rate),
                        "-" if e.mean_return is None else f"{e.mean_return:.3f}",
                        e.env_steps,
                    ]
                    for e in detail.evaluations
                ],
            )
            if detail.evaluations
            else "  none yet"
        )
        lines += ["", "lineage:"]
        ln = detail.lineage
        if ln.task is not None:
            lines.append(
                f"  task {ln.task.id} ({ln.task.status}), proposed by {ln.task.proposed_by}: "
                f"{ln.task.reason}"
            )
        if ln.decision_id is not None:
            lines.append(f"  decision {ln.decision_id}")
        if ln.experiment_id is not None:
            lines.append(f"  experiment {ln.experiment_id}")
        for label, refs in (
            ("parent", [ln.parent] if ln.parent else []),
            ("children", ln.children),
            ("components", ln.components),
            ("used in", ln.used_in),
        ):
            for ref in refs:
                lines.append(f"  {label}: {ref.id} [{ref.status}] {ref.instruction}")
        if lines[-1] == "lineage:":
            lines.append("  (none recorded)")
        print("\n".join(lines))


class SkillsSearch(DatabaseOptions):
    """Full-text search over instructions, wordings and descriptions (every word must match)."""

    query: CliPositionalArg[str] = Field(description="Words to look for, e.g. 'stack red'.")
    status: list[str] = Field(
        default_factory=list, description=f"Only these statuses (repeatable): {STATUSES}."
    )
    limit: int = Field(20, ge=1, le=1000, description="Most results to show.")
    json_: bool = Field(False, alias="json", description="Print JSON instead of a table.")

    def cli_cmd(self) -> None:
        from skills import search_skills

        db = self.open()
        try:
            with db.reader() as s:
                hits = search_skills(
                    s, query=self.query, limit=self.limit, status=self.status or None
                )
        finally:
            db.dispose()
        if self.json_:
            _emit_json({"hits": [h.model_dump(mode="json") for h in hits]})
            return
        if not hits:
            print(f"no skill matches {self.query!r}")
            return
        print(
            table(
                ["id", "score", "status", "success", "instruction"],
                [
                    [h.skill.id, f"{h.score:.3g}", h.skill.status, rate(h.skill.success_rate),
                     h.skill.instruction]
                    for h in hits
                ],
            )
        )  # fmt: skip


class SkillsExport(DatabaseOptions):
    """Write the library (or part of it) as JSON, to seed another experiment."""

    out: Path | None = Field(None, description="Output file (default: standard output).")
    status: list[str] = Field(
        default_factory=list, description=f"Only these statuses (repeatable): {STATUSES}."
    )
    kind: list[str] = Field(default_factory=list, description="Only these kinds.")

    def cli_cmd(self) -> None:
        from skills import export_library

        db = self.open()
        try:
            with db.reader() as s:
                library = export_library(s, status=self.status or None, kind=self.kind or None)
        finally:
            db.dispose()
        text = library.model_dump_json(indent=2)
        if self.out is None:
            print(text)
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(text + "\n", encoding="utf-8")
        print(f"exported {len(library.skills)} skill(s) to {self.out}", file=sys.stderr)


class SkillsImport(DatabaseOptions):
    """Add the skills of an exported library file; all or nothing."""

    file: CliPositionalArg[Path] = Field(description="A file written by `skills export`.")
    actor: str | None = Field(None, description="Who imports (kept in the status history).")
    json_: bool = Field(False, alias="json", description="Print the report as JSON.")

    def cli_cmd(self) -> None:
        from skills import SkillError, import_library, read_library_file

        try:
            data = self.file.read_bytes()
        except OSError as e:
            raise SkillError(f"cannot read {self.file}: {e.strerror}") from None
        library = read_library_file(data)  # checked before the database is touched
        db = self.open()
        try:
            with db.session() as s:
                report = import_library(s, library=library, actor=self.actor, source=str(self.file))
        finally:
            db.dispose()
        if self.json_:
            _emit_json(report.model_dump(mode="json"))
        else:
            print(
                f"imported {report.added} new skill(s) from {self.file} "
                f"({report.existing} already in the library)"
            )


class _RunOptions(DatabaseOptions):
    """What ``skills run`` and ``skills evaluate`` share."""

    id: CliPositionalArg[int] = Field(description="Skill id (see `skills list`).")
    seed: int | None = Field(
        None,
        description="Seed of the first episode; episode i starts from seed + i (default: "
        "fresh starts, a random seed from 10^8 up, never used by the loop).",
    )
    video: Path | None = Field(
        None, description="Render the first episode to this .gif or .mp4 file."
    )
    camera: Literal["front", "side"] = Field("front", description="Camera of the video.")
    size: int = Field(256, ge=16, le=480, description="Video width and height in pixels.")
    device: str = Field("cpu", description="torch device of a learned skill's policy.")

    def execute(self, *, episodes: int, evaluate: bool) -> None:
        from experimenter.skill_run import check_video_path, fresh_seed, prepare, run

        if self.video is not None:
            check_video_path(self.video)
        home = self.data().home
        db = self.open()
        try:
            ex = prepare(db, home=home, skill_id=self.id, device=self.device, evaluate=evaluate)
            try:
                seed = fresh_seed() if self.seed is None else self.seed
                report = run(
                    ex, episodes=episodes, seed=seed, video=self.video, camera=self.camera,
                    size=self.size,
                )  # fmt: skip
            finally:
                ex.close()
            recorded = None
            if evaluate:
                from skills import record_evaluation

                with db.session() as s:
                    recorded = record_evaluation(
                        s, skill_id=ex.skill.id, episodes=report.episodes,
                        successes=report.successes, mean_return=report.mean_return,
                        env_steps=ex.env_steps, experiment_id=ex.skill.experiment_id,
                    )  # fmt: skip
        finally:
            db.dispose()
        k = ex.skill
        low, high = report.interval
        lines = [
            f"skill {k.id} ({k.kind}, {k.status}): {k.instruction}",
            f"  executed as {ex.how}",
            f"  seeds {report.seed}..{report.seed + report.episodes - 1}",
            f"success {report.successes}/{report.episodes} = {rate(report.success_rate)} "
            f"(Wilson 95 % interval {rate(low)}-{rate(high)}), mean return "
            f"{report.mean_return:.3f}",
        ]
        if recorded is not None:
            lines.append(f"recorded evaluation {recorded.id} of skill {k.id}")
        if report.video is not None:
            lines.append(f"video: {report.video}")
        print("\n".join(lines))


class SkillsRun(_RunOptions):
    """Run a skill as the library executes it (a learned skill: its experiment's policy; a
    primitive: its scripted controller; a composite: its parts in order) and print its
    success rate; nothing is stored."""

    episodes: int = Field(10, ge=1, le=100_000, description="Episodes (starts) to run.")

    def cli_cmd(self) -> None:
        self.execute(episodes=self.episodes, evaluate=False)


class SkillsEvaluate(_RunOptions):
    """Measure a skill on fresh starts as `skills run` does, and record the result as one of
    its evaluations (shown in `skills show` and on the dashboard)."""

    episodes: int = Field(200, ge=1, le=100_000, description="Episodes (starts) to measure.")

    def cli_cmd(self) -> None:
        self.execute(episodes=self.episodes, evaluate=True)


class SkillsExportPolicy(DatabaseOptions):
    """Write a learned skill's policy (its experiment's deterministic actor under the skill's
    instruction, with the observation normaliser) to a self-contained torch.export file that
    runs with torch alone; see README.md ("Exporting a learned policy")."""

    id: CliPositionalArg[int] = Field(description="Skill id of a learned skill.")
    out: Path = Field(description="The torch.export file to write (e.g. reach.pt2).")

    def cli_cmd(self) -> None:
        import skills
        from experimenter.skill_run import SkillRunRefused, prepare
        from storage.enums import SkillKind

        home = self.data().home
        db = self.open()
        try:
            with db.reader() as s:
                skill = skills.get_skill(s, skill_id=self.id)
            if skill.kind != SkillKind.LEARNED:
                raise SkillRunRefused(
                    f"skill {self.id} is a {skill.kind} skill: only learned skills have a "
                    "policy to export"
                )
            ex = prepare(db, home=home, skill_id=self.id, device="cpu")
        finally:
            db.dispose()
        try:
            from controllers.learner.export import export_policy

            assert ex.learner is not None and ex.task_id is not None  # a learned skill's
            self.out.parent.mkdir(parents=True, exist_ok=True)
            extra = {"skill_id": skill.id, "experiment_id": skill.experiment_id}
            export_policy(ex.learner, ex.task_id, self.out, extra=extra)
        finally:
            ex.close()
        print(
            f"exported the policy of skill {skill.id} ({skill.instruction!r}, experiment "
            f"{skill.experiment_id}, {ex.env_steps} env steps) to {self.out}"
        )


class Skills(BaseModel):
    """The skill library: list, show, search, export, import, run, evaluate, export a
    policy."""

    list_: CliSubCommand[SkillsList] = Field(alias="list")
    show: CliSubCommand[SkillsShow]
    search: CliSubCommand[SkillsSearch]
    export: CliSubCommand[SkillsExport]
    import_: CliSubCommand[SkillsImport] = Field(alias="import")
    run: CliSubCommand[SkillsRun]
    evaluate: CliSubCommand[SkillsEvaluate]
    export_policy: CliSubCommand[SkillsExportPolicy] = Field(alias="export-policy")

    def cli_cmd(self) -> None:
        CliApp.run_subcommand(self)
