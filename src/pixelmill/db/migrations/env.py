"""Alembic environment: migrations run on a sync engine against the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from pixelmill.db import models
from pixelmill.db.base import Base

assert models  # registers every table on Base.metadata

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
