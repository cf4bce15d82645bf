"""Standing probe: a corpus of bad input against every route that takes a body, on SQLite and PostgreSQL.

The routes come from the app's own OpenAPI document, so a route added later (a new dialect's
included) is probed without touching this file; a body for each is generated from its schema and
then spoiled: lone surrogates (escaped and as raw bytes, in values and keys), NUL, NaN, nesting
1000 deep, a string past the body limit, wrong types, malformed URLs, and for uploads a
decompression bomb. Every answer must be a 4xx in the catalogue's envelope; afterwards the server
must be healthy and the workspace's lists must still read. It sends a few hundred requests.
"""

from __future__ import annotations

import json
import resource
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pixelmill import errors
from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.plans import unthrottled_plans

BODY_LIMIT = 256 * 1024
CATALOGUE_CODES = {spec.code for spec in errors.catalogue()}
MALFORMED_URLS = ["http://[::1", "ht tp://example.com", "http://exa mple.com/%zz", "http://\udc80.example", "", "//x"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "plans": unthrottled_plans(),
            "allow_private_urls": False,
            "max_request_bytes": BODY_LIMIT,
            "login_failures_per_window": 1000,
        }
    )


class Schemas:
    """Example bodies from the OpenAPI document: every property present, free-form objects holding a string."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            options = [self.resolve(option) for option in schema.get(key, [])]
            useful = [option for option in options if option.get("type") != "null"]
            if useful:
                return self.example(useful[0], depth)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties: dict[str, Any] = schema.get("properties", {})
            if not properties or depth > 4:
                return {"probe": "value"}
            return {name: self.example(sub, depth + 1) for name, sub in properties.items()}
        if kind == "array":
            return [self.example(schema.get("items", {}), depth + 1)]
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if schema.get("format") == "email":
            return "probe@example.com"
        return "x" * max(1, int(schema.get("minLength", 1)))


# Bodies the routes accept, so that one spoiled value is the only thing wrong with a probe; a route
# not listed (one added later) is probed with a body generated from its schema.
KNOWN_GOOD: dict[str, dict[str, Any]] = {
    "POST /v1/runs": {
        "graph": {"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": "hello"}}], "edges": []},
        "metadata": {"note": "probe", "tags": ["a", "b"], "n": 1.5},
    },
    "POST /v1/generations": {
        "generation_type": "infographic",
        "prompt": "Sales by quarter",
        "settings": {"theme": "light"},
        "project_id": "project-1",
    },
    "POST /v1/workflows": {
        "name": "probe",
        "description": "a probe",
        "graph": {"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": "hello"}}], "edges": []},
    },
}

JsonPath = tuple[str | int, ...]


def leaves(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def set_at(value: Any, path: JsonPath, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {key: set_at(item, rest, new) if key == head else item for key, item in value.items()}
    return [set_at(item, rest, new) if index == head else item for index, item in enumerate(value)]


def wrong_types(value: Any) -> Any:
    """Each scalar swapped for a value of another JSON type."""
    if isinstance(value, dict):
        return {key: wrong_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return {"not": "a list"}
    if isinstance(value, str):
        return ["not", "a string"]
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return True
    return {"unexpected": None}


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def json_corpus(template: Any) -> Iterator[tuple[str, bytes]]:
    base = template if isinstance(template, dict) else {"probe": template}
    first = next(iter(base), "probe")
    for path, leaf in leaves(base):
        where = ".".join(str(part) for part in path)
        if isinstance(leaf, str):
            yield f"lone-surrogate at {where}", json.dumps(set_at(base, path, "ok \udc80")).encode()
            raw = json.dumps(set_at(base, path, "ok \udc80"), ensure_ascii=False).encode("utf-8", "surrogatepass")
            yield f"surrogate-as-utf8-bytes at {where}", raw
            yield f"nul at {where}", json.dumps(set_at(base, path, "a\x00b")).encode()
            if "url" in str(path[-1]).lower():
                for url in MALFORMED_URLS:
                    yield f"malformed-url {url!r} at {where}", json.dumps(set_at(base, path, url)).encode()
        if isinstance(leaf, int | float) and not isinstance(leaf, bool):
            yield f"nan at {where}", json.dumps(set_at(base, path, float("nan"))).encode()
    yield "lone-surrogate-key", json.dumps({**base, "\ud800": 1}).encode()
    utf16 = json.dumps({**base, first: "\udc80"}, ensure_ascii=False).encode("utf-16", "surrogatepass")
    yield "utf16-lone-surrogate", utf16
    yield "infinity-by-exponent", json.dumps(base)[:-1].encode() + b', "probe_number": 1e999}'
    yield "nesting-1000-top", b"[" * 1000 + b"]" * 1000
    yield (
        "nesting-1000-in-field",
        json.dumps(base)[:-1].encode() + b', "' + first.encode() + b'": ' + nested(1000) + b"}",
    )
    yield "string-past-body-limit", b'{"' + first.encode() + b'": "' + b"a" * BODY_LIMIT + b'"}'
    yield "wrong-types", json.dumps(wrong_types(base)).encode()
    yield "not-an-object", b"[1, 2]"
    yield "bare-string", b'"\\udc80"'
    yield "null", b"null"
    yield "truncated", json.dumps(base).encode()[:-3]
    yield "invalid-utf8", b'{"' + first.encode() + b'": "\xff\xfe"}'
    yield "huge-integer", json.dumps(base)[:-1].encode() + b', "' + first.encode() + b'": ' + b"9" * 5000 + b"}"


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims 3.6 gigapixels (its data is one short zlib stream)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def upload_corpus() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "png-bomb-raw", {"content": png_bomb(), "headers": {"Content-Type": "application/octet-stream"}}
    yield "png-bomb-multipart", {"files": {"file": ("bomb.png", png_bomb(), "image/png")}}
    yield "not-media", {"content": b"\x00\x01 not an image", "headers": {"Content-Type": "application/octet-stream"}}
    yield "empty", {"content": b"", "headers": {"Content-Type": "application/octet-stream"}}
    yield (
        "past-body-limit",
        {"content": b"\0" * (BODY_LIMIT + 1), "headers": {"Content-Type": "application/octet-stream"}},
    )
    yield "multipart-without-file", {"files": {"other": ("x.txt", b"x", "text/plain")}}
    yield "nul-filename", {"content": png_bomb(), "params": {"filename": "a\x00b.png"}}


def form_corpus() -> Iterator[tuple[str, bytes]]:
    yield "nul", b"username=probe%00%40example.com&password=x"
    yield "invalid-utf8", b"username=%ff%fe&password=%ed%b2%80"
    yield "string-past-body-limit", b"username=" + b"a" * BODY_LIMIT
    yield "empty", b""


def fill_path(path: str) -> str:
    return "/".join("probe_123" if part.startswith("{") else part for part in path.split("/"))


def _refused_as_data(response: httpx.Response) -> bool:
    """A validation route (``POST /v1/graphs/validate``) answers a bad graph as its result: 200 with
    ``valid: false`` and each problem under a catalogue code, never a 5xx or a silent pass."""
    try:
        body = response.json()
    except ValueError:
        return False
    if not (isinstance(body, dict) and body.get("object") == "graph_validation" and body.get("valid") is False):
        return False
    problems = body.get("errors")
    return isinstance(problems, list) and bool(problems) and all(p.get("code") in CATALOGUE_CODES for p in problems)


def client_error_problem(response: httpx.Response, where: str) -> str | None:
    """None when the answer is a 4xx in the catalogue's envelope; otherwise what is wrong with it."""
    summary = f"{where}: {response.status_code} {response.text[:200]}"
    if response.status_code == 200 and _refused_as_data(response):
        return None
    if not 400 <= response.status_code < 500:
        return summary
    try:
        body = response.json()
        error = body["error"]
        if (
            error["code"] in CATALOGUE_CODES
            and isinstance(error["message"], str)
            and body["detail"] == error["message"]
        ):
            return None
    except (ValueError, KeyError, TypeError):
        pass
    return f"{summary} (not the catalogue's envelope)"


def probe(api: httpx.Client, where: str, method: str, url: str, **request: Any) -> str | None:
    """Send one probe; None when it was answered as it should be, else what went wrong."""
    try:
        response = api.request(method, url, **request)
    except httpx.TransportError as exc:
        return f"{where}: the connection failed ({exc!r})"
    return client_error_problem(response, where)


def streams(operation: dict[str, Any]) -> bool:
    return any("text/event-stream" in (r.get("content") or {}) for r in operation.get("responses", {}).values())


def test_every_route_with_a_body_refuses_the_corpus_with_a_4xx(api: httpx.Client, account: SeededAccount) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    document = api.get("/openapi.json").json()
    schemas = Schemas(document)
    probed: dict[str, int] = {}
    failures: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content: dict[str, Any] = (operation.get("requestBody") or {}).get("content", {})
            if not content:
                continue
            url = fill_path(path)
            where = f"{method.upper()} {path}"
            count = 0
            if "application/json" in content:
                template = KNOWN_GOOD.get(where) or schemas.example(content["application/json"].get("schema", {}))
                for name, body in json_corpus(template):
                    headers = {**account.headers, "Content-Type": "application/json", "If-Match": '"1"'}
                    failures.append(
                        probe(api, f"{where} [{name}]", method.upper(), url, content=body, headers=headers) or ""
                    )
                    count += 1
            if "application/x-www-form-urlencoded" in content:
                for name, body in form_corpus():
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                    failures.append(
                        probe(api, f"{where} [form {name}]", method.upper(), url, content=body, headers=headers) or ""
                    )
                    count += 1
            if "application/octet-stream" in content or "multipart/form-data" in content:
                for name, extra in upload_corpus():
                    headers = {**account.headers, **extra.pop("headers", {})}
                    failures.append(
                        probe(api, f"{where} [upload {name}]", method.upper(), url, headers=headers, **extra) or ""
                    )
                    count += 1
            probed[where] = count
    failures = [failure for failure in failures if failure]
    assert not failures, f"{len(failures)} answers were not a 4xx in the envelope:\n" + "\n".join(failures[:40])
    assert {"POST /v1/runs", "POST /v1/generations", "POST /v1/files", "POST /v1/webhooks"} <= set(probed)
    assert all(count > 0 for count in probed.values())

    peak_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before
    print(
        f"bad-input corpus: {sum(probed.values())} probes over {len(probed)} routes, peak RSS +{peak_growth >> 20} MiB"
    )
    assert peak_growth < 256 * 1024 * 1024, "the corpus made the server (this process) grow by more than 256 MiB"
    assert api.get("/healthz").status_code == 200
    for path in ("/v1/runs", "/v1/generations", "/v1/workflows", "/v1/webhooks", "/v1/keys"):
        response = api.get(path, headers=account.headers)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
    for path, operations in document["paths"].items():
        if "get" in operations and "{" not in path and not streams(operations["get"]):
            response = api.get(path, headers=account.headers)
            assert response.status_code < 500, f"GET {path} after the corpus: {response.status_code}"
