"""GET /v1/generations narrowed on the server by type, model, status, creation time and project:
what the console's gallery filters send."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.runs import grant

WAIT = {"Prefer": "wait=60"}


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> SeededAccount:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    return account


def _create(api: httpx.Client, account: SeededAccount, body: dict[str, Any]) -> str:
    response = api.post("/v1/generations", json=body, headers={**account.headers, **WAIT}, timeout=90)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "completed", response.text
    generation_id: str = response.json()["id"]
    return generation_id


def _ids(api: httpx.Client, account: SeededAccount, **params: str) -> list[str]:
    response = api.get("/v1/generations", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return [g["id"] for g in response.json()["data"]]


def test_filters_narrow_the_history_on_the_server(
    api: httpx.Client,
    funded: SeededAccount,
) -> None:
    project = api.post("/v1/projects", json={"name": "Posters"}, headers=funded.headers).json()["id"]
    image = _create(api, funded, {"generation_type": "image", "prompt": "a fox", "model_name": "local/procedural"})
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    card = _create(
        api, funded, {"generation_type": "infographic", "prompt": "Tides\n- high\n- low", "project_id": project}
    )
    assert _ids(api, funded) == [card, image]
    assert _ids(api, funded, generation_type="image") == [image]
    assert _ids(api, funded, generation_type="infographic") == [card]
    assert _ids(api, funded, model_name="local/procedural") == [image]
    assert _ids(api, funded, model_name="local/charts", generation_type="image") == []
    assert _ids(api, funded, status="completed") == [card, image]
    assert _ids(api, funded, status="failed") == []
    assert _ids(api, funded, created_after=middle.isoformat()) == [card]
    assert _ids(api, funded, created_before=middle.isoformat()) == [image]
    naive = middle.replace(tzinfo=None).isoformat()  # no offset: UTC
    assert _ids(api, funded, created_after=naive) == [card]
    assert _ids(api, funded, project_id=project) == [card]
    assert _ids(api, funded, created_after=(middle + timedelta(days=1)).isoformat()) == []


def test_filters_page_with_the_cursor(api: httpx.Client, funded: SeededAccount) -> None:
    made = [_create(api, funded, {"generation_type": "image", "prompt": f"tile {n}"}) for n in range(3)]
    _create(api, funded, {"generation_type": "infographic", "prompt": "Between"})
    first = api.get("/v1/generations", params={"generation_type": "image", "limit": 2}, headers=funded.headers).json()
    assert [g["id"] for g in first["data"]] == made[:0:-1]
    rest = api.get(
        "/v1/generations",
        params={"generation_type": "image", "limit": 2, "cursor": first["next_cursor"]},
        headers=funded.headers,
    ).json()
    assert [g["id"] for g in rest["data"]] == [made[0]]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("generation_type", "sculpture"), ("status", "done"), ("created_after", "yesterday"), ("model_name", "")],
)
def test_a_bad_filter_is_a_validation_error(api: httpx.Client, account: SeededAccount, name: str, value: str) -> None:
    response = api.get("/v1/generations", params={name: value}, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_another_workspaces_generations_never_match(
    api: httpx.Client,
    funded: SeededAccount,
    settings: Settings,
) -> None:
    _create(api, funded, {"generation_type": "image", "prompt": "mine"})
    stranger = seed_account(settings.resolved_database_url)
    assert _ids(api, stranger, generation_type="image") == []


def test_runs_filter_by_kind_and_creation_time(api: httpx.Client, funded: SeededAccount) -> None:
    """What the gallery sends for the outputs of graph runs."""
    graph = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 1}}], "edges": []}
    generation = _create(api, funded, {"generation_type": "image", "prompt": "a heron"})
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    later = api.post("/v1/runs", json={"graph": graph}, headers={**funded.headers, **WAIT}).json()["run_id"]

    def run_ids(**params: str) -> list[str]:
        response = api.get("/v1/runs", params=params, headers=funded.headers)
        assert response.status_code == 200, response.text
        return [r["run_id"] for r in response.json()["data"]]

    assert run_ids() == [later, generation]
    assert run_ids(kind="graph") == [later]
    assert run_ids(created_after=middle.isoformat()) == [later]
    assert run_ids(created_before=middle.isoformat()) == [generation]
    assert run_ids(created_before=middle.replace(tzinfo=None).isoformat()) == [generation]
    assert api.get("/v1/runs", params={"created_after": "soon"}, headers=funded.headers).status_code == 422
