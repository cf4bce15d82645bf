"""Upstream keys through the API, over real HTTP against the fake OpenAI on loopback: a workspace's
own key is checked, sealed and serves that workspace's runs only; refused keys are not saved; env
keys cannot be removed; the operator's saved key serves everybody; the key shows up nowhere."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pixelmill.cli.main import app
from pixelmill.config import Settings
from pixelmill.db.models import ProviderKey
from pixelmill.db.session import Database
from pixelmill.providers.key_vault import KeyVault
from pixelmill.providers.openai import OpenAIProvider
from pixelmill.runtime import Runtime
from pixelmill.services.accounts import AccountService
from pixelmill.services.keys import ApiKeyService
from tests.integration.providers.test_openai_images import openai_settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.fake_openai import FakeOpenAI, serve_fake_openai
from tests.support.runs import grant, node, wait_for, with_db
from tests.support.server import LiveServer, start_server

# Every model the OpenAI adapter serves (images, chat, speech), as GET /v1/providers lists them.
OPENAI_MODEL_IDS = [info.id for info in OpenAIProvider.from_settings(Settings(openai_api_key="sk-list")).models()]
KEY = "sk-proj-fakekey-0123456789abcdefSECRET3456"
WRONG = "sk-proj-wrongkey-0123456789abcdefWRONG9876"
MASKED = "sk-\u20263456"
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends, as the root conftest gives: saved keys are sealed rows, and this directory's
    conftest would otherwise narrow the database to SQLite."""
    if request.param == "postgresql":
        return cast(PostgresTemplate, request.getfixturevalue("postgres_template")).fresh()
    return cast(SqliteTemplate, request.getfixturevalue("sqlite_template")).fresh(tmp_path)


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    """The operator configured no OpenAI key: only keys saved through the API enable it."""
    return openai_settings(tmp_path, database_url, fake[1], openai_api_key=None)


@pytest.fixture
def other(settings: Settings) -> SeededAccount:
    """A second workspace on the same server."""
    return seed_account(settings.resolved_database_url)


def seed_operator(database_url: str) -> SeededAccount:
    async def work(db: Database) -> SeededAccount:
        async with db.session() as session:
            user, workspace = await AccountService(session).signup(
                "operator@example.com", "an operator password", plan="pro", is_operator=True
            )
            created = await ApiKeyService(session).create(workspace.id, name="ops", mode="live", created_by=user.id)
        return SeededAccount(user.email, "", user.id, workspace.id, created.secret, created.row.id)

    return with_db(database_url, work)


def saved_rows(database_url: str) -> list[ProviderKey]:
    async def work(db: Database) -> list[ProviderKey]:
        async with db.session() as session:
            return list(await session.scalars(select(ProviderKey)))

    return with_db(database_url, work)


def openai_of(api: httpx.Client, account: SeededAccount) -> dict[str, Any]:
    response = api.get("/v1/providers", headers=account.headers)
    assert response.status_code == 200, response.text
    (found,) = [item for item in response.json()["data"] if item["id"] == "openai"]
    return found


def model_ids(api: httpx.Client, account: SeededAccount) -> set[str]:
    response = api.get("/v1/models", headers=account.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["data"]}


def dall_e_run(api: httpx.Client, account: SeededAccount) -> httpx.Response:
    graph = {
        "nodes": [node("img", "image.generate", prompt="a kite", model="openai/dall-e-2", size="256x256")],
        "edges": [],
    }
    return api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=20"})


def test_a_workspace_key_is_checked_sealed_and_serves_that_workspace_only(
    api: httpx.Client,
    account: SeededAccount,
    other: SeededAccount,
    settings: Settings,
    fake: tuple[FakeOpenAI, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server, _ = fake
    seen: list[str] = []
    before = openai_of(api, account)
    assert before == {
        "id": "openai",
        "configured": False,
        "valid": None,
        "masked_key": None,
        "source": None,
        "key_env": "OPENAI_API_KEY",
        "models": OPENAI_MODEL_IDS,
    }
    assert "openai/dall-e-2" not in model_ids(api, account)

    saved = api.put("/v1/providers/openai/key", json={"key": KEY}, headers=account.headers)
    seen.append(saved.text)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {**before, "configured": True, "valid": True, "masked_key": MASKED, "source": "workspace"}
    (checked,) = server.requests("/v1/models")
    assert checked.headers["authorization"] == f"Bearer {KEY}"
    listed = api.get("/v1/providers", headers=account.headers)
    seen.append(listed.text)
    assert openai_of(api, account)["source"] == "workspace"

    # Only the workspace that saved the key sees and runs the upstream's models.
    assert "openai/dall-e-2" in model_ids(api, account)
    assert "openai/dall-e-2" not in model_ids(api, other)
    assert openai_of(api, other) == before
    refused = dall_e_run(api, other)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "INVALID_INPUT"
    assert refused.json()["error"]["model"] == "openai/dall-e-2"
    assert server.requests("/v1/images/generations") == []

    grant(settings.resolved_database_url, account.workspace_id, 50)
    created = dall_e_run(api, account)
    assert created.status_code == 201, created.text
    run = wait_for(api, account.headers, created.json()["run_id"], until=TERMINAL, timeout=30)
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/generations")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "dall-e-2",
        "prompt": "a kite",
        "n": 1,
        "size": "256x256",
        "response_format": "b64_json",
    }
    seen.append(api.get(f"/v1/runs/{run['run_id']}", headers=account.headers).text)
    seen.append(api.get(f"/v1/runs/{run['run_id']}/events", headers=account.headers).text)

    # At rest: sealed, not the key; the server secret opens it.
    (row,) = saved_rows(settings.resolved_database_url)
    assert (row.owner, row.workspace_id, row.provider, row.masked, row.valid) == (
        account.workspace_id,
        account.workspace_id,
        "openai",
        MASKED,
        True,
    )
    assert row.set_by == account.user_id
    assert KEY not in row.ciphertext
    assert KeyVault(settings.secret).open(row.ciphertext) == KEY

    for text in [*seen, caplog.text]:
        assert KEY not in text
        assert "SECRET3456" not in text


def test_a_key_the_upstream_refuses_is_not_saved(
    api: httpx.Client, account: SeededAccount, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = api.put("/v1/providers/openai/key", json={"key": WRONG}, headers=account.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["provider"], error["field"]) == ("PROVIDER_KEY_REJECTED", "openai", "key")
    assert WRONG not in response.text
    assert WRONG not in caplog.text
    assert saved_rows(settings.resolved_database_url) == []
    assert openai_of(api, account)["configured"] is False


def test_a_key_that_cannot_go_into_a_header_is_refused_before_anything_is_sent(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    for key in ("sk-caf\u00e9-0123456789", "sk-line\nbreak-0123456789"):
        response = api.put("/v1/providers/openai/key", json={"key": key}, headers=account.headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"], error["provider"]) == ("INVALID_INPUT", "key", "openai")
    assert fake[0].requests("/v1/models") == []
    assert saved_rows(settings.resolved_database_url) == []


def test_an_unknown_provider_and_a_missing_key_are_404(api: httpx.Client, account: SeededAccount) -> None:
    unknown = api.put("/v1/providers/nope/key", json={"key": KEY}, headers=account.headers)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["provider"] == "nope"
    missing = api.delete("/v1/providers/openai/key", headers=account.headers)
    assert missing.status_code == 404, missing.text


def test_a_removed_workspace_key_stops_serving_its_workspace(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    assert api.put("/v1/providers/openai/key", json={"key": KEY}, headers=account.headers).status_code == 200
    assert "openai/gpt-image-1" in model_ids(api, account)
    removed = api.delete("/v1/providers/openai/key", headers=account.headers)
    assert removed.status_code == 204, removed.text
    assert saved_rows(settings.resolved_database_url) == []
    assert "openai/gpt-image-1" not in model_ids(api, account)


def test_the_operators_saved_key_serves_every_workspace_and_only_the_operator_sets_it(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    operator = seed_operator(settings.resolved_database_url)
    forbidden = api.put("/v1/providers/openai/key", json={"key": KEY, "scope": "operator"}, headers=account.headers)
    assert forbidden.status_code == 403, forbidden.text
    assert saved_rows(settings.resolved_database_url) == []

    saved = api.put("/v1/providers/openai/key", json={"key": KEY}, headers=operator.headers)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["source"], saved.json()["masked_key"]) == ("config", MASKED)
    (row,) = saved_rows(settings.resolved_database_url)
    assert (row.owner, row.workspace_id) == ("operator", None)
    # Every workspace can use it now, without seeing even the masked key.
    seen = openai_of(api, account)
    assert (seen["configured"], seen["source"], seen["masked_key"], seen["valid"]) == (True, "config", None, True)
    assert "openai/dall-e-2" in model_ids(api, account)
    assert api.delete("/v1/providers/openai/key", headers=account.headers).status_code == 404
    assert api.delete("/v1/providers/openai/key", headers=operator.headers).status_code == 204
    assert "openai/dall-e-2" not in model_ids(api, account)


def test_a_saved_key_serves_another_process_reading_the_same_database(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    """What a Celery worker does: its own runtime reads and opens the key at run time."""
    assert api.put("/v1/providers/openai/key", json={"key": KEY}, headers=account.headers).status_code == 200

    async def work() -> tuple[set[str], set[str], bool]:
        runtime = Runtime.create(settings)
        try:
            resolver = runtime.workspace_providers
            mine = await resolver.registry_in(runtime.db, account.workspace_id)
            again = await resolver.registry_in(runtime.db, account.workspace_id)
            base = await resolver.registry_in(runtime.db, "ws_nobody")
            return {m.id for m in mine.models()}, {m.id for m in base.models()}, mine is again
        finally:
            await runtime.close()

    mine, base, reused = asyncio.run(work())
    assert "openai/gpt-image-1" in mine
    assert "openai/gpt-image-1" not in base
    assert reused  # one keyed registry (and pooled client) per key, not one per run


def test_workspace_default_models_are_checked_and_used_by_generations(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    early = api.put("/v1/workspace/default-models", json={"image": "openai/dall-e-2"}, headers=account.headers)
    assert early.status_code == 422, early.text
    error = early.json()["error"]
    assert (error["code"], error["field"], error["model"]) == ("INVALID_INPUT", "image", "openai/dall-e-2")
    assert "local/procedural" in error["configured"]
    assert "openai/dall-e-2" not in error["configured"]
    wrong_type = api.put("/v1/workspace/default-models", json={"text": "local/procedural"}, headers=account.headers)
    assert wrong_type.status_code == 422, wrong_type.text
    assert wrong_type.json()["error"]["field"] == "text"

    assert api.put("/v1/providers/openai/key", json={"key": KEY}, headers=account.headers).status_code == 200
    chosen = api.put("/v1/workspace/default-models", json={"image": "openai/dall-e-2"}, headers=account.headers)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["image"] == "openai/dall-e-2"
    assert api.get("/v1/workspace/default-models", headers=account.headers).json() == chosen.json()
    defaults = api.get("/v1/generations/models", headers=account.headers).json()["defaults"]
    assert defaults["image"] == "openai/dall-e-2"

    grant(settings.resolved_database_url, account.workspace_id, 50)
    created = api.post(
        "/v1/generations", json={"generation_type": "image", "prompt": "a harbour"}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["model_name"] == "openai/dall-e-2"
    wait_for(api, account.headers, created.json()["id"], until=TERMINAL, timeout=30)
    (sent,) = server.requests("/v1/images/generations")
    assert sent.json is not None
    assert sent.json["model"] == "dall-e-2"

    # The key removed, the default no longer serves: the catalogue's choice does, not an error.
    assert api.delete("/v1/providers/openai/key", headers=account.headers).status_code == 204
    fallback = api.post("/v1/generations", json={"generation_type": "image", "prompt": "x"}, headers=account.headers)
    assert fallback.status_code == 201, fallback.text
    assert fallback.json()["model_name"] != "openai/dall-e-2"


def test_an_env_key_cannot_be_removed_or_replaced_through_the_api(
    tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]
) -> None:
    server = start_server(openai_settings(tmp_path, database_url, fake[1]))  # OPENAI_API_KEY is set
    try:
        account = seed_account(database_url)
        operator = seed_operator(database_url)
        with httpx.Client(base_url=server.url, timeout=30) as api:
            shown = openai_of(api, account)
            assert (shown["configured"], shown["source"], shown["valid"], shown["masked_key"]) == (
                True,
                "env",
                None,
                None,  # the operator's key, masked or not, is the operator's business
            )
            assert openai_of(api, operator)["masked_key"] == MASKED
            for who in (account, operator):
                removed = api.delete("/v1/providers/openai/key", headers=who.headers)
                assert removed.status_code == 409, removed.text
                error = removed.json()["error"]
                assert (error["code"], error["provider"], error["key_env"]) == (
                    "ENV_KEY_IMMUTABLE",
                    "openai",
                    "OPENAI_API_KEY",
                )
                assert KEY not in removed.text
            replaced = api.put("/v1/providers/openai/key", json={"key": WRONG}, headers=operator.headers)
            assert replaced.status_code == 409, replaced.text
            assert replaced.json()["error"]["code"] == "ENV_KEY_IMMUTABLE"
            assert fake[0].requests("/v1/models") == []  # refused before anything was sent upstream
    finally:
        server.stop()


def test_the_cli_sets_lists_and_removes_a_key_read_from_standard_input(
    api: httpx.Client, account: SeededAccount, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXELMILL_BASE_URL", live_server.url)
    monkeypatch.setenv("PIXELMILL_API_KEY", account.key)
    cli = CliRunner()
    saved = cli.invoke(app, ["providers", "set-key", "openai"], input=f"{KEY}\n")
    assert saved.exit_code == 0, saved.output
    assert saved.output.strip() == f"openai: {MASKED} (workspace), {len(OPENAI_MODEL_IDS)} models"
    listed = cli.invoke(app, ["providers", "ls", "--json"])
    assert listed.exit_code == 0, listed.output
    (openai,) = [item for item in json.loads(listed.output) if item["id"] == "openai"]
    assert (openai["source"], openai["masked_key"]) == ("workspace", MASKED)
    rejected = cli.invoke(app, ["providers", "set-key", "openai"], input=f"{WRONG}\n")
    assert rejected.exit_code != 0
    assert "PROVIDER_KEY_REJECTED" in rejected.output or "refused the key" in rejected.output
    assert WRONG not in rejected.output
    removed = cli.invoke(app, ["providers", "remove-key", "openai"])
    assert removed.exit_code == 0, removed.output
    assert openai_of(api, account)["configured"] is False
    for result in (saved, listed, rejected, removed):
        assert KEY not in result.output
