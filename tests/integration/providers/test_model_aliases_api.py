"""Operator model aliases over real HTTP, against the fake OpenAI Images API on loopback: a run or a
generation naming an alias runs (and is priced, stored and shown as) the model the alias names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.providers.test_openai_images import openai_settings, run_to_end, start
from tests.support.accounts import SeededAccount
from tests.support.fake_openai import FakeOpenAI, serve_fake_openai
from tests.support.runs import grant, node, run_entries, wait_for

KEY = "sk-proj-fakekey-0123456789abcdefSECRET3456"
ALIASES = {"image-default": "openai/gpt-image-1", "sketch": "local/procedural", "grok": "xai/grok-imagine-image"}


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    return openai_settings(
        tmp_path, database_url, fake[1], model_aliases=ALIASES, model_credit_costs={"openai/gpt-image-1": 7}
    )


def test_a_run_naming_an_alias_runs_and_shows_its_target_at_the_targets_price(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="a lighthouse", model="image-default", n=2))
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/images/generations")
    assert sent.json is not None
    assert sent.json["model"] == "gpt-image-1"
    (executed,) = run["nodes"]
    assert executed["model"] == "openai/gpt-image-1"
    assert executed["credits"] == 14  # the target's operator price, per image
    assert run["credits_used"] == 14
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 14), ("capture", 14)]


def test_an_alias_of_an_unconfigured_model_is_422_naming_alias_and_target_before_anything_is_queued(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    response = start(api, account, node("img", "image.generate", prompt="a lighthouse", model="grok"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert (error["alias"], error["target"], error["node_id"], error["field"]) == (
        "grok",
        "xai/grok-imagine-image",
        "img",
        "model",
    )
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []
    assert server.requests() == []


def test_the_catalogue_lists_aliases_on_their_targets_and_answers_an_alias_with_its_target(
    api: httpx.Client, account: SeededAccount
) -> None:
    listed = {entry["id"]: entry for entry in api.get("/v1/models", headers=account.headers).json()["data"]}
    assert listed["openai/gpt-image-1"]["aliases"] == ["image-default"]
    assert listed["local/procedural"]["aliases"] == ["sketch"]
    assert listed["openai/dall-e-3"]["aliases"] == []
    assert (listed["openai/gpt-image-1"]["remote"], listed["local/procedural"]["remote"]) == (True, False)
    assert "image-default" not in listed  # one entry per real model
    one = api.get("/v1/models/image-default", headers=account.headers)
    assert one.status_code == 200, one.text
    assert (one.json()["id"], one.json()["aliases"]) == ("openai/gpt-image-1", ["image-default"])
    broken = api.get("/v1/models/grok", headers=account.headers)
    assert broken.status_code == 422
    assert broken.json()["error"]["target"] == "xai/grok-imagine-image"


def test_a_generation_naming_an_alias_shows_the_model_that_ran(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    body = {"generation_type": "image", "model_name": "image-default", "prompt": "a harbour at dusk"}
    created = api.post("/v1/generations", json=body, headers=account.headers)
    assert created.status_code == 201, created.text
    assert created.json()["model_name"] == "openai/gpt-image-1"
    wait_for(api, account.headers, created.json()["id"], until={"completed", "failed"}, timeout=30)
    generation = api.get(f"/v1/generations/{created.json()['id']}", headers=account.headers).json()
    assert (generation["status"], generation["model_name"]) == ("completed", "openai/gpt-image-1")
    (sent,) = server.requests("/v1/images/generations")
    assert sent.json is not None
    assert sent.json["model"] == "gpt-image-1"
    broken = api.post("/v1/generations", json={**body, "model_name": "grok"}, headers=account.headers)
    assert broken.status_code == 422
    assert (broken.json()["error"]["field"], broken.json()["error"]["alias"]) == ("model_name", "grok")
