"""Fixtures shared by every test layer.

``database_url`` is parametrised over SQLite and PostgreSQL, so every test that touches the
database runs on both; ``live_server`` serves the real app over HTTP on a loopback port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pixelmill.config import Settings
from pixelmill.runtime import Runtime
from tests.support.accounts import SeededAccount, seed_account
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import LiveServer, start_server
from tests.support.services import require_service


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads or writes the developer's own client configuration: a key saved by a real
    ``pixelmill serve`` or ``pixelmill login`` on this machine would otherwise change what the SDK
    sends, and the e2e servers (subprocesses inherit the environment) would save theirs there."""
    monkeypatch.delenv("PIXELMILL_API_KEY", raising=False)
    monkeypatch.delenv("PIXELMILL_BASE_URL", raising=False)
    # An upstream key in the developer's environment would list real upstream models and make live
    # keys default to them: no test may reach the internet. Tests that want a key set their own.
    for name in (
        "OPENAI_API_KEY",
        "PIXELMILL_OPENAI_API_KEY",
        "PIXELMILL_OPENAI_BASE_URL",
        "XAI_API_KEY",
        "PIXELMILL_XAI_API_KEY",
        "PIXELMILL_XAI_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIXELMILL_CONFIG_DIR", str(tmp_path_factory.mktemp("client-config")))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    template = PostgresTemplate()
    yield template
    template.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database for this test."""
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        return template.fresh(tmp_path)
    postgres: PostgresTemplate = request.getfixturevalue("postgres_template")
    return postgres.fresh()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-for-hs256",  # type: ignore[arg-type]
        allow_private_urls=True,
        plan_credits_enabled=False,  # tests that count credits grant exactly what they mean to
        log_format="text",
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def account(settings: Settings) -> SeededAccount:
    """A user with a personal workspace on the pro plan and a live API key."""
    return seed_account(settings.resolved_database_url)
