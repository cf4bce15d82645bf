"""``pixelmill admin`` against a real database (SQLite and PostgreSQL), through the typer app."""

from __future__ import annotations

import asyncio
import re

import pytest
from typer.testing import CliRunner

from pixelmill.cli.main import app
from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.services.accounts import AccountService
from pixelmill.services.credits import CreditLedger
from pixelmill.services.keys import ApiKeyService
from pixelmill.services.principal import Principal


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PIXELMILL_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PIXELMILL_DATA_DIR", str(settings.data_dir))
    return CliRunner()


def _principal_of(settings: Settings, key: str) -> Principal:
    async def run() -> Principal:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                return await ApiKeyService(session).authenticate(key)
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_create_user_set_plan_create_key_and_grant_credits(cli: CliRunner, settings: Settings) -> None:
    created = cli.invoke(app, ["admin", "create-user", "ops@example.com", "--name", "Ops"])
    assert created.exit_code == 0, created.output
    password = re.search(r"password \(shown only now\): (\S+)", created.output)
    assert password is not None

    async def check_login() -> str | None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                user = await AccountService(session).verify_credentials("ops@example.com", password.group(1))
                return user.personal_workspace_id
        finally:
            await db.dispose()

    workspace_id = asyncio.run(check_login())
    assert workspace_id is not None

    assert cli.invoke(app, ["admin", "set-plan", "ops@example.com", "business"]).exit_code == 0
    key_result = cli.invoke(app, ["admin", "create-key", workspace_id, "--mode", "test", "--scope", "runs"])
    assert key_result.exit_code == 0, key_result.output
    key = key_result.output.strip().splitlines()[-1]
    assert key.startswith("pm_test_")
    principal = _principal_of(settings, key)
    assert (principal.workspace_id, principal.plan, principal.mode) == (workspace_id, "business", "test")
    assert principal.scopes == frozenset({"runs"})
    assert principal.role == "owner"

    granted = cli.invoke(app, ["admin", "grant-credits", "ops@example.com", "250", "--note", "welcome"])
    assert granted.exit_code == 0, granted.output

    async def balance() -> int:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                return (await CreditLedger(session).wallet(workspace_id)).balance
        finally:
            await db.dispose()

    assert asyncio.run(balance()) == 250


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["admin", "set-plan", "nobody@example.com", "pro"], "NOT_FOUND"),
        (["admin", "set-plan", "ws_missing", "pro"], "NOT_FOUND"),
        (["admin", "create-user", "x@example.com", "--plan", "platinum"], "VALIDATION_ERROR"),
        (["admin", "create-user", "x@example.com", "--password", "short"], "VALIDATION_ERROR"),
        (["admin", "create-key", "ws_missing"], "NOT_FOUND"),
        (["admin", "create-key", "ws_missing", "--mode", "prod"], "VALIDATION_ERROR"),
    ],
    ids=["unknown-email", "unknown-workspace", "unknown-plan", "short-password", "key-unknown-ws", "bad-mode"],
)
def test_bad_admin_input_exits_1_with_the_error_code(cli: CliRunner, args: list[str], code: str) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 1
    assert code in result.output


def test_an_unknown_plan_leaves_the_workspace_alone(cli: CliRunner) -> None:
    assert cli.invoke(app, ["admin", "create-user", "p@example.com", "--plan", "pro"]).exit_code == 0
    refused = cli.invoke(app, ["admin", "set-plan", "p@example.com", "platinum"])
    assert refused.exit_code == 1
    assert "VALIDATION_ERROR" in refused.output
    assert "free" in refused.output
    assert cli.invoke(app, ["admin", "create-user", "p@example.com"]).exit_code == 1
