"""Episodes: the learner's env steps when a collected episode's round began.

The learner is saved at the end of collection while episode rows are committed per round, so
after a crash the rows can run ahead of the reloaded learner; with ``env_step`` the collect
node deletes the rows at or past the learner's count before collecting them again (episode
rows, the experiment's env steps and the replay agree after a crash anywhere).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.add_column(sa.Column("env_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("env_step")
