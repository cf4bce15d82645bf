"""The SDK against the real server over HTTP."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from pixelmill.client import AsyncClient, Client, Conflict, InsufficientCredits, NotFound, ValidationFailed
from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.runs import grant
from tests.support.server import LiveServer

GRAPH = {
    "nodes": [{"id": "img", "type": "image.generate", "inputs": {"prompt": "a red kite", "size": "96x64"}}],
    "edges": [],
}


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[Client]:
    grant(settings.resolved_database_url, account.workspace_id, 1000)
    with Client(account.key, live_server.url) as client:
        yield client


class DropFirstCreateResponse(httpx.BaseTransport):
    """Lets the first POST /v1/runs reach the server, then loses its answer, as a flaky network would."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/runs" and not self.dropped:
            response.read()
            response.close()
            self.dropped += 1
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_create_whose_answer_was_lost_is_retried_without_a_second_run(
    live_server: LiveServer, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 1000)
    transport = DropFirstCreateResponse()
    with Client(account.key, live_server.url, transport=transport) as client:
        created = client.runs.create(GRAPH)
        run = client.runs.wait(created.run_id, timeout=30)
        runs = client.runs.list(limit=100).data
    assert transport.dropped == 1
    assert run.status == "completed"
    assert [r.run_id for r in runs] == [created.run_id]


def test_402_is_raised_as_insufficient_credits(live_server: LiveServer, account: SeededAccount) -> None:
    with Client(account.key, live_server.url) as client, pytest.raises(InsufficientCredits) as caught:
        client.runs.create(GRAPH)
    error = caught.value
    assert (error.status, error.code, error.balance) == (402, "INSUFFICIENT_CREDITS", 0)
    assert error.required is not None
    assert error.required > 0


def test_generate_an_image_wait_and_download_it(client: Client, tmp_path: Path) -> None:
    generation = client.generations.create(
        "image", "a lighthouse at dusk", model="local/procedural", settings={"size": "128x96", "seed": 7}, wait=30
    )
    assert generation.status == "completed"
    path = client.files.download(generation.outputs[0], tmp_path / "out.png")
    with Image.open(path) as image:
        assert image.size == (128, 96)
    assert client.generations.wait(generation.id).status == "completed"


def test_events_stream_node_by_node_to_the_terminal_event(client: Client) -> None:
    created = client.runs.create(GRAPH)
    events = list(client.runs.events(created.run_id))
    names = [event.event for event in events]
    assert names[-1] == "run_complete"
    assert "node_start" in names
    assert any(event.node_id == "img" for event in events)
    ids = [int(event.id) for event in events if event.id is not None]
    assert ids == sorted(ids)


def test_create_and_wait_then_download_outputs(client: Client, tmp_path: Path) -> None:
    run = client.runs.create_and_wait(GRAPH, timeout=30, raise_on_failure=True)
    assert run.status == "completed"
    paths = client.runs.download_outputs(run, tmp_path)
    assert [p.name for p in paths] == ["img_1.png"]  # image.generate outputs a list of images
    with Image.open(paths[0]) as image:
        assert image.size == (96, 64)
    assert client.runs.get(run.run_id).credits_used == run.credits_used


def test_workflow_lifecycle_with_if_match(client: Client) -> None:
    workflow = client.workflows.create("kites", GRAPH, description="one kite")
    updated = client.workflows.update(workflow.id, version=workflow.version, description="a kite")
    with pytest.raises(Conflict):
        client.workflows.update(workflow.id, version=workflow.version, description="stale")
    version = client.workflows.publish(workflow.id)
    assert version.number == 1
    assert workflow.id in {w.id for w in client.workflows.list(limit=100).data}
    run = client.workflows.run_and_wait(workflow.id, inputs={"img": {"size": "64x64"}}, timeout=30)
    assert (run.status, run.workflow_id, updated.description) == ("completed", workflow.id, "a kite")
    with pytest.raises(ValidationFailed) as caught:
        client.workflows.run(workflow.id, inputs={"img": {"size": "huge"}})
    assert caught.value.status == 422


def test_files_keys_catalogue_credits_and_auth(client: Client, account: SeededAccount, tmp_path: Path) -> None:
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(png, format="PNG")
    uploaded = client.files.upload(png.getvalue(), filename="red.png")
    assert (uploaded.width, uploaded.height, uploaded.mime) == (40, 30, "image/png")
    saved = client.files.download(uploaded.id, tmp_path)
    assert saved.read_bytes() == png.getvalue()
    listed = client.files.list(source="upload", media="image")
    assert [f.id for f in listed.data] == [uploaded.id]
    assert listed.next_cursor is None
    assert client.files.list(media="video").data == []

    key = client.keys.create("ci", mode="test")
    assert key.key.startswith("pm_test_")
    assert key.id in {k.id for k in client.keys.list()}
    rotated = client.keys.rotate(key.id)
    assert (rotated.previous.id, rotated.previous.status, rotated.previous.replaced_by) == (
        key.id,
        "rotating",
        rotated.id,
    )
    assert rotated.previous.expires_at is not None
    assert client.keys.get(key.id).expires_at == rotated.previous.expires_at
    assert client.keys.revoke(key.id).status == "revoked"
    assert client.keys.revoke(rotated.id).revoked_at is not None

    assert any(node.type == "image.generate" for node in client.nodes.list())
    assert client.nodes.get("image.style").category == "image"
    with pytest.raises(NotFound):
        client.nodes.get("no.such.node")
    assert any(model.id == "local/procedural" for model in client.models.list(generation_type="image"))
    assert client.credits.wallet().available == 1000

    token = client.auth.login(account.email, account.password)
    with Client(token.access_token, client.base_url) as by_token:
        assert by_token.auth.me().workspace["id"] == account.workspace_id


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 1000)


@pytest.mark.anyio
@pytest.mark.usefixtures("funded")
async def test_async_client_runs_a_graph(live_server: LiveServer, account: SeededAccount) -> None:
    async with AsyncClient(account.key, live_server.url) as client:
        created = await client.runs.create(GRAPH)
        names = [event.event async for event in client.runs.events(created.run_id)]
        run = await client.runs.wait(created.run_id, timeout=30)
    assert names[-1] == "run_complete"
    assert run.status == "completed"
