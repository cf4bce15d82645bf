"""imageat's Workflow API document run against pixelmill served on loopback, on SQLite and PostgreSQL:
its Python and curl examples (changed only in base URL, key and workflow id), its webhook with a
receiver verifying as the document says, its SSE lines, its stable output URLs and its error table."""

from __future__ import annotations

import ast
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from pixelmill.config import Settings
from pixelmill.db.session import Database
from tests.integration.runs.conftest import run_settings
from tests.integration.webhooks.receiver import receiver
from tests.support.accounts import SeededAccount
from tests.support.runs import TERMINAL, books, edge, grant, node, wait_for, with_db
from tests.support.sse import parse_frames

# The document's Python example, verbatim but for the base URL and workflow id (filled in below).
SEED_PYTHON = """
import os, time, requests
API_KEY = os.environ["IMAGEAT_API_KEY"]
BASE = "https://api.imageat.com/v1"
H = {"Authorization": f"Bearer {API_KEY}"}
def run_workflow(workflow_id: str) -> dict:
    r = requests.post(
        f"{BASE}/workflows/{workflow_id}/runs",
        headers={**H, "Content-Type": "application/json"},
        json={"nodes": [], "edges": []},
    )
    r.raise_for_status()
    run_id = r.json()["run_id"]
    while True:
        time.sleep(1.5)
        data = requests.get(f"{BASE}/runs/{run_id}", headers=H).json()
        if data["status"] == "completed":
            return data
        if data["status"] == "failed":
            raise RuntimeError(data.get("error", "run failed"))
result = run_workflow("wf_abc123")
print(result["outputs"], result["credits_used"])
"""

# The document's curl example, verbatim but for the base URL and workflow id.
SEED_CURL = """
# 1. Create a run
RUN=$(curl -s -X POST https://api.imageat.com/v1/workflows/wf_abc123/runs \\
-H "Authorization: Bearer $IMAGEAT_API_KEY" \\
-H "Content-Type: application/json" \\
-d '{"nodes": [], "edges": []}' | jq -r .run_id)
# 2. Poll until complete
while true; do
RES=$(curl -s https://api.imageat.com/v1/runs/$RUN \\
-H "Authorization: Bearer $IMAGEAT_API_KEY")
STATUS=$(echo "$RES" | jq -r .status)
[ "$STATUS" = "completed" ] && echo "$RES" | jq .outputs && break
[ "$STATUS" = "failed" ] && echo "$RES" | jq . && exit 1
sleep 2
done
"""

SECRET = "whsec_imageat_receiver_secret"
PRICE = 7  # image.generate (5) and image.upscale (2)
GRAPH = {
    "nodes": [
        {
            **node("scene", "image.generate", prompt="a lighthouse at dusk", size="96x64", seed=7),
            "is_intermediate": True,
        },
        node("hero", "image.upscale", factor=2),
    ],
    "edges": [edge("scene", "hero", "image", source_field="image")],
}


def imageat_verify(secret: str, header: str, raw_body: bytes) -> bool:
    """A receiver's check written from the document alone: "compute HMAC-SHA256 over
    {timestamp}.{raw_body} and compare in constant time" with ``t=<unix>,v1=<hex>``."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, webhook_poll_seconds=0.05, plan_credits_enabled=False)


def published_workflow(api: httpx.Client, account: SeededAccount) -> str:
    created = api.post("/v1/workflows", json={"name": "hero shot", "graph": GRAPH}, headers=account.headers)
    assert created.status_code == 201, created.text
    workflow_id: str = created.json()["id"]
    assert api.post(f"/v1/workflows/{workflow_id}/publish", headers=account.headers).status_code == 201
    return workflow_id


def adapted(source: str, base_url: str, workflow_id: str) -> str:
    return source.replace("https://api.imageat.com", base_url).replace("wf_abc123", workflow_id)


def client_env(key: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIXELMILL_", "IMAGEAT_"))},
        "IMAGEAT_API_KEY": key,
    }


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def test_the_documents_python_and_curl_examples_run_unchanged_and_the_cache_hit_completes_its_node(
    api: httpx.Client, account: SeededAccount, other: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    workflow_id = published_workflow(api, account)
    base = str(api.base_url).rstrip("/")

    python = subprocess.run(
        [sys.executable, "-c", adapted(SEED_PYTHON, base, workflow_id)],
        env=client_env(account.key),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed_outputs, _, printed_credits = python.stdout.strip().rpartition(" ")
    outputs = ast.literal_eval(printed_outputs)
    assert int(printed_credits) == PRICE
    assert set(outputs) == {"hero"}
    assert outputs["hero"]["type"] == "image"

    [first] = api.get("/v1/runs", headers=account.headers).json()["data"]
    run_id = first["run_id"]
    stable = f"{base}/runs/{run_id}/hero.png"
    assert outputs["hero"]["url"] == stable
    # The stable URL is the same on every read; the signed link beside it is fresh each time.
    assert api.get(f"/v1/runs/{run_id}", headers=account.headers).json()["outputs"]["hero"]["url"] == stable
    from_stable = api.get(stable, headers=account.headers)
    assert from_stable.status_code == 200
    assert from_stable.headers["content-type"] == "image/png"
    assert png(from_stable.content).size == (192, 128)
    assert httpx.get(outputs["hero"]["value"]).content == from_stable.content
    # Access is still checked: no key is 401, another workspace's key the same 404 as an unknown run.
    assert api.get(stable).status_code == 401
    foreign = api.get(stable, headers=other.headers)
    unknown = api.get(stable.replace(run_id, "run_01UNKNOWN"), headers=other.headers)
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    assert foreign.text.replace(run_id, "<id>") == unknown.text.replace("run_01UNKNOWN", "<id>")

    curl = subprocess.run(
        ["bash", "-c", adapted(SEED_CURL, base, workflow_id)],
        env=client_env(account.key),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    curl_outputs = json.loads(curl.stdout)
    assert curl_outputs["hero"]["type"] == "image"
    second_id = curl_outputs["hero"]["url"].split("/")[-2]
    assert second_id != run_id
    assert curl_outputs["hero"]["url"] == f"{base}/runs/{second_id}/hero.png"
    assert api.get(curl_outputs["hero"]["url"], headers=account.headers).content == from_stable.content

    # The second run hit the cache. Its stream, in the document's shape, still completes the node.
    with api.stream("GET", f"/v1/runs/{second_id}/events", headers=account.headers, timeout=10) as response:
        lines = list(response.iter_lines())
    data_lines = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    frames = [frame for frame in parse_frames(lines) if frame.event is not None]
    assert [(frame.event, frame.data and frame.data.get("node_id")) for frame in frames] == [
        ("run_queued", None),
        ("run_started", None),
        ("node_cached", "scene"),
        ("node_complete", "scene"),
        ("node_cached", "hero"),
        ("node_complete", "hero"),
        ("run_complete", None),
    ]
    assert [data["event"] for data in data_lines] == [frame.event for frame in frames]
    complete = data_lines[5]
    assert (complete["node_id"], complete["cached"], complete["cost"]) == ("hero", True, 0)
    assert complete["output"]["type"] == "image"
    assert complete["output"]["url"] == curl_outputs["hero"]["url"]
    assert png(httpx.get(complete["output"]["value"]).content).size == (192, 128)
    assert data_lines[-1]["run_id"] == second_id
    second = api.get(f"/v1/runs/{second_id}", headers=account.headers).json()
    assert (second["credits_used"], [n["cached"] for n in second["nodes"]]) == (0, [True, True])


def test_the_terminal_webhook_is_the_documents_body_and_verifies_as_the_document_says(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    workflow_id = published_workflow(api, account)
    with receiver() as target:
        body = {"nodes": [], "edges": [], "webhook": {"url": target.url, "secret": SECRET}}
        created = api.post(f"/v1/workflows/{workflow_id}/runs", json=body, headers=account.headers)
        assert created.status_code == 201, created.text
        assert set(created.json()) == {"run_id", "status"}
        run_id = created.json()["run_id"]
        [delivered] = target.wait_for(1)
    header = delivered.headers["X-Imageat-Signature"]
    assert header.startswith("t=")
    assert imageat_verify(SECRET, header, delivered.body)
    assert not imageat_verify("whsec_someone_else", header, delivered.body)
    assert not imageat_verify(SECRET, header, delivered.body.replace(b"completed", b"cancelled"))
    assert abs(int(header.split(",")[0][2:]) - time.time()) < 60
    payload = json.loads(delivered.body)
    assert set(payload) == {"event", "run_id", "status", "outputs", "credits_used"}
    assert (payload["event"], payload["run_id"], payload["status"], payload["credits_used"]) == (
        "run_complete",
        run_id,
        "completed",
        PRICE,
    )
    hero = payload["outputs"]["hero"]
    assert hero["type"] == "image"
    # Absolute on the configured public URL (the test server listens elsewhere): fetched by path here.
    assert hero["url"] == f"{settings.resolved_public_url}/runs/{run_id}/hero.png"
    signed = urlsplit(hero["value"])
    assert signed.path == f"/v1/outputs/runs/{run_id}/hero.png"
    assert png(api.get(f"{signed.path}?{signed.query}").content).size == (192, 128)


def test_the_documents_error_table(
    api: httpx.Client, account: SeededAccount, other: SeededAccount, settings: Settings
) -> None:
    workflow_id = published_workflow(api, account)
    runs_url = f"/v1/workflows/{workflow_id}/runs"
    empty = {"nodes": [], "edges": []}

    for headers in ({}, {"Authorization": "Bearer iat_live_xxxxxxxxxxxxxxxx"}):
        response = api.post(runs_url, json=empty, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"

    short = api.post(runs_url, json=empty, headers=account.headers)
    assert short.status_code == 402
    assert (short.json()["error"]["balance"], short.json()["error"]["required"]) == (0, PRICE)

    draft = api.post("/v1/workflows", json={"name": "draft", "graph": GRAPH}, headers=account.headers).json()
    for missing in ("wf_01UNKNOWN", draft["id"]):
        response = api.post(f"/v1/workflows/{missing}/runs", json=empty, headers=account.headers)
        assert response.status_code == 404, missing
        assert response.json()["error"]["code"] == "NOT_FOUND"

    bad_bodies: list[dict[str, Any]] = [
        {"nodes": [{"id": "ghost", "inputs": {"prompt": "x"}}], "edges": []},
        {"nodes": [{"id": "hero", "type": "image.style"}], "edges": []},
        {
            "nodes": [],
            "edges": [
                {
                    "source": {"node_id": "hero", "field": "image"},
                    "destination": {"node_id": "nowhere", "field": "image"},
                }
            ],
        },
        {"nodes": "hero", "edges": []},
    ]
    grant(settings.resolved_database_url, account.workspace_id, 100)  # the body is refused, not the bill
    for bad in bad_bodies:
        response = api.post(runs_url, json=bad, headers=account.headers)
        assert response.status_code == 422, (bad, response.text)
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []

    # The document answers 403 for another account's run; pixelmill answers the 404 of an unknown run,
    # so a run id says nothing about other accounts.
    run_id = api.post(runs_url, json=empty, headers=account.headers).json()["run_id"]
    foreign = api.get(f"/v1/runs/{run_id}", headers=other.headers)
    assert foreign.status_code == 404
    wait_for(api, account.headers, run_id, until=TERMINAL)


def _failing_run_inserts(database_url: str, on: bool) -> None:
    """Make the database itself refuse new runs (or stop refusing): a real server-side failure."""
    postgres = database_url.startswith("postgresql")
    statements = (
        [
            "CREATE FUNCTION imageat_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$ "
            "LANGUAGE plpgsql",
            "CREATE TRIGGER imageat_refuse BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION imageat_refuse()",
        ]
        if postgres
        else ["CREATE TRIGGER imageat_refuse BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"]
    )
    if not on:
        statements = (
            ["DROP TRIGGER imageat_refuse ON runs", "DROP FUNCTION imageat_refuse()"]
            if postgres
            else ["DROP TRIGGER imageat_refuse"]
        )

    async def work(db: Database) -> None:
        async with db.session() as session:
            for statement in statements:
                await session.execute(text(statement))

    with_db(database_url, work)


def test_a_500_is_safe_to_retry_with_the_same_idempotency_key(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    database_url = settings.resolved_database_url
    grant(database_url, account.workspace_id, 100)
    workflow_id = published_workflow(api, account)
    headers = {**account.headers, "Idempotency-Key": "8f3b-imageat-retry"}
    url = f"/v1/workflows/{workflow_id}/runs"
    _failing_run_inserts(database_url, on=True)
    try:
        failed = api.post(url, json={"nodes": [], "edges": []}, headers=headers)
    finally:
        _failing_run_inserts(database_url, on=False)
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "disk on fire" not in failed.text
    assert books(database_url, account.workspace_id).wallet.reserved == 0

    retried = api.post(url, json={"nodes": [], "edges": []}, headers=headers)
    assert retried.status_code == 201, retried.text
    again = api.post(url, json={"nodes": [], "edges": []}, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == retried.json()
    assert [run["run_id"] for run in api.get("/v1/runs", headers=account.headers).json()["data"]] == [
        retried.json()["run_id"]
    ]
    assert wait_for(api, account.headers, retried.json()["run_id"], until=TERMINAL)["status"] == "completed"
