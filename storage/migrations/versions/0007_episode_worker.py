"""Episodes: which worker stepped the arena (``inprocess``, or a Ray worker's node/actor).

With ``--executor ray`` collection runs in Ray actors across nodes; the row names the one
that collected it, so a person can see every worker's share and trace data to a node.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.add_column(sa.Column("worker", sa.String(96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("worker")
