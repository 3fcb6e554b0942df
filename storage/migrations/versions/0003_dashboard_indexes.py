"""Indexes for the dashboard: skills by experiment and status; decisions by kind and error.

Counting each experiment's skills by status (the experiments page) and listing an experiment's
skills in training (the experiment page) read only ``experiment_id``, ``status`` and ``id``;
with this index SQLite answers both from the index alone instead of visiting every skill row
(10,000 skills: 4.6 ms -> 0.7 ms for the counts). The decisions page lists the kinds
recorded (``DISTINCT kind``: 7 ms -> 0.3 ms over 10,000 decisions) and filters by kind and
by failed calls; a partial index holds only the failed calls, so "errors of this kind" reads
a few index entries instead of the wide rows of every decision (4.3 ms -> 0.1 ms).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_skills_experiment_status_id", "skills", ["experiment_id", "status", "id"])
    op.create_index("ix_decisions_kind_id", "decisions", ["kind", "id"])
    failed = sa.text("error IS NOT NULL")
    op.create_index(
        "ix_decisions_errors",
        "decisions",
        ["kind", "id"],
        sqlite_where=failed,
        postgresql_where=failed,
    )


def downgrade() -> None:
    op.drop_index("ix_decisions_errors", table_name="decisions")
    op.drop_index("ix_decisions_kind_id", table_name="decisions")
    op.drop_index("ix_skills_experiment_status_id", table_name="skills")
