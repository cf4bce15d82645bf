"""The node catalogue over HTTP: every node type with its schemas, one by name, 404 for unknown, auth required."""

from __future__ import annotations

import httpx

import pixelmill.nodes  # noqa: F401 - registers the built-in node types, as the server does
from pixelmill.engine.node import default_registry
from tests.support.accounts import SeededAccount

CORE_TYPES = {
    "math.add",
    "math.subtract",
    "math.multiply",
    "math.divide",
    "value.integer",
    "value.float",
    "value.string",
    "value.boolean",
    "text.template",
    "random.seed",
}


def test_list_has_every_registered_node_type_with_schemas(api: httpx.Client, account: SeededAccount) -> None:
    response = api.get("/v1/nodes", headers=account.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    types = [item["type"] for item in body["data"]]
    assert types == sorted(types)
    assert set(types) >= CORE_TYPES
    assert set(types) == {cls.node_type for cls in default_registry.all()}
    add = next(item for item in body["data"] if item["type"] == "math.add")
    assert set(add) == {
        "type",
        "version",
        "category",
        "description",
        "inputs",
        "outputs",
        "primary_output",
        "output_type",
        "cost",
        "cost_depends_on_inputs",
        "capability",
        "deterministic",
        "cached",
    }
    assert add["inputs"]["properties"]["a"]["default"] == 0
    assert add["inputs"]["properties"]["a"]["type"] == "number"
    assert add["outputs"]["properties"]["value"]["x-pixelmill-type"] == "float"
    assert (add["cost"], add["capability"], add["deterministic"], add["output_type"]) == (0, "cpu", True, "json")
    assert add["cached"] is False  # a sum is cheaper to compute than to look up


def test_list_filters_by_category(api: httpx.Client, account: SeededAccount) -> None:
    body = api.get("/v1/nodes", params={"category": "math"}, headers=account.headers).json()
    assert {item["type"] for item in body["data"]} == {
        "math.add",
        "math.subtract",
        "math.multiply",
        "math.divide",
        "math.round",
        "math.round_to_multiple",
    }


def test_get_one_node_type(api: httpx.Client, account: SeededAccount) -> None:
    response = api.get("/v1/nodes/text.template", headers=account.headers)
    assert response.status_code == 200
    template = response.json()
    assert template["type"] == "text.template"
    assert template["output_type"] == "text"
    assert template["inputs"]["required"] == ["template"]
    assert template["inputs"]["properties"]["template"]["maxLength"] == 100_000


def test_unknown_node_type_is_404(api: httpx.Client, account: SeededAccount) -> None:
    response = api.get("/v1/nodes/math.power", headers=account.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response.json()["error"]["node_type"] == "math.power"


def test_the_catalogue_needs_authentication(api: httpx.Client) -> None:
    assert api.get("/v1/nodes").status_code == 401
    assert api.get("/v1/nodes/math.add").json()["error"]["code"] == "UNAUTHENTICATED"
