"""A migrated database per test: SQLite copied from a migrated template file, PostgreSQL created
from a migrated template database (CREATE DATABASE … TEMPLATE, as procrastinate's tests do)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from pixelmill.db.migrate import upgrade
from tests.support.services import POSTGRES_URL


def _admin_dsn() -> str:
    url = make_url(POSTGRES_URL)
    return f"host={url.host} port={url.port or 5432} user={url.username or 'postgres'} dbname={url.database}"


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        upgrade(f"sqlite+aiosqlite:///{self.path}")

    def fresh(self, directory: Path) -> str:
        target = directory / "pixelmill.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"


class PostgresTemplate:
    def __init__(self) -> None:
        self.name = f"pm_tpl_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        upgrade(self._url(self.name))
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        name = f"pm_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        self.created.append(name)
        return self._url(name)

    def empty(self) -> str:
        """A new database with no tables at all, as an operator creates one before `pixelmill migrate`."""
        name = f"pm_e_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self._url(name)

    def drop(self, name_or_url: str) -> None:
        name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_all(self) -> None:
        for name in self.created:
            self.drop(name)
        self.drop(self.name)
