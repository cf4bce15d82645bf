"""The migrations produce exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from pixelmill.db import models
from pixelmill.db.base import Base
from pixelmill.db.migrate import pending, sync_url


def test_migrated_schema_matches_models(database_url: str) -> None:
    assert models  # every model module is imported, so metadata is complete
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_fresh_database_has_no_pending_migrations(database_url: str) -> None:
    assert pending(database_url) == []
