"""/v1/webhooks over real HTTP, and per-run webhooks on POST /v1/runs delivered by the server's own loop."""

from __future__ import annotations

import json
import time

import httpx

from pixelmill import webhooks
from tests.integration.webhooks.receiver import Answer, receiver
from tests.support.accounts import SeededAccount


def wait_deliveries(
    api: httpx.Client, account: SeededAccount, webhook_id: str, status: str, count: int = 1
) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    while True:
        data: list[dict[str, object]] = api.get(
            f"/v1/webhooks/{webhook_id}/deliveries", headers=account.headers
        ).json()["data"]
        if len(data) >= count and all(item["status"] == status for item in data):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.05)


def test_endpoint_crud_shows_the_secret_only_on_create(api: httpx.Client, account: SeededAccount) -> None:
    created = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=account.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("wh_")
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["completed"]
    assert body["enabled"] is True
    hook_id = body["id"]

    fetched = api.get(f"/v1/webhooks/{hook_id}", headers=account.headers).json()
    assert "secret" not in fetched
    assert fetched["url"] == "http://127.0.0.1:9/hook"
    listed = api.get("/v1/webhooks", headers=account.headers).json()["data"]
    assert [item["id"] for item in listed] == [hook_id]
    assert "secret" not in listed[0]

    patched = api.patch(
        f"/v1/webhooks/{hook_id}",
        json={"events": ["node", "run_complete"], "enabled": False, "url": "http://127.0.0.1:10/x"},
        headers=account.headers,
    ).json()
    assert patched["events"] == ["node", "run_complete"]
    assert patched["enabled"] is False
    assert patched["url"] == "http://127.0.0.1:10/x"

    bad = api.patch(f"/v1/webhooks/{hook_id}", json={"events": ["exploded"]}, headers=account.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "events"

    assert api.delete(f"/v1/webhooks/{hook_id}", headers=account.headers).status_code == 204
    assert api.get(f"/v1/webhooks/{hook_id}", headers=account.headers).status_code == 404


def test_another_workspace_cannot_see_an_endpoint(api: httpx.Client, account: SeededAccount, settings: object) -> None:
    from tests.support.accounts import seed_account

    hook_id = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=account.headers).json()["id"]
    other = seed_account(settings.resolved_database_url)  # type: ignore[attr-defined]
    foreign = api.get(f"/v1/webhooks/{hook_id}", headers=other.headers)
    unknown = api.get("/v1/webhooks/wh_01UNKNOWN", headers=other.headers)
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    assert foreign.text.replace(hook_id, "<id>") == unknown.text.replace("wh_01UNKNOWN", "<id>")
    assert api.get("/v1/webhooks", headers=other.headers).json()["data"] == []


def test_run_complete_reaches_an_endpoint_and_every_attempt_is_listed(
    api: httpx.Client, account: SeededAccount
) -> None:
    with receiver(Answer(500), Answer(200)) as target:
        hook = api.post("/v1/webhooks", json={"url": target.url}, headers=account.headers).json()
        graph = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 2, "b": 3}}], "edges": []}
        run = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"}).json()
        [delivery] = wait_deliveries(api, account, hook["id"], "succeeded")
        got = target.wait_for(2)
    webhooks.verify(hook["secret"], got[-1].headers, got[-1].body)
    payload = json.loads(got[-1].body)
    assert payload["event"] == "run_complete"
    assert payload["run_id"] == run["run_id"]
    assert payload["status"] == "completed"
    assert payload["credits_used"] == run["credits_used"]
    assert payload["outputs"] == run["outputs"]
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 200]  # type: ignore[index]
    assert delivery["attempt_count"] == 2
    assert delivery["run_id"] == run["run_id"]


def test_rotated_secret_and_the_previous_one_both_sign_and_redeliver_keeps_the_webhook_id(
    api: httpx.Client, account: SeededAccount
) -> None:
    with receiver(Answer(200)) as target:
        hook = api.post("/v1/webhooks", json={"url": target.url}, headers=account.headers).json()
        rotated = api.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=account.headers).json()
        assert rotated["secret"] != hook["secret"]
        assert rotated["secret_rotating_until"] is not None
        graph = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 1}}], "edges": []}
        api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"})
        [delivery] = wait_deliveries(api, account, hook["id"], "succeeded")
        first = target.wait_for(1)[0]
        for secret in (hook["secret"], rotated["secret"]):
            webhooks.verify(secret, first.headers, first.body)

        again = api.post(f"/v1/webhooks/deliveries/{delivery['id']}/redeliver", headers=account.headers)
        assert again.status_code == 202, again.text
        assert again.json()["webhook_id"] == delivery["webhook_id"]
        assert again.json()["id"] != delivery["id"]
        wait_deliveries(api, account, hook["id"], "succeeded", count=2)
        second = target.wait_for(2)[1]
    assert second.body == first.body
    assert second.headers["webhook-id"] == first.headers["webhook-id"]


def test_per_run_webhook_gets_the_imageat_body_signed_with_the_run_secret(
    api: httpx.Client, account: SeededAccount
) -> None:
    with receiver(Answer(200)) as target:
        graph = {"nodes": [{"id": "sum", "type": "math.add", "inputs": {"a": 4, "b": 5}}], "edges": []}
        created = api.post(
            "/v1/runs",
            json={"graph": graph, "webhook": {"url": target.url, "secret": "whsec_run-secret", "events": ["start"]}},
            headers={**account.headers, "Prefer": "wait=10"},
        )
        assert created.status_code in (200, 201), created.text
        run = created.json()
        got = target.wait_for(2)
    events = [json.loads(request.body)["event"] for request in got]
    assert events == ["run_started", "run_complete"]
    final = got[-1]
    webhooks.verify("whsec_run-secret", {"X-Imageat-Signature": final.headers["X-Imageat-Signature"]}, final.body)
    webhooks.verify("whsec_run-secret", final.headers, final.body)
    assert json.loads(final.body) == {
        "event": "run_complete",
        "run_id": run["run_id"],
        "status": "completed",
        "outputs": run["outputs"],
        "credits_used": run["credits_used"],
    }


def test_per_run_webhook_to_a_private_literal_is_refused_at_create_when_not_allowed(
    api: httpx.Client, account: SeededAccount
) -> None:
    graph = {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 1}}], "edges": []}
    response = api.post(
        "/v1/runs", json={"graph": graph, "webhook": {"url": "ftp://x/y", "events": ["start"]}}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "webhook.url"
