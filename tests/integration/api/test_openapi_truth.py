"""What the served OpenAPI document promises is what the server does: error bodies match the
documented ErrorBody, 405 names every allowed method, a missing If-Match is 428, and JSON types are
taken as documented (``true`` is not an integer)."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from tests.support.accounts import SeededAccount

GRAPH = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 2}}], "edges": []}


def error_body_validator(api: httpx.Client) -> jsonschema.Validator:
    document = api.get("/openapi.json").json()
    schema = {"$ref": "#/components/schemas/ErrorBody", "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_a_validation_error_has_the_documented_shape(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post("/v1/runs", headers=account.headers, json={"graph": GRAPH, "priority": "high"})
    assert response.status_code == 422
    body = response.json()
    error_body_validator(api).validate(body)
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["field"] == "priority"
    assert body["error"]["errors"][0]["field"] == "priority"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/runs", {"graph": GRAPH, "priority": True}, "priority"),
        ("/v1/runs", {"graph": GRAPH, "priority": "5"}, "priority"),
        ("/v1/runs", {"graph": GRAPH, "priority": 5.0}, "priority"),
        ("/v1/generations", {"generation_type": "image", "project_id": True}, "project_id"),
    ],
)
def test_json_values_must_have_the_documented_type(
    api: httpx.Client, account: SeededAccount, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.post(path, headers=account.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"].startswith(field)


def test_an_integer_still_fills_an_integer_field(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post("/v1/runs", headers=account.headers, json={"graph": GRAPH, "priority": 5})
    assert response.status_code == 201, response.text


def test_a_number_is_not_taken_for_a_boolean(api: httpx.Client, account: SeededAccount) -> None:
    workflow = api.post("/v1/workflows", headers=account.headers, json={"name": "w", "graph": GRAPH})
    assert workflow.status_code == 201
    api.post(f"/v1/workflows/{workflow.json()['id']}/publish", headers=account.headers).raise_for_status()
    response = api.post(
        f"/v1/workflows/{workflow.json()['id']}/runs",
        headers=account.headers,
        json={"nodes": [{"id": "a", "use_cache": 1}]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "nodes.0.use_cache"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/runs/run_x", {"GET", "DELETE"}),
        ("OPTIONS", "/v1/workflows/wf_x", {"GET", "PATCH", "DELETE"}),
        ("DELETE", "/v1/webhooks", {"GET", "POST"}),
        ("OPTIONS", "/v1/generations/models", {"GET"}),
    ],
)
def test_405_names_every_method_the_path_allows(
    api: httpx.Client, account: SeededAccount, method: str, path: str, allowed: set[str]
) -> None:
    response = api.request(method, path, headers=account.headers)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    error_body_validator(api).validate(response.json())


def test_a_missing_if_match_is_428_even_with_a_bad_body(api: httpx.Client, account: SeededAccount) -> None:
    created = api.post("/v1/workflows", headers=account.headers, json={"name": "w"}).json()
    response = api.patch(f"/v1/workflows/{created['id']}", headers=account.headers, json={"name": ""})
    assert response.status_code == 428
    assert response.json()["error"] == {
        "code": "PRECONDITION_REQUIRED",
        "message": 'Send If-Match with the ETag of your last read, e.g. If-Match: "3"',
        "field": "If-Match",
    }
