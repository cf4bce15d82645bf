"""Run Alembic migrations from code, so ``pixelmill migrate`` and ``serve`` need no alembic.ini.

Alembic runs synchronously; the async URL's driver is swapped for its sync twin
(aiosqlite -> pysqlite; psycopg 3 serves both).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def sync_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    elif parsed.drivername in {"postgresql+asyncpg", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` to ``revision`` (creating the SQLite file if needed)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def pending(url: str) -> list[str]:
    """Revisions not yet applied to the database at ``url`` (empty when up to date)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    head_revisions = script.get_revisions("heads")
    if current == {rev.revision for rev in head_revisions}:
        return []
    return [rev.revision for rev in script.walk_revisions() if rev.revision not in current]
