"""POST /v1/graphs/validate: the run's validation as data, every problem listed, nothing created."""

from __future__ import annotations

import httpx

from tests.support.accounts import SeededAccount


def _add(node_id: str, **inputs: object) -> dict[str, object]:
    return {"id": node_id, "type": "math.add", "inputs": inputs}


def test_a_valid_graph_is_valid_with_its_cost(api: httpx.Client, account: SeededAccount) -> None:
    graph = {
        "nodes": [_add("a", a=1, b=2), _add("b", b=3)],
        "edges": [{"source": {"node_id": "a", "field": "value"}, "destination": {"node_id": "b", "field": "a"}}],
    }
    response = api.post("/v1/graphs/validate", json={"graph": graph}, headers=account.headers)
    assert response.status_code == 200
    assert response.json() == {"object": "graph_validation", "valid": True, "errors": [], "estimated_cost": 0}


def test_every_problem_is_listed_with_its_node_and_field(api: httpx.Client, account: SeededAccount) -> None:
    graph = {
        "nodes": [
            _add("a", a="not a number"),
            {"id": "t", "type": "text.template", "inputs": {"template": "x"}},
            {"id": "z", "type": "no.such.type"},
        ],
        "edges": [{"source": {"node_id": "t", "field": "text"}, "destination": {"node_id": "a", "field": "b"}}],
    }
    body = api.post("/v1/graphs/validate", json={"graph": graph}, headers=account.headers).json()
    assert body["valid"] is False
    assert body["estimated_cost"] is None
    found = {(p["code"], p["node_id"], p["field"]) for p in body["errors"]}
    assert ("UNKNOWN_NODE_TYPE", "z", "type") in found
    assert ("EDGE_TYPE_MISMATCH", "a", "b") in found
    assert ("INVALID_INPUT", "a", "a") in found
    # Nothing was created: the workspace has no runs.
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []


def test_a_malformed_graph_is_one_problem_and_auth_is_required(api: httpx.Client, account: SeededAccount) -> None:
    body = api.post("/v1/graphs/validate", json={"graph": {"nodes": [{"id": "a b"}]}}, headers=account.headers).json()
    assert body["valid"] is False
    assert [p["code"] for p in body["errors"]] == ["VALIDATION_ERROR"]
    assert api.post("/v1/graphs/validate", json={"graph": {"nodes": []}}).status_code == 401
