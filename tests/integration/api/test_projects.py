"""Projects in the canonical API: create, list, read, file generations under one, filter the history."""

from __future__ import annotations

import httpx

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account


def test_a_project_is_created_listed_and_read(api: httpx.Client, account: SeededAccount) -> None:
    created = api.post("/v1/projects", json={"name": "  Launch  "}, headers=account.headers)
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["id"].startswith("prj_")
    assert (project["object"], project["name"]) == ("project", "Launch")
    assert api.get(f"/v1/projects/{project['id']}", headers=account.headers).json() == project
    assert api.get("/v1/projects", headers=account.headers).json() == {"object": "list", "data": [project]}
    # A create that is refused (a live key with no credits) files nothing under the project.
    body = {"generation_type": "infographic", "prompt": "Sales"}
    filed = api.post("/v1/generations", json={**body, "project_id": project["id"]}, headers=account.headers)
    assert filed.status_code == 402
    assert (
        api.get("/v1/generations", params={"project_id": project["id"]}, headers=account.headers).json()["data"] == []
    )


def test_filed_generations_are_listed_by_project(api: httpx.Client, settings: Settings) -> None:
    # Test keys spend no credits, so these accounts need none.
    tester = seed_account(settings.resolved_database_url, mode="test")
    project = api.post("/v1/projects", json={"name": "P"}, headers=tester.headers).json()
    body = {"generation_type": "infographic", "prompt": "Sales"}
    filed = api.post("/v1/generations", json={**body, "project_id": project["id"]}, headers=tester.headers)
    assert filed.status_code == 201, filed.text
    assert filed.json()["project_id"] == project["id"]
    loose = api.post("/v1/generations", json={**body, "project_id": "a free tag"}, headers=tester.headers)
    assert loose.status_code == 201
    listed = api.get("/v1/generations", params={"project_id": project["id"]}, headers=tester.headers).json()
    assert [g["id"] for g in listed["data"]] == [filed.json()["id"]]
    everything = api.get("/v1/generations", headers=tester.headers).json()["data"]
    assert [g["project_id"] for g in everything] == ["a free tag", project["id"]]


def test_another_workspaces_project_is_not_found(api: httpx.Client, settings: Settings) -> None:
    owner = seed_account(settings.resolved_database_url, mode="test")
    stranger = seed_account(settings.resolved_database_url, mode="test")
    project = api.post("/v1/projects", json={"name": "Mine"}, headers=owner.headers).json()
    assert api.get(f"/v1/projects/{project['id']}", headers=stranger.headers).status_code == 404
    assert api.get("/v1/projects", headers=stranger.headers).json()["data"] == []
    filed = api.post(
        "/v1/generations",
        json={"generation_type": "infographic", "prompt": "x", "project_id": project["id"]},
        headers=stranger.headers,
    )
    assert (filed.status_code, filed.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert filed.json()["error"]["field"] == "project_id"
    listed = api.get("/v1/generations", params={"project_id": project["id"]}, headers=stranger.headers)
    assert listed.status_code == 404
    unknown = api.post(
        "/v1/generations",
        json={"generation_type": "infographic", "prompt": "x", "project_id": "prj_nothing"},
        headers=owner.headers,
    )
    assert unknown.status_code == 404


def test_a_project_needs_a_name(api: httpx.Client, account: SeededAccount) -> None:
    for body in ({}, {"name": ""}, {"name": "   "}):
        answer = api.post("/v1/projects", json=body, headers=account.headers)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["field"] == "name"
