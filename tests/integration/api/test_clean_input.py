"""The input edge over real HTTP on SQLite and PostgreSQL: text and JSON that cannot be stored or
sent back are refused with 422 naming the field, free-form fields are bounded, and the workspace's
reads keep answering 200 afterwards."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.plans import unthrottled_plans

GRAPH = {"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": "hello"}}], "edges": []}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans()})


def post_raw(api: httpx.Client, account: SeededAccount, path: str, body: str, **headers: str) -> httpx.Response:
    """POST ``body`` exactly as written: JSON escapes such as ``\\udc80`` reach the server unchanged."""
    return api.post(
        path, content=body.encode(), headers={**account.headers, "Content-Type": "application/json", **headers}
    )


def run_body(metadata_json: str) -> str:
    return '{"graph": ' + json.dumps(GRAPH) + ', "metadata": ' + metadata_json + "}"


def assert_refused(response: httpx.Response, status: int, code: str, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    return error


def assert_reads_healthy(api: httpx.Client, account: SeededAccount) -> list[dict[str, Any]]:
    listed = api.get("/v1/runs", headers=account.headers)
    assert listed.status_code == 200, listed.text
    runs: list[dict[str, Any]] = listed.json()["data"]
    for run in runs:
        assert api.get(f"/v1/runs/{run['run_id']}", headers=account.headers).status_code == 200
    assert api.get("/v1/generations", headers=account.headers).status_code == 200
    return runs


def test_a_lone_surrogate_in_metadata_is_refused_and_the_workspace_stays_readable(
    api: httpx.Client, account: SeededAccount
) -> None:
    response = post_raw(api, account, "/v1/runs", run_body('{"note": "ok \\udc80"}'))
    error = assert_refused(response, 422, "VALIDATION_ERROR", "metadata.note")
    assert "U+DC80" in error["message"]
    assert error["errors"][0]["type"] == "invalid_text"
    assert assert_reads_healthy(api, account) == []


def test_a_lone_surrogate_in_a_key_or_a_list_is_named_by_its_path(api: httpx.Client, account: SeededAccount) -> None:
    response = post_raw(api, account, "/v1/runs", run_body('{"tags": ["a", "\\ud800"]}'))
    assert_refused(response, 422, "VALIDATION_ERROR", "metadata.tags.1")
    response = post_raw(api, account, "/v1/runs", run_body('{"\\udfff": 1}'))
    error = assert_refused(response, 422, "VALIDATION_ERROR", "metadata.\\udfff")
    json.dumps(error, ensure_ascii=False).encode()  # the answer itself is clean text
    assert assert_reads_healthy(api, account) == []


def test_surrogate_escapes_that_form_a_pair_are_text_and_round_trip(api: httpx.Client, account: SeededAccount) -> None:
    response = post_raw(api, account, "/v1/runs", run_body('{"mood": "\\ud83d\\ude00", "raw": "\\\\udc80"}'))
    assert response.status_code == 201, response.text
    run = api.get(f"/v1/runs/{response.json()['run_id']}", headers=account.headers).json()
    assert run["metadata"] == {"mood": "\U0001f600", "raw": "\\udc80"}


def test_raw_utf8_encoded_surrogates_are_refused_like_escapes(api: httpx.Client, account: SeededAccount) -> None:
    body = run_body('{"note": "X"}').encode().replace(b"X", b"\xed\xb2\x80")  # U+DC80 written as UTF-8 bytes
    response = api.post("/v1/runs", content=body, headers={**account.headers, "Content-Type": "application/json"})
    assert_refused(response, 422, "VALIDATION_ERROR", "metadata.note")
    assert assert_reads_healthy(api, account) == []


def test_a_lone_surrogate_in_project_id_is_refused(api: httpx.Client, account: SeededAccount) -> None:
    body = '{"generation_type": "infographic", "prompt": "Sales", "project_id": "\\udc80"}'
    assert_refused(post_raw(api, account, "/v1/generations", body), 422, "VALIDATION_ERROR", "project_id")
    assert assert_reads_healthy(api, account) == []


def test_nul_nan_and_infinity_are_refused_before_anything_is_stored(api: httpx.Client, account: SeededAccount) -> None:
    response = post_raw(api, account, "/v1/runs", run_body('{"n": "a\\u0000b"}'))
    assert_refused(response, 422, "VALIDATION_ERROR", "metadata.n")
    for number in ("NaN", "Infinity", "-Infinity", "1e400"):
        response = post_raw(api, account, "/v1/runs", run_body('{"x": [' + number + "]}"))
        error = assert_refused(response, 422, "VALIDATION_ERROR", "metadata.x.0")
        assert error["errors"][0]["type"] == "non_finite_number"
    assert assert_reads_healthy(api, account) == []


def test_nesting_beyond_the_edge_limit_is_refused_whatever_the_field(api: httpx.Client, account: SeededAccount) -> None:
    deep = '{"a": ' * 900 + "1" + "}" * 900
    response = post_raw(api, account, "/v1/runs", run_body(deep))
    error = assert_refused(response, 422, "JSON_TOO_DEEP", "metadata" + ".a" * 63)
    assert "64" in error["message"]
    assert assert_reads_healthy(api, account) == []


def test_free_form_fields_are_bounded_in_depth_and_size(api: httpx.Client, account: SeededAccount) -> None:
    nested = {"x": json.loads("[" * 40 + "]" * 40)}  # within the body's 64 levels, beyond a free-form field's 32
    response = post_raw(api, account, "/v1/runs", run_body(json.dumps(nested)))
    assert_refused(response, 422, "JSON_TOO_DEEP", "metadata")
    big = json.dumps({"blob": "x" * (17 * 1024)})
    error = assert_refused(post_raw(api, account, "/v1/runs", run_body(big)), 413, "JSON_TOO_LARGE", "metadata")
    assert "16384" in error["message"]
    settings_body = json.dumps({"generation_type": "infographic", "prompt": "Sales", "settings": {"x": "y" * 20000}})
    assert_refused(post_raw(api, account, "/v1/generations", settings_body), 413, "JSON_TOO_LARGE", "settings")
    fits = json.dumps({"blob": "x" * (15 * 1024), "deep": json.loads("[" * 30 + "]" * 30)})
    assert post_raw(api, account, "/v1/runs", run_body(fits)).status_code == 201
    assert len(assert_reads_healthy(api, account)) == 1


def test_graph_inputs_keep_their_own_larger_limit(api: httpx.Client, account: SeededAccount) -> None:
    """A graph input may carry far more than a free-form field (a data: URL, a long prompt)."""
    big_value = "A" * (512 * 1024)
    graph = {"nodes": [{"id": "s", "type": "value.string", "inputs": {"value": big_value}}], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert response.status_code == 201, response.text


def test_nul_in_a_query_parameter_or_the_path_is_refused(api: httpx.Client, account: SeededAccount) -> None:
    response = api.get("/v1/runs?workflow_id=wf_%00x", headers=account.headers)
    assert_refused(response, 422, "VALIDATION_ERROR", "workflow_id")
    assert_refused(api.get("/v1/runs/run_%00", headers=account.headers), 422, "VALIDATION_ERROR", "path")
    assert_reads_healthy(api, account)


@pytest.mark.parametrize(
    "key", [b"caf\xc3\xa9-1", b"\xff\xfe", b"tab\there", b"k" * 256], ids=["utf8", "not-utf8", "control", "overlong"]
)
def test_an_idempotency_key_that_is_not_ascii_text_is_refused(
    api: httpx.Client, account: SeededAccount, key: bytes
) -> None:
    headers = [
        (b"Authorization", f"Bearer {account.key}".encode()),
        (b"Content-Type", b"application/json"),
        (b"Idempotency-Key", key),
    ]
    response = api.post("/v1/runs", content=json.dumps({"graph": GRAPH}).encode(), headers=headers)
    assert_refused(response, 422, "VALIDATION_ERROR", "Idempotency-Key")
    assert assert_reads_healthy(api, account) == []


def test_a_nul_in_an_uploaded_file_name_is_refused_before_the_file_is_stored(
    api: httpx.Client, account: SeededAccount
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    png = buffer.getvalue()
    boundary = b"probe-boundary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png + b"\r\n--" + boundary + b"--\r\n"
    )
    headers = {**account.headers, "Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}
    response = api.post("/v1/files", content=body, headers=headers)
    assert_refused(response, 422, "VALIDATION_ERROR", "filename")
    named = api.post("/v1/files", content=body.replace(b"a\x00b", b"ab"), headers=headers)
    assert named.status_code == 201, named.text
    assert named.json()["filename"] == "ab.png"
