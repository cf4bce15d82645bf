"""The OpenAPI document documents every error in the shape the app sends (no I/O: the document is
built from the route table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pixelmill import errors
from pixelmill.api.app import create_app
from pixelmill.api.openapi import complete_error_responses, error_responses
from pixelmill.config import Settings

ERROR_REF = "#/components/schemas/ErrorBody"
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = Settings(data_dir=Path("unused"), database_url="sqlite+aiosqlite:///:memory:")
    return create_app(settings).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def schema_ref(response: dict[str, Any]) -> str | None:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    return str(ref) if ref is not None else None


def synthetic(operation: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.1.0", "paths": {"/things/{thing_id}": {"post": operation}}, "components": {}}


def test_error_responses_groups_catalogue_entries_by_status() -> None:
    declared = error_responses(errors.RUN_NOT_CANCELLABLE, errors.RUN_NOT_FINISHED, errors.INSUFFICIENT_SCOPE)
    assert set(declared) == {409, 403}
    assert "`RUN_NOT_CANCELLABLE`" in declared[409]["description"]
    assert "`RUN_NOT_FINISHED`" in declared[409]["description"]


def test_implied_errors_follow_from_what_an_operation_is() -> None:
    operation = {
        "security": [{"HTTPBearer": []}],
        "parameters": [
            {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}},
        ],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": "ok"},
            "422": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}},
        },
    }
    document = complete_error_responses(synthetic(operation))
    responses = document["paths"]["/things/{thing_id}"]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "404", "409", "413", "422", "428", "429"}
    assert all(schema_ref(responses[status]) == ERROR_REF for status in responses if status != "200")
    assert "`PRECONDITION_REQUIRED`" in responses["428"]["description"]
    assert "`IDEMPOTENCY_KEY_REUSED`" in responses["409"]["description"]
    assert "`VERSION_CONFLICT`" in responses["409"]["description"]
    headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert "Idempotency-Key" in headers
    assert {"ErrorBody", "ErrorDetail", "ValidationProblem"} <= set(document["components"]["schemas"])


def test_declared_errors_are_kept_and_a_foreign_error_body_is_left_alone() -> None:
    foreign = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}}
    operation = {
        "security": [{"HTTPBearer": []}],
        "responses": {
            "200": {"description": "ok"},
            "401": foreign,
            "409": {
                "description": "- `RUN_NOT_CANCELLABLE`: The run has already finished",
                "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
            },
        },
    }
    responses = complete_error_responses(synthetic(operation))["paths"]["/things/{thing_id}"]["post"]["responses"]
    assert responses["401"] is foreign
    assert "`RUN_NOT_CANCELLABLE`" in responses["409"]["description"]
    assert "`IDEMPOTENCY_KEY_IN_USE`" in responses["409"]["description"]


def test_an_unauthenticated_get_without_parameters_answers_no_implied_error() -> None:
    operation = {"responses": {"200": {"description": "ok"}}}
    document = {"openapi": "3.1.0", "paths": {"/healthz": {"get": operation}}, "components": {}}
    assert set(complete_error_responses(document)["paths"]["/healthz"]["get"]["responses"]) == {"200"}


def test_validation_errors_are_documented_in_the_shape_the_app_sends(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert schema_ref(response) == ERROR_REF, f"{method.upper()} {path} {status}"
    assert set(schemas["ErrorBody"]["required"]) == {"error", "detail"}


def test_every_authenticated_operation_documents_401_and_429(document: dict[str, Any]) -> None:
    secured = [(m, p, op) for m, p, op in operations(document) if op.get("security")]
    assert len(secured) > 40
    for method, path, operation in secured:
        assert {"401", "429"} <= set(operation["responses"]), f"{method.upper()} {path}"
        if "{" in path:
            assert "404" in operation["responses"], f"{method.upper()} {path}"


def test_if_match_is_required_where_its_absence_is_428(document: dict[str, Any]) -> None:
    patch = document["paths"]["/v1/workflows/{workflow_id}"]["patch"]
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
    assert {"409", "428"} <= set(patch["responses"])
    delete = document["paths"]["/v1/workflows/{workflow_id}"]["delete"]
    assert next(p for p in delete["parameters"] if p["name"] == "If-Match")["required"] is False
    assert "428" not in delete["responses"]


def test_signed_links_document_their_optional_bearer(document: dict[str, Any]) -> None:
    for path in ("/v1/files/{file_id}/content", "/v1/outputs/runs/{run_id}/{name}"):
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"HTTPBearer": []}, {}]
        assert {"401", "403", "404"} <= set(operation["responses"])
