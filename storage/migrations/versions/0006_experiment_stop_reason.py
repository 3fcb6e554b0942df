"""Experiments record why their daemon last ended (``stop_reason``).

A budget spent, the goal learned, a signal, a stop command, or a failure such as a full
disk: ``experimenter status`` and the dashboard show it from the row, also when the loop's
own checkpoint could not be written.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("experiments", sa.Column("stop_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("stop_reason")
