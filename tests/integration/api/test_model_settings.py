"""GET /v1/models carries each model's settings schema, and GET /v1/runs/{id}/graph the graph a
run executes: what the console's settings form and run detail page are built from."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.runs import grant

WAIT = {"Prefer": "wait=60"}


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> SeededAccount:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    return account


def test_each_model_lists_the_schema_of_its_settings(api: httpx.Client, account: SeededAccount) -> None:
    models = {m["id"]: m for m in api.get("/v1/models", headers=account.headers).json()["data"]}
    procedural = models["local/procedural"]["settings_schema"]
    assert {"seed", "size", "aspect_ratio"} <= set(procedural["properties"])
    assert "prompt" not in procedural["properties"]
    assert {"tempo_bpm", "mood"} <= set(models["local/algorithmic-music"]["settings_schema"]["properties"])
    assert models["local/cv"]["settings_schema"] is None  # image-to-image only
    one = api.get("/v1/models/local/procedural", headers=account.headers).json()
    assert one["settings_schema"] == procedural


def test_a_setting_from_the_schema_reaches_the_runs_graph(api: httpx.Client, funded: SeededAccount) -> None:
    schema = api.get("/v1/models/local/procedural", headers=funded.headers).json()["settings_schema"]
    settings = {"seed": 4242, "size": "96x64"}
    jsonschema.validate(settings, schema)
    created = api.post(
        "/v1/generations",
        json={"generation_type": "image", "model_name": "local/procedural", "prompt": "a kite", "settings": settings},
        headers={**funded.headers, **WAIT},
        timeout=90,
    )
    assert created.status_code == 201, created.text
    graph = api.get(f"/v1/runs/{created.json()['id']}/graph", headers=funded.headers)
    assert graph.status_code == 200, graph.text
    (node,) = graph.json()["graph"]["nodes"]
    assert node["type"] == "image.generate"
    assert node["inputs"]["seed"] == 4242
    assert node["inputs"]["size"] == "96x64"
    assert graph.json()["graph"]["edges"] == []


def test_a_runs_graph_runs_again_as_posted(api: httpx.Client, funded: SeededAccount) -> None:
    graph: dict[str, Any] = {
        "nodes": [
            {"id": "a", "type": "math.add", "inputs": {"a": 2, "b": 3}},
            {"id": "b", "type": "math.add", "inputs": {"b": 10}},
        ],
        "edges": [{"source": {"node_id": "a", "field": "value"}, "destination": {"node_id": "b", "field": "a"}}],
    }
    first = api.post("/v1/runs", json={"graph": graph}, headers={**funded.headers, **WAIT}).json()
    stored = api.get(f"/v1/runs/{first['run_id']}/graph", headers=funded.headers).json()["graph"]
    again = api.post(
        "/v1/runs",
        json={"graph": {"nodes": stored["nodes"], "edges": stored["edges"]}},
        headers={**funded.headers, **WAIT},
    ).json()
    assert again["run_id"] != first["run_id"]
    assert again["status"] == "completed"
    assert again["outputs"] == first["outputs"]


def test_another_workspaces_run_graph_answers_like_an_unknown_one(
    api: httpx.Client, funded: SeededAccount, settings: Settings
) -> None:
    graph = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 1}}], "edges": []}
    run_id = api.post("/v1/runs", json={"graph": graph}, headers=funded.headers).json()["run_id"]
    stranger = seed_account(settings.resolved_database_url)
    foreign = api.get(f"/v1/runs/{run_id}/graph", headers=stranger.headers)
    unknown = api.get("/v1/runs/run_doesnotexist/graph", headers=stranger.headers)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"]["code"] == unknown.json()["error"]["code"]
