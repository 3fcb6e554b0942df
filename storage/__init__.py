"""Storage: SQLAlchemy models, the database (SQLite or PostgreSQL), migrations, artifacts.

Light to import (SQLAlchemy and the standard library only; neither MuJoCo nor torch):

    from storage import Database, open_database
    db = open_database(home=Path("data"))          # SQLite file, migrated to the newest schema
    with db.session() as s: ...                    # a write transaction, committed on exit
    with db.reader() as s: ...                     # a read transaction that never blocks writers
"""

from storage.artifacts import ArtifactCorrupt, ArtifactMissing, ArtifactStore
from storage.database import Database, database_url, open_database
from storage.models import Base

__all__ = [
    "ArtifactCorrupt",
    "ArtifactMissing",
    "ArtifactStore",
    "Base",
    "Database",
    "database_url",
    "open_database",
]
