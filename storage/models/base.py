"""The declarative base: one metadata with a naming convention for every constraint.

Named constraints let Alembic alter and drop them on SQLite (batch mode) and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; ``Base.metadata`` is what the migrations describe."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
