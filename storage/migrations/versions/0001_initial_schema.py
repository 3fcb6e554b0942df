"""Initial schema: experiments, skills, tasks, decisions, evaluations, episodes, artifacts.

Revision ID: 0001
Revises:

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "artifacts",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_artifacts")),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("planner_backend", sa.String(length=32), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("goal_spec", JSON, nullable=True),
        sa.Column("budgets", JSON, nullable=False),
        sa.Column("env_steps_used", sa.BigInteger(), nullable=False),
        sa.Column("wall_seconds_used", sa.Float(), nullable=False),
        sa.Column("dollars_used", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('created', 'running', 'paused', 'stopped', 'finished', 'failed')",
            name=op.f("ck_experiments_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'claimed', 'done', 'failed')", name=op.f("ck_commands_status")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_commands_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
    )
    op.create_index("ix_commands_queue", "commands", ["status", "id"], unique=False)

    op.create_table(
        "iterations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("env_steps", sa.BigInteger(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_iterations_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iterations")),
        sa.UniqueConstraint("experiment_id", "number", name=op.f("uq_iterations_experiment_id")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("iteration_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("env_steps", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_sha256"],
            ["artifacts.sha256"],
            name=op.f("fk_checkpoints_artifact_sha256_artifacts"),
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_checkpoints_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iterations.id"],
            name=op.f("fk_checkpoints_iteration_id_iterations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    op.create_index(
        op.f("ix_checkpoints_experiment_id"), "checkpoints", ["experiment_id"], unique=False
    )

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("iteration_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("parsed", JSON, nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("dollars", sa.Float(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_decisions_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iterations.id"],
            name=op.f("fk_decisions_iteration_id_iterations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_experiment", "decisions", ["experiment_id", "id"], unique=False)

    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("iteration_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_metrics_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iterations.id"],
            name=op.f("fk_metrics_iteration_id_iterations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index("ix_metrics_series", "metrics", ["experiment_id", "name", "step"], unique=False)

    op.create_table(
        "decision_images",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_sha256"],
            ["artifacts.sha256"],
            name=op.f("fk_decision_images_artifact_sha256_artifacts"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_images_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("decision_id", "position", name=op.f("pk_decision_images")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("iteration_id", sa.Integer(), nullable=True),
        sa.Column("spec", JSON, nullable=True),
        sa.Column("spec_hash", sa.String(length=16), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("proposed_by", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "proposed_by IN ('planner', 'person', 'numbers')", name=op.f("ck_tasks_proposed_by")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'rejected', 'duplicate', 'invalid')",
            name=op.f("ck_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_tasks_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_tasks_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iterations.id"],
            name=op.f("fk_tasks_iteration_id_iterations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_experiment_id"), "tasks", ["experiment_id"], unique=False)
    op.create_index(op.f("ix_tasks_spec_hash"), "tasks", ["spec_hash"], unique=False)

    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spec_hash", sa.String(length=16), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("primitive", sa.String(length=32), nullable=True),
        sa.Column("primitive_args", JSON, nullable=True),
        sa.Column("stages", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("success_rate", sa.Float(), nullable=True),
        sa.Column("best_success_rate", sa.Float(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("env_steps", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('primitive', 'learned', 'composite')", name=op.f("ck_skills_kind")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'training', 'learned', 'failed', 'retired')",
            name=op.f("ck_skills_status"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_skills_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_skills_experiment_id_experiments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["skills.id"],
            name=op.f("fk_skills_parent_id_skills"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_skills_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("spec_hash", name=op.f("uq_skills_spec_hash")),
    )
    op.create_index(op.f("ix_skills_experiment_id"), "skills", ["experiment_id"], unique=False)
    op.create_index("ix_skills_kind_id", "skills", ["kind", "id"], unique=False)
    op.create_index(op.f("ix_skills_parent_id"), "skills", ["parent_id"], unique=False)
    op.create_index("ix_skills_status_id", "skills", ["status", "id"], unique=False)
    op.create_index(op.f("ix_skills_success_rate"), "skills", ["success_rate"], unique=False)

    op.create_table(
        "decomposition_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("skill_id", sa.Integer(), nullable=True),
        sa.Column("matched_existing", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_decomposition_steps_skill_id_skills"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_decomposition_steps_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decomposition_steps")),
        sa.UniqueConstraint("task_id", "position", name=op.f("uq_decomposition_steps_task_id")),
    )
    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("iteration_id", sa.Integer(), nullable=True),
        sa.Column("skill_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("total_return", sa.Float(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=True),
        sa.Column("video_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_sha256"], ["artifacts.sha256"], name=op.f("fk_episodes_data_sha256_artifacts")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_episodes_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iterations.id"],
            name=op.f("fk_episodes_iteration_id_iterations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_episodes_skill_id_skills"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["video_sha256"], ["artifacts.sha256"], name=op.f("fk_episodes_video_sha256_artifacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episodes")),
    )
    op.create_index("ix_episodes_experiment", "episodes", ["experiment_id", "id"], unique=False)
    op.create_index(op.f("ix_episodes_skill_id"), "episodes", ["skill_id"], unique=False)

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("iteration_id", sa.Integer(), nullable=True),
        sa.Column("episodes", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("success_rate", sa.Float(), nullable=False),
        sa.Column("mean_return", sa.Float(), nullable=True),
        sa.Column("env_steps", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("episodes > 0", name=op.f("ck_evaluations_episodes_positive")),
        sa.CheckConstraint(
            "successes >= 0 AND successes <= episodes", name=op.f("ck_evaluations_successes_range")
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_evaluations_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["iteration_id"],
            ["iterations.id"],
            name=op.f("fk_evaluations_iteration_id_iterations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_evaluations_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    op.create_index(
        op.f("ix_evaluations_experiment_id"), "evaluations", ["experiment_id"], unique=False
    )
    op.create_index("ix_evaluations_skill", "evaluations", ["skill_id", "id"], unique=False)

    op.create_table(
        "skill_components",
        sa.Column("composite_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["skills.id"],
            name=op.f("fk_skill_components_component_id_skills"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["composite_id"],
            ["skills.id"],
            name=op.f("fk_skill_components_composite_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("composite_id", "position", name=op.f("pk_skill_components")),
    )
    op.create_index(
        op.f("ix_skill_components_component_id"), "skill_components", ["component_id"], unique=False
    )

    op.create_table(
        "skill_features",
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_skill_features_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill_id", "feature", name=op.f("pk_skill_features")),
    )
    op.create_index(
        "ix_skill_features_feature", "skill_features", ["feature", "skill_id"], unique=False
    )

    op.create_table(
        "skill_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decided_by IN ('planner', 'person', 'numbers')",
            name=op.f("ck_skill_status_history_decided_by"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_skill_status_history_decision_id_decisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_skill_status_history_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_status_history")),
    )
    op.create_index(
        "ix_skill_status_history_skill", "skill_status_history", ["skill_id", "id"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_skill_status_history_skill", table_name="skill_status_history")

    op.drop_table("skill_status_history")
    op.drop_index("ix_skill_features_feature", table_name="skill_features")

    op.drop_table("skill_features")
    op.drop_index(op.f("ix_skill_components_component_id"), table_name="skill_components")

    op.drop_table("skill_components")
    op.drop_index("ix_evaluations_skill", table_name="evaluations")
    op.drop_index(op.f("ix_evaluations_experiment_id"), table_name="evaluations")

    op.drop_table("evaluations")
    op.drop_index(op.f("ix_episodes_skill_id"), table_name="episodes")
    op.drop_index("ix_episodes_experiment", table_name="episodes")

    op.drop_table("episodes")
    op.drop_table("decomposition_steps")
    op.drop_index(op.f("ix_skills_success_rate"), table_name="skills")
    op.drop_index("ix_skills_status_id", table_name="skills")
    op.drop_index(op.f("ix_skills_parent_id"), table_name="skills")
    op.drop_index("ix_skills_kind_id", table_name="skills")
    op.drop_index(op.f("ix_skills_experiment_id"), table_name="skills")

    op.drop_table("skills")
    op.drop_index(op.f("ix_tasks_spec_hash"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_experiment_id"), table_name="tasks")

    op.drop_table("tasks")
    op.drop_table("decision_images")
    op.drop_index("ix_metrics_series", table_name="metrics")

    op.drop_table("metrics")
    op.drop_index("ix_decisions_experiment", table_name="decisions")

    op.drop_table("decisions")
    op.drop_index(op.f("ix_checkpoints_experiment_id"), table_name="checkpoints")

    op.drop_table("checkpoints")
    op.drop_table("iterations")
    op.drop_index("ix_commands_queue", table_name="commands")

    op.drop_table("commands")
    op.drop_table("experiments")
    op.drop_table("artifacts")
