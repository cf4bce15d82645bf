"""Operator mistakes answered in words: ``pixelmill admin``, ``serve``, ``worker`` and ``migrate`` as real
processes on a configured database that is unmigrated, behind, missing or unreachable exit 1 with
one line naming the fix, never a traceback; the embedded default still migrates itself in serve."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from pixelmill.db.migrate import alembic_config, upgrade
from tests.support.databases import PostgresTemplate

_CLI = "from pixelmill.cli.main import run; run()"

ADMIN_COMMANDS = [
    ["admin", "create-user", "ops@example.com"],
    ["admin", "set-plan", "ops@example.com", "pro"],
    ["admin", "grant-credits", "ops@example.com", "10"],
    ["admin", "create-key", "ops@example.com"],
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(PIXELMILL_CONFIG_DIR=str(tmp_path / "config"), PIXELMILL_DATA_DIR=str(tmp_path / "data"))
    return env


def _pixelmill(env: dict[str, str], *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    if database_url is not None:
        env = {**env, "PIXELMILL_DATABASE_URL": database_url}
    # A serve that wrongly started would run until this timeout: the test then fails, it does not hang.
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args], env=env, capture_output=True, text=True, timeout=90, check=False
    )


def _serve(env: dict[str, str], database_url: str) -> subprocess.CompletedProcess[str]:
    return _pixelmill(env, "serve", "--host", "127.0.0.1", "--port", str(_free_port()), database_url=database_url)


def _assert_refused(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 1, no traceback, and exactly one error line (the last one) saying all of ``fragments``."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    for fragment in fragments:
        assert fragment in errors[0], output
    return errors[0]


@pytest.fixture(params=["sqlite-file", pytest.param("postgresql", marks=pytest.mark.postgres)])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that exists and has no tables: an empty SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite-file":
        path = tmp_path / "shared" / "pixelmill.db"
        path.parent.mkdir()
        sqlite3.connect(path).close()
        return f"sqlite+aiosqlite:///{path}"
    postgres: PostgresTemplate = request.getfixturevalue("postgres_template")
    return postgres.empty()


def test_every_admin_command_and_serve_refuse_an_unmigrated_database(
    environment: dict[str, str], unmigrated_url: str
) -> None:
    for command in ADMIN_COMMANDS:
        _assert_refused(_pixelmill(environment, *command, database_url=unmigrated_url), "has not been migrated",
                        "run `pixelmill migrate`")  # fmt: skip
    _assert_refused(_serve(environment, unmigrated_url), "has not been migrated", "run `pixelmill migrate`")
    # A fleet worker checks before it connects to its broker (nothing listens on this one).
    worker_env = {**environment, "PIXELMILL_BROKER_URL": f"redis://127.0.0.1:{_free_port()}/0"}
    worker = _pixelmill(worker_env, "worker", database_url=unmigrated_url)
    _assert_refused(worker, "has not been migrated", "run `pixelmill migrate`")
    # The line's advice works: after `pixelmill migrate` the same command succeeds.
    migrated = _pixelmill(environment, "migrate", database_url=unmigrated_url)
    assert migrated.returncode == 0, migrated.stderr
    created = _pixelmill(environment, *ADMIN_COMMANDS[0], database_url=unmigrated_url)
    assert created.returncode == 0, created.stderr
    assert "created with personal workspace" in created.stdout


@pytest.mark.postgres
def test_a_database_at_an_older_revision_is_refused_naming_both_revisions(
    environment: dict[str, str], postgres_template: PostgresTemplate
) -> None:
    url = postgres_template.empty()
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    upgrade(url, previous)
    expected = (f"is at revision {previous}", f"needs {head}", "run `pixelmill migrate`")
    _assert_refused(_pixelmill(environment, *ADMIN_COMMANDS[0], database_url=url), *expected)
    _assert_refused(_serve(environment, url), *expected)
    doctor = _pixelmill(environment, "doctor", database_url=url)
    assert f"is at revision {previous}" in doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr


@pytest.mark.postgres
def test_an_unreachable_database_is_one_line_not_a_traceback(
    environment: dict[str, str], postgres_template: PostgresTemplate
) -> None:
    closed = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{_free_port()}/pixelmill"
    for result in (
        _pixelmill(environment, *ADMIN_COMMANDS[0], database_url=closed),
        _serve(environment, closed),
        _pixelmill(environment, "migrate", database_url=closed),
    ):
        line = _assert_refused(result, "cannot reach the database at", "PIXELMILL_DATABASE_URL")
        assert "hunter2" not in line
    # A server that answers, without the database named: the driver's reason is in the line.
    missing = postgres_template.fresh() + "_not_there"
    _assert_refused(_pixelmill(environment, *ADMIN_COMMANDS[0], database_url=missing), "cannot reach the database",
                    "does not exist")  # fmt: skip


def test_a_sqlite_url_naming_no_file_is_refused_and_not_created(environment: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "pixelmill.db"
    url = f"sqlite+aiosqlite:///{path}"
    _assert_refused(_pixelmill(environment, *ADMIN_COMMANDS[0], database_url=url), f"no database at {path}",
                    "run `pixelmill migrate`")  # fmt: skip
    _assert_refused(_serve(environment, url), f"no database at {path}")
    assert not path.exists()


def test_admin_before_the_first_serve_of_the_embedded_default_says_what_to_do(
    environment: dict[str, str], tmp_path: Path
) -> None:
    result = _pixelmill(environment, *ADMIN_COMMANDS[0])
    _assert_refused(result, f"no database at {tmp_path / 'data' / 'pixelmill.db'}", "run `pixelmill migrate`")


def test_a_database_from_a_newer_pixelmill_is_refused_by_migrate_admin_and_serve(
    environment: dict[str, str], tmp_path: Path
) -> None:
    own = tmp_path / "data" / "pixelmill.db"  # the embedded default, which serve migrates itself
    upgrade(f"sqlite+aiosqlite:///{own}")
    with sqlite3.connect(own) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    expected = ("9999_from_the_future", "migrated by a newer pixelmill", "upgrade pixelmill")
    _assert_refused(_pixelmill(environment, "migrate"), *expected)
    _assert_refused(_pixelmill(environment, *ADMIN_COMMANDS[0]), *expected)
    port = str(_free_port())
    _assert_refused(_pixelmill(environment, "serve", "--host", "127.0.0.1", "--port", port), *expected)
