"""The OpenAPI document tells the truth about errors: every error answer in the catalogue's shape.

Two sources, one vocabulary (the error catalogue):

- A route declares the errors only it raises with ``responses=error_responses(errors.RUN_NOT_CANCELLABLE)``.
- Errors that follow from what an operation *is* are added to the generated document by
  ``complete_error_responses``, so no route (and no dialect added later) can forget them: a bearer
  credential brings 401 and 429, a path parameter 404, a request body 400, 413 and 422,
  an authenticated POST the ``Idempotency-Key`` header and its 409, an ``If-Match`` header 400 and
  409 (and 428 when it is required). FastAPI's own ``HTTPValidationError`` for 422 is replaced by
  the body the app really sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from pixelmill import errors
from pixelmill.errors import ErrorSpec

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_ERROR_REF = "#/components/schemas/ErrorBody"
_FASTAPI_VALIDATION_REF = "#/components/schemas/HTTPValidationError"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# Routes that take a bearer credential or, instead, a signed link's query (browsers follow those).
BEARER_OR_SIGNED_LINK: dict[str, Any] = {"security": [{"HTTPBearer": []}, {}]}

# What validating a graph can answer (POST /v1/runs, workflows), each naming node_id and field.
GRAPH_ERRORS: tuple[ErrorSpec, ...] = (
    errors.UNKNOWN_NODE_TYPE,
    errors.DUPLICATE_NODE_ID,
    errors.MISSING_INPUT,
    errors.UNKNOWN_FIELD,
    errors.INVALID_INPUT,
    errors.EDGE_UNKNOWN_NODE,
    errors.EDGE_UNKNOWN_FIELD,
    errors.EDGE_TYPE_MISMATCH,
    errors.DUPLICATE_INPUT_EDGE,
    errors.GRAPH_CYCLE,
    errors.GRAPH_TOO_LARGE,
    errors.URL_NOT_ALLOWED,
)


class ValidationProblem(BaseModel):
    """One reason a request was refused by validation."""

    field: str = Field(description="Dotted path of the offending value, e.g. `graph.nodes.0.id`")
    message: str
    type: str = Field(description="The validator's error type, e.g. `missing`, `int_type`")


class ErrorDetail(BaseModel):
    """An error from the catalogue; extra fields depending on the code (``balance``, ``node_id``,
    ``current_version``, ``retry_after`` …) sit beside ``code`` and ``message``."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="A stable code from the error catalogue, e.g. `NOT_FOUND`")
    message: str = Field(description="What went wrong, for people")
    field: str | None = Field(default=None, description="The offending field, where one is to blame")
    errors: list[ValidationProblem] | None = Field(
        default=None, description="Every validation problem (VALIDATION_ERROR from request validation)"
    )


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail
    detail: str = Field(description="The same as `error.message`")


def error_responses(*specs: ErrorSpec) -> dict[int | str, dict[str, Any]]:
    """A FastAPI ``responses=`` map documenting these catalogue errors, one entry per status."""
    by_status: dict[int, list[ErrorSpec]] = {}
    for spec in specs:
        by_status.setdefault(spec.status, []).append(spec)
    return {status: {"model": ErrorBody, "description": _describe(group)} for status, group in by_status.items()}


def _describe(specs: Iterable[ErrorSpec]) -> str:
    return "\n".join(f"- `{spec.code}`: {spec.message}" for spec in specs)


def _implied_errors(method: str, operation: dict[str, Any]) -> list[ErrorSpec]:
    """The errors an operation can answer because of what it is, whatever its handler does."""
    parameters = operation.get("parameters", [])
    located = {(p.get("in"), str(p.get("name", "")).lower()): p for p in parameters}
    body = operation.get("requestBody")
    authenticated = bool(operation.get("security"))
    implied: list[ErrorSpec] = []
    if authenticated:
        implied += [errors.UNAUTHENTICATED, errors.TOKEN_EXPIRED, errors.RATE_LIMITED]
    if any(where == "path" for where, _ in located):
        implied.append(errors.NOT_FOUND)
    if parameters or body:
        implied.append(errors.VALIDATION_ERROR)
    if body:
        # A body that cannot be parsed at all (bytes that are not UTF-8, a broken form) is 400; the
        # input edge (api/clean_input.py) bounds nesting and free-form fields in every JSON body.
        implied += [errors.PAYLOAD_TOO_LARGE, errors.BAD_REQUEST, errors.JSON_TOO_DEEP, errors.JSON_TOO_LARGE]
    if authenticated and method == "post":
        implied += [errors.IDEMPOTENCY_KEY_REUSED, errors.IDEMPOTENCY_KEY_IN_USE]
    if_match = located.get(("header", "if-match"))
    if if_match is not None:
        implied += [errors.BAD_REQUEST, errors.VERSION_CONFLICT]
        if if_match.get("required"):
            implied.append(errors.PRECONDITION_REQUIRED)
    return implied


def _add_idempotency_header(operation: dict[str, Any]) -> None:
    names = {str(p.get("name", "")).lower() for p in operation.get("parameters", []) if p.get("in") == "header"}
    if IDEMPOTENCY_HEADER.lower() in names:
        return
    operation.setdefault("parameters", []).append(
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": "Retry safely: the same key and body answer the first response again (kept 24 h)",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }
    )


def _merge(operation: dict[str, Any], specs: list[ErrorSpec]) -> None:
    """Document ``specs`` on the operation: a new status gets the error body, an existing error
    status gains the codes it lacks; a status documented with another body is left as declared."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, entry in error_responses(*specs).items():
        key = str(status)
        current = responses.get(key)
        if current is None or _refers_to(current, _FASTAPI_VALIDATION_REF):
            responses[key] = {
                "description": entry["description"],
                "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
            }
        elif _refers_to(current, _ERROR_REF):
            known = current.get("description", "")
            missing = [line for line in entry["description"].splitlines() if line.split(":")[0] not in known]
            current["description"] = "\n".join(filter(None, [known, *missing]))


def _refers_to(response: dict[str, Any], ref: str) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref") == ref)


def complete_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Add the implied errors to every operation of ``document`` (changed in place and returned)."""
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            if operation.get("security") and method == "post":
                _add_idempotency_header(operation)
            _merge(operation, _implied_errors(method, operation))
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in (
        ("ErrorBody", ErrorBody),
        ("ErrorDetail", ErrorDetail),
        ("ValidationProblem", ValidationProblem),
    ):
        if name not in schemas:
            schemas.update(_component(model))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _component(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {model.__name__: schema, **definitions}


def install_openapi(app: FastAPI) -> None:
    """Serve the generated document with the implied errors added (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            app.openapi_schema = complete_error_responses(document)
        return app.openapi_schema

    replace: Callable[[], dict[str, Any]] = openapi
    app.openapi = replace  # type: ignore[method-assign]
