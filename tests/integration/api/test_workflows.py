"""Workflows over real HTTP: CRUD, If-Match concurrency, publishing frozen versions, tenancy, validation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account


def adder(a: float = 1, b: float = 2, node_id: str = "sum") -> dict[str, Any]:
    return {"nodes": [{"id": node_id, "type": "math.add", "inputs": {"a": a, "b": b}}], "edges": []}


def create(api: httpx.Client, account: SeededAccount, name: str = "adder", **body: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/workflows", json={"name": name, "graph": body.pop("graph", adder()), **body}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch(
    api: httpx.Client, account: SeededAccount, workflow_id: str, body: dict[str, Any], if_match: str | None
) -> httpx.Response:
    headers = dict(account.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return api.patch(f"/v1/workflows/{workflow_id}", json=body, headers=headers)


def test_create_then_get_returns_the_draft_with_its_version_as_etag(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post(
        "/v1/workflows",
        json={"name": "Adder", "description": "adds two numbers", "graph": adder(3, 4)},
        headers=account.headers,
    )
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    created = response.json()
    assert created["id"].startswith("wf_")
    assert (created["name"], created["description"], created["version"], created["published_version"]) == (
        "Adder",
        "adds two numbers",
        1,
        None,
    )
    assert created["graph"]["nodes"][0]["inputs"] == {"a": 3, "b": 4}
    fetched = api.get(f"/v1/workflows/{created['id']}", headers=account.headers)
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"1"'
    assert fetched.json() == created


def all_ids(api: httpx.Client, account: SeededAccount, limit: int) -> list[str]:
    """Every workflow id of the workspace, page by page until next_cursor is None."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/workflows", params=params, headers=account.headers).json()
        assert len(page["data"]) <= limit
        ids += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_list_is_paginated_newest_first_and_leaves_out_deleted(api: httpx.Client, account: SeededAccount) -> None:
    before = all_ids(api, account, 50)  # the examples a new workspace may start with
    ids = [create(api, account, name=f"wf {index}")["id"] for index in range(4)]
    assert api.delete(f"/v1/workflows/{ids[2]}", headers=account.headers).status_code == 204
    first = api.get("/v1/workflows", params={"limit": 2}, headers=account.headers).json()
    assert [item["id"] for item in first["data"]] == [ids[3], ids[1]]
    assert first["data"][0]["node_count"] == 1
    assert "graph" not in first["data"][0]
    assert all_ids(api, account, 2) == [ids[3], ids[1], ids[0], *before]


def test_patch_without_if_match_is_428(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account)
    response = patch(api, account, workflow["id"], {"name": "renamed"}, None)
    assert response.status_code == 428
    assert response.json()["error"]["code"] == "PRECONDITION_REQUIRED"
    assert api.get(f"/v1/workflows/{workflow['id']}", headers=account.headers).json()["name"] == "adder"


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1"])
def test_patch_with_current_version_bumps_it(api: httpx.Client, account: SeededAccount, if_match: str) -> None:
    workflow = create(api, account)
    response = patch(api, account, workflow["id"], {"name": "renamed", "graph": adder(5, 6)}, if_match)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert (body["name"], body["version"], body["graph"]["nodes"][0]["inputs"]) == ("renamed", 2, {"a": 5, "b": 6})


def test_patch_with_stale_version_is_409_with_current_version(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account)
    assert patch(api, account, workflow["id"], {"name": "first"}, '"1"').status_code == 200
    stale = patch(api, account, workflow["id"], {"name": "second"}, '"1"')
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert (error["code"], error["current_version"]) == ("VERSION_CONFLICT", 2)
    assert api.get(f"/v1/workflows/{workflow['id']}", headers=account.headers).json()["name"] == "first"


def test_malformed_if_match_is_400(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account)
    response = patch(api, account, workflow["id"], {"name": "x"}, '"abc"')
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "If-Match"


def test_concurrent_patches_of_one_version_have_exactly_one_winner(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account)

    def attempt(index: int) -> int:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            return patch(client, account, workflow["id"], {"name": f"editor {index}"}, '"1"').status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(attempt, range(8)))
    assert codes == [200] + [409] * 7
    assert api.get(f"/v1/workflows/{workflow['id']}", headers=account.headers).json()["version"] == 2


def test_publish_freezes_a_version_that_later_edits_do_not_change(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account, graph=adder(1, 1))
    published = api.post(f"/v1/workflows/{workflow['id']}/publish", headers=account.headers)
    assert published.status_code == 201
    v1 = published.json()
    assert (v1["number"], v1["draft_version"], v1["graph"]["nodes"][0]["inputs"]) == (1, 1, {"a": 1, "b": 1})

    assert patch(api, account, workflow["id"], {"graph": adder(7, 7)}, '"1"').status_code == 200
    versions = api.get(f"/v1/workflows/{workflow['id']}/versions", headers=account.headers).json()["data"]
    assert [(v["number"], v["graph"]["nodes"][0]["inputs"]) for v in versions] == [(1, {"a": 1, "b": 1})]

    v2 = api.post(f"/v1/workflows/{workflow['id']}/publish", headers=account.headers).json()
    assert (v2["number"], v2["draft_version"]) == (2, 2)
    versions = api.get(f"/v1/workflows/{workflow['id']}/versions", headers=account.headers).json()["data"]
    assert [(v["number"], v["graph"]["nodes"][0]["inputs"]["a"]) for v in versions] == [(2, 7), (1, 1)]
    assert api.get(f"/v1/workflows/{workflow['id']}", headers=account.headers).json()["published_version"] == 2


def test_publishing_a_workflow_without_nodes_is_422(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account, graph={"nodes": [], "edges": []})
    response = api.post(f"/v1/workflows/{workflow['id']}/publish", headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "graph.nodes"
    assert api.get(f"/v1/workflows/{workflow['id']}/versions", headers=account.headers).json()["data"] == []


def test_a_broken_graph_is_422_naming_the_node(api: httpx.Client, account: SeededAccount) -> None:
    before = all_ids(api, account, 200)
    unknown = {"nodes": [{"id": "mystery", "type": "no.such.node"}], "edges": []}
    response = api.post("/v1/workflows", json={"name": "bad", "graph": unknown}, headers=account.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["node_id"], error["field"]) == ("UNKNOWN_NODE_TYPE", "mystery", "type")
    assert all_ids(api, account, 200) == before

    workflow = create(api, account)
    upscale = {"id": "up", "type": "image.upscale", "inputs": {"image": {"file_id": "f"}, "factor": 3}}
    out_of_range = {"nodes": [upscale]}
    response = patch(api, account, workflow["id"], {"graph": out_of_range}, '"1"')
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["node_id"], error["field"]) == ("INVALID_INPUT", "up", "factor")
    assert api.get(f"/v1/workflows/{workflow['id']}", headers=account.headers).json()["version"] == 1


def test_workflows_of_another_workspace_are_404(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    workflow = create(api, account)
    assert api.post(f"/v1/workflows/{workflow['id']}/publish", headers=account.headers).status_code == 201
    other = seed_account(settings.resolved_database_url)
    path = f"/v1/workflows/{workflow['id']}"
    assert api.get(path, headers=other.headers).status_code == 404
    assert patch(api, other, workflow["id"], {"name": "mine"}, '"1"').status_code == 404
    assert api.delete(path, headers=other.headers).status_code == 404
    assert api.post(f"{path}/publish", headers=other.headers).status_code == 404
    assert api.get(f"{path}/versions", headers=other.headers).status_code == 404
    assert workflow["id"] not in all_ids(api, other, 200)
    assert api.get(path, headers=account.headers).json()["name"] == "adder"


def test_delete_hides_the_workflow_and_honours_if_match(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account)
    path = f"/v1/workflows/{workflow['id']}"
    stale = api.delete(path, headers={**account.headers, "If-Match": '"9"'})
    assert stale.status_code == 409
    assert stale.json()["error"]["current_version"] == 1
    assert api.delete(path, headers={**account.headers, "If-Match": '"1"'}).status_code == 204
    assert api.get(path, headers=account.headers).status_code == 404
    assert api.delete(path, headers=account.headers).status_code == 404
    assert api.post(f"{path}/publish", headers=account.headers).status_code == 404


def test_an_empty_patch_is_422(api: httpx.Client, account: SeededAccount) -> None:
    workflow = create(api, account)
    response = patch(api, account, workflow["id"], {}, '"1"')
    assert response.status_code == 422
    assert api.get(f"/v1/workflows/{workflow['id']}", headers=account.headers).json()["version"] == 1


def test_workflows_need_authentication(api: httpx.Client) -> None:
    assert api.get("/v1/workflows").status_code == 401
    assert api.post("/v1/workflows", json={"name": "x"}).status_code == 401
