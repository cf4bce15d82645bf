"""Run Alembic migrations from code, so ``pixelmill migrate`` and ``serve`` need no alembic.ini,
and tell whether a database is ready for this version of pixelmill.

Alembic runs synchronously; the async URL's driver is swapped for its sync twin
(aiosqlite -> pysqlite; psycopg 3 serves both). :func:`require_current_schema` is the one check
``serve``, ``worker``, ``admin`` and ``doctor`` share: it compares the database's Alembic revision
with this code's head and turns every way that can be wrong into one line naming the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATE_HINT = "run `pixelmill migrate`"


class DatabaseNotReady(Exception):
    """This pixelmill cannot use the database: it is unreachable, missing, not migrated, or migrated
    by a newer pixelmill. ``str()`` is one line for an operator, naming the fix."""


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands against this code's migrations.

    ``current`` is what its ``alembic_version`` table holds (empty: never migrated), ``heads`` what
    this code needs, ``pending`` the revisions ``pixelmill migrate`` would apply, ``unknown`` the
    revisions of the database this code has never heard of (a newer pixelmill migrated it).
    """

    shown_url: str
    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.unknown

    @property
    def fix(self) -> str:
        return "upgrade pixelmill" if self.unknown else MIGRATE_HINT

    def problem(self) -> str | None:
        """None when up to date, else one line saying what is wrong and what to do."""
        if self.unknown:
            return (
                f"the database at {self.shown_url} is at revision {', '.join(self.unknown)}, which this pixelmill "
                f"does not know (it needs {', '.join(self.heads)}): it was migrated by a newer pixelmill; "
                "upgrade pixelmill"
            )
        if not self.current:
            return f"the database at {self.shown_url} has not been migrated: {MIGRATE_HINT} first"
        if self.pending:
            return (
                f"the database at {self.shown_url} is at revision {', '.join(self.current)} and this pixelmill needs "
                f"{', '.join(self.heads)}: {MIGRATE_HINT} first"
            )
        return None


def sync_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    elif parsed.drivername in {"postgresql+asyncpg", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def masked_url(url: str) -> str:
    """The URL as messages show it: without the password."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def _unreachable(url: str, exc: Exception) -> DatabaseNotReady:
    """The driver's own first line says why (refused, unknown host, no such database, bad password)."""
    reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()
    why = reason[0] if reason else type(exc).__name__
    return DatabaseNotReady(
        f"cannot reach the database at {masked_url(url)} ({why}): start it, or fix PIXELMILL_DATABASE_URL"
    )


def check_reachable(url: str) -> None:
    """Raise DatabaseNotReady unless a connection to ``url`` opens and answers; never creates anything."""
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseNotReady(f"there is no database at {path}: {MIGRATE_HINT} to create it")
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (DBAPIError, ImportError) as exc:  # ImportError: the URL's driver is not installed
        raise _unreachable(url, exc) from exc
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` to ``revision`` (creating the SQLite file if needed); DatabaseNotReady
    when it cannot be reached or was migrated by a newer pixelmill."""
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if path is None or path.exists():
        # An unreachable server, or a schema from a newer pixelmill, is one clear line, not Alembic's traceback.
        status = schema_status(url)
        if status.unknown:
            raise DatabaseNotReady(status.problem())
    command.upgrade(alembic_config(url), revision)


def _status(url: str, connection: Connection) -> SchemaStatus:
    script = ScriptDirectory.from_config(alembic_config(url))
    current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    heads = tuple(sorted(script.get_heads()))
    known = [rev for rev in current if _known(script, rev)]
    unknown = tuple(rev for rev in current if rev not in known)
    if unknown:
        return SchemaStatus(masked_url(url), current, heads, (), unknown)
    # Every revision between what the database has and the heads, the way `alembic upgrade` walks it.
    pending = tuple(rev.revision for rev in script.iterate_revisions(heads, tuple(known) or "base"))
    return SchemaStatus(masked_url(url), current, heads, tuple(reversed(pending)), ())


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def schema_status(url: str) -> SchemaStatus:
    """Compare the database's Alembic revision with this code's head; DatabaseNotReady when it
    cannot be reached (a missing SQLite file is not created)."""
    check_reachable(url)
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return _status(url, connection)
    except DBAPIError as exc:
        raise _unreachable(url, exc) from exc
    finally:
        engine.dispose()


def require_current_schema(url: str) -> None:
    """Raise DatabaseNotReady unless the database is reachable and migrated to exactly this code's head."""
    problem = schema_status(url).problem()
    if problem is not None:
        raise DatabaseNotReady(problem)


def pending(url: str) -> list[str]:
    """Revisions not yet applied to the database at ``url`` (empty when up to date)."""
    return list(schema_status(url).pending)
