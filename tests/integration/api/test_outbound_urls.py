"""The one outbound-URL check over HTTP: /v1/webhooks, per-run webhooks on run and workflow-run
create, and image.load URLs all refuse the same forms with URL_NOT_ALLOWED and store nothing; a URL
known only at run time fails its node with a code. Only loopback is ever reached."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.runs.conftest import run_plans
from tests.support.accounts import SeededAccount
from tests.support.server import start_server

# Refused whatever the operator allows: numeric host forms, Unicode digits and dots, userinfo,
# URLs httpx cannot parse, other schemes.
ALWAYS_REFUSED = [
    "http://127.1/hook",
    "http://0177.0.0.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://１２７.０.０.１/hook",
    "http://127。0。0。1/hook",
    "http://user:pw@127.0.0.1/hook",
    "https://[::1/hook",
    "ftp://8.8.8.8/hook",
]
# Refused besides when private targets are not allowed (the default).
REFUSED_WHEN_STRICT = [
    *ALWAYS_REFUSED,
    "https://localhost/hook",
    "https://127.0.0.1/hook",
    "https://[2002:7f00:1::]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hook",
    "http://8.8.8.8/hook",
]
GRAPH = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 2}}], "edges": []}


def serve(settings: Settings, *, allow_private: bool) -> Iterator[httpx.Client]:
    """The app over HTTP with private targets allowed or not, without per-minute limits (these
    tests send many refused requests on purpose)."""
    server = start_server(settings.model_copy(update={"allow_private_urls": allow_private, "plans": run_plans()}))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def strict_api(settings: Settings) -> Iterator[httpx.Client]:
    yield from serve(settings, allow_private=False)


@pytest.fixture
def lab_api(settings: Settings) -> Iterator[httpx.Client]:
    yield from serve(settings, allow_private=True)


def assert_refused(response: httpx.Response, field: str, url: str) -> None:
    assert response.status_code == 422, (url, response.status_code, response.text)
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("URL_NOT_ALLOWED", field), (url, error)


def test_webhook_endpoints_refuse_every_internal_or_disguised_target(
    strict_api: httpx.Client, account: SeededAccount
) -> None:
    for url in REFUSED_WHEN_STRICT:
        assert_refused(strict_api.post("/v1/webhooks", json={"url": url}, headers=account.headers), "url", url)
    assert strict_api.get("/v1/webhooks", headers=account.headers).json()["data"] == []


def test_per_run_webhooks_are_checked_exactly_as_endpoints_are(
    strict_api: httpx.Client, account: SeededAccount
) -> None:
    workflow = strict_api.post("/v1/workflows", json={"name": "sum", "graph": GRAPH}, headers=account.headers)
    assert workflow.status_code == 201, workflow.text
    published = strict_api.post(f"/v1/workflows/{workflow.json()['id']}/publish", headers=account.headers)
    assert published.status_code == 201, published.text
    for url in REFUSED_WHEN_STRICT:
        hook = {"url": url, "secret": "s3cret"}
        run = strict_api.post("/v1/runs", json={"graph": GRAPH, "webhook": hook}, headers=account.headers)
        assert_refused(run, "webhook.url", url)
        workflow_run = strict_api.post(
            f"/v1/workflows/{workflow.json()['id']}/runs", json={"webhook": hook}, headers=account.headers
        )
        assert_refused(workflow_run, "webhook.url", url)
    assert strict_api.get("/v1/runs", headers=account.headers).json()["data"] == []


def image_load(url: str) -> dict[str, Any]:
    return {"nodes": [{"id": "img", "type": "image.load", "inputs": {"url": url}}], "edges": []}


def test_image_urls_given_as_node_inputs_are_refused_before_the_run_is_queued(
    strict_api: httpx.Client, account: SeededAccount
) -> None:
    for url in REFUSED_WHEN_STRICT:
        response = strict_api.post("/v1/runs", json={"graph": image_load(url)}, headers=account.headers)
        assert_refused(response, "url", url)
        assert response.json()["error"]["node_id"] == "img"
    assert strict_api.get("/v1/runs", headers=account.headers).json()["data"] == []


def test_allowing_private_targets_allows_loopback_but_never_the_disguised_forms(
    lab_api: httpx.Client, account: SeededAccount
) -> None:
    for url in ALWAYS_REFUSED:
        run = lab_api.post("/v1/runs", json={"graph": GRAPH, "webhook": {"url": url}}, headers=account.headers)
        assert_refused(run, "webhook.url", url)
        assert_refused(lab_api.post("/v1/webhooks", json={"url": url}, headers=account.headers), "url", url)
        assert_refused(lab_api.post("/v1/runs", json={"graph": image_load(url)}, headers=account.headers), "url", url)
    plain = {"graph": GRAPH, "webhook": {"url": "http://127.0.0.1:9/hook"}}
    assert lab_api.post("/v1/runs", json=plain, headers=account.headers).status_code == 201


@pytest.mark.parametrize(
    ("url", "code"),
    [("http://0177.0.0.1/a.png", "URL_NOT_ALLOWED"), ("http://127.1:9/a.png", "URL_NOT_ALLOWED")],
)
def test_a_url_known_only_at_run_time_fails_its_node_with_a_code_not_as_an_unexpected_error(
    lab_api: httpx.Client, account: SeededAccount, url: str, code: str
) -> None:
    graph = {
        "nodes": [
            {"id": "where", "type": "value.string", "inputs": {"value": url}},
            {"id": "img", "type": "image.load", "inputs": {}},
        ],
        "edges": [
            {"source": {"node_id": "where", "field": "value"}, "destination": {"node_id": "img", "field": "url"}}
        ],
    }
    response = lab_api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=20"})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "failed", run
    [failed] = [item for item in run["nodes"] if item["node_id"] == "img"]
    assert failed["error"]["code"] == code, failed
