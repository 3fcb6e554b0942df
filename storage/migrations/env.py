"""Alembic environment: runs on the connection handed over by ``storage.migrate``.

When run by the ``alembic`` tool itself (no connection handed over), it connects to the
``sqlalchemy.url`` of the config.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from storage.migrate import include_object
from storage.models import Base

target_metadata = Base.metadata


def _configure_and_run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
    )
    # The caller (storage.migrate) owns the transaction; this nests inside it.
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "set sqlalchemy.url or hand a connection over in config.attributes"
    engine = create_engine(url)
    with engine.begin() as conn:
        _configure_and_run(conn)
