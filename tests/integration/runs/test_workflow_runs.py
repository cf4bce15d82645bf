"""POST /v1/workflows/{id}/runs: the published graph, per-run overrides, and the 404s imageat documents."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.accounts import SeededAccount
from tests.support.runs import edge, node

GRAPH = {
    "nodes": [node("sum", "math.add", a=1, b=2), node("twice", "math.multiply", b=2)],
    "edges": [edge("sum", "twice", "a")],
}


def _run(api: httpx.Client, account: SeededAccount, workflow_id: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"/v1/workflows/{workflow_id}/runs", json=body, headers={**account.headers, "Prefer": "wait=10"})


def test_a_published_workflow_runs_as_published_or_with_overrides(
    api: httpx.Client, account: SeededAccount, other: SeededAccount
) -> None:
    created = api.post("/v1/workflows", json={"name": "sums", "graph": GRAPH}, headers=account.headers)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]

    unpublished = _run(api, account, workflow_id, {"nodes": [], "edges": []})
    assert (unpublished.status_code, unpublished.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert api.post(f"/v1/workflows/{workflow_id}/publish", headers=account.headers).status_code == 201

    plain = _run(api, account, workflow_id, {"nodes": [], "edges": []})
    assert plain.status_code == 201, plain.text
    body = plain.json()
    assert (body["status"], body["kind"], body["workflow_id"], body["workflow_version"]) == (
        "completed",
        "workflow",
        workflow_id,
        1,
    )
    assert body["outputs"]["twice"] == {"type": "json", "value": 6.0}

    overridden = _run(
        api,
        account,
        workflow_id,
        {
            "nodes": [{"id": "sum", "inputs": {"a": 10}}, {"id": "more", "type": "math.add", "inputs": {"b": 0.5}}],
            "edges": [edge("twice", "more", "a")],
        },
    ).json()
    assert overridden["outputs"]["twice"]["value"] == 24.0
    assert overridden["outputs"]["more"]["value"] == 24.5

    bare = api.post(f"/v1/workflows/{workflow_id}/runs", headers={**account.headers, "Prefer": "wait=10"})
    assert bare.json()["outputs"]["twice"]["value"] == 6.0

    listed = api.get("/v1/runs", params={"workflow_id": workflow_id}, headers=account.headers).json()["data"]
    assert [item["run_id"] for item in listed] == [bare.json()["run_id"], overridden["run_id"], body["run_id"]]

    stranger = _run(api, other, workflow_id, {"nodes": [], "edges": []})
    assert stranger.status_code == 404
    assert _run(api, account, "wf_01UNKNOWN", {"nodes": [], "edges": []}).status_code == 404


def test_bad_overrides_are_422_naming_the_node(api: httpx.Client, account: SeededAccount) -> None:
    workflow_id = api.post("/v1/workflows", json={"name": "sums", "graph": GRAPH}, headers=account.headers).json()["id"]
    assert api.post(f"/v1/workflows/{workflow_id}/publish", headers=account.headers).status_code == 201
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"nodes": [{"id": "ghost", "inputs": {"a": 1}}]}, "VALIDATION_ERROR", "ghost"),
        ({"nodes": [{"id": "sum", "type": "math.divide"}]}, "VALIDATION_ERROR", "sum"),
        ({"nodes": [{"id": "sum", "inputs": {"a": "many"}}]}, "INVALID_INPUT", "sum"),
        ({"edges": [edge("sum", "twice", "a")]}, "DUPLICATE_INPUT_EDGE", "twice"),
    ]
    for body, code, node_id in cases:
        response = _run(api, account, workflow_id, body)
        assert response.status_code == 422, body
        assert (response.json()["error"]["code"], response.json()["error"]["node_id"]) == (code, node_id)
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []


def test_a_runs_graph_is_readable_with_its_overrides_and_saves_as_a_workflow(
    api: httpx.Client, account: SeededAccount, other: SeededAccount
) -> None:
    workflow_id = api.post("/v1/workflows", json={"name": "sums", "graph": GRAPH}, headers=account.headers).json()["id"]
    assert api.post(f"/v1/workflows/{workflow_id}/publish", headers=account.headers).status_code == 201
    run = _run(api, account, workflow_id, {"nodes": [{"id": "sum", "inputs": {"a": 10}}], "edges": []}).json()

    read = api.get(f"/v1/runs/{run['run_id']}/graph", headers=account.headers)
    assert read.status_code == 200
    body = read.json()
    assert (body["object"], body["run_id"]) == ("run_graph", run["run_id"])
    assert [n["id"] for n in body["graph"]["nodes"]] == ["sum", "twice"]
    assert body["graph"]["nodes"][0]["inputs"] == {"a": 10, "b": 2}
    assert body["graph"]["edges"] == GRAPH["edges"]

    copy = api.post("/v1/workflows", json={"name": "from a run", "graph": body["graph"]}, headers=account.headers)
    assert copy.status_code == 201
    # Another workspace's run answers like an unknown one.
    hidden = api.get(f"/v1/runs/{run['run_id']}/graph", headers=other.headers)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "NOT_FOUND")
